// describeSyntheticInputs on real models: what it says each input gets is what openDataSource's
// synthetic data then feeds (sizes and values, read from the batches), for the character-level
// language model (int64 token ids, a symbolic sequence length), Silero VAD (a state with its batch
// on axis 1, a scalar sample rate) and a plain image classifier.
import * as assert from 'assert';
import * as path from 'path';
import { describeSyntheticInputs, formatInputSpecs, openDataSource, parseInputSpecs, type InputDescription } from '../../src/core/data';
import { DataType } from '../../src/core/onnx/dataTypes';
import { decodeModel, type OnnxModel } from '../../src/core/onnx/model';
import { GraphBuilder, modelBytes } from '../fixtures/builder';
import { realModel } from '../support/browser';
import { FIXTURES } from '../support/evaluate';
import { readModelSync } from '../support/helpers';
import { LM_MODEL } from '../support/languageModel';

const byName = (rows: InputDescription[], name: string) => rows.find((r) => r.name === name)!;

/** The batches synthetic data with these specs yields: dims and min/max per input. */
async function fed(model: OnnxModel, specs: string, batchSize: number): Promise<Record<string, { dims: number[]; min: number; max: number }>> {
  const source = await openDataSource('synthetic:4', model, { inputs: parseInputSpecs(specs) });
  for await (const batch of source.batches({ batchSize, limit: batchSize })) {
    const out: Record<string, { dims: number[]; min: number; max: number }> = {};
    for (const [name, t] of Object.entries(batch)) {
      const values = Array.from(t.data as ArrayLike<number | bigint>, Number);
      out[name] = { dims: [...t.dims], min: Math.min(...values), max: Math.max(...values) };
    }
    return out;
  }
  throw new Error('no batch');
}

/** The described shape with the batch axis at `n` samples. */
const batched = (row: InputDescription, n: number) => row.shape!.map((d) => (d === 'batch' ? n : d));

describe('describeSyntheticInputs', () => {
  it('language model: int64 token ids ranged by the embedding table, the unsized sequence taken as 1 and said', async () => {
    const model = readModelSync(LM_MODEL);
    const { inputs, problem } = describeSyntheticInputs(model);
    assert.strictEqual(problem, undefined);
    assert.strictEqual(inputs.length, 1);
    const ids = inputs[0];
    assert.deepStrictEqual(
      {
        name: ids.name,
        type: ids.type,
        declared: ids.declared,
        batchAxis: ids.batchAxis,
        shape: ids.shape,
        guessed: ids.guessed,
        plain: ids.plain,
        given: ids.given,
      },
      { name: 'input_ids', type: 'int64', declared: '[batch,seq]', batchAxis: 0, shape: ['batch', 1], guessed: ['seq'], plain: false, given: false },
    );
    assert.match(ids.values, /^whole numbers in \[0, 95\) \(ids of an embedding table of 95 rows\)$/);
    assert.strictEqual(ids.specText, 'input_ids=shape:batch,1; input_ids=range:0,95');
    const got = await fed(model, '', 3);
    assert.deepStrictEqual(got.input_ids.dims, batched(ids, 3));
    assert.ok(got.input_ids.min >= 0 && got.input_ids.max < 95, `ids in [0, 95): ${JSON.stringify(got.input_ids)}`);
  });

  it('language model with a spec: the given length and range replace the inferred ones, and synthetic data follows', async () => {
    const model = readModelSync(LM_MODEL);
    const specs = 'input_ids=shape:batch,16; input_ids=range:10,20';
    const ids = describeSyntheticInputs(model, parseInputSpecs(specs)).inputs[0];
    assert.deepStrictEqual(ids.shape, ['batch', 16]);
    assert.deepStrictEqual(ids.guessed, []);
    assert.strictEqual(ids.given, true);
    assert.match(ids.values, /^whole numbers in \[10, 20\) \(given\)$/);
    const got = await fed(model, specs, 2);
    assert.deepStrictEqual(got.input_ids.dims, [2, 16]);
    assert.ok(got.input_ids.min >= 10 && got.input_ids.max < 20, JSON.stringify(got.input_ids));
  });

  it('Silero VAD: the state batched on axis 1 and zero, the scalar sample rate fed whole as 16000, each as the data feeds it', async () => {
    const model = readModelSync(realModel('silero_vad_16k_op15.onnx'));
    const { inputs, problem } = describeSyntheticInputs(model);
    assert.strictEqual(problem, undefined);
    assert.deepStrictEqual(
      inputs.map((r) => r.name),
      ['input', 'state', 'sr'],
    );
    const [audio, state, sr] = [byName(inputs, 'input'), byName(inputs, 'state'), byName(inputs, 'sr')];
    // The waveform's open length gets a 32 ms window at the model's rate (512 samples at 16 kHz).
    assert.deepStrictEqual([audio.batchAxis, audio.shape, audio.guessed, audio.plain], [0, ['batch', 512], [], false]);
    assert.match(audio.values, /^speech-like audio at 16000 Hz, peaks 0\.01-0\.5 \(a waveform: it feeds a 256-tap Conv\)$/);
    assert.deepStrictEqual([state.batchAxis, state.shape, state.spec.value, state.plain], [1, [2, 'batch', 128], 0, false]);
    assert.match(state.values, /recurrent state/);
    assert.deepStrictEqual([sr.type, sr.batchAxis, sr.shape, sr.plain], ['int64', null, [], false]);
    assert.strictEqual(sr.specText, 'sr=batch:none; sr=value:16000');
    const got = await fed(model, '', 2);
    assert.deepStrictEqual(got.state.dims, batched(state, 2));
    assert.deepStrictEqual(got.sr, { dims: [], min: 16000, max: 16000 });
    assert.deepStrictEqual(got.input.dims, batched(audio, 2));
  });

  it('Silero VAD: every row written as specs and read back describes the same feeds (the text is what the CLI takes)', () => {
    const model = readModelSync(realModel('silero_vad_16k_op15.onnx'));
    const first = describeSyntheticInputs(model).inputs;
    const text = formatInputSpecs(Object.fromEntries(first.map((r) => [r.name, r.spec])));
    const again = describeSyntheticInputs(model, parseInputSpecs(text)).inputs;
    assert.deepStrictEqual(
      again.map((r) => [r.name, r.shape, r.batchAxis, r.specText]),
      first.map((r) => [r.name, r.shape, r.batchAxis, r.specText]),
    );
    assert.ok(again.every((r) => r.given));
  });

  it('specs that cannot make data are said in problem, and the rows fall back to the rules', () => {
    const model = readModelSync(realModel('silero_vad_16k_op15.onnx'));
    const unknown = describeSyntheticInputs(model, parseInputSpecs('rate=value:8000'));
    assert.match(unknown.problem ?? '', /'rate', which is not a model input \(inputs: 'input', 'state', 'sr'\)/);
    assert.deepStrictEqual(byName(unknown.inputs, 'sr').shape, []);
    assert.ok(unknown.inputs.every((r) => !r.given));
    const rank = describeSyntheticInputs(model, parseInputSpecs('state=shape:batch,128'));
    assert.match(rank.problem ?? '', /input 'state' \[2,batch,128\] has 3 axes but its shape spec batch,128 has 2/);
  });

  it('an input without a declared shape: the problem asks for its size, rows still listed; its shape spec makes the data', async () => {
    const b = new GraphBuilder('shapeless');
    b.input('x', DataType.FLOAT, null).input('y', DataType.FLOAT, ['batch', 4]);
    b.node('Identity', ['x'], ['xo']).node('Identity', ['y'], ['yo']);
    b.output('xo', DataType.FLOAT, null).output('yo', DataType.FLOAT, ['batch', 4]);
    const model = decodeModel(modelBytes(b, { opset: 13 }));
    const bare = describeSyntheticInputs(model);
    assert.match(bare.problem ?? '', /input 'x' declares no shape; give its size \(--input x=shape:batch,\.\.\.\)/);
    assert.deepStrictEqual(
      bare.inputs.map((r) => [r.name, r.shape]),
      [
        ['x', null],
        ['y', null],
      ],
    );
    const fixed = describeSyntheticInputs(model, parseInputSpecs('x=shape:batch,3'));
    assert.strictEqual(fixed.problem, undefined);
    assert.deepStrictEqual(byName(fixed.inputs, 'x').shape, ['batch', 3]);
    assert.deepStrictEqual((await fed(model, 'x=shape:batch,3', 2)).x.dims, [2, 3]);
  });

  it('an image classifier: every input plain (the wizard skips its inputs step)', () => {
    const { inputs, problem } = describeSyntheticInputs(readModelSync(path.join(FIXTURES, 'fashion_cnn.onnx')));
    assert.strictEqual(problem, undefined);
    assert.ok(inputs.length >= 1 && inputs.every((r) => r.plain), JSON.stringify(inputs));
  });
});
