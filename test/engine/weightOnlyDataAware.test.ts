// GPTQ and AWQ through real onnxruntime-node: the input statistics equal X^T X of the values the
// session computes (leading axes flattened, several batches, one pass or several under a budget),
// cancellation stops everything, and on the tiny transformer's real activations both algorithms
// give a smaller output error than plain rounding with the same bits and block size.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { isAbortError, openDataSource, type DataSource } from '../../src/core/data';
import { DataType } from '../../src/core/onnx/dataTypes';
import { readModel, type OnnxModel } from '../../src/core/onnx/model';
import { readTensor, toFloat32 } from '../../src/core/onnx/tensor';
import { sessionWithOutputs, ort } from '../../src/core/runtime/session';
import { dataAwareChoices } from '../../src/core/quant/weightOnly/dataAware';
import { collectInputStatistics, DataAwareError, type StatisticsTarget } from '../../src/core/quant/weightOnly/inputStatistics';
import type { BlockOptions, WeightOnlyChoice, WeightTarget } from '../../src/core/quant/weightOnly/types';
import { GraphBuilder, modelBytes } from '../fixtures/builder';
import { FIXTURES } from '../support/evaluate';
import { TempDirs } from '../support/helpers';
import { directStatistics, effectiveWeight, normals, outputErrorFromGram, referenceRtn } from '../support/weightOnlyReference';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const FASHION_TRAIN = path.join(ROOT, 'data', 'fashion-mnist', 'train-512-images-idx3-ubyte.gz');
const FASHION_TEST = path.join(ROOT, 'data', 'fashion-mnist', 't10k-1000-images-idx3-ubyte.gz');

/** Fixed batches, the same on every pass; `closed` tells whether the consumer ended the stream. */
function fixedData(batches: Array<Record<string, ort.Tensor>>): DataSource & { closed: number; opened: number } {
  const source = {
    closed: 0,
    opened: 0,
    describe: () => 'fixed test batches',
    async *batches() {
      source.opened++;
      try {
        yield* batches;
      } finally {
        source.closed++;
      }
    },
  };
  return source;
}

const K = 40;
const T = 5;
const W = (seed: number, k: number, n: number) => Float32Array.from(normals(seed, k * n), (v) => v * 0.1);
const W3 = W(3, K, 24);

/** x [B, 5, 40] -> MatMul (x's statistics), Relu -> r -> MatMul and MatMul -> u [B, 5, 24] -> MatMul. */
function builtModel(dir: string): string {
  const b = new GraphBuilder('g');
  b.input('x', DataType.FLOAT, ['B', T, K]);
  b.initializer('w1', DataType.FLOAT, [K, 8], W(1, K, 8));
  b.initializer('w2', DataType.FLOAT, [K, 8], W(2, K, 8));
  b.initializer('w3', DataType.FLOAT, [K, 24], W3);
  b.initializer('w4', DataType.FLOAT, [24, 8], W(4, 24, 8));
  b.node('MatMul', ['x', 'w1'], ['y1'], {}, { name: 'mm1' });
  b.node('Relu', ['x'], ['r']);
  b.node('MatMul', ['r', 'w2'], ['y2'], {}, { name: 'mm2' });
  b.node('MatMul', ['r', 'w3'], ['u'], {}, { name: 'mm3' });
  b.node('MatMul', ['u', 'w4'], ['y3'], {}, { name: 'mm4' });
  for (const y of ['y1', 'y2', 'y3']) b.output(y, DataType.FLOAT, ['B', T, 8]);
  const file = path.join(dir, 'built.onnx');
  fs.writeFileSync(file, modelBytes(b, { opset: 13 }));
  return file;
}

function batchesOf(sizes: number[]): Array<Record<string, ort.Tensor>> {
  let seed = 100;
  return sizes.map((n) => ({ x: new ort.Tensor('float32', Float32Array.from(normals(seed++, n * T * K)), [n, T, K]) }));
}

const builtTargets: StatisticsTarget[] = [
  { tensor: 'x', K },
  { tensor: 'r', K },
  { tensor: 'u', K: 24 },
];

describe('weight-only GPTQ/AWQ with onnxruntime', function () {
  this.timeout(300000);
  const temp = new TempDirs();
  after(() => temp.cleanup());

  describe('input statistics', () => {
    let file: string;
    let model: OnnxModel;
    const batches = batchesOf([2, 3, 1]);
    before(async () => {
      file = builtModel(temp.make());
      model = await readModel(file);
    });

    /** The rows of each target as computed directly from the fed values. */
    function expectedRows(): Record<string, { X: Float32Array; rows: number; K: number }> {
      const x = new Float32Array(batches.flatMap((b) => Array.from(b.x.data as Float32Array)));
      const rows = x.length / K;
      const r = x.map((v) => Math.max(v, 0));
      const u = new Float32Array(rows * 24);
      for (let i = 0; i < rows; i++) {
        for (let n = 0; n < 24; n++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += r[i * K + k] * W3[k * 24 + n];
          u[i * 24 + n] = s;
        }
      }
      return { x: { X: x, rows, K }, r: { X: r, rows, K }, u: { X: u, rows, K: 24 } };
    }

    it('equal X^T X and sum |x| of the fed and computed values, every leading axis flattened, over several batches', async () => {
      const data = fixedData(batches);
      const got = await collectInputStatistics(model, builtTargets, data, { batchSize: 4 });
      assert.strictEqual(got.passes, 1);
      assert.strictEqual(got.samples, 6);
      assert.strictEqual(got.batches, 3);
      assert.strictEqual(data.closed, data.opened);
      for (const [name, e] of Object.entries(expectedRows())) {
        const s = got.stats.get(name)!;
        assert.strictEqual(s.rows, 6 * T, `${name}: rows of [B, 5, K] over batches of 2, 3 and 1`);
        const want = directStatistics(e.X, e.rows, e.K);
        // x and r are exact inputs (only the order of the sums differs); u is onnxruntime's float32 MatMul.
        const tol = name === 'u' ? 1e-4 : 1e-9;
        let scale = 0;
        for (const v of want.xtx) scale = Math.max(scale, Math.abs(v));
        for (let i = 0; i < e.K * e.K; i++) assert.ok(Math.abs(s.xtx[i] - want.xtx[i]) <= tol * scale, `${name}: xtx[${i}] ${s.xtx[i]} vs ${want.xtx[i]}`);
        for (let i = 0; i < e.K; i++) for (let j = 0; j < i; j++) assert.strictEqual(s.xtx[i * e.K + j], s.xtx[j * e.K + i], `${name}: symmetric`);
        for (let k = 0; k < e.K; k++) assert.ok(Math.abs(s.absSum[k] - want.absSum[k]) <= tol * want.absSum[k] + 1e-12, `${name}: absSum[${k}]`);
      }
    });

    it('split into passes under a memory budget, give the same statistics as one pass and say so', async () => {
      const one = await collectInputStatistics(model, builtTargets, fixedData(batches), { batchSize: 4 });
      const stages: string[] = [];
      const data = fixedData(batches);
      // 40 x 40 x 8 = 12800 bytes: x and r do not fit together, r and u neither.
      const split = await collectInputStatistics(model, builtTargets, data, { batchSize: 4, budgetBytes: 12800, onProgress: (s) => stages.push(s) });
      assert.strictEqual(split.passes, 3);
      assert.strictEqual(data.opened, 3, 'one pass over the data per group');
      assert.ok(
        stages.some((s) => /over the budget of .*: 3 passes over the calibration data/.test(s)),
        stages.join('\n'),
      );
      assert.ok(stages.some((s) => s.includes('pass 3 of 3')));
      for (const t of builtTargets) assert.deepStrictEqual(split.stats.get(t.tensor), one.stats.get(t.tensor), t.tensor);
    });

    it('refuse a tensor whose last axis is not the weight’s K, and data without samples', async () => {
      await assert.rejects(collectInputStatistics(model, [{ tensor: 'u', K: 40 }], fixedData(batches)), (e: Error) => {
        assert.ok(e instanceof DataAwareError);
        assert.match(e.message, /^u: its last axis is 24 \(shape \[2, 5, 24\]\) but the MatMul's weight has K = 40 rows/);
        return true;
      });
      await assert.rejects(collectInputStatistics(model, builtTargets, fixedData([])), /the calibration data holds no sample/);
    });

    describe('cancellation leaves nothing running', () => {
      const targets: WeightTarget[] = [
        { node: 'mm1', input: 'x', weight: 'w1', K, N: 8 },
        { node: 'mm2', input: 'r', weight: 'w2', K, N: 8 },
        { node: 'mm3', input: 'r', weight: 'w3', K, N: 24 },
        { node: 'mm4', input: 'u', weight: 'w4', K: 24, N: 8 },
      ];
      const weightOf = (t: WeightTarget) => toFloat32(readTensor(model.proto.graph!.initializer.find((i) => i.name === t.weight)!));
      const opts = { bits: 4 as const, blockSize: 16, symmetric: false, batchSize: 2 };
      /** Lets every pending callback run, so that work still going on would show in `stages`. */
      const settle = async () => {
        for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
      };

      it('an abort during the statistics stops the stream after that batch', async () => {
        const controller = new AbortController();
        const stages: string[] = [];
        const data = fixedData(batchesOf([2, 2, 2, 2]));
        const run = dataAwareChoices(file, targets, weightOf, { ...opts, algorithm: 'gptq' }, data, controller.signal, (s) => {
          stages.push(s);
          if (s.includes('batch 1 ')) controller.abort();
        });
        await assert.rejects(run, (e) => isAbortError(e));
        const seen = stages.length;
        await settle();
        assert.strictEqual(stages.length, seen, 'no progress after the rejection');
        assert.ok(!stages.some((s) => /batch 2|GPTQ \d/.test(s)), stages.join('\n'));
        assert.strictEqual(data.closed, data.opened, 'the data stream was closed');
      });

      for (const algorithm of ['gptq', 'awq'] as const) {
        it(`an abort between ${algorithm.toUpperCase()} targets stops before the next`, async () => {
          const controller = new AbortController();
          const stages: string[] = [];
          const name = algorithm.toUpperCase();
          const run = dataAwareChoices(file, targets, weightOf, { ...opts, algorithm }, fixedData(batches), controller.signal, (s) => {
            stages.push(s);
            if (s.startsWith(`${name} 2 of 4`)) controller.abort();
          });
          await assert.rejects(run, (e) => isAbortError(e));
          await settle();
          assert.ok(!stages.some((s) => s.startsWith(`${name} 3 of 4`)), stages.join('\n'));
        });
      }

      it('an aborted signal stops it before any work', async () => {
        const controller = new AbortController();
        controller.abort();
        const data = fixedData(batches);
        await assert.rejects(dataAwareChoices(file, targets, weightOf, { ...opts, algorithm: 'awq' }, data, controller.signal), (e) => isAbortError(e));
        assert.strictEqual(data.opened, 0);
      });

      it('without an abort returns a choice per node, with per-node block options', async () => {
        const choices = await dataAwareChoices(file, targets, weightOf, { ...opts, algorithm: 'gptq' }, fixedData(batches), undefined, undefined, (t) =>
          t.node === 'mm3' ? { bits: 8, blockSize: 32, symmetric: true } : opts,
        );
        assert.deepStrictEqual([...choices.keys()], ['mm1', 'mm2', 'mm3', 'mm4']);
        assert.strictEqual(choices.get('mm3')!.weight.bits, 8);
        assert.strictEqual(choices.get('mm3')!.weight.kBlocks, 2);
        assert.strictEqual(choices.get('mm1')!.weight.bits, 4);
      });
    });
  });

  describe('on the tiny transformer’s activations (Fashion-MNIST), 4 bits', () => {
    const file = path.join(FIXTURES, 'tiny_transformer.onnx');
    let model: OnnxModel;
    let targets: WeightTarget[];
    const weights = new Map<string, Float32Array>();
    /** X^T X of each target's input, computed here from the rows onnxruntime returns, on the
     *  calibration images and on held-out ones. */
    const activations = { calibration: new Map<string, Float64Array>(), heldOut: new Map<string, Float64Array>() };

    async function gramsOf(data: DataSource, samples: number, into: Map<string, Float64Array>): Promise<void> {
      const names = [...new Set(targets.map((t) => t.input))];
      const session = await sessionWithOutputs(model, names, 'cpu');
      const parts = new Map<string, number[]>(names.map((n) => [n, []]));
      try {
        for await (const feeds of data.batches({ batchSize: 32, limit: samples })) {
          const out = await session.run(feeds, names);
          for (const n of names) parts.get(n)!.push(...(out[n].data as Float32Array));
        }
      } finally {
        await session.release();
      }
      for (const [n, v] of parts) {
        const K = targets.find((t) => t.input === n)!.K;
        into.set(n, directStatistics(Float32Array.from(v), v.length / K, K).xtx);
      }
    }

    before(async () => {
      model = await readModel(file);
      const graph = model.proto.graph!;
      const inits = new Map(graph.initializer.map((t) => [t.name ?? '', t]));
      targets = graph.node
        .filter((n) => n.op_type === 'MatMul' && inits.has(n.input[1]))
        .map((n) => {
          const w = readTensor(inits.get(n.input[1])!);
          weights.set(n.name ?? '', toFloat32(w));
          return { node: n.name ?? '', input: n.input[0], weight: n.input[1], K: w.dims[0], N: w.dims[1] };
        });
      assert.strictEqual(targets.length, 13);
      await gramsOf(await openDataSource(FASHION_TRAIN, model), 256, activations.calibration);
      await gramsOf(await openDataSource(FASHION_TEST, model), 256, activations.heldOut);
    });

    /** Summed over the layers: ||X B - X B~||^2 of RTN, GPTQ and AWQ on the given rows. */
    function errors(which: Map<string, Float64Array>, opts: BlockOptions, gptq: Map<string, WeightOnlyChoice>, awq: Map<string, WeightOnlyChoice>) {
      const total = { rtn: 0, gptq: 0, awq: 0 };
      const perLayer: Array<{ node: string; rtn: number; gptq: number; awq: number }> = [];
      for (const t of targets) {
        const G = which.get(t.input)!;
        const B = weights.get(t.node)!;
        const e = {
          node: t.node,
          rtn: outputErrorFromGram(G, t.K, t.N, B, effectiveWeight({ weight: referenceRtn(B, t.K, t.N, opts) })),
          gptq: outputErrorFromGram(G, t.K, t.N, B, effectiveWeight(gptq.get(t.node)!)),
          awq: outputErrorFromGram(G, t.K, t.N, B, effectiveWeight(awq.get(t.node)!)),
        };
        perLayer.push(e);
        total.rtn += e.rtn;
        total.gptq += e.gptq;
        total.awq += e.awq;
      }
      return { total, perLayer };
    }

    for (const symmetric of [false, true]) {
      for (const blockSize of [32, 128]) {
        it(`GPTQ and AWQ beat RTN on the output error, block ${blockSize}, ${symmetric ? 'symmetric' : 'asymmetric'}`, async () => {
          const opts: BlockOptions = { bits: 4, blockSize, symmetric };
          const run = async (algorithm: 'gptq' | 'awq') =>
            dataAwareChoices(
              file,
              targets,
              (t) => weights.get(t.node)!,
              { ...opts, algorithm, batchSize: 32, samples: 256 },
              await openDataSource(FASHION_TRAIN, model),
            );
          const gptq = await run('gptq');
          const awq = await run('awq');
          const cal = errors(activations.calibration, opts, gptq, awq);
          const held = errors(activations.heldOut, opts, gptq, awq);
          const ratio = (a: number, b: number) => (a / b).toFixed(3);
          console.log(
            `      tiny_transformer block ${blockSize} ${symmetric ? 'sym' : 'asym'}: calibration GPTQ/RTN ${ratio(cal.total.gptq, cal.total.rtn)}, AWQ/RTN ${ratio(cal.total.awq, cal.total.rtn)}; held-out GPTQ/RTN ${ratio(held.total.gptq, held.total.rtn)}, AWQ/RTN ${ratio(held.total.awq, held.total.rtn)}`,
          );
          assert.ok(cal.total.gptq < cal.total.rtn, `GPTQ ${cal.total.gptq} < RTN ${cal.total.rtn}`);
          assert.ok(cal.total.awq < cal.total.rtn, `AWQ ${cal.total.awq} < RTN ${cal.total.rtn}`);
          for (const l of cal.perLayer) {
            assert.ok(l.gptq < l.rtn, `${l.node}: GPTQ ${l.gptq} < RTN ${l.rtn}`);
            // alpha = 0 without clipping is RTN itself: AWQ keeps it unless it estimates better.
            assert.ok(l.awq <= l.rtn * (1 + 1e-6), `${l.node}: AWQ ${l.awq} <= RTN ${l.rtn}`);
          }
        });
      }
    }
  });
});
