// Every Markdown document the repository cites must be in the repository, and every "section N"
// it cites must exist there: code comments rely on the numbered sections of docs/*.md.
//
// What counts as a citation:
//   - in any text file: a path with a folder ending in .md (`docs/name.md`, `../x/name.md`), or a
//     root document in capitals (`README.md`, `BENCHMARKS.md`), followed on the same line by
//     `section N` / `sections N, M and K` when it cites sections;
//   - in Markdown files, also every relative link target `](path)` (images included).
// A bare lower-case `name.md` in code is a file name the code handles, not a citation.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..', '..');
/** Built, fetched or generated trees: not the repository's own text. */
const SKIPPED_DIRS = new Set(['node_modules', 'out', 'dist', '.git', '.vscode-test', '.test-output', '.models', 'samples', '__pycache__']);
const TEXT_FILE = /\.(ts|js|mjs|cjs|py|md|json|sh|css|html)$/;

function textFiles(dir: string, out: string[] = []): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (!SKIPPED_DIRS.has(e.name)) textFiles(full, out);
    } else if (e.isFile() && TEXT_FILE.test(e.name) && e.name !== 'package-lock.json') {
      out.push(full);
    }
  }
  return out;
}

interface Citation {
  file: string;
  line: number;
  target: string;
  sections: string[];
}

const MD_PATH = /(?<![\w./-])((?:\.{1,2}\/)*(?:[\w.-]+\/)+[\w.-]+\.md|[A-Z][A-Z0-9_-]*\.md)(?![\w/-])/g;
const MD_LINK = /\]\(([^)\s]+)\)/g;
const SECTIONS = /^[^.\n]{0,20}?\bsections? (\d+(?:\.\d+)*(?:(?:, | and |, and )\d+(?:\.\d+)*)*)/;

function citationsIn(file: string, text: string): Citation[] {
  const found: Citation[] = [];
  const markdown = file.endsWith('.md');
  text.split('\n').forEach((line, i) => {
    for (const m of line.matchAll(MD_PATH)) {
      const after = line.slice(m.index! + m[0].length);
      const s = SECTIONS.exec(after);
      found.push({ file, line: i + 1, target: m[1], sections: s ? s[1].split(/, and |, | and /) : [] });
    }
    if (!markdown) return;
    for (const m of line.matchAll(MD_LINK)) {
      const target = m[1].replace(/#.*$/, '');
      if (!target || /^[a-z]+:/i.test(target)) continue; // an anchor on the page, or a URL
      found.push({ file, line: i + 1, target, sections: [] });
    }
  });
  return found;
}

/** The file a citation names: relative to the citing file, else to the repository root. */
function resolveTarget(c: Citation): string | null {
  for (const base of [path.dirname(c.file), ROOT]) {
    const p = path.resolve(base, c.target);
    if (p.startsWith(ROOT + path.sep) && fs.existsSync(p)) return p;
  }
  return null;
}

/** Numbers of the headings `## 4. Title` / `### 4.1 Title` of a Markdown file. */
function sectionNumbers(file: string): Set<string> {
  const numbers = new Set<string>();
  for (const m of fs.readFileSync(file, 'utf8').matchAll(/^#{1,6} (\d+(?:\.\d+)*)\.?\s/gm)) numbers.add(m[1]);
  return numbers;
}

describe('documentation references', () => {
  // This file's own examples are not citations.
  const self = path.join(ROOT, 'test', 'unit', 'docReferences.test.ts');
  const files = textFiles(ROOT).filter((f) => f !== self);
  const citations = files.flatMap((f) => citationsIn(f, fs.readFileSync(f, 'utf8')));
  const where = (c: Citation) => `${path.relative(ROOT, c.file)}:${c.line}`;

  it('finds the citations it checks', () => {
    assert.ok(
      citations.some((c) => c.sections.length > 0),
      'no "section N" citation found: the scan is broken',
    );
  });

  it('every cited document exists inside the repository', () => {
    const missing = citations.filter((c) => !resolveTarget(c)).map((c) => `${where(c)} cites ${c.target}`);
    assert.deepStrictEqual(missing, []);
  });

  it('every cited section exists in its document', () => {
    const missing: string[] = [];
    for (const c of citations) {
      const file = resolveTarget(c);
      if (!file || !c.sections.length) continue;
      const have = sectionNumbers(file);
      for (const s of c.sections) if (!have.has(s)) missing.push(`${where(c)} cites ${c.target} section ${s}`);
    }
    assert.deepStrictEqual(missing, []);
  });

  it('reads citations as they are written', () => {
    const read = (text: string, file = path.join(ROOT, 'src', 'x.ts')) => citationsIn(file, text).map((c) => [c.target, ...c.sections].join(' '));
    const doc = ['docs', 'guide.md'].join('/');
    assert.deepStrictEqual(read(`// contract (${doc}, sections 1, 2, 3 and 6)`), [`${doc} 1 2 3 6`]);
    assert.deepStrictEqual(read(`"""the cache (${doc} section 1): inputs"""`), [`${doc} 1`]);
    assert.deepStrictEqual(read(`// see ${doc}. The section 2 of something else`), [`${doc}`]);
    assert.deepStrictEqual(read(`see ${'BENCH'}MARKS.md`), ['BENCHMARKS.md']);
    assert.deepStrictEqual(read(`fs.writeFileSync(path.join(dir, 'notes${'.md'}'), 'x')`), []);
    assert.deepStrictEqual(read(`![a chart](images/a.png) and [the formats](formats.md#jobs)`, path.join(ROOT, 'docs', 'x.md')), [
      'images/a.png',
      'formats.md',
    ]);
  });
});
