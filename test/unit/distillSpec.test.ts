// The distillation spec's one source (src/shared/distillSpecSchema.ts): the editor's JSON Schema
// file is what the generator writes, and the engine's structure check speaks for that schema with
// the messages users read (JSON path, what is wrong, what is allowed).
import * as assert from 'assert';
import * as fs from 'fs';
import { checkSpecStructure } from '../../src/core/distill/spec';
import { UNDERSTOOD_KEYWORDS } from '../../src/core/distill/schemaCheck';
import { DISTILL_SCHEMA_FILE, distillSchemaText } from '../../scripts/distill-schema';
import { DistillSpecSchema } from '../../src/shared/distillSpecSchema';
import { BASE_SPEC } from '../fixtures/distill/support';

const base = () => JSON.parse(fs.readFileSync(BASE_SPEC, 'utf8')) as Record<string, any>;
const problems = (edit: (s: Record<string, any>) => void) => {
  const s = base();
  edit(s);
  return checkSpecStructure(s).map((p) => `${p.path}: ${p.message}`);
};

describe('distillation spec schema', () => {
  it('schemas/distill.schema.json is the file the schema generates (run `npm run schema` after editing the schema)', () => {
    assert.strictEqual(fs.readFileSync(DISTILL_SCHEMA_FILE, 'utf8'), distillSchemaText());
  });

  it('uses only keywords the engine check understands', () => {
    const unknown: string[] = [];
    const walk = (node: unknown, at: string): void => {
      if (Array.isArray(node)) return node.forEach((x, i) => walk(x, `${at}[${i}]`));
      if (typeof node !== 'object' || node === null) return;
      for (const [k, v] of Object.entries(node)) {
        if (!UNDERSTOOD_KEYWORDS.has(k)) unknown.push(`${at}/${k}`);
        if (k === 'properties') for (const [name, field] of Object.entries(v as object)) walk(field, `${at}/properties/${name}`);
        else if (!['enum', 'const', 'default', 'examples', 'enumDescriptions', 'required'].includes(k)) walk(v, `${at}/${k}`);
      }
    };
    walk(JSON.parse(JSON.stringify(DistillSpecSchema)), '');
    assert.deepStrictEqual(unknown, []);
  });

  it('accepts the fixture spec', () => {
    assert.deepStrictEqual(checkSpecStructure(base()), []);
  });

  it('says where, what is wrong and what is allowed', () => {
    const cases: [(s: Record<string, any>) => void, string[]][] = [
      [
        (s) => {
          s.epoch = 3;
        },
        [
          "epoch: is not a known field (did you mean 'epochs'?); known: $schema, format, version, description, teacher, student, data, knowledge, scheme, optimizer, schedule, epochs, batchSize, seed, device, threads, cache, export, evaluation, baseline",
        ],
      ],
      [
        (s) => {
          s.batchSize = 0;
          s.seed = 1.5;
        },
        ['batchSize: must be a whole number >= 1 (got 0)', 'seed: must be a whole number >= 0 (got 1.5)'],
      ],
      [
        (s) => {
          s.knowledge[0].alpha = 2;
          s.knowledge[0].temperature = 0;
        },
        ['knowledge[0].temperature: must be a number > 0 (got 0)', 'knowledge[0].alpha: must be a number >= 0 and <= 1 (got 2)'],
      ],
      [
        (s) => {
          s.knowledge[1].type = 'hint';
        },
        ['knowledge[1].type: must be one of "response", "feature", "attention", "relation", "similarity" (got "hint")'],
      ],
      [
        (s) => {
          s.knowledge = [3, { type: 'feature' }, { type: 'feature', pairs: [] }];
        },
        ['knowledge[0]: must be an object with a type', 'knowledge[1].pairs: is required', 'knowledge[2].pairs: must list at least 1 item'],
      ],
      [
        (s) => {
          s.knowledge = { type: 'response' };
        },
        ['knowledge: must be a list'],
      ],
      [
        (s) => {
          s.teacher.model = '';
          s.description = 4;
        },
        ['description: must be a string', 'teacher.model: must be a non-empty string'],
      ],
      [
        (s) => {
          s.format = 'x';
          s.version = 2;
        },
        ['format: must be one of "onnx-compress/distill-spec" (got "x")', 'version: must be one of 1 (got 2)'],
      ],
      [
        (s) => {
          s.export = { dynamicBatch: 'yes', opset: 31 };
        },
        ['export.dynamicBatch: must be true or false', 'export.opset: must be a whole number >= 7 and <= 30 (got 31)'],
      ],
      [
        (s) => {
          s.data.eval = null;
          s.data.train.labels = null;
          s.threads = null;
          s.cache.topK = 0;
        },
        ['cache.topK: must be a whole number >= 1 (got 0)'],
      ],
      [
        (s) => {
          s.data.train.imagePreprocess = { layout: 'CHW', std: [0] };
        },
        ['data.train.imagePreprocess.layout: must be one of "NCHW", "NHWC" (got "CHW")', 'data.train.imagePreprocess.std[0]: must be a number > 0 (got 0)'],
      ],
      [
        (s) => {
          s.student = { model: 'm.onnx', factory: 'f.py:make' };
        },
        ['student: give either model (an ONNX student) or factory (file.py:function), not both'],
      ],
      [
        (s) => {
          s.student = { factory: 'f.py' };
        },
        ['student.factory: must be \'path/to/file.py:function\' (got "f.py")'],
      ],
      [
        (s) => {
          s.student = {};
        },
        ['student.factory: is required'],
      ],
      [
        (s) => {
          s.student = { factory: 'f.py:make', inputNames: [] };
        },
        ['student.inputNames: must list at least 1 item'],
      ],
      [
        (s) => {
          s.student = 'm.onnx';
        },
        ['student: must be an object'],
      ],
      [
        (s) => {
          s.scheme = { mode: 'snapshot' };
        },
        ['scheme.kind: is required'],
      ],
    ];
    for (const [edit, expected] of cases) assert.deepStrictEqual(problems(edit), expected);
    assert.deepStrictEqual(
      checkSpecStructure([]).map((p) => `${p.path}: ${p.message}`),
      ['(spec): must be an object'],
    );
  });
});
