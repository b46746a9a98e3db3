// The distillation engine without training: spec validation against the real fixture models and
// Fashion-MNIST, the teacher cache checked against direct onnxruntime runs, stale caches rebuilt,
// the trainable graph and weights written back (byte-identical outputs with the same weights), the
// torch runner of the trainer compared with onnxruntime-node, and the Python probe.
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { buildTeacherCache, teacherTensorsOf, type CacheManifest } from '../../src/core/distill/cache';
import { listTensors, proposePairs, chooseAdapter } from '../../src/core/distill/tensors';
import { probePython, trainerEnv } from '../../src/core/distill/python';
import { exportTrainableGraph, writeTrainedWeights } from '../../src/core/distill/trainableGraph';
import { validateSpec, type SpecValidation } from '../../src/core/distill/validate';
import { checkSpecStructure, runCopyOfSpec } from '../../src/core/distill/spec';
import { estimateCacheBytes } from '../../src/core/distill/cache';
import { readNpyFile } from '../../src/core/distill/npyStream';
import { float16BitsToFloat32 } from '../../src/core/onnx/floatFormats';
import { run } from '../../src/cli/main';
import { FASHION_DIR, FIXTURES } from '../support/evaluate';
import { ort, runOrt, TempDirs } from '../support/helpers';
import { writeNpy } from '../support/npyWriter';
import { BASE_SPEC, writeSpec } from '../fixtures/distill/support';
import { GraphBuilder, modelBytes } from '../fixtures/builder';
import { DataType } from '../../src/core/onnx/dataTypes';

/** The interpreter the trainer tests use (as scripts/test-all.js): Debian's python3 with torch unless set. */
const PYTHON = process.env.ONNX_COMPRESS_PYTHON || '/usr/bin/python3';

function fashionImages(file: string, n: number): { images: Float32Array; labels: Uint8Array } {
  const img = zlib.gunzipSync(fs.readFileSync(path.join(FASHION_DIR, file)));
  const lab = zlib.gunzipSync(fs.readFileSync(path.join(FASHION_DIR, file.replace('images-idx3', 'labels-idx1'))));
  const count = img.readUInt32BE(4);
  const images = new Float32Array(n * 784);
  for (let i = 0; i < images.length; i++) images[i] = img[16 + i] / 255;
  return { images, labels: lab.subarray(8, 8 + Math.min(n, count)) };
}

async function floats(file: string): Promise<{ shape: number[]; values: Float32Array; descr: string }> {
  const { header, bytes } = await readNpyFile(file);
  const copy = bytes.slice();
  const values = header.descr === '<f2' ? float16BitsToFloat32(new Uint16Array(copy.buffer)) : new Float32Array(copy.buffer);
  return { shape: header.shape, values, descr: header.descr };
}

function problem(v: SpecValidation, at: string): string {
  const p = v.problems.find((x) => x.path === at && x.severity === 'error');
  assert.ok(p, `expected an error at ${at}; got ${JSON.stringify(v.problems)}`);
  return p!.message;
}

describe('distillation engine: spec validation on the real models', function () {
  this.timeout(120000);
  const temp = new TempDirs('distill-spec-');
  after(() => temp.cleanup());

  it('accepts the fixture spec, settles adapters from the real shapes and proposes pairs', async () => {
    const v = await validateSpec(BASE_SPEC);
    assert.deepStrictEqual(
      v.problems.filter((p) => p.severity === 'error'),
      [],
    );
    assert.ok(v.ok && v.spec);
    assert.strictEqual(v.spec!.teacher.model, path.join(FIXTURES, 'fashion_cnn.onnx'));
    // Defaults are filled in, explicit values kept.
    assert.strictEqual(v.spec!.optimizer.lr, 0.002);
    assert.strictEqual(v.spec!.optimizer.weightDecay, 0);
    assert.strictEqual(v.spec!.cache.topK, null);
    assert.deepStrictEqual(
      v.adapters.map((a) => [a.teacher, a.student, a.adapter, a.teacherShape, a.studentShape]),
      [['/Relu_2_output_0', '/Relu_output_0', 'none', [null, 64], [null, 64]]],
    );
    assert.deepStrictEqual(
      v.data.map((d) => [d.split, d.samples, d.classes]),
      [
        ['train', 20000, 10],
        ['eval', 10000, 10],
      ],
    );
    assert.ok(
      v.pairsProposed.some((p) => p.teacher === '/Relu_2_output_0' && p.student === '/Relu_output_0'),
      JSON.stringify(v.pairsProposed),
    );
  });

  it('lists real tensors with shapes and proposes pairs by matching resolution', async () => {
    const t = await listTensors(path.join(FIXTURES, 'fashion_cnn.onnx'));
    const conv = t.find((x) => x.name === '/Relu_1_output_0')!;
    assert.deepStrictEqual([conv.shape?.slice(1), conv.producer, conv.opType], [[32, 11, 11], '/Relu_1', 'Relu']);
    assert.strictEqual(t.find((x) => x.name === 'input')!.kind, 'input');
    assert.strictEqual(t.find((x) => x.name === 'logits')!.kind, 'output');
    // The same architecture: every resolution pairs with itself, no adapter.
    const pairs = proposePairs(t, await listTensors(path.join(FIXTURES, 'mnist_cnn.onnx')));
    assert.deepStrictEqual(
      pairs.map((p) => [p.teacher, p.student, p.adapter]),
      [
        ['/Relu_output_0', '/Relu_output_0', 'none'],
        ['/MaxPool_output_0', '/MaxPool_output_0', 'none'],
        ['/Relu_1_output_0', '/Relu_1_output_0', 'none'],
        ['/MaxPool_1_output_0', '/MaxPool_1_output_0', 'none'],
        ['/Relu_2_output_0', '/Relu_2_output_0', 'none'],
      ],
    );
    assert.deepStrictEqual(chooseAdapter([1, 32, 11, 11], [1, 16, 26, 26]).adapter, 'conv1x1+interpolate');
    assert.deepStrictEqual(chooseAdapter([1, 32, 11, 11], [1, 16, 11, 11]).adapter, 'conv1x1');
    assert.deepStrictEqual(chooseAdapter([1, 28, 64], [1, 28, 32]).adapter, 'linear');
    assert.deepStrictEqual(chooseAdapter([1, 32, 11, 11], [1, 64]).adapter, null);
    assert.deepStrictEqual(chooseAdapter([1, 32, 11, 11], [1, 16, 26, 26], 'attention').adapter, 'interpolate');
  });

  it('names wrong tensors and suggests close names', async () => {
    const dir = temp.make();
    const v = await validateSpec(
      writeSpec(dir, (s) => {
        s.teacher.output = 'logit';
        s.knowledge = [{ type: 'feature', pairs: [{ teacher: '/Relu_2_output', student: '/Relu_output_9' }] }];
      }),
    );
    assert.strictEqual(v.ok, false);
    assert.match(problem(v, 'teacher.output'), /no tensor 'logit'; close names: 'logits'/);
    assert.match(problem(v, 'knowledge[0].pairs[0].teacher'), /the teacher has no tensor '\/Relu_2_output'; close names: '\/Relu_2_output_0'/);
    assert.match(problem(v, 'knowledge[0].pairs[0].student'), /the student has no tensor '\/Relu_output_9'; close names: '\/Relu_output_0'/);
  });

  it('refuses pairs no adapter can map, and an adapter that does not fit', async () => {
    const dir = temp.make();
    const v = await validateSpec(
      writeSpec(dir, (s) => {
        s.knowledge = [
          { type: 'feature', pairs: [{ teacher: '/Relu_1_output_0', student: '/Relu_output_0' }] },
          { type: 'feature', pairs: [{ teacher: '/fc1/Gemm_output_0', student: '/Flatten_output_0', adapter: 'none' }] },
        ];
      }),
    );
    assert.match(
      problem(v, 'knowledge[0].pairs[0]'),
      /'\/Relu_1_output_0' \[1,32,11,11\] and '\/Relu_output_0' \[1,64\] cannot be compared: no adapter maps student \[64\] onto teacher \[32,11,11\]/,
    );
    assert.match(problem(v, 'knowledge[1].pairs[0].adapter'), /'none' does not fit .*last axis 784 -> 64 by a linear layer; use "linear" or "auto"/);
    // The adapter validation settles is the one the job carries.
    const ok = await validateSpec(
      writeSpec(
        dir,
        (s) => {
          s.teacher.model = path.join(FIXTURES, 'fashion_cnn.onnx');
          s.student = { model: path.join(FIXTURES, 'mnist_cnn.onnx') };
          s.knowledge = [
            { type: 'response', alpha: 0 },
            { type: 'attention', pairs: [{ teacher: '/Relu_1_output_0', student: '/Relu_output_0' }] },
            { type: 'feature', pairs: [{ teacher: '/Relu_1_output_0', student: '/Relu_output_0' }] },
          ];
        },
        'cnn.distill.json',
      ),
    );
    assert.ok(ok.ok, JSON.stringify(ok.problems));
    assert.deepStrictEqual(
      ok.adapters.map((a) => a.adapter),
      ['interpolate', 'conv1x1+interpolate'],
    );
    const feature = ok.spec!.knowledge[2];
    assert.ok(feature.type === 'feature' && feature.pairs[0].adapter === 'conv1x1+interpolate' && feature.pairs[0].studentShape!.join() === ',16,26,26');
  });

  it('reports structure problems by JSON path, unknown fields with a suggestion, labels where a loss needs them, and caching under augmentation', async () => {
    const dir = temp.make();
    const v = await validateSpec(
      writeSpec(dir, (s) => {
        (s as unknown as Record<string, unknown>).epoch = 3;
        s.batchSize = 0;
        (s.knowledge![0] as unknown as Record<string, unknown>).temprature = 2;
      }),
    );
    assert.match(problem(v, 'epoch'), /is not a known field \(did you mean 'epochs'\?\)/);
    assert.match(problem(v, 'batchSize'), /must be a whole number >= 1 \(got 0\)/);
    assert.match(problem(v, 'knowledge[0].temprature'), /did you mean 'temperature'/);
    assert.strictEqual(v.spec, null);

    const noLabels = await validateSpec(
      writeSpec(dir, (s) => {
        s.data.train.labels = null;
        s.data.eval!.augmentation = 'random';
      }),
    );
    assert.match(
      problem(noLabels, 'data.train.labels'),
      /CE part \(alpha 0.5 > 0\) trains on labels, and there are none: give data.train.labels, or set alpha to 0/,
    );
    assert.match(problem(noLabels, 'data.eval.augmentation'), /random augmentation makes the cached teacher knowledge wrong.*offline scheme caches it/);

    const wrongLabels = await validateSpec(
      writeSpec(dir, (s) => {
        s.data.train.labels = path.join(FASHION_DIR, 't10k-labels-idx1-ubyte.gz');
      }),
    );
    assert.match(problem(wrongLabels, 'data.train.labels'), /holds 10000 labels but the data holds 60000 samples/);

    const badData = await validateSpec(
      writeSpec(dir, (s) => {
        s.data.train.source = path.join(dir, 'nothing.npz');
      }),
    );
    assert.match(problem(badData, 'data.train.source'), /no such file or folder/);
  });

  it('keeps a copy of the spec that reads the same files from another folder (the run folder)', async () => {
    const dir = temp.make();
    const copy = path.join(dir, 'spec.distill.json');
    fs.writeFileSync(copy, JSON.stringify(runCopyOfSpec(JSON.parse(fs.readFileSync(BASE_SPEC, 'utf8')), path.dirname(BASE_SPEC))));
    const [a, b] = [await validateSpec(BASE_SPEC), await validateSpec(copy)];
    assert.ok(b.ok, JSON.stringify(b.problems));
    assert.deepStrictEqual(b.spec, a.spec);
    assert.strictEqual(b.spec!.cache.dir, path.join(path.dirname(BASE_SPEC), '.distill-cache'));
  });

  it('the JSON Schema the editor uses names the same fields and values the engine checks', () => {
    const schema = JSON.parse(fs.readFileSync(path.resolve(FIXTURES, '..', '..', '..', 'schemas', 'distill.schema.json'), 'utf8'));
    // The engine lists the fields it knows when it meets an unknown one: the schema must list the same.
    const known = (at: string, raw: unknown) => {
      const p = checkSpecStructure(raw).find((x) => x.path.endsWith('zzz'));
      assert.ok(p, `no unknown-field problem at ${at}`);
      return /known: (.*)$/.exec(p!.message)![1].split(', ').sort();
    };
    const base = JSON.parse(fs.readFileSync(BASE_SPEC, 'utf8'));
    assert.deepStrictEqual(known('', { ...base, zzz: 1 }), Object.keys(schema.properties).sort());
    for (const key of ['teacher', 'cache', 'export', 'evaluation', 'optimizer', 'schedule', 'scheme']) {
      assert.deepStrictEqual(
        known(key, { ...base, [key]: { ...(base[key] ?? { kind: 'offline' }), zzz: 1 } }),
        Object.keys(schema.properties[key].properties).sort(),
        key,
      );
    }
    assert.deepStrictEqual(
      known('data.train', { ...base, data: { ...base.data, train: { ...base.data.train, zzz: 1 } } }),
      Object.keys(schema.properties.data.properties.train.properties).sort(),
    );
    const kinds = schema.properties.knowledge.items.allOf.map((x: { if: { properties: { type: { const: string } } } }) => x.if.properties.type.const);
    assert.deepStrictEqual(kinds, schema.properties.knowledge.items.properties.type.enum);
    for (const [i, kind] of kinds.entries()) {
      const then = schema.properties.knowledge.items.allOf[i].then;
      assert.deepStrictEqual(
        known(kind, { ...base, knowledge: [{ type: kind, pairs: [{ teacher: 'a', student: 'b' }], zzz: 1 }] }),
        Object.keys(then.properties).sort(),
        kind,
      );
    }
    // Every enum value of the schema passes the engine's structure check.
    for (const target of schema.properties.knowledge.items.allOf[0].then.properties.target.enum)
      assert.deepStrictEqual(checkSpecStructure({ ...base, knowledge: [{ type: 'response', target }] }), []);
    for (const adapter of schema.properties.knowledge.items.allOf[1].then.properties.pairs.items.properties.adapter.enum) {
      assert.deepStrictEqual(checkSpecStructure({ ...base, knowledge: [{ type: 'feature', pairs: [{ teacher: 'a', student: 'b', adapter }] }] }), []);
    }
    for (const kind of schema.properties.scheme.properties.kind.enum) assert.deepStrictEqual(checkSpecStructure({ ...base, scheme: { kind } }), []);
  });

  it('takes the logits before a final Softmax when no output is named, and warns when a named output is probabilities', async () => {
    const dir = temp.make();
    const b = new GraphBuilder('g');
    b.input('x', DataType.FLOAT, ['N', 4]);
    b.initializer(
      'W',
      DataType.FLOAT,
      [4, 3],
      Float32Array.from({ length: 12 }, (_, i) => i / 12),
    );
    b.node('MatMul', ['x', 'W'], ['scores']);
    b.node('Softmax', ['scores'], ['probs'], { axis: 1 });
    b.output('probs', DataType.FLOAT, ['N', 3]);
    const model = path.join(dir, 'softmax.onnx');
    fs.writeFileSync(model, modelBytes(b, { opset: 13 }));
    const base = { format: 'onnx-compress/distill-spec', version: 1, data: { train: { source: 'synthetic:16' } }, knowledge: [{ type: 'response', alpha: 0 }] };
    fs.writeFileSync(path.join(dir, 'a.distill.json'), JSON.stringify({ ...base, teacher: { model }, student: { model } }));
    const v = await validateSpec(path.join(dir, 'a.distill.json'));
    assert.ok(v.ok, JSON.stringify(v.problems));
    assert.deepStrictEqual([v.spec!.teacher.output, v.spec!.student.kind === 'onnx' && v.spec!.student.output], ['scores', 'scores']);
    assert.match(
      v.problems.find((p) => p.path === 'teacher.output')!.message,
      /not set: the first output 'probs' comes from Softmax, so its input 'scores' \(the logits\) is used/,
    );
    fs.writeFileSync(path.join(dir, 'b.distill.json'), JSON.stringify({ ...base, teacher: { model, output: 'probs' }, student: { model, output: 'scores' } }));
    const named = await validateSpec(path.join(dir, 'b.distill.json'));
    assert.match(
      named.problems.find((p) => p.path === 'teacher.output')!.message,
      /'probs' is the output of Softmax \(probabilities, not logits\).*set teacher.output to its input 'scores'/,
    );
  });

  it("self-distillation: pairs name the student's own tensors (its snapshot teaches), auxiliary pairs get their adapters", async () => {
    const dir = temp.make();
    const v = await validateSpec(
      writeSpec(dir, (s) => {
        s.scheme = {
          kind: 'self',
          mode: 'auxiliary',
          pairs: [
            { teacher: 'logits', student: '/Relu_output_0' },
            { teacher: '/Relu_output_0', student: '/Flatten_output_0' },
          ],
        };
        s.knowledge = [
          { type: 'response', alpha: 0.5 },
          { type: 'feature', pairs: [{ teacher: '/fc1/Gemm_output_0', student: '/Relu_output_0' }] },
        ];
      }),
    );
    assert.ok(v.ok, JSON.stringify(v.problems));
    assert.deepStrictEqual(
      v.spec!.scheme.pairs!.map((p) => p.adapter),
      ['none', 'linear'],
    );
    assert.deepStrictEqual(teacherTensorsOf(v.spec!), ['logits']);
    const wrong = await validateSpec(
      writeSpec(
        dir,
        (s) => {
          s.scheme = { kind: 'self', mode: 'snapshot' };
          s.knowledge = [{ type: 'feature', pairs: [{ teacher: '/Relu_2_output_0', student: '/Relu_output_0' }] }];
        },
        'wrong.distill.json',
      ),
    );
    assert.match(problem(wrong, 'knowledge[0].pairs[0].teacher'), /the student \(its snapshot teaches in the self scheme\) has no tensor '\/Relu_2_output_0'/);
  });

  it('prints the validation from the CLI (exit 0 valid, 1 with errors)', async () => {
    const lines: string[] = [];
    const out = { log: (s: string) => lines.push(s), error: (s: string) => lines.push(s) };
    assert.strictEqual(await run(['distill', BASE_SPEC, '--validate-only'], out), 0);
    const text = lines.join('\n');
    assert.match(text, /valid/);
    assert.match(text, /knowledge\[1\]\.pairs\[0\]\s+\/Relu_2_output_0 \[null,64\]\s+\/Relu_output_0 \[null,64\]\s+none/);
    assert.match(text, /Cache \(train\): [\d.]+ MiB/);
    lines.length = 0;
    const dir = temp.make();
    assert.strictEqual(
      await run(
        [
          'distill',
          writeSpec(dir, (s) => {
            s.teacher.output = 'nope';
          }),
          '--validate-only',
        ],
        out,
      ),
      1,
    );
    assert.match(lines.join('\n'), /error: teacher.output: the teacher has no tensor 'nope'/);
  });
});

describe('distillation engine: the teacher cache', function () {
  this.timeout(300000);
  const temp = new TempDirs('distill-cache-');
  after(() => temp.cleanup());

  it('holds the preprocessed inputs, the labels in the same order and the teacher tensors onnxruntime computes; its size is estimated first', async () => {
    const dir = temp.make();
    const v = await validateSpec(
      writeSpec(dir, (s) => {
        s.data.train = { ...s.data.train, samples: 300, shuffleSeed: 3 };
      }),
    );
    assert.ok(v.ok, JSON.stringify(v.problems));
    const events: string[] = [];
    const estimate = estimateCacheBytes(v.spec!, v.teacherTensors, [{ split: 'train', samples: 300, labels: true }])[0];
    const c = await buildTeacherCache(v.spec!, 'train', { batchSize: 64, onEvent: (e) => events.push(e.state) });
    assert.strictEqual(c.state, 'written');
    assert.deepStrictEqual([events[0], events[events.length - 1]], ['estimate', 'written']);
    const m = c.manifest;
    // Data bytes are what was estimated; each .npy adds a 128-byte header.
    assert.strictEqual(m.bytes, estimate.bytes! + 128 * 4);
    assert.deepStrictEqual(
      m.teacher.map((t) => [t.tensor, t.shape]),
      [
        ['logits', [300, 10]],
        ['/Relu_2_output_0', [300, 64]],
      ],
    );

    // Against a direct run: the same 300 samples (the data layer's seeded order), the teacher in onnxruntime.
    const inputs = await floats(path.join(c.dir, m.inputs[0].file));
    assert.deepStrictEqual(inputs.shape, [300, 1, 28, 28]);
    const all = fashionImages('train-images-idx3-ubyte.gz', 60000);
    const { shuffledOrder } = await import('../../src/core/data/source');
    const order = shuffledOrder(60000, 3);
    const x = new Float32Array(300 * 784);
    for (let i = 0; i < 300; i++) x.set(all.images.subarray(order[i] * 784, (order[i] + 1) * 784), i * 784);
    assert.deepStrictEqual(inputs.values, x);
    const labels = await readNpyFile(path.join(c.dir, m.labels!.file));
    assert.strictEqual(labels.header.descr, '<i8');
    const got = new BigInt64Array(labels.bytes.slice().buffer);
    for (let i = 0; i < 300; i++) assert.strictEqual(Number(got[i]), all.labels[order[i]], `label ${i}`);
    const ref = await runOrt(path.join(FIXTURES, 'fashion_cnn.onnx'), { input: new ort.Tensor('float32', x, [300, 1, 28, 28]) });
    const logits = await floats(path.join(c.dir, m.teacher[0].file));
    let maxDiff = 0;
    ref.logits.data.forEach((r, i) => (maxDiff = Math.max(maxDiff, Math.abs((r as number) - logits.values[i]))));
    assert.ok(maxDiff < 1e-4, `cached logits differ from a direct run by ${maxDiff}`);
  });

  it('stores float16 and top-k logits when asked, and reuses or rebuilds the cache (saying why)', async () => {
    const dir = temp.make();
    const specFile = writeSpec(dir, (s) => {
      s.data.train = { ...s.data.train, samples: 200, shuffleSeed: null };
      s.knowledge = [{ type: 'response', alpha: 0.5 }];
      s.cache = { dir: path.join(dir, 'cache'), dtype: 'float16', topK: 3 };
    });
    const v = await validateSpec(specFile);
    assert.ok(v.ok, JSON.stringify(v.problems));
    const first = await buildTeacherCache(v.spec!, 'train');
    const entry = first.manifest.teacher[0];
    assert.deepStrictEqual([entry.tensor, entry.shape, entry.dtype, entry.topK], ['logits', [200, 3], 'float16', 3]);
    const values = await floats(path.join(first.dir, entry.file));
    assert.strictEqual(values.descr, '<f2');
    const indices = new BigInt64Array((await readNpyFile(path.join(first.dir, entry.indices!))).bytes.slice().buffer);
    const x = fashionImages('train-images-idx3-ubyte.gz', 200).images;
    const ref = (await runOrt(path.join(FIXTURES, 'fashion_cnn.onnx'), { input: new ort.Tensor('float32', x, [200, 1, 28, 28]) })).logits.data as number[];
    for (let r = 0; r < 200; r++) {
      const row = ref.slice(r * 10, r * 10 + 10);
      const top = [...row.keys()].sort((a, b) => row[b] - row[a]).slice(0, 3);
      assert.deepStrictEqual([...indices.subarray(r * 3, r * 3 + 3)].map(Number), top, `row ${r}`);
      for (let j = 0; j < 3; j++) assert.ok(Math.abs(values.values[r * 3 + j] - row[top[j]]) <= Math.abs(row[top[j]]) * 1e-3 + 1e-3);
    }
    // Same spec: reused. Another teacher: rebuilt, and the reason names the model.
    assert.strictEqual((await buildTeacherCache(v.spec!, 'train')).state, 'reused');
    const other = { ...v.spec!, teacher: { ...v.spec!.teacher, model: path.join(FIXTURES, 'mnist_cnn.onnx') } };
    const rebuilt = await buildTeacherCache(other, 'train');
    assert.strictEqual(rebuilt.state, 'rebuilt');
    assert.match(rebuilt.reason!, /^the teacher model changed \(sha256 f0aefcf4f132 -> [0-9a-f]{12}\)$/);
    const again = await buildTeacherCache({ ...other, cache: { ...other.cache, topK: null } }, 'train');
    assert.match(again.reason!, /the cached tensors or their storage \(dtype, top-k\) changed/);
    // No temporary folders are left beside the cache.
    assert.deepStrictEqual(fs.readdirSync(path.join(dir, 'cache')), ['train']);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'cache', 'train', 'manifest.json'), 'utf8')) as CacheManifest;
    assert.strictEqual(
      manifest.hashes.model,
      crypto
        .createHash('sha256')
        .update(fs.readFileSync(path.join(FIXTURES, 'mnist_cnn.onnx')))
        .digest('hex'),
    );
  });
});

describe('distillation engine: ONNX made trainable and back', function () {
  this.timeout(300000);
  const temp = new TempDirs('distill-graph-');
  after(() => temp.cleanup());
  const MODELS = ['fashion_cnn', 'mnist_cnn', 'fashion_mlp_student', 'tiny_transformer'];

  it('writes the same weights back into the same graph: outputs byte-identical in onnxruntime; changed weights change them as expected', async () => {
    const dir = temp.make();
    const source = path.join(FIXTURES, 'fashion_cnn.onnx');
    const before = fs.readFileSync(source);
    const g = await exportTrainableGraph(source, path.join(dir, 'graph'));
    assert.deepStrictEqual(g.unsupported, []);
    assert.strictEqual(g.trainableParameters, 56714);
    const weights = Object.fromEntries(g.graph.initializers.filter((i) => i.trainable).map((i) => [i.name, path.join('..', 'graph', i.file)]));
    fs.mkdirSync(path.join(dir, 'w'));
    fs.writeFileSync(path.join(dir, 'w', 'weights.json'), JSON.stringify({ format: 'onnx-compress/trained-weights', version: 1, weights }));
    const same = await writeTrainedWeights(source, path.join(dir, 'w'), path.join(dir, 'same.onnx'));
    assert.strictEqual(same.replaced.length, 8);
    const x = fashionImages('t10k-images-idx3-ubyte.gz', 64).images;
    const feeds = () => ({ input: new ort.Tensor('float32', x, [64, 1, 28, 28]) });
    const a = await runOrt(source, feeds());
    const b = await runOrt(path.join(dir, 'same.onnx'), feeds());
    assert.deepStrictEqual(b.logits.data, a.logits.data);

    // fc2.bias + 1 shifts every logit by 1; nothing else in the graph changes.
    const bias = g.graph.initializers.find((i) => i.name === 'fc2.bias')!;
    const { header, bytes } = await readNpyFile(path.join(dir, 'graph', bias.file));
    const shifted = new Float32Array(bytes.slice().buffer).map((v) => v + 1);
    writeNpy(path.join(dir, 'w', 'bias.npy'), header.descr, header.shape, shifted);
    fs.writeFileSync(
      path.join(dir, 'w', 'weights.json'),
      JSON.stringify({ format: 'onnx-compress/trained-weights', version: 1, weights: { 'fc2.bias': 'bias.npy' } }),
    );
    const changed = await writeTrainedWeights(source, path.join(dir, 'w'), path.join(dir, 'changed.onnx'));
    assert.deepStrictEqual(changed.replaced, ['fc2.bias']);
    const c = await runOrt(path.join(dir, 'changed.onnx'), feeds());
    (c.logits.data as number[]).forEach((v, i) => assert.ok(Math.abs(v - ((a.logits.data[i] as number) + 1)) < 1e-5));
    const { readModel } = await import('../../src/core/onnx/model');
    const [m0, m1] = [await readModel(source), await readModel(path.join(dir, 'changed.onnx'))];
    assert.deepStrictEqual(
      m1.proto.graph!.node.map((n) => [n.op_type, n.input, n.output]),
      m0.proto.graph!.node.map((n) => [n.op_type, n.input, n.output]),
    );
    assert.deepStrictEqual(fs.readFileSync(source), before, 'the original is never modified');

    // Weights of another model, or of the wrong shape, are refused and nothing is written.
    writeNpy(path.join(dir, 'w', 'wrong.npy'), '<f4', [3], new Float32Array(3));
    fs.writeFileSync(
      path.join(dir, 'w', 'weights.json'),
      JSON.stringify({ format: 'onnx-compress/trained-weights', version: 1, weights: { 'fc2.bias': 'wrong.npy' } }),
    );
    await assert.rejects(
      writeTrainedWeights(source, path.join(dir, 'w'), path.join(dir, 'bad.onnx')),
      /'fc2.bias' comes back as float32 \[3\] but the model holds float32 \[10\]/,
    );
    fs.writeFileSync(
      path.join(dir, 'w', 'weights.json'),
      JSON.stringify({ format: 'onnx-compress/trained-weights', version: 1, weights: { 'head.weight': 'wrong.npy' } }),
    );
    await assert.rejects(writeTrainedWeights(source, path.join(dir, 'w'), path.join(dir, 'bad.onnx')), /names 'head.weight', which is no initializer/);
    assert.ok(!fs.existsSync(path.join(dir, 'bad.onnx')));
  });

  it('treats weights kept in Constant nodes (as PaddlePaddle exports them) like initializers, and writes them back into the Constant nodes', async () => {
    const dir = temp.make();
    const W = Float32Array.from({ length: 12 }, (_, i) => (i - 6) / 10);
    const B = Float32Array.of(0.5, -0.25, 1);
    const b = new GraphBuilder('g');
    b.input('x', DataType.FLOAT, ['N', 4]);
    b.constant('W', DataType.FLOAT, [4, 3], W);
    b.constant('B', DataType.FLOAT, [3], B);
    b.constant('shape', DataType.INT64, [2], BigInt64Array.of(-1n, 3n));
    b.node('MatMul', ['x', 'W'], ['xw']);
    b.node('Add', ['xw', 'B'], ['sum']);
    b.node('Reshape', ['sum', 'shape'], ['y']);
    b.output('y', DataType.FLOAT, ['N', 3]);
    const model = path.join(dir, 'constants.onnx');
    fs.writeFileSync(model, modelBytes(b, { opset: 13 }));
    const g = await exportTrainableGraph(model, path.join(dir, 'graph'));
    assert.deepStrictEqual(
      g.graph.initializers.map((i) => [i.name, i.trainable]),
      [
        ['W', true],
        ['B', true],
        ['shape', false],
      ],
    );
    assert.strictEqual(g.trainableParameters, 15);
    fs.mkdirSync(path.join(dir, 'w'));
    writeNpy(
      path.join(dir, 'w', 'W.npy'),
      '<f4',
      [4, 3],
      W.map((v) => 2 * v),
    );
    writeNpy(
      path.join(dir, 'w', 'B.npy'),
      '<f4',
      [3],
      B.map((v) => v + 1),
    );
    fs.writeFileSync(
      path.join(dir, 'w', 'weights.json'),
      JSON.stringify({ format: 'onnx-compress/trained-weights', version: 1, weights: { W: 'W.npy', B: 'B.npy' } }),
    );
    const r = await writeTrainedWeights(model, path.join(dir, 'w'), path.join(dir, 'trained.onnx'));
    assert.deepStrictEqual(r.replaced, ['W', 'B']);
    const x = Float32Array.of(1, 2, 3, 4, -1, 0, 0.5, 2);
    const y = (await runOrt(path.join(dir, 'trained.onnx'), { x: new ort.Tensor('float32', x, [2, 4]) })).y.data as number[];
    for (let n = 0; n < 2; n++)
      for (let j = 0; j < 3; j++) {
        let want = B[j] + 1;
        for (let k = 0; k < 4; k++) want += x[n * 4 + k] * 2 * W[k * 3 + j];
        assert.ok(Math.abs(y[n * 3 + j] - want) < 1e-5, `y[${n},${j}] = ${y[n * 3 + j]}, want ${want}`);
      }
    const { readModel } = await import('../../src/core/onnx/model');
    assert.deepStrictEqual(
      (await readModel(path.join(dir, 'trained.onnx'))).proto.graph!.node.map((n) => n.op_type),
      ['Constant', 'Constant', 'Constant', 'MatMul', 'Add', 'Reshape'],
    );
  });

  it("renames a student's inputs to the teacher's in its trainable graph only (the cache holds inputs by the teacher's names)", async () => {
    const dir = temp.make();
    const model = path.join(FIXTURES, 'fashion_mlp_student.onnx');
    const g = await exportTrainableGraph(model, path.join(dir, 'graph'), { renameInputs: { input: 'image' } });
    assert.deepStrictEqual(
      g.graph.inputs.map((i) => i.name),
      ['image'],
    );
    assert.ok(g.graph.nodes.every((n) => !n.inputs.includes('input')) && g.graph.nodes[0].inputs.includes('image'));
    const x = fashionImages('t10k-images-idx3-ubyte.gz', 8).images;
    writeNpy(path.join(dir, 'x.npy'), '<f4', [8, 1, 28, 28], x);
    const r = spawnSync(
      PYTHON,
      ['-m', 'onnx_compress_trainer', 'run-graph', g.graphFile, '--input', `image=${path.join(dir, 'x.npy')}`, '--output-dir', path.join(dir, 'out')],
      { env: trainerEnv(), encoding: 'utf8' },
    );
    assert.strictEqual(r.status, 0, `${r.stdout}\n${r.stderr}`);
    const files = JSON.parse(fs.readFileSync(path.join(dir, 'out', 'outputs.json'), 'utf8')) as Record<string, string>;
    const ref = await runOrt(model, { input: new ort.Tensor('float32', x, [8, 1, 28, 28]) });
    const got = await floats(files.logits);
    (ref.logits.data as number[]).forEach((v, i) => assert.ok(Math.abs(v - got.values[i]) < 1e-4));
    await assert.rejects(
      exportTrainableGraph(model, path.join(dir, 'bad'), { renameInputs: { input: 'fc1.weight' } }),
      /input 'input' cannot be renamed 'fc1.weight': the graph already has a tensor of that name/,
    );
  });

  // The trainer's torch runner (`run-graph`) against onnxruntime-node on 64 Fashion-MNIST test
  // images: every output within 1e-4 absolute (float32 summation order differs between the two).
  for (const name of MODELS) {
    it(`the trainer's torch runner reproduces onnxruntime on ${name} (max |diff| < 1e-4)`, async () => {
      const dir = temp.make();
      const model = path.join(FIXTURES, `${name}.onnx`);
      const g = await exportTrainableGraph(model, path.join(dir, 'graph'));
      assert.deepStrictEqual(g.unsupported, []);
      const x = fashionImages('t10k-images-idx3-ubyte.gz', 64).images;
      writeNpy(path.join(dir, 'x.npy'), '<f4', [64, 1, 28, 28], x);
      const r = spawnSync(
        PYTHON,
        ['-m', 'onnx_compress_trainer', 'run-graph', g.graphFile, '--input', `input=${path.join(dir, 'x.npy')}`, '--output-dir', path.join(dir, 'out')],
        { env: trainerEnv(), encoding: 'utf8' },
      );
      assert.strictEqual(r.status, 0, `run-graph failed: ${r.stdout}\n${r.stderr}`);
      const ref = await runOrt(model, { input: new ort.Tensor('float32', x, [64, 1, 28, 28]) });
      const files = JSON.parse(fs.readFileSync(path.join(dir, 'out', 'outputs.json'), 'utf8')) as Record<string, string>;
      const torchOut = await floats(files.logits);
      assert.deepStrictEqual(torchOut.shape, ref.logits.dims);
      let maxDiff = 0;
      (ref.logits.data as number[]).forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - torchOut.values[i]))));
      assert.ok(maxDiff < 1e-4, `${name}: torch and onnxruntime differ by ${maxDiff}`);
    });
  }
});

describe('distillation engine: the Python probe', function () {
  this.timeout(120000);

  it("finds torch and numpy in Debian's python3", async () => {
    const p = await probePython(PYTHON);
    assert.ok(p.ok, p.message);
    assert.match(p.torch ?? '', /^\d+\.\d+/);
    assert.deepStrictEqual(p.missing, []);
    const cuda = await probePython(PYTHON, { needCuda: true });
    assert.strictEqual(cuda.ok, cuda.cuda);
  });

  it('says there is no Python at a bogus path, and what to do', async () => {
    const p = await probePython('/nonexistent/python3');
    assert.strictEqual(p.ok, false);
    assert.deepStrictEqual(p.missing, ['python']);
    assert.match(p.message, /no Python interpreter at '\/nonexistent\/python3' \(ENOENT\); install Python 3 with torch and numpy/);
  });
});
