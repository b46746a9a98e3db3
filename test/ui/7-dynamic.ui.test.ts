// The "Dynamic INT8 for CPU" preset, clicked as a person would on the character-level language model
// (lm/char-lm.onnx): the data step asks for evaluation data (dynamic mode calibrates nothing), the
// int8 model is written with its activations quantized at run time, and the report measures it on
// the model's own text.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { readModel } from '../../src/core/onnx/model';
import { bench } from './setup';

const inWs = (...p: string[]) => path.join(bench().workspace, ...p);

describe('UI: dynamic quantization', () => {
  // The next flows quantize the same model dynamically again: they start from a workspace without
  // this run's outputs (otherwise the wizard rightly asks before replacing them).
  after(() => {
    for (const f of fs.readdirSync(inWs('lm'))) if (f.startsWith('char-lm.dynamic.int8.')) fs.rmSync(inWs('lm', f));
  });

  it('Dynamic INT8 for CPU: evaluation data beside the model, integer MatMuls written, next-token agreement in the report', async function () {
    this.timeout(300000);
    const b = bench();
    await b.quantizeFromExplorer('lm', 'char-lm.onnx', /^Dynamic INT8 for CPU/);

    await b.quickTitle(/evaluation data \(dynamic mode needs no calibration\)/);
    await b.shot('dynamic-data');
    await b.quickPick(/heldout\.npz/);
    await b.quickTitle(/samples/);
    await b.quickEnter();
    await b.quickTitle(/labels/);
    await b.quickPick(/heldout\.labels\.npy/);
    await b.quickTitle(/keep in float/);
    await b.quickEnter();
    await b.quickTitle(/output/);
    assert.match(await b.quickActive(), /char-lm\.dynamic\.int8\.onnx/);
    await b.quickEnter();

    const text = await b.reportText(/char-lm\.dynamic\.int8\.onnx/);
    await b.shot('dynamic-report');
    assert.match(text, /next-token agreement/i);
    assert.doesNotMatch(text, /top-1 agreement/i, 'no classifier metric on a language model');
    const result = JSON.parse(fs.readFileSync(inWs('lm', 'char-lm.dynamic.int8.quant.json'), 'utf8'));
    assert.strictEqual(result.settings.mode, 'dynamic');
    const model = await readModel(inWs('lm', 'char-lm.dynamic.int8.onnx'));
    const ops = new Set(model.proto.graph!.node.map((n) => n.op_type));
    assert.ok(ops.has('DynamicQuantizeLinear') || ops.has('DynamicQuantizeMatMul') || ops.has('MatMulInteger'), [...ops].join(', '));
  });
});
