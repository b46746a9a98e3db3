// Runs test/tools/independent_summary.py (a reader built on the official python `onnx` package)
// and compares its JSON with our ModelSummary, field by field.
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { ModelSummary } from '../../src/shared/summary';

/** The folder holding package.json (tests run from out/test/..., sources live in test/...). */
export const REPO_ROOT = ((): string => {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = up;
  }
  return dir;
})();

/** Debian's python3 with python3-onnx; not `python3` on PATH, which may be another python. */
export const PYTHON = '/usr/bin/python3';
export const SCRIPT = path.join(REPO_ROOT, 'test', 'tools', 'independent_summary.py');

/** The fields the python reader computes (ModelSummary's names and meanings). */
export type IndependentSummary = Pick<
  ModelSummary,
  | 'irVersion'
  | 'opsets'
  | 'producer'
  | 'domain'
  | 'modelVersion'
  | 'docString'
  | 'metadata'
  | 'graphName'
  | 'inputs'
  | 'outputs'
  | 'nodes'
  | 'parameters'
  | 'fileBytes'
>;

const INSTALL_HINT = `install Debian's python3-onnx (apt-get install python3-onnx) so that ${PYTHON} can import onnx`;

/** Summaries of several models in one python run (python's start and `import onnx` cost ~0.5 s). */
export function independentSummaries(files: string[]): Map<string, IndependentSummary> {
  // With a single file the script prints one object; give it twice to always get the keyed form.
  const args = files.length === 1 ? [SCRIPT, files[0], files[0]] : [SCRIPT, ...files];
  const r = spawnSync(PYTHON, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.error) {
    const missing = (r.error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(missing ? `${PYTHON} is missing: ${INSTALL_HINT}` : `cannot run ${PYTHON}: ${r.error.message}`);
  }
  if (r.status !== 0) {
    const noOnnx = r.status === 3 || /No module named .?onnx/.test(r.stderr);
    throw new Error(noOnnx ? `the python onnx package is missing: ${INSTALL_HINT}\n${r.stderr}` : `${SCRIPT} failed (exit ${r.status}):\n${r.stderr}`);
  }
  const parsed = JSON.parse(r.stdout) as Record<string, IndependentSummary | { error: string }>;
  const out = new Map<string, IndependentSummary>();
  for (const f of files) {
    const s = parsed[f];
    if (!s) throw new Error(`${SCRIPT} gave no result for ${f}`);
    if ('error' in s) throw new Error(`the python onnx reader cannot read ${f}: ${s.error}`);
    out.set(f, s);
  }
  return out;
}

/** Order-free lists (counts keyed by op type, data type or role) in one canonical order. */
function sortedBy<T>(xs: readonly T[], key: (x: T) => string): T[] {
  return [...xs].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** deepStrictEqual on each named field; every mismatching field is reported, not only the first. */
export function assertSameSummary(ours: ModelSummary, theirs: IndependentSummary, label: string): void {
  const opKey = (o: { domain: string; opType: string }) => `${o.domain}::${o.opType}`;
  const pairs: Array<[string, unknown, unknown]> = [
    ['irVersion', ours.irVersion, theirs.irVersion],
    ['opsets', ours.opsets, theirs.opsets],
    ['producer', ours.producer, theirs.producer],
    ['domain', ours.domain, theirs.domain],
    ['modelVersion', ours.modelVersion, theirs.modelVersion],
    ['docString', ours.docString, theirs.docString],
    ['metadata', ours.metadata, theirs.metadata],
    ['graphName', ours.graphName, theirs.graphName],
    ['fileBytes', ours.fileBytes, theirs.fileBytes],
    ['inputs', ours.inputs, theirs.inputs],
    ['outputs', ours.outputs, theirs.outputs],
    ['nodes.total', ours.nodes.total, theirs.nodes.total],
    ['nodes.mainGraph', ours.nodes.mainGraph, theirs.nodes.mainGraph],
    ['nodes.subgraphs', ours.nodes.subgraphs, theirs.nodes.subgraphs],
    ['nodes.byOpType', sortedBy(ours.nodes.byOpType, opKey), sortedBy(theirs.nodes.byOpType, opKey)],
    ['nodes.functions', ours.nodes.functions, theirs.nodes.functions],
    ['parameters.tensors', ours.parameters.tensors, theirs.parameters.tensors],
    ['parameters.elements', ours.parameters.elements, theirs.parameters.elements],
    ['parameters.bytes', ours.parameters.bytes, theirs.parameters.bytes],
    ['parameters.byDataType', sortedBy(ours.parameters.byDataType, (d) => d.dataType), sortedBy(theirs.parameters.byDataType, (d) => d.dataType)],
    ['parameters.byRole', sortedBy(ours.parameters.byRole, (r) => r.role), sortedBy(theirs.parameters.byRole, (r) => r.role)],
    [
      'parameters.external',
      { ...ours.parameters.external, files: [...ours.parameters.external.files].sort() },
      { ...theirs.parameters.external, files: [...theirs.parameters.external.files].sort() },
    ],
  ];
  const problems: string[] = [];
  for (const [field, a, b] of pairs) {
    try {
      assert.deepStrictEqual(a, b);
    } catch {
      problems.push(`${field}: ours ${clip(a)} vs python onnx ${clip(b)}`);
    }
  }
  if (problems.length) assert.fail(`${label}: our summary differs from the python onnx reader in ${problems.length} field(s):\n  ${problems.join('\n  ')}`);
}

function clip(v: unknown): string {
  const s = JSON.stringify(v);
  return s.length > 600 ? `${s.slice(0, 600)}...` : s;
}
