// Model inputs of every kind the data layer recognises, on small models built here and run by
// onnxruntime: a batch axis that is not the first, scalars and other batchless inputs, token ids
// whose range comes from the embedding table, attention masks, position ids, empty past keys and
// values; per-input specs, and .npz data batched along each input's own axis.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { openDataSource, parseInputSpecs, type DataSource } from '../../src/core/data';
import { batchSampleCount, firstAxisSampleCount } from '../../src/core/data/source';
import { DataType } from '../../src/core/onnx/dataTypes';
import { decodeModel, type OnnxModel } from '../../src/core/onnx/model';
import { createSession, ort } from '../../src/core/runtime/session';
import { GraphBuilder, modelBytes, type Dim } from '../fixtures/builder';
import { writeNpz } from '../support/npyWriter';

type Batch = Record<string, ort.Tensor>;

async function batches(source: DataSource, batchSize: number, limit?: number): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of source.batches({ batchSize, limit })) out.push(b);
  return out;
}

/** Every batch runs through the model: the feeds fit it. */
async function runs(model: OnnxModel, all: Batch[]): Promise<void> {
  const session = await createSession(model, { executionProviders: ['cpu'] });
  try {
    for (const b of all) await session.run(b);
  } finally {
    await session.release();
  }
}

/** A recurrent-style model: x [batch, 4], state [2, batch, 3], sr [] int64 -> y = ReduceSum(x) + ReduceSum(state). */
function stateModel(stateDims: Dim[] = [2, 'batch', 3]): OnnxModel {
  const b = new GraphBuilder('state');
  b.input('x', DataType.FLOAT, ['batch', 4]).input('state', DataType.FLOAT, stateDims).input('sr', DataType.INT64, []);
  b.node('ReduceSum', ['x'], ['sx'], { keepdims: 0 });
  b.node('ReduceSum', ['state'], ['ss'], { keepdims: 0 });
  b.node('Cast', ['sr'], ['srf'], { to: DataType.FLOAT });
  b.node('Add', ['sx', 'ss'], ['t']);
  b.node('Add', ['t', 'srf'], ['y']);
  b.output('y', DataType.FLOAT, []);
  return decodeModel(modelBytes(b, { opset: 13 }));
}

/** A decoder-style model: input_ids, attention_mask, position_ids, past_key_values.0.key; ids index a 50-row embedding. */
function decoderModel(): OnnxModel {
  const b = new GraphBuilder('decoder');
  b.input('input_ids', DataType.INT64, ['batch', 'sequence']);
  b.input('attention_mask', DataType.INT64, ['batch', 'total_sequence_length']);
  b.input('position_ids', DataType.INT64, ['batch', 'sequence']);
  b.input('past_key_values.0.key', DataType.FLOAT, ['batch', 2, 'past_sequence_length', 4]);
  b.initializer(
    'embed',
    DataType.FLOAT,
    [50, 4],
    new Float32Array(200).map((_, i) => i / 200),
  );
  b.node('Gather', ['embed', 'input_ids'], ['h']);
  b.node('Cast', ['attention_mask'], ['m'], { to: DataType.FLOAT });
  b.node('Cast', ['position_ids'], ['p'], { to: DataType.FLOAT });
  b.node('ReduceSum', ['past_key_values.0.key'], ['k'], { keepdims: 0 });
  b.node('ReduceSum', ['h'], ['hs'], { keepdims: 0 });
  b.node('ReduceSum', ['m'], ['ms'], { keepdims: 0 });
  b.node('ReduceSum', ['p'], ['ps'], { keepdims: 0 });
  b.node('Sum', ['hs', 'ms', 'ps', 'k'], ['y']);
  b.output('y', DataType.FLOAT, []);
  return decodeModel(modelBytes(b, { opset: 13 }));
}

describe('model inputs and calibration data', function () {
  this.timeout(60000);
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'inputs-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('synthetic: the state gets its batch on axis 1 (the shared dim name), the scalar sr 16000 once per batch', async () => {
    const model = stateModel();
    const source = await openDataSource('synthetic:5', model);
    const text = source.describe();
    assert.match(text, /input 'state' \[2,batch,3\]: batch on axis 1 \(the axis named batch\)/);
    assert.match(text, /sr \[\]: synthetic int64 \[\] \(no batch axis: the same every batch\), 16000 \(a sample rate\)/);
    const all = await batches(source, 2);
    assert.deepStrictEqual(
      all.map((b) => [b.x.dims, b.state.dims, b.sr.dims]),
      [
        [[2, 4], [2, 2, 3], []],
        [[2, 4], [2, 2, 3], []],
        [[1, 4], [2, 1, 3], []],
      ],
    );
    assert.deepStrictEqual(
      all.map((b) => batchSampleCount(b)),
      [2, 2, 1],
    );
    // Readers that take samples along the first axis (the distillation cache) refuse such a batch by name.
    assert.throws(
      () => firstAxisSampleCount(all[0], 'the teacher cache'),
      /input 'state' \[2, 2, 3\] holds its samples on axis 1; the teacher cache reads the samples of every input along the first axis/,
    );
    assert.strictEqual(all[0].sr.data[0], 16000n);
    assert.ok(
      (all[0].state.data as Float32Array).every((v) => v === 0),
      'a recurrent state starts at zeros',
    );
    await runs(model, all);
  });

  it('an unnamed state [2,?,3] takes its batch on the unknown axis; batch:none and value: override', async () => {
    const model = stateModel([2, null, 3]);
    const source = await openDataSource('synthetic:3', model);
    assert.match(source.describe(), /input 'state' \[2,\?,3\]: batch on axis 1 \(axis 0 is fixed at 2, axis 1 is the first of unknown size\)/);
    await runs(model, await batches(source, 3));
    const specs = parseInputSpecs(['state=shape:2,1,3', 'state=batch:none', 'sr=value:8000', 'x=normal:5,0']);
    const fixed = await openDataSource('synthetic:4', model, { inputs: specs });
    const all = await batches(fixed, 4);
    assert.deepStrictEqual(all[0].state.dims, [2, 1, 3], 'fed whole, whatever the batch');
    assert.strictEqual(all[0].sr.data[0], 8000n);
    assert.ok((all[0].x.data as Float32Array).every((v) => v === 5));
  });

  it('.npz data: the state stacked on axis 1 is split and batched along it; the scalar is taken once', async () => {
    const model = stateModel();
    const file = path.join(dir, 'stack.npz');
    // Sample k: x all k, state all 10+k.
    const x = new Float32Array(5 * 4).map((_, i) => Math.floor(i / 4));
    const state = new Float32Array(2 * 5 * 3).map((_, i) => 10 + (Math.floor(i / 3) % 5));
    writeNpz(file, {
      x: { descr: '<f4', shape: [5, 4], data: x },
      state: { descr: '<f4', shape: [2, 5, 3], data: state },
      sr: { descr: '<i8', shape: [], data: BigInt64Array.of(16000n) },
    });
    const source = await openDataSource(file, model);
    assert.strictEqual(source.samples, 5);
    const all = await batches(source, 2);
    assert.deepStrictEqual(all[1].state.dims, [2, 2, 3]);
    // Batch 1 holds samples 2 and 3: state[a, s, :] is 12 then 13 for both a.
    assert.deepStrictEqual(Array.from(all[1].state.data as Float32Array), [12, 12, 12, 13, 13, 13, 12, 12, 12, 13, 13, 13]);
    assert.deepStrictEqual(Array.from(all[1].x.data as Float32Array), [2, 2, 2, 2, 3, 3, 3, 3]);
    await runs(model, all);
  });

  it('.npz files: a batchless value that differs between samples of a batch is refused, naming both', async () => {
    const model = stateModel();
    const folder = path.join(dir, 'feeds');
    fs.mkdirSync(folder);
    for (const [k, sr] of [
      [0, 16000n],
      [1, 8000n],
    ] as const) {
      writeNpz(path.join(folder, `f${k}.npz`), {
        x: { descr: '<f4', shape: [1, 4], data: new Float32Array(4) },
        state: { descr: '<f4', shape: [2, 1, 3], data: new Float32Array(6) },
        sr: { descr: '<i8', shape: [], data: BigInt64Array.of(sr) },
      });
    }
    const source = await openDataSource(folder, model);
    await assert.rejects(
      () => batches(source, 2),
      /input 'sr' has no batch axis, so every sample of a batch must give it the same value, but sample 1 \(.*f1\.npz\) differs from sample 0 \(.*f0\.npz\).*--batch 1/,
    );
    assert.strictEqual((await batches(source, 1)).length, 2, 'one file per batch is fine');
  });

  it('decoder inputs: ids in [0, rows of the embedding), mask ones, positions 0..seq-1, past of length 0', async () => {
    const model = decoderModel();
    const source = await openDataSource('synthetic:6:seed=3', model, { inputs: parseInputSpecs('input_ids=shape:batch,7') });
    const text = source.describe();
    assert.match(text, /input_ids .*whole numbers in \[0, 50\) \(ids of an embedding table of 50 rows\)/);
    assert.match(text, /attention_mask .*1 \(an attention mask: ones\)/);
    assert.match(text, /position_ids .*position ids: 0\.\.seq-1/);
    assert.match(text, /past_key_values\.0\.key .*\[N,2,0,4\].*past keys\/values: empty/);
    const [b] = await batches(source, 3, 3);
    assert.deepStrictEqual(b.input_ids.dims, [3, 7]);
    assert.deepStrictEqual(b.attention_mask.dims, [3, 7], "the mask takes the ids' length (the past is empty)");
    assert.deepStrictEqual(b.position_ids.dims, [3, 7]);
    assert.deepStrictEqual(b['past_key_values.0.key'].dims, [3, 2, 0, 4]);
    const ids = Array.from(b.input_ids.data as BigInt64Array, Number);
    assert.ok(ids.every((v) => v >= 0 && v < 50) && new Set(ids).size > 5, ids.join(','));
    assert.ok(Array.from(b.attention_mask.data as BigInt64Array).every((v) => v === 1n));
    assert.deepStrictEqual(Array.from(b.position_ids.data as BigInt64Array, Number).slice(0, 8), [0, 1, 2, 3, 4, 5, 6, 0]);
    await runs(model, [b]);
    // A range given on the command line wins over the embedding's.
    const ranged = await openDataSource('synthetic:2', model, { inputs: parseInputSpecs(['input_ids=range:3,5', 'input_ids=shape:batch,4']) });
    const [r] = await batches(ranged, 2);
    assert.ok(Array.from(r.input_ids.data as BigInt64Array).every((v) => v === 3n || v === 4n));
  });

  it('the --input parser refuses what it cannot read, saying the accepted forms', () => {
    assert.throws(() => parseInputSpecs('x=size:1,2'), /input spec 'x=size:1,2' is not understood; write NAME=shape:2,batch,128/);
    assert.throws(() => parseInputSpecs('x=shape:batch,batch'), /at most one axis is the batch/);
    assert.throws(() => parseInputSpecs('x=range:5,1'), /the low end must be below the high end/);
    assert.throws(() => parseInputSpecs('x=range:0,5; x=value:1'), /give one of range, normal and value/);
    assert.deepStrictEqual(parseInputSpecs('state=shape:2,batch,128; sr=value:16000'), { state: { shape: [2, 'batch', 128] }, sr: { value: 16000 } });
  });

  it('a spec for a name that is not an input is refused, listing the inputs', async () => {
    await assert.rejects(
      () => openDataSource('synthetic:2', stateModel(), { inputs: parseInputSpecs('states=batch:1') }),
      /--input names 'states', which is not a model input \(inputs: 'x', 'state', 'sr'\)/,
    );
  });
});
