// The quantize wizard's inputs step without widgets: a scripted user picks rows and types into the
// spec box; the descriptions are the engine's own (describeSyntheticInputs on the character-level
// language model and on a model with an undeclared shape). When the step is asked, what a typed
// spec does to the choices, and what the box says about a spec it refuses.
import * as assert from 'assert';
import * as path from 'path';
import { describeSyntheticInputs } from '../../src/core/data/describeInputs';
import { DataType } from '../../src/core/onnx/dataTypes';
import { decodeModel, type OnnxModel } from '../../src/core/onnx/model';
import { Back } from '../../src/extension/common/stepFlow';
import type { InputOptions, PickOptions, StepInputs } from '../../src/extension/common/stepInputs';
import { asksInputs, inputsStep, type InputsStepState } from '../../src/extension/quantize/inputsStep';
import type { InputSpec } from '../../src/shared/quantResult';
import { GraphBuilder, modelBytes } from '../fixtures/builder';
import { FIXTURES } from '../support/evaluate';
import { readModelSync } from '../support/helpers';
import { LM_MODEL } from '../support/languageModel';

type Row = { label: string; description?: string; detail?: string; action: string };

/** Picks the row whose label matches, then (for an input) types `typed` or presses Back; records what it saw. */
class ScriptedUser {
  placeholder = '';
  rows: string[] = [];
  box?: InputOptions;
  constructor(
    private readonly row: RegExp,
    private readonly typed?: string | 'back',
  ) {}
  async pick(o: PickOptions<Row>): Promise<Row> {
    this.placeholder = o.placeholder;
    this.rows = o.items.map((i) => `${i.label} | ${i.description ?? ''} | ${i.detail ?? ''}`);
    const found = o.items.find((i) => this.row.test(i.label));
    if (!found) throw new Error(`no row ${this.row} among ${this.rows.join(' / ')}`);
    return found;
  }
  async input(o: InputOptions): Promise<string> {
    this.box = o;
    if (this.typed === 'back') throw new Back();
    return this.typed ?? o.value;
  }
}

function state(model: OnnxModel, data: string, inputs: Record<string, InputSpec> = {}): InputsStepState {
  return { model: { describeInputs: (specs) => describeSyntheticInputs(model, specs) }, c: { data, inputs } };
}

const run = (user: ScriptedUser, s: InputsStepState) => inputsStep(user as unknown as StepInputs, s);

describe('quantize wizard: the inputs step', () => {
  const lm = readModelSync(LM_MODEL);

  it('is asked for synthetic data when an input is inferred, or when specs are given; not for a plain model or real data alone', () => {
    assert.strictEqual(asksInputs(state(lm, 'synthetic:64')), true);
    assert.strictEqual(asksInputs(state(lm, '/data/calib.npz')), false);
    assert.strictEqual(asksInputs(state(lm, '/data/calib.npz', { input_ids: { batchAxis: 0 } })), true);
    assert.strictEqual(asksInputs(state(readModelSync(path.join(FIXTURES, 'fashion_cnn.onnx')), 'synthetic:64')), false);
  });

  it('lists each input with its inferred feed; Enter on the first row accepts', async () => {
    const s = state(lm, 'synthetic:64');
    const user = new ScriptedUser(/Use these inputs/);
    assert.strictEqual(await run(user, s), undefined);
    assert.deepStrictEqual(user.rows.slice(1), [
      'input_ids | int64 [batch,1] · seq guessed as 1 | whole numbers in [0, 95) (ids of an embedding table of 95 rows)',
    ]);
    assert.deepStrictEqual(s.c.inputs, {});
  });

  it('a spec typed without the name sets the picked input, and the step is asked again to show it', async () => {
    const s = state(lm, 'synthetic:64');
    const user = new ScriptedUser(/^input_ids$/, 'shape:batch,16; range:0,50');
    assert.strictEqual(await run(user, s), 'again');
    assert.strictEqual(user.box!.value, 'input_ids=shape:batch,1; input_ids=range:0,95', 'the box opens on the inferred spec');
    assert.deepStrictEqual(s.c.inputs, { input_ids: { shape: ['batch', 16], range: [0, 50] } });
    const again = new ScriptedUser(/Use these inputs/);
    await run(again, s);
    assert.match(again.rows[1], /^input_ids \| int64 \[batch,16\] · set by you \| whole numbers in \[0, 50\) \(given\)$/);
    assert.ok(again.rows.some((r) => r.startsWith('$(discard) Clear your specs')));
  });

  it('the box refuses with what is wrong and an example: a size, another input, a rank the model does not have', async () => {
    const s = state(lm, 'synthetic:64');
    const user = new ScriptedUser(/^input_ids$/, 'back');
    assert.strictEqual(await run(user, s), 'again', 'Back from the box returns to the list');
    const validate = (v: string) => user.box!.validate(v) as string | undefined;
    const example = 'Example: input_ids=shape:batch,1; input_ids=range:0,95';
    assert.strictEqual(
      validate('input_ids=shape:batch,x'),
      `input spec 'input_ids=shape:batch,x': each size is a whole number or the word batch (got 'batch,x'). ${example}`,
    );
    assert.strictEqual(validate('mask=value:1'), `This box sets 'input_ids' only (it names 'mask'); pick another input in the list to set it. ${example}`);
    assert.match(validate('shape:batch,16,4') ?? '', /has 2 axes but its shape spec batch,16,4 has 3\. Example: /);
    assert.strictEqual(validate('range:0,10'), undefined);
    assert.strictEqual(validate(''), undefined, 'empty: back to the inferred spec');
    assert.deepStrictEqual(s.c.inputs, {}, 'nothing changed by Back');
  });

  it('the inferred spec accepted as shown stays inferred; an empty box clears a given spec; Clear drops them all', async () => {
    const s = state(lm, 'synthetic:64');
    await run(new ScriptedUser(/^input_ids$/), s);
    assert.deepStrictEqual(s.c.inputs, {});
    s.c.inputs = { input_ids: { range: [0, 10] } };
    await run(new ScriptedUser(/^input_ids$/, ''), s);
    assert.deepStrictEqual(s.c.inputs, {});
    s.c.inputs = { input_ids: { range: [0, 10] } };
    assert.strictEqual(await run(new ScriptedUser(/Clear your specs/), s), 'again');
    assert.deepStrictEqual(s.c.inputs, {});
  });

  it('a model that cannot make synthetic data says why and refuses Use until the input has a spec', async () => {
    const b = new GraphBuilder('shapeless');
    b.input('x', DataType.FLOAT, null).node('Identity', ['x'], ['y']).output('y', DataType.FLOAT, null);
    const s = state(decodeModel(modelBytes(b, { opset: 13 })), 'synthetic:64');
    assert.strictEqual(asksInputs(s), true);
    const user = new ScriptedUser(/Use these inputs/);
    assert.strictEqual(await run(user, s), 'again');
    assert.match(user.placeholder, /input 'x' declares no shape; give its size/);
    assert.match(s.notice ?? '', /input 'x' declares no shape/, 'said again on the next ask');
    await run(new ScriptedUser(/^x$/, 'shape:batch,3'), s);
    assert.deepStrictEqual(s.c.inputs, { x: { shape: ['batch', 3] } });
    assert.strictEqual(await run(new ScriptedUser(/Use these inputs/), s), undefined);
  });
});
