import { realModel } from '../support/browser';
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import { openDataSource, type DataSource } from '../../src/core/data';
import { DataType } from '../../src/core/onnx/dataTypes';
import { float32ToFloat16Bits } from '../../src/core/onnx/floatFormats';
import { decodeModel, type OnnxModel } from '../../src/core/onnx/model';
import { readModelSync } from '../support/helpers';
import { encodeMessage } from '../../src/core/onnx/codec';
import { makeTensor } from '../../src/core/onnx/tensor';
import { createSession, ort } from '../../src/core/runtime/session';
import { GraphBuilder, modelBytes, type Dim } from '../fixtures/builder';
import { TempDirs } from '../support/helpers';
import { idxBytes, npyBytes, npyHeader, npzBytes, writeNpy, writeNpz, zip64StoredBytes } from '../support/npyWriter';

type Plain = Record<string, { type: string; dims: number[]; data: number[] }>;

/** A model whose every input goes through Identity to an output (so a run echoes the feeds). */
function echoModel(inputs: Array<[string, DataType, Dim[] | null]>): OnnxModel {
  const b = new GraphBuilder('echo');
  for (const [name, type, shape] of inputs) {
    b.input(name, type, shape);
    b.node('Identity', [name], [`${name}_out`]);
    b.output(`${name}_out`, type, shape);
  }
  return decodeModel(modelBytes(b, { opset: 13 }));
}

function plainBatch(batch: Record<string, ort.Tensor>): Plain {
  const out: Plain = {};
  for (const [k, t] of Object.entries(batch)) {
    out[k] = { type: t.type, dims: [...t.dims], data: Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v)) };
  }
  return out;
}

async function collect(source: DataSource, options: Parameters<DataSource['batches']>[0]): Promise<Plain[]> {
  const out: Plain[] = [];
  for await (const b of source.batches(options)) out.push(plainBatch(b));
  return out;
}

/** All batches' values of one input, concatenated. */
function values(batches: Plain[], name: string): number[] {
  return batches.flatMap((b) => b[name].data);
}

async function rejects(work: () => Promise<unknown>, pattern: RegExp | string): Promise<Error> {
  try {
    await work();
  } catch (e) {
    const msg = (e as Error).message;
    if (typeof pattern === 'string') assert.ok(msg.includes(pattern), `expected message to contain ${JSON.stringify(pattern)}, got: ${msg}`);
    else assert.match(msg, pattern);
    return e as Error;
  }
  assert.fail(`expected an error matching ${pattern}`);
}

const iota = (n: number, from = 0) => Float32Array.from({ length: n }, (_, i) => i + from);

describe('calibration data', function () {
  const temp = new TempDirs('onnx-compress-calib-');
  after(() => temp.cleanup());

  describe('.npy', function () {
    const cases: Array<[string, DataType, ArrayBufferView]> = [
      ['<f4', DataType.FLOAT, Float32Array.from([1.5, -2, 3.25, 0, 7, 8])],
      ['<f8', DataType.DOUBLE, Float64Array.from([1e-300, -2, 3.5, 0, 7, 1e300])],
      ['<f2', DataType.FLOAT16, float32ToFloat16Bits([1, -2, 0.5, 0, 65504, -0.25])],
      ['|u1', DataType.UINT8, Uint8Array.from([0, 1, 2, 200, 254, 255])],
      ['|i1', DataType.INT8, Int8Array.from([-128, -1, 0, 1, 2, 127])],
      ['<i2', DataType.INT16, Int16Array.from([-32768, -1, 0, 1, 2, 32767])],
      ['<u2', DataType.UINT16, Uint16Array.from([0, 1, 2, 3, 4, 65535])],
      ['<i4', DataType.INT32, Int32Array.from([-2147483648, -1, 0, 1, 2, 2147483647])],
      ['<i8', DataType.INT64, BigInt64Array.from([-(2n ** 40n), -1n, 0n, 1n, 2n, 2n ** 40n])],
      ['|b1', DataType.BOOL, Uint8Array.from([1, 0, 0, 1, 1, 1])],
    ];
    for (const [descr, type, data] of cases) {
      it(`reads ${descr} exactly and onnxruntime accepts it`, async function () {
        const dir = temp.make();
        const file = path.join(dir, 'x.npy');
        writeNpy(file, descr, [3, 2], data);
        const model = echoModel([['x', type, ['N', 2]]]);
        const source = await openDataSource(file, model);
        assert.strictEqual(source.samples, 3);
        const batches: Array<Record<string, ort.Tensor>> = [];
        for await (const b of source.batches({ batchSize: 2 })) batches.push(b);
        assert.deepStrictEqual(
          batches.map((b) => b.x.dims),
          [
            [2, 2],
            [1, 2],
          ],
        );
        const got = batches.flatMap((b) => Array.from(b.x.data as ArrayLike<number | bigint>));
        assert.deepStrictEqual(got, Array.from(data as unknown as ArrayLike<number | bigint>));
        const session = await createSession(model);
        try {
          const out = await session.run({ x: batches[0].x });
          assert.deepStrictEqual(Array.from(out.x_out.data as ArrayLike<unknown>), Array.from(batches[0].x.data as ArrayLike<unknown>));
        } finally {
          await session.release();
        }
      });
    }

    it('reads format 2.0 headers', async function () {
      const dir = temp.make();
      const file = path.join(dir, 'x.npy');
      writeNpy(file, '<f4', [2, 3], iota(6), { version: 2 });
      const source = await openDataSource(file, echoModel([['x', DataType.FLOAT, ['N', 3]]]));
      assert.deepStrictEqual(values(await collect(source, { batchSize: 8 }), 'x'), [0, 1, 2, 3, 4, 5]);
    });

    it('refuses Fortran order, big-endian and unsupported dtypes with clear messages', async function () {
      const dir = temp.make();
      const model = echoModel([['x', DataType.FLOAT, ['N', 3]]]);
      const f1 = path.join(dir, 'f.npy');
      writeNpy(f1, '<f4', [2, 3], iota(6), { fortran: true });
      await rejects(() => openDataSource(f1, model), /Fortran .*numpy\.ascontiguousarray/);
      const f2 = path.join(dir, 'b.npy');
      writeNpy(f2, '>f4', [2, 3], iota(6));
      await rejects(() => openDataSource(f2, model), /'>f4' is big-endian; save it little-endian: arr\.astype\('<f4'\)/);
      const f3 = path.join(dir, 'c.npy');
      writeNpy(f3, '<c8', [2, 3], new Float32Array(12));
      await rejects(() => openDataSource(f3, model), /numpy dtype '<c8' is not supported/);
      const f4 = path.join(dir, 's.npy');
      writeNpy(f4, '', [2], new Uint8Array(8), { rawHeader: "{'descr': [('a', '<f4'), ('b', '<f4')], 'fortran_order': False, 'shape': (2,), }" });
      await rejects(() => openDataSource(f4, model), /structured numpy arrays/);
      const f5 = path.join(dir, 't.npy');
      fs.writeFileSync(f5, npyBytes('<f4', [4, 3], iota(6)));
      await rejects(() => openDataSource(f5, model), /truncated/);
      const f6 = path.join(dir, 'n.npy');
      fs.writeFileSync(f6, Buffer.from('not numpy at all'));
      await rejects(() => openDataSource(f6, model), /not a \.npy file/);
    });

    it('a .npy is for single-input models only', async function () {
      const dir = temp.make();
      const file = path.join(dir, 'x.npy');
      writeNpy(file, '<f4', [2, 3], iota(6));
      const model = echoModel([
        ['a', DataType.FLOAT, ['N', 3]],
        ['b', DataType.FLOAT, ['N', 3]],
      ]);
      await rejects(() => openDataSource(file, model), /a \.npy file can only feed a model with one input; this model has 2 \('a', 'b'\).*numpy\.savez/);
    });

    it('says which shape does not match and how to fix it', async function () {
      const dir = temp.make();
      const file = path.join(dir, 'x.npy');
      writeNpy(file, '<f4', [1, 3, 224, 224], new Float32Array(3 * 224 * 224));
      const model = echoModel([['x', DataType.FLOAT, ['N', 3, 640, 640]]]);
      const e = await rejects(() => openDataSource(file, model), "calibration data shape [1,3,224,224] does not match input 'x' [N,3,640,640]");
      assert.match(e.message, /axis 2 is 224 where the model needs 640/);
      const f2 = path.join(dir, 'r.npy');
      writeNpy(f2, '<f4', [4, 3], iota(12));
      await rejects(
        () => openDataSource(f2, model),
        /calibration data shape \[4,3\] does not match input 'x' \[N,3,640,640\]: the data has 2 axes, the input 4/,
      );
    });

    it('says which element type does not match and how to convert', async function () {
      const dir = temp.make();
      const file = path.join(dir, 'x.npy');
      writeNpy(file, '<f8', [2, 3], new Float64Array(6));
      await rejects(
        () => openDataSource(file, echoModel([['x', DataType.FLOAT, ['N', 3]]])),
        /is float64 but input 'x' is float32; convert it \(numpy: arr\.astype\(numpy\.float32\)\)/,
      );
    });

    it('refuses NaN and Inf, naming the sample', async function () {
      const dir = temp.make();
      const file = path.join(dir, 'x.npy');
      const data = iota(60);
      data[17 * 3 + 1] = NaN;
      writeNpy(file, '<f4', [20, 3], data);
      const model = echoModel([['x', DataType.FLOAT, ['N', 3]]]);
      const source = await openDataSource(file, model);
      await rejects(() => collect(source, { batchSize: 4 }), "input 'x' sample 17 contains NaN");
      await rejects(() => collect(source, { batchSize: 3, shuffleSeed: 5 }), "input 'x' sample 17 contains NaN");
      // Batches before the bad sample come through.
      assert.strictEqual((await collect(source, { batchSize: 4, limit: 16 })).length, 4);
      data[17 * 3 + 1] = 0;
      data[3 * 3] = -Infinity;
      writeNpy(file, '<f4', [20, 3], data);
      await rejects(async () => collect(await openDataSource(file, model), { batchSize: 4 }), "input 'x' sample 3 contains Inf");
      const f16 = path.join(dir, 'h.npy');
      const h = float32ToFloat16Bits(iota(6));
      h[4] = 0x7e00;
      writeNpy(f16, '<f2', [3, 2], h);
      await rejects(
        async () => collect(await openDataSource(f16, echoModel([['x', DataType.FLOAT16, ['N', 2]]])), { batchSize: 4 }),
        "input 'x' sample 2 contains NaN",
      );
    });

    it('reads a folder of .npy files in name order, one sample or batch each', async function () {
      const dir = temp.make();
      writeNpy(path.join(dir, 's10.npy'), '<f4', [2, 2], Float32Array.from([10, 10, 11, 11]));
      writeNpy(path.join(dir, 's2.npy'), '<f4', [2], Float32Array.from([2, 2])); // one sample, no batch axis
      writeNpy(path.join(dir, 's1.npy'), '<f4', [1, 2], Float32Array.from([1, 1]));
      fs.writeFileSync(path.join(dir, 'README.txt'), 'notes');
      const source = await openDataSource(dir, echoModel([['x', DataType.FLOAT, ['N', 2]]]));
      assert.strictEqual(source.samples, 4);
      assert.match(source.describe(), /README\.txt\) ignored/);
      const batches = await collect(source, { batchSize: 3 });
      assert.deepStrictEqual(
        batches.map((b) => b.x.dims),
        [
          [3, 2],
          [1, 2],
        ],
      );
      assert.deepStrictEqual(values(batches, 'x'), [1, 1, 2, 2, 10, 10, 11, 11]);
    });
  });

  describe('.npz', function () {
    const model = () =>
      echoModel([
        ['x', DataType.FLOAT, ['N', 2, 3]],
        ['ids', DataType.INT64, ['N', 4]],
      ]);
    const arrays = (n: number) => ({
      x: { descr: '<f4', shape: [n, 2, 3], data: iota(n * 6) },
      ids: { descr: '<i8', shape: [n, 4], data: BigInt64Array.from({ length: n * 4 }, (_, i) => BigInt(i * 1000)) },
      labels: { descr: '<i4', shape: [n], data: new Int32Array(n) },
    });

    for (const compressed of [false, true]) {
      it(`reads one array per input from a ${compressed ? 'deflated' : 'stored'} archive, in batches`, async function () {
        const dir = temp.make();
        const file = path.join(dir, 'data.npz');
        writeNpz(file, arrays(10), compressed);
        const source = await openDataSource(file, model());
        assert.strictEqual(source.samples, 10);
        const text = source.describe();
        assert.match(text, /array 'labels' is not a model input and is ignored/);
        assert.match(text, new RegExp(compressed ? 'deflated' : 'stored'));
        const batches = await collect(source, { batchSize: 4 });
        assert.deepStrictEqual(
          batches.map((b) => b.x.dims),
          [
            [4, 2, 3],
            [4, 2, 3],
            [2, 2, 3],
          ],
        );
        assert.deepStrictEqual(
          batches.map((b) => b.ids.dims),
          [
            [4, 4],
            [4, 4],
            [2, 4],
          ],
        );
        assert.deepStrictEqual(values(batches, 'x'), Array.from(iota(60)));
        assert.deepStrictEqual(
          values(batches, 'ids'),
          Array.from({ length: 40 }, (_, i) => i * 1000),
        );
        assert.strictEqual(batches[0].ids.type, 'int64');
        // Shuffled: every sample once, rows kept together across inputs, same seed same order.
        const s1 = await collect(source, { batchSize: 3, shuffleSeed: 42 });
        const s2 = await collect(source, { batchSize: 5, shuffleSeed: 42 });
        const s3 = await collect(source, { batchSize: 3, shuffleSeed: 7 });
        const order = (bs: Plain[]) => {
          const v = values(bs, 'x');
          return Array.from({ length: v.length / 6 }, (_, i) => v[i * 6] / 6);
        };
        const o1 = order(s1);
        assert.deepStrictEqual(order(s2), o1);
        assert.notDeepStrictEqual(order(s3), o1);
        assert.deepStrictEqual(
          [...o1].sort((a, b) => a - b),
          [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        );
        assert.notDeepStrictEqual(o1, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        const ids = values(s1, 'ids');
        o1.forEach((sample, k) => assert.strictEqual(ids[k * 4], sample * 4000));
        // A limit takes the first samples of the order.
        const limited = await collect(source, { batchSize: 4, limit: 5, shuffleSeed: 42 });
        assert.deepStrictEqual(
          limited.map((b) => b.x.dims[0]),
          [4, 1],
        );
        assert.deepStrictEqual(order(limited), o1.slice(0, 5));
      });
    }

    it('never inflates the entries it does not need', async function () {
      const dir = temp.make();
      const file = path.join(dir, 'data.npz');
      const noise = new Uint8Array(200000);
      for (let i = 0; i < noise.length; i++) noise[i] = (i * 7919) % 251;
      const bytes = npzBytes({ ...arrays(3), zzz_unused: { descr: '|u1', shape: [noise.length], data: noise } }, true);
      // Corrupt the middle of the unused entry's deflated data.
      const nameAt = Buffer.from(bytes).indexOf('zzz_unused.npy');
      for (let i = nameAt + 2000; i < nameAt + 2100; i++) bytes[i] ^= 0x5a;
      fs.writeFileSync(file, bytes);
      const source = await openDataSource(file, model());
      assert.deepStrictEqual(values(await collect(source, { batchSize: 2 }), 'x'), Array.from(iota(18)));
      assert.match(source.describe(), /arrays 'labels', 'zzz_unused' are not model inputs and are ignored/);
    });

    it('reads ZIP64 archives (as written for arrays over 4 GiB)', async function () {
      const dir = temp.make();
      const file = path.join(dir, 'data.npz');
      const a = arrays(3);
      fs.writeFileSync(
        file,
        zip64StoredBytes({ 'x.npy': npyBytes(a.x.descr, a.x.shape, a.x.data), 'ids.npy': npyBytes(a.ids.descr, a.ids.shape, a.ids.data) }),
      );
      const source = await openDataSource(file, model());
      assert.deepStrictEqual(
        values(await collect(source, { batchSize: 2 }), 'ids'),
        Array.from({ length: 12 }, (_, i) => i * 1000),
      );
    });

    it('says which input is missing', async function () {
      const dir = temp.make();
      const file = path.join(dir, 'data.npz');
      const { x, labels } = arrays(3);
      writeNpz(file, { x, labels });
      await rejects(
        () => openDataSource(file, model()),
        /has no array for input 'ids' \(it holds 'x', 'labels'\); save one per model input: numpy\.savez\(file, x=\.\.\., ids=\.\.\.\)/,
      );
    });

    it('refuses arrays whose sample counts differ, and shared dims that disagree', async function () {
      const dir = temp.make();
      const file = path.join(dir, 'data.npz');
      const a = arrays(3);
      writeNpz(file, { x: a.x, ids: arrays(4).ids });
      await rejects(() => openDataSource(file, model()), /array 'ids' holds 4 samples but array 'x' holds 3/);
      const m = echoModel([
        ['a', DataType.FLOAT, ['N', 'L']],
        ['b', DataType.FLOAT, ['N', 'L']],
      ]);
      writeNpz(file, { a: { descr: '<f4', shape: [2, 5], data: new Float32Array(10) }, b: { descr: '<f4', shape: [2, 6], data: new Float32Array(12) } });
      await rejects(() => openDataSource(file, m), /input 'a' axis 1 \(L\) is 5 but input 'b' axis 1 \(L\) is 6/);
    });

    it('maps positional arrays (arr_0, arr_1) to inputs in order', async function () {
      const dir = temp.make();
      const file = path.join(dir, 'data.npz');
      const a = arrays(2);
      writeNpz(file, { arr_0: a.x, arr_1: a.ids });
      const source = await openDataSource(file, model());
      assert.match(source.describe(), /arr_K feeds the K-th input/);
      assert.deepStrictEqual(values(await collect(source, { batchSize: 2 }), 'ids'), [0, 1000, 2000, 3000, 4000, 5000, 6000, 7000]);
    });

    it('reads a folder of .npz files (one sample or batch each), in name order, with shuffling', async function () {
      const dir = temp.make();
      const m = echoModel([
        ['x', DataType.FLOAT, ['N', 2]],
        ['y', DataType.INT32, ['N']],
      ]);
      const sample = (v: number, batch: number) => ({
        x: { descr: '<f4', shape: batch ? [batch, 2] : [2], data: Float32Array.from({ length: 2 * Math.max(batch, 1) }, (_, i) => v + Math.floor(i / 2)) },
        y: { descr: '<i4', shape: batch ? [batch] : [], data: Int32Array.from({ length: Math.max(batch, 1) }, (_, i) => v + i) },
      });
      writeNpz(path.join(dir, 'b10.npz'), sample(10, 2), true);
      writeNpz(path.join(dir, 'b2.npz'), sample(2, 0));
      writeNpz(path.join(dir, 'b1.npz'), sample(1, 1), true);
      const source = await openDataSource(dir, m);
      assert.strictEqual(source.samples, 4);
      const batches = await collect(source, { batchSize: 3 });
      assert.deepStrictEqual(values(batches, 'y'), [1, 2, 10, 11]);
      assert.deepStrictEqual(values(batches, 'x'), [1, 1, 2, 2, 10, 10, 11, 11]);
      assert.deepStrictEqual(
        batches.map((b) => b.y.dims),
        [[3], [1]],
      );
      const shuffled = values(await collect(source, { batchSize: 2, shuffleSeed: 3 }), 'y');
      assert.deepStrictEqual(
        [...shuffled].sort((a, b) => a - b),
        [1, 2, 10, 11],
      );
    });

    it('reads real numpy.savez and numpy.savez_compressed archives exactly', async function () {
      const python = '/usr/bin/python3';
      const probe = spawnSync(python, ['-c', 'import numpy; print(numpy.__version__)'], { encoding: 'utf8' });
      if (probe.status !== 0) {
        assert.fail(`this test needs numpy for ${python} (Debian: apt-get install python3-numpy): ${probe.error?.message ?? probe.stderr}`);
      }
      const dir = temp.make();
      const n = 5;
      const f32 = Float32Array.from({ length: n * 6 }, (_, i) => Math.fround(Math.sin(i) * 1000) / 7);
      const f64 = Float64Array.from({ length: n * 2 }, (_, i) => Math.cos(i) * 1e10);
      const f16 = float32ToFloat16Bits(Float32Array.from({ length: n * 3 }, (_, i) => i / 3 - 2));
      const i64 = BigInt64Array.from({ length: n * 2 }, (_, i) => (i % 2 ? -1n : 1n) * (2n ** 50n + BigInt(i)));
      const u8 = Uint8Array.from({ length: n * 4 }, (_, i) => (i * 37) % 256);
      const b = Uint8Array.from({ length: n * 2 }, (_, i) => (i % 3 === 0 ? 1 : 0));
      const i8 = Int8Array.from({ length: n }, (_, i) => i * 30 - 60);
      const i16 = Int16Array.from({ length: n * 2 }, (_, i) => i * 3000 - 15000);
      const u16 = Uint16Array.from({ length: n * 2 }, (_, i) => i * 6000);
      const i32 = Int32Array.from({ length: n * 2 }, (_, i) => i * 200000000 - 1000000000);
      const spec = {
        f32: { dtype: 'float32', shape: [n, 2, 3], values: Array.from(f32) },
        f64: { dtype: 'float64', shape: [n, 2], values: Array.from(f64) },
        f16: { dtype: 'float16', shape: [n, 3], values: Array.from(f16) },
        i64: { dtype: 'int64', shape: [n, 2], values: Array.from(i64, String) },
        u8: { dtype: 'uint8', shape: [n, 4], values: Array.from(u8) },
        b: { dtype: 'bool', shape: [n, 2], values: Array.from(b, (v) => v === 1) },
        i8: { dtype: 'int8', shape: [n], values: Array.from(i8) },
        i16: { dtype: 'int16', shape: [n, 2], values: Array.from(i16) },
        u16: { dtype: 'uint16', shape: [n, 2], values: Array.from(u16) },
        i32: { dtype: 'int32', shape: [n, 2], values: Array.from(i32) },
        extra: { dtype: 'float32', shape: [3], values: [1, 2, 3] },
      };
      fs.writeFileSync(path.join(dir, 'spec.json'), JSON.stringify(spec));
      const script = [
        'import json, sys, numpy as np',
        'spec = json.load(open(sys.argv[1]))',
        'arrays = {}',
        'for name, a in spec.items():',
        "    if a['dtype'] == 'float16': arr = np.array(a['values'], dtype=np.uint16).view(np.float16)",
        "    elif a['dtype'] == 'int64': arr = np.array([int(v) for v in a['values']], dtype=np.int64)",
        "    else: arr = np.array(a['values'], dtype=a['dtype'])",
        "    arrays[name] = arr.reshape(a['shape'])",
        'np.savez(sys.argv[2], **arrays)',
        'np.savez_compressed(sys.argv[3], **arrays)',
      ].join('\n');
      const plainFile = path.join(dir, 'plain.npz');
      const packedFile = path.join(dir, 'packed.npz');
      const run = spawnSync(python, ['-c', script, path.join(dir, 'spec.json'), plainFile, packedFile], { encoding: 'utf8' });
      assert.strictEqual(run.status, 0, `numpy failed: ${run.stderr}`);
      const model = echoModel([
        ['f32', DataType.FLOAT, ['N', 2, 3]],
        ['f64', DataType.DOUBLE, ['N', 2]],
        ['f16', DataType.FLOAT16, ['N', 3]],
        ['i64', DataType.INT64, ['N', 2]],
        ['u8', DataType.UINT8, ['N', 4]],
        ['b', DataType.BOOL, ['N', 2]],
        ['i8', DataType.INT8, ['N']],
        ['i16', DataType.INT16, ['N', 2]],
        ['u16', DataType.UINT16, ['N', 2]],
        ['i32', DataType.INT32, ['N', 2]],
      ]);
      const expected: Record<string, ArrayLike<number | bigint>> = { f32, f64, f16, i64, u8, b, i8, i16, u16, i32 };
      const session = await createSession(model);
      try {
        for (const file of [plainFile, packedFile]) {
          const source = await openDataSource(file, model);
          assert.strictEqual(source.samples, n);
          assert.match(source.describe(), /'extra' is not a model input/);
          const got: Record<string, Array<number | bigint>> = {};
          let first = true;
          for await (const batch of source.batches({ batchSize: 2 })) {
            for (const [k, t] of Object.entries(batch)) (got[k] ??= []).push(...Array.from(t.data as ArrayLike<number | bigint>));
            if (first) {
              // onnxruntime takes every element type as read, and echoes it unchanged.
              const out = await session.run(batch);
              for (const k of Object.keys(expected)) {
                assert.deepStrictEqual(
                  Array.from(out[`${k}_out`].data as ArrayLike<unknown>),
                  Array.from(batch[k].data as ArrayLike<unknown>),
                  `${k} through onnxruntime`,
                );
              }
              first = false;
            }
          }
          for (const [k, v] of Object.entries(expected)) {
            assert.deepStrictEqual(got[k], Array.from(v), `${path.basename(file)} array ${k}`);
          }
        }
      } finally {
        await session.release();
      }
    });
  });

  describe('ONNX TensorProto test data', function () {
    const model = () =>
      echoModel([
        ['x', DataType.FLOAT, ['N', 3]],
        ['ids', DataType.INT64, ['N', 2]],
      ]);
    function writeSet(dir: string, k: number, named: boolean): void {
      const set = path.join(dir, `test_data_set_${k}`);
      fs.mkdirSync(set, { recursive: true });
      const x = makeTensor({ name: named ? 'x' : '', dataType: DataType.FLOAT, dims: [1, 3], values: Float32Array.from([k, k + 0.5, -k]) });
      const ids = makeTensor({ name: named ? 'ids' : '', dataType: DataType.INT64, dims: [1, 2], values: BigInt64Array.from([BigInt(k), 7n]) });
      // Named tensors are matched by name, whatever their file's number.
      fs.writeFileSync(path.join(set, named ? 'input_1.pb' : 'input_0.pb'), encodeMessage('TensorProto', x));
      fs.writeFileSync(path.join(set, named ? 'input_0.pb' : 'input_1.pb'), encodeMessage('TensorProto', ids));
      fs.writeFileSync(path.join(set, 'output_0.pb'), encodeMessage('TensorProto', x));
    }

    for (const named of [true, false]) {
      it(`reads test_data_set_N folders as samples (${named ? 'named tensors' : 'by position'})`, async function () {
        const dir = temp.make();
        for (const k of [0, 1, 2, 10]) writeSet(dir, k, named);
        const source = await openDataSource(dir, model());
        assert.strictEqual(source.samples, 4);
        const batches = await collect(source, { batchSize: 3 });
        assert.deepStrictEqual(
          batches.map((b) => b.x.dims),
          [
            [3, 3],
            [1, 3],
          ],
        );
        assert.deepStrictEqual(values(batches, 'x'), [0, 0.5, -0, 1, 1.5, -1, 2, 2.5, -2, 10, 10.5, -10]);
        assert.deepStrictEqual(values(batches, 'ids'), [0, 7, 1, 7, 2, 7, 10, 7]);
        // One set folder alone is one sample set.
        const one = await openDataSource(path.join(dir, 'test_data_set_1'), model());
        assert.deepStrictEqual(values(await collect(one, { batchSize: 4 }), 'ids'), [1, 7]);
      });
    }

    it('says which input file is missing or does not fit', async function () {
      const dir = temp.make();
      writeSet(dir, 0, true);
      fs.rmSync(path.join(dir, 'test_data_set_0', 'input_0.pb'));
      await rejects(() => openDataSource(dir, model()), /has no file for input 'ids' \(input_1\.pb\)/);
      const d2 = temp.make();
      writeSet(d2, 0, true);
      const bad = makeTensor({ name: 'x', dataType: DataType.DOUBLE, dims: [1, 3], values: new Float64Array(3) });
      fs.writeFileSync(path.join(d2, 'test_data_set_0', 'input_1.pb'), encodeMessage('TensorProto', bad));
      await rejects(() => openDataSource(d2, model()), /is float64 but input 'x' is float32/);
    });

    it('reads a single .pb for a single-input model', async function () {
      const dir = temp.make();
      const file = path.join(dir, 'input_0.pb');
      fs.writeFileSync(file, encodeMessage('TensorProto', makeTensor({ name: 'x', dataType: DataType.FLOAT, dims: [2, 3], values: iota(6) })));
      const source = await openDataSource(file, echoModel([['x', DataType.FLOAT, ['N', 3]]]));
      assert.deepStrictEqual(values(await collect(source, { batchSize: 1 }), 'x'), [0, 1, 2, 3, 4, 5]);
    });
  });

  describe('images', function () {
    function png(file: string, w: number, h: number, pixel: (x: number, y: number) => [number, number, number]): void {
      const img = new PNG({ width: w, height: h });
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const [r, g, b] = pixel(x, y);
          img.data.set([r, g, b, 255], (y * w + x) * 4);
        }
      }
      fs.writeFileSync(file, PNG.sync.write(img));
    }
    function jpg(file: string, w: number, h: number, pixel: (x: number, y: number) => [number, number, number]): void {
      const data = Buffer.alloc(w * h * 4);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set([...pixel(x, y), 255], (y * w + x) * 4);
      fs.writeFileSync(file, jpeg.encode({ data, width: w, height: h }, 95).data);
    }
    const px = (x: number, y: number): [number, number, number] => [10 * x + y, 100 + x, 200 - y];

    it('feeds PNGs as NCHW RGB with scale, mean and std (size from the model)', async function () {
      const dir = temp.make();
      png(path.join(dir, 'a.png'), 2, 2, px);
      png(path.join(dir, 'b.png'), 2, 2, (x, y) => [0, 255, x + y]);
      const model = echoModel([['x', DataType.FLOAT, ['N', 3, 2, 2]]]);
      const source = await openDataSource(dir, model, { imagePreprocess: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.5, 1], scale: 1 / 255 } });
      assert.strictEqual(source.samples, 2);
      const [batch] = await collect(source, { batchSize: 4 });
      assert.deepStrictEqual(batch.x.dims, [2, 3, 2, 2]);
      const expected: number[] = [];
      for (const f of [px, (x: number, y: number): [number, number, number] => [0, 255, x + y]]) {
        for (let c = 0; c < 3; c++)
          for (let y = 0; y < 2; y++) for (let x = 0; x < 2; x++) expected.push(Math.fround((f(x, y)[c] / 255 - 0.5) / [0.25, 0.5, 1][c]));
      }
      batch.x.data.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-6, `value ${i}: ${v} vs ${expected[i]}`));
      assert.match(source.describe(), /2 images as float32, NCHW RGB 2x2/);
    });

    it('resizes bilinearly (half-pixel centres) and nearest, and lays out NHWC BGR', async function () {
      const dir = temp.make();
      // 4x4 -> 2x2 bilinear averages 2x2 blocks exactly.
      png(path.join(dir, 'a.png'), 4, 4, (x, y) => [x * 10 + y * 40, 0, 0]);
      const model = echoModel([['x', DataType.FLOAT, ['N', 2, 2, 3]]]);
      const src = await openDataSource(dir, model, { imagePreprocess: { channels: 'BGR', scale: 1 } });
      const [b] = await collect(src, { batchSize: 1 });
      assert.deepStrictEqual(b.x.dims, [1, 2, 2, 3]);
      const red = [0, 1, 2, 3].map((p) => b.x.data[p * 3 + 2]);
      assert.deepStrictEqual(red, [25, 45, 105, 125]);
      assert.deepStrictEqual(
        [0, 1, 2, 3].map((p) => b.x.data[p * 3]),
        [0, 0, 0, 0],
      );
      // 2x2 -> 4x4 bilinear: edges clamp, inner pixels mix 3:1.
      const d2 = temp.make();
      png(path.join(d2, 'a.png'), 2, 2, (x, y) => [x * 100 + y * 20, 0, 0]);
      const up = await openDataSource(d2, echoModel([['x', DataType.FLOAT, ['N', 3, 4, 4]]]), { imagePreprocess: { scale: 1 } });
      const [u] = await collect(up, { batchSize: 1 });
      assert.deepStrictEqual(u.x.data.slice(0, 4), [0, 25, 75, 100]);
      const near = await openDataSource(d2, echoModel([['x', DataType.FLOAT, ['N', 3, 4, 4]]]), { imagePreprocess: { scale: 1, resize: 'nearest' } });
      const [n] = await collect(near, { batchSize: 1 });
      assert.deepStrictEqual(n.x.data.slice(0, 4), [0, 0, 100, 100]);
    });

    it('feeds grayscale and uint8 inputs, and JPEGs', async function () {
      const dir = temp.make();
      jpg(path.join(dir, 'a.jpg'), 8, 8, () => [120, 120, 120]);
      jpg(path.join(dir, 'b.jpeg'), 8, 8, () => [30, 60, 90]);
      const gray = await openDataSource(dir, echoModel([['x', DataType.FLOAT, ['N', 1, 8, 8]]]));
      const [g] = await collect(gray, { batchSize: 2 });
      assert.deepStrictEqual(g.x.dims, [2, 1, 8, 8]);
      assert.ok(Math.abs(g.x.data[0] - 120 / 255) < 3 / 255, `gray ${g.x.data[0]}`);
      const expectGray = 0.299 * 30 + 0.587 * 60 + 0.114 * 90;
      assert.ok(Math.abs(g.x.data[64] - expectGray / 255) < 3 / 255, `gray ${g.x.data[64]}`);
      const raw = await openDataSource(dir, echoModel([['x', DataType.UINT8, ['N', 8, 8, 3]]]));
      const [r] = await collect(raw, { batchSize: 2 });
      assert.strictEqual(r.x.type, 'uint8');
      assert.ok(Math.abs(r.x.data[192] - 30) <= 3 && Math.abs(r.x.data[194] - 90) <= 3, `rgb ${r.x.data.slice(192, 195)}`);
    });

    it('says when the preprocess does not fit the model, and refuses bad files', async function () {
      const dir = temp.make();
      png(path.join(dir, 'a.png'), 4, 4, px);
      const model = echoModel([['x', DataType.FLOAT, ['N', 3, 224, 224]]]);
      await rejects(
        () => openDataSource(dir, model, { imagePreprocess: { width: 320 } }),
        /image width 320 does not match input 'x' \[N,3,224,224\] \(NCHW\), which needs 224/,
      );
      await rejects(
        () => openDataSource(dir, model, { imagePreprocess: { channels: 'GRAY' } }),
        /takes 3 channel\(s\) \(NCHW\) but the images give 1 \(GRAY\)/,
      );
      await rejects(() => openDataSource(dir, model, { imagePreprocess: { mean: [1, 2] } }), /mean has 2 values; give 1 or 3/);
      fs.writeFileSync(path.join(dir, 'b.png'), Buffer.from('not a png'));
      const source = await openDataSource(dir, model);
      await rejects(() => collect(source, { batchSize: 2 }), /b\.png: is neither a PNG nor a JPEG/);
    });

    it('keeps images of their own size when the model does not fix one, starting a new batch per size', async function () {
      const dir = temp.make();
      png(path.join(dir, '1.png'), 4, 2, px);
      png(path.join(dir, '2.png'), 4, 2, px);
      png(path.join(dir, '3.png'), 2, 2, px);
      const source = await openDataSource(dir, echoModel([['x', DataType.FLOAT, ['N', 3, 'H', 'W']]]));
      assert.match(source.describe(), /images keep their own size/);
      const batches = await collect(source, { batchSize: 8 });
      assert.deepStrictEqual(
        batches.map((b) => b.x.dims),
        [
          [2, 3, 2, 4],
          [1, 3, 2, 2],
        ],
      );
    });

    it('runs a batch of PNG and JPEG images through the PP-OCR detector', async function () {
      const file = realModel('ch_PP-OCRv4_det_infer.onnx');
      const dir = temp.make();
      png(path.join(dir, 'a.png'), 80, 50, (x, y) => (x > 20 && x < 60 && y > 20 && y < 30 ? [0, 0, 0] : [255, 255, 255]));
      jpg(path.join(dir, 'b.jpg'), 64, 64, (x, y) => [(x * 4) % 256, (y * 4) % 256, 128]);
      const model = readModelSync(file);
      const source = await openDataSource(dir, model, { imagePreprocess: { width: 64, height: 64, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } });
      const session = await createSession(model);
      try {
        for await (const batch of source.batches({ batchSize: 2 })) {
          assert.deepStrictEqual(batch.x.dims, [2, 3, 64, 64]);
          const out = await session.run(batch);
          const y = Object.values(out)[0];
          assert.deepStrictEqual(y.dims, [2, 1, 64, 64]);
          const data = y.data as Float32Array;
          assert.ok(
            data.every((v) => v >= 0 && v <= 1),
            'probabilities',
          );
        }
      } finally {
        await session.release();
      }
    });
  });

  describe('IDX', function () {
    const images = Uint8Array.from({ length: 5 * 4 * 4 }, (_, i) => (i * 13) % 256);
    for (const gz of [false, true]) {
      it(`reads MNIST-style images${gz ? ' (gzipped)' : ''}, scaled and reshaped to the input`, async function () {
        const dir = temp.make();
        const bytes = idxBytes(0x08, [5, 4, 4], images);
        const file = path.join(dir, `t10k-images-idx3-ubyte${gz ? '.gz' : ''}`);
        fs.writeFileSync(file, gz ? zlib.gzipSync(bytes) : bytes);
        const source = await openDataSource(file, echoModel([['x', DataType.FLOAT, ['N', 1, 4, 4]]]));
        assert.strictEqual(source.samples, 5);
        const batches = await collect(source, { batchSize: 2 });
        assert.deepStrictEqual(
          batches.map((b) => b.x.dims),
          [
            [2, 1, 4, 4],
            [2, 1, 4, 4],
            [1, 1, 4, 4],
          ],
        );
        values(batches, 'x').forEach((v, i) => assert.ok(Math.abs(v - images[i] / 255) < 1e-7));
        const shuffled = await collect(source, { batchSize: 2, shuffleSeed: 9 });
        const firsts = shuffled.flatMap((b) => Array.from({ length: b.x.dims[0] }, (_, k) => Math.round(b.x.data[k * 16] * 255)));
        assert.deepStrictEqual(
          [...firsts].sort((a, b) => a - b),
          [0, 1, 2, 3, 4].map((s) => images[s * 16]).sort((a, b) => a - b),
        );
        // Custom scale and normalization, and a flat input.
        const flat = await openDataSource(file, echoModel([['x', DataType.FLOAT, ['N', 16]]]), { imagePreprocess: { scale: 1, mean: [10], std: [2] } });
        const [f] = await collect(flat, { batchSize: 1 });
        assert.deepStrictEqual(f.x.dims, [1, 16]);
        assert.deepStrictEqual(
          f.x.data,
          Array.from(images.subarray(0, 16), (v) => (v - 10) / 2),
        );
      });
    }

    it('reads labels (0x0801) and refuses a size that does not fit', async function () {
      const dir = temp.make();
      const file = path.join(dir, 'labels-idx1-ubyte');
      fs.writeFileSync(file, idxBytes(0x08, [6], Uint8Array.from([3, 1, 4, 1, 5, 9])));
      const source = await openDataSource(file, echoModel([['y', DataType.INT64, ['N']]]));
      assert.deepStrictEqual(values(await collect(source, { batchSize: 4 }), 'y'), [3, 1, 4, 1, 5, 9]);
      const img = path.join(dir, 'images.idx3');
      fs.writeFileSync(img, idxBytes(0x08, [2, 28, 28], new Uint8Array(2 * 784)));
      await rejects(
        () => openDataSource(img, echoModel([['x', DataType.FLOAT, ['N', 1, 32, 32]]])),
        /calibration data shape \[2,28,28\] does not match input 'x' \[N,1,32,32\]: a sample holds 784 values, the input 1024/,
      );
      // Found by its magic number whatever its name.
      const odd = path.join(dir, 'mnist.bin');
      fs.writeFileSync(odd, idxBytes(0x08, [2, 28, 28], new Uint8Array(2 * 784)));
      const s = await openDataSource(odd, echoModel([['x', DataType.FLOAT, ['N', 1, 28, 28]]]));
      assert.strictEqual(s.samples, 2);
    });
  });

  describe('synthetic', function () {
    const model = () =>
      echoModel([
        ['x', DataType.FLOAT, ['N', 3, 'H', 'W']],
        ['ids', DataType.INT64, ['N', 4]],
      ]);

    it('generates seeded samples, the same whatever the batch size', async function () {
      const source = await openDataSource('synthetic:10', model());
      assert.strictEqual(source.samples, 10);
      assert.match(source.describe(), /symbolic dims H, W are 1/);
      const a = await collect(source, { batchSize: 3 });
      const b = await collect(source, { batchSize: 4 });
      assert.deepStrictEqual(
        a.map((x) => x.x.dims),
        [
          [3, 3, 1, 1],
          [3, 3, 1, 1],
          [3, 3, 1, 1],
          [1, 3, 1, 1],
        ],
      );
      assert.deepStrictEqual(values(a, 'x'), values(b, 'x'));
      assert.ok(
        values(a, 'ids').every((v) => v === 0),
        'integers are zeros for normal()',
      );
      const d = await openDataSource('synthetic', model(), { syntheticSamples: 5 });
      assert.strictEqual(d.samples, 5);
      assert.strictEqual((await openDataSource('synthetic', model())).samples, 16);
    });

    it('draws normal(mean,std) and uniform(lo,hi), with sizes given', async function () {
      const n = await openDataSource('synthetic:4:normal(2,3):x=1,3,32,32', model());
      const v = values(await collect(n, { batchSize: 4 }), 'x');
      assert.strictEqual(v.length, 4 * 3 * 32 * 32);
      const mean = v.reduce((s, x) => s + x, 0) / v.length;
      const sd = Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length);
      assert.ok(Math.abs(mean - 2) < 0.1 && Math.abs(sd - 3) < 0.1, `mean ${mean} sd ${sd}`);
      const u = await openDataSource('synthetic:6:uniform(-1,1)', model(), { inputShapes: { x: [1, 3, 4, 4] } });
      const [b] = await collect(u, { batchSize: 6 });
      assert.deepStrictEqual(b.x.dims, [6, 3, 4, 4]);
      assert.ok(b.x.data.every((x) => x >= -1 && x < 1));
      assert.ok(b.ids.data.every((x) => [-1, 0, 1].includes(x)) && new Set(b.ids.data).size === 3);
      const seeded1 = values(await collect(await openDataSource('synthetic:2:uniform(0,1):seed=5', model()), { batchSize: 2 }), 'x');
      const seeded2 = values(await collect(await openDataSource('synthetic:2:uniform(0,1)', model()), { batchSize: 2 }), 'x');
      assert.notDeepStrictEqual(seeded1, seeded2);
      await rejects(() => openDataSource('synthetic:4:gauss(0,1)', model()), /synthetic spec part 'gauss\(0,1\)' is not understood/);
      await rejects(() => openDataSource('synthetic:4:x=1,4,8,8', model()), /calibration data shape \[1,4,8,8\] does not match input 'x'/);
    });

    it('runs through onnxruntime', async function () {
      const m = echoModel([
        ['x', DataType.FLOAT16, [1, 2, 'T']],
        ['m', DataType.BOOL, ['N', 2]],
      ]);
      const source = await openDataSource('synthetic:3:uniform(0,1):x=1,2,5', m);
      assert.match(source.describe(), /fixes the batch size to 1/);
      const session = await createSession(m);
      try {
        let count = 0;
        for await (const batch of source.batches({ batchSize: 8 })) {
          assert.deepStrictEqual(batch.x.dims, [1, 2, 5]);
          await session.run(batch);
          count++;
        }
        assert.strictEqual(count, 3);
      } finally {
        await session.release();
      }
    });
  });

  describe('batching and errors', function () {
    it('clamps batches to a fixed batch dim of 1 and says so', async function () {
      const dir = temp.make();
      const file = path.join(dir, 'x.npy');
      writeNpy(file, '<f4', [5, 3], iota(15));
      const source = await openDataSource(file, echoModel([['x', DataType.FLOAT, [1, 3]]]));
      assert.match(source.describe(), /the model fixes the batch size to 1 \(input 'x' \[1,3\]\): every batch holds 1 sample/);
      const batches = await collect(source, { batchSize: 4 });
      assert.strictEqual(batches.length, 5);
      assert.ok(batches.every((b) => b.x.dims[0] === 1));
    });

    it('fills a fixed batch dim above 1 exactly, dropping the last partial batch', async function () {
      const dir = temp.make();
      const file = path.join(dir, 'x.npy');
      writeNpy(file, '<f4', [10, 3], iota(30));
      const source = await openDataSource(file, echoModel([['x', DataType.FLOAT, [4, 3]]]));
      const batches = await collect(source, { batchSize: 3 });
      assert.deepStrictEqual(
        batches.map((b) => b.x.dims),
        [
          [4, 3],
          [4, 3],
        ],
      );
      await rejects(() => collect(source, { batchSize: 3, limit: 2 }), /needs batches of exactly 4 samples but the limit leaves only 2/);
    });

    it('cancels between batches with an AbortError', async function () {
      const source = await openDataSource('synthetic:20', echoModel([['x', DataType.FLOAT, ['N', 2]]]));
      const controller = new AbortController();
      let seen = 0;
      const e = await rejects(async () => {
        for await (const _ of source.batches({ batchSize: 2, signal: controller.signal })) {
          seen++;
          if (seen === 2) controller.abort();
        }
      }, /^cancelled$/);
      assert.strictEqual(e.name, 'AbortError');
      assert.strictEqual(seen, 2);
      const done = new AbortController();
      done.abort();
      await rejects(() => collect(source, { batchSize: 2, signal: done.signal }), /^cancelled$/);
    });

    it('refuses a missing path, an unknown extension, an empty or mixed folder', async function () {
      const model = echoModel([['x', DataType.FLOAT, ['N', 2]]]);
      const dir = temp.make();
      await rejects(() => openDataSource(path.join(dir, 'nope.npz'), model), /nope\.npz: no such file or folder/);
      const csv = path.join(dir, 'data.csv');
      fs.writeFileSync(csv, '1,2\n3,4\n');
      await rejects(() => openDataSource(csv, model), /data\.csv: unknown extension '\.csv'; calibration data is \.npz, \.npy/);
      const empty = temp.make();
      await rejects(() => openDataSource(empty, model), /is empty; put \.npz/);
      fs.writeFileSync(path.join(empty, 'notes.md'), 'x');
      await rejects(() => openDataSource(empty, model), /holds no calibration data \(only notes\.md\)/);
      const mixed = temp.make();
      writeNpy(path.join(mixed, 'a.npy'), '<f4', [1, 2], iota(2));
      writeNpz(path.join(mixed, 'b.npz'), { x: { descr: '<f4', shape: [1, 2], data: iota(2) } });
      await rejects(() => openDataSource(mixed, model), /mixes kinds of data/);
      await rejects(async () => (await openDataSource('synthetic:2', model)).batches({ batchSize: 0 }), /batchSize must be a positive whole number/);
    });

    it('refuses a corrupt .npz', async function () {
      const dir = temp.make();
      const file = path.join(dir, 'bad.npz');
      fs.writeFileSync(file, Buffer.from('PK not really a zip'));
      await rejects(() => openDataSource(file, echoModel([['x', DataType.FLOAT, ['N', 2]]])), /bad\.npz: is not a \.npz \(zip\) file/);
      // A deflated entry whose data is damaged fails when read, naming the entry.
      const good = npzBytes({ x: { descr: '<f4', shape: [4000, 2], data: iota(8000) } }, true);
      const at = Buffer.from(good).indexOf('x.npy') + 400;
      for (let i = at; i < at + 200; i++) good[i] ^= 0xff;
      fs.writeFileSync(file, good);
      await rejects(
        async () => collect(await openDataSource(file, echoModel([['x', DataType.FLOAT, ['N', 2]]])), { batchSize: 4000 }),
        /entry 'x\.npy'|corrupt/,
      );
    });
  });

  describe('memory', function () {
    it('shuffles a large deflated .npz through a temporary file, removed when iteration ends', async function () {
      this.timeout(300000);
      const dir = temp.make();
      const file = path.join(dir, 'big.npz');
      const rows = 9000;
      const width = 1024; // 36 MiB uncompressed: above the in-memory limit
      const data = new Float32Array(rows * width);
      for (let r = 0; r < rows; r++) data.fill(r, r * width, (r + 1) * width);
      fs.writeFileSync(file, npzBytes({ x: { descr: '<f4', shape: [rows, width], data } }, true));
      const spills = () =>
        fs
          .readdirSync(os.tmpdir())
          .filter((n) => n.startsWith('onnx-compress-data-'))
          .sort();
      const before = spills();
      const source = await openDataSource(file, echoModel([['x', DataType.FLOAT, ['N', width]]]));
      let n = 0;
      const seen: number[] = [];
      for await (const batch of source.batches({ batchSize: 64, shuffleSeed: 1 })) {
        if (n === 0) assert.strictEqual(spills().length, before.length + 1, 'a spill folder while iterating');
        const x = batch.x.data as Float32Array;
        for (let k = 0; k < batch.x.dims[0]; k++) {
          assert.strictEqual(x[(k + 1) * width - 1], x[k * width]);
          seen.push(x[k * width]);
        }
        if (++n === 3) break;
      }
      assert.deepStrictEqual(spills(), before, 'the spill folder is removed');
      assert.strictEqual(new Set(seen).size, 192);
      assert.ok(Math.max(...seen) > 1000, 'shuffled over the whole array');
    });

    it('streams 20 batches from a 200 MB .npy without reading it whole', async function () {
      this.timeout(300000);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-compress-big-'));
      try {
        const file = path.join(dir, 'big.npy');
        const width = 1024;
        const samples = 51200; // 51200 x 1024 float32 = 200 MiB
        const fd = fs.openSync(file, 'w');
        try {
          fs.writeSync(fd, npyHeader('<f4', [samples, width]));
          const rows = 1024;
          const chunk = new Float32Array(rows * width);
          for (let s = 0; s < samples; s += rows) {
            for (let r = 0; r < rows; r++) chunk.fill(s + r, r * width, (r + 1) * width);
            fs.writeSync(fd, new Uint8Array(chunk.buffer));
          }
        } finally {
          fs.closeSync(fd);
        }
        const size = fs.statSync(file).size;
        assert.ok(size > 200 * 1024 * 1024);
        const source = await openDataSource(file, echoModel([['x', DataType.FLOAT, ['N', width]]]));
        assert.strictEqual(source.samples, samples);
        const base = process.memoryUsage().rss;
        let peak = base;
        for (const shuffleSeed of [undefined, 11]) {
          let n = 0;
          const seen: number[] = [];
          for await (const batch of source.batches({ batchSize: 128, shuffleSeed })) {
            const data = batch.x.data as Float32Array;
            for (let k = 0; k < 128; k++) {
              const first = data[k * width];
              assert.strictEqual(data[(k + 1) * width - 1], first, 'a sample is one row');
              seen.push(first);
            }
            peak = Math.max(peak, process.memoryUsage().rss);
            if (++n === 20) break;
          }
          assert.strictEqual(n, 20);
          if (shuffleSeed === undefined)
            assert.deepStrictEqual(
              seen,
              Array.from({ length: 20 * 128 }, (_, i) => i),
            );
          else assert.ok(seen.some((v, i) => v !== i) && Math.max(...seen) > 20 * 128, 'shuffled across the file');
        }
        const growth = peak - base;
        if (process.env.CALIB_MEMORY_REPORT) console.log(`      RSS growth ${(growth / 1048576).toFixed(1)} MiB for a ${(size / 1048576).toFixed(0)} MiB file`);
        assert.ok(growth < size / 4, `RSS grew by ${(growth / 1048576).toFixed(1)} MiB reading a ${(size / 1048576).toFixed(0)} MiB file`);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
