// The float16 range checks of --mode fp16: activations observed past ±65504 (with --calib data),
// weights mostly under float16's normal range, BatchNormalization statistics that foretell an
// overflow, and clamping of fill constants; each kept node is named with its reason and number.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DataType } from '../../src/core/onnx/dataTypes';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../../src/core/onnx/floatFormats';
import { readTensor, toFloat32 } from '../../src/core/onnx/tensor';
import { castChains } from '../../src/core/quant/halfPrecision/casts';
import { quantizeModel } from '../../src/core/quant/pipeline';
import { resolveSettings } from '../../src/core/quant/settings';
import type { QuantResult, QuantSettings } from '../../src/shared/quantResult';
import { GraphBuilder, modelBytes } from '../fixtures/builder';
import { ort, readModelSync } from '../support/helpers';
import { writeNpy } from '../support/npyWriter';

/**
 * x [N, 4] -> MatMul 'grow' (W: 300 everywhere) -> big (x of 90 and 100 gives 1.1e5, past 65504) ->
 * Mul 'shrink' (1e-3 per column: a scalar would be folded into the MatMul by onnxruntime) -> small -> MatMul 'mix' (V) -> y. Every weight fits float16; only the
 * activation 'big' overflows, and only data shows it.
 */
function overflowModel(): GraphBuilder {
  const v = Float32Array.from({ length: 16 }, (_, i) => ((i % 5) - 2) * 0.25);
  return new GraphBuilder('overflow')
    .input('x', DataType.FLOAT, ['N', 4])
    .initializer('W', DataType.FLOAT, [4, 4], new Float32Array(16).fill(300))
    .initializer('scale', DataType.FLOAT, [4], new Float32Array(4).fill(1e-3))
    .initializer('V', DataType.FLOAT, [4, 4], v)
    .node('MatMul', ['x', 'W'], ['big'], {}, { name: 'grow' })
    .node('Mul', ['big', 'scale'], ['small'], {}, { name: 'shrink' })
    .node('MatMul', ['small', 'V'], ['y'], {}, { name: 'mix' })
    .output('y', DataType.FLOAT, ['N', 4]);
}

function write(dir: string, name: string, g: GraphBuilder, opset = 13, irVersion = 8): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, modelBytes(g, { opset, irVersion }));
  return file;
}

function decision(r: QuantResult, node: string) {
  const d = r.nodes.find((n) => n.node === node);
  assert.ok(d, `no decision for ${node}`);
  return d;
}

describe('half precision: float16 range checks', function () {
  this.timeout(120000);
  let dir: string;
  let data: string;
  const fp16 = (more: Partial<QuantSettings> = {}) => resolveSettings({ mode: 'fp16', ...more });
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'half-ranges-'));
    data = path.join(dir, 'x.npy');
    const x = Float32Array.from({ length: 64 }, (_, i) => (i % 2 ? 100 : 90));
    writeNpy(data, '<f4', [16, 4], x);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('--calib: keeps the node writing an activation past 65504 and its reader in float32, named with the number', async () => {
    const src = write(dir, 'overflow.onnx', overflowModel());
    const r = await quantizeModel(src, fp16({ calibration: data }));
    const grow = decision(r, 'grow');
    assert.strictEqual(grow.quantized, false);
    assert.match(grow.reason, /max \|activation\| of 'big' 1\.1e\+5 > 65504 \(float16 overflow\)/);
    assert.strictEqual(decision(r, 'shrink').quantized, false, 'the reader of the overflowing value stays float32');
    assert.strictEqual(decision(r, 'mix').quantized, true);
    assert.ok(r.calibration && r.calibration.samples === 16);
    assert.ok(!r.warnings.some((w) => /activations were not observed/.test(w)));
    // The result is exact enough: 'big' never passes through float16.
    assert.ok(r.verification.ran, r.verification.note);
    assert.ok(r.verification.outputSqnrDb!.y >= 45, r.verification.note);
    // The kept weight W is float32, the converted one V float16.
    const types = Object.fromEntries(readModelSync(r.output).proto.graph!.initializer.map((t) => [t.name, t.data_type]));
    assert.strictEqual(types.W, DataType.FLOAT);
    assert.strictEqual(types.V, DataType.FLOAT16);
  });

  it('without data: warns that activations were not observed, and an overflowing value becomes Inf in float16', async () => {
    const src = write(dir, 'overflow_nodata.onnx', overflowModel());
    const r = await quantizeModel(src, fp16());
    assert.ok(r.warnings.some((w) => /activations were not observed \(no --calib data\)/.test(w)));
    assert.strictEqual(decision(r, 'grow').quantized, true);
    assert.strictEqual(r.calibration, null);
    // What the warning is about, made visible where the value leaves the model in float16 (inside
    // the model, the CPU provider computes ops without float16 kernels in float32 between Casts).
    const g = new GraphBuilder('grow_only')
      .input('x', DataType.FLOAT, ['N', 4])
      .initializer('W', DataType.FLOAT, [4, 4], new Float32Array(16).fill(300))
      .node('MatMul', ['x', 'W'], ['big'], {}, { name: 'grow' })
      .output('big', DataType.FLOAT, ['N', 4]);
    const half = await quantizeModel(write(dir, 'grow.onnx', g), fp16({ keepIoTypes: false }));
    const s = await ort.InferenceSession.create(half.output);
    const x = new ort.Tensor('float16', float32ToFloat16Bits(new Float32Array(4).fill(100)), [1, 4]);
    const big = (await s.run({ x })).big;
    await s.release();
    assert.strictEqual(big.type, 'float16');
    const values = float16BitsToFloat32(new Uint16Array((big.data as Uint16Array).buffer, (big.data as Uint16Array).byteOffset, 4));
    assert.ok(
      values.every((v) => v === Infinity),
      String(values),
    );
  });

  it('keeps a node whose weight is mostly under float16 normal range, or would flush to zero', async () => {
    const g = new GraphBuilder('tiny_weights')
      .input('x', DataType.FLOAT, ['N', 32])
      .initializer(
        'T',
        DataType.FLOAT,
        [32, 32],
        Float32Array.from({ length: 1024 }, (_, i) => ((i % 7) + 1) * 1e-6),
      )
      .initializer('eps', DataType.FLOAT, [], Float32Array.of(1e-12))
      .initializer(
        'U',
        DataType.FLOAT,
        [32, 32],
        Float32Array.from({ length: 1024 }, (_, i) => ((i % 9) - 4) * 0.1),
      )
      .node('MatMul', ['x', 'T'], ['t'], {}, { name: 'subnormal_mm' })
      .node('Add', ['t', 'eps'], ['te'], {}, { name: 'add_eps' })
      .node('MatMul', ['te', 'U'], ['y'], {}, { name: 'normal_mm' })
      .output('y', DataType.FLOAT, ['N', 32]);
    const r = await quantizeModel(write(dir, 'tiny.onnx', g), fp16());
    assert.match(decision(r, 'subnormal_mm').reason, /1024 of 1024 nonzero values of 'T' are under fp16's smallest normal 6\.1e-5/);
    assert.match(decision(r, 'add_eps').reason, /1 of 1 nonzero values of 'eps' are under 3\.0e-8 and would become 0 in float16/);
    assert.strictEqual(decision(r, 'normal_mm').quantized, true);
    assert.ok(r.verification.outputSqnrDb!.y >= 45, r.verification.note);
  });

  it('keeps a weight past 65504 in float32 with its node, but clamps a single fill value (never Inf)', async () => {
    const g = new GraphBuilder('large')
      .input('x', DataType.FLOAT, ['N', 4])
      .initializer('L', DataType.FLOAT, [4], Float32Array.of(1, 2e5, 3, 4))
      .initializer('mask', DataType.FLOAT, [], Float32Array.of(-1e9))
      .node('Mul', ['x', 'L'], ['m'], {}, { name: 'large_mul' })
      .node('Max', ['m', 'mask'], ['y'], {}, { name: 'floor' })
      .output('y', DataType.FLOAT, ['N', 4]);
    const before = write(dir, 'large.onnx', g);
    const r = await quantizeModel(before, fp16());
    assert.match(decision(r, 'large_mul').reason, /1 of 4 values of 'L' exceed float16's largest 65504 \(max \|value\| 2\.0e\+5\)/);
    // Max stays float32 by the op rules; an Add reading the mask instead is converted and clamps it.
    const g2 = new GraphBuilder('mask')
      .input('x', DataType.FLOAT, ['N', 4])
      .initializer('mask', DataType.FLOAT, [], Float32Array.of(-1e9))
      .node('Add', ['x', 'mask'], ['y'], {}, { name: 'masked' })
      .output('y', DataType.FLOAT, ['N', 4]);
    const r2 = await quantizeModel(write(dir, 'mask.onnx', g2), fp16());
    assert.ok(r2.warnings.some((w) => /1 stored value was beyond fp16's largest finite value and was clamped to ±65504/.test(w)));
    const mask = readModelSync(r2.output).proto.graph!.initializer.find((t) => t.name === 'mask')!;
    assert.strictEqual(mask.data_type, DataType.FLOAT16);
    assert.strictEqual(toFloat32(readTensor(mask))[0], -65504);
  });

  it('without data, a BatchNormalization whose running variance foretells an overflow keeps its input writer in float32', async () => {
    const c = 2;
    const g = new GraphBuilder('bn')
      .input('x', DataType.FLOAT, ['N', 1, 4, 4])
      .initializer('w', DataType.FLOAT, [c, 1, 1, 1], Float32Array.of(1000, 1))
      .initializer('scale', DataType.FLOAT, [c], Float32Array.of(1, 1))
      .initializer('bias', DataType.FLOAT, [c], Float32Array.of(0, 0))
      .initializer('mean', DataType.FLOAT, [c], Float32Array.of(0, 0))
      .initializer('var', DataType.FLOAT, [c], Float32Array.of(1e8, 1))
      .node('Conv', ['x', 'w'], ['h'], {}, { name: 'conv' })
      .node('BatchNormalization', ['h', 'scale', 'bias', 'mean', 'var'], ['y'], {}, { name: 'bn' })
      .output('y', DataType.FLOAT, ['N', c, 4, 4]);
    const r = await quantizeModel(write(dir, 'bn.onnx', g), fp16());
    assert.match(decision(r, 'conv').reason, /running statistics of BatchNormalization 'bn' put its input 'h' at ±4\.0e\+4 \(\|mean\| \+ 4 std\)/);
    assert.match(decision(r, 'bn').reason, /1 of 2 values of 'var' exceed float16's largest 65504/);
  });

  it('Loop body: carried float state in half, an outer weight read inside, a float32 op inside with its Casts', async () => {
    const body = new GraphBuilder('body')
      .input('i', DataType.INT64, [])
      .input('cond_in', DataType.BOOL, [])
      .input('h', DataType.FLOAT, ['N', 4])
      .initializer('axis', DataType.INT64, [], BigInt64Array.of(1n))
      .node('MatMul', ['h', 'W'], ['hw'], {}, { name: 'step_mm' })
      .node('CumSum', ['hw', 'axis'], ['hc'], {}, { name: 'step_cumsum' })
      .node('Tanh', ['hc'], ['h_out'], {}, { name: 'step_tanh' })
      .node('Identity', ['cond_in'], ['cond_out'], {}, { name: 'keep_going' })
      .output('cond_out', DataType.BOOL, [])
      .output('h_out', DataType.FLOAT, ['N', 4]);
    const g = new GraphBuilder('loop')
      .input('x', DataType.FLOAT, ['N', 4])
      .initializer(
        'W',
        DataType.FLOAT,
        [4, 4],
        Float32Array.from({ length: 16 }, (_, k) => ((k % 5) - 2) * 0.3),
      )
      .initializer('trips', DataType.INT64, [], BigInt64Array.of(3n))
      .initializer('go', DataType.BOOL, [], Uint8Array.of(1))
      .node('Loop', ['trips', 'go', 'x'], ['y'], { body }, { name: 'loop' })
      .output('y', DataType.FLOAT, ['N', 4]);
    const r = await quantizeModel(write(dir, 'loop.onnx', g), fp16());
    assert.ok(r.verification.ran, r.verification.note);
    assert.ok(r.verification.outputSqnrDb!.y >= 45, r.verification.note);
    assert.strictEqual(decision(r, 'loop').quantized, true);
    assert.strictEqual(decision(r, 'main/loop.body/step_cumsum').quantized, false);
    assert.strictEqual(decision(r, 'main/loop.body/step_mm').quantized, true);
    const out = readModelSync(r.output).proto.graph!;
    const inner = out.node.find((n) => n.op_type === 'Loop')!.attribute[0].g!;
    assert.strictEqual(inner.input[2].type!.tensor_type!.elem_type, DataType.FLOAT16);
    assert.strictEqual(inner.node.filter((n) => n.op_type === 'Cast').length, 2, 'one Cast into CumSum, one out');
    assert.deepStrictEqual(castChains(out), []);
  });

  it('an initializer also listed as a graph input (IR 3) becomes a plain stored weight in half', async () => {
    const g = overflowModel().input('V', DataType.FLOAT, [4, 4]);
    const r = await quantizeModel(write(dir, 'ir3.onnx', g, 9, 3), fp16({ calibration: data }));
    assert.ok(r.warnings.some((w) => /1 initializers were also listed as graph inputs/.test(w)));
    const out = readModelSync(r.output).proto;
    assert.deepStrictEqual(
      out.graph!.input.map((v) => v.name),
      ['x'],
    );
    assert.strictEqual(Number(out.ir_version), 4);
    assert.strictEqual(out.graph!.initializer.find((t) => t.name === 'V')!.data_type, DataType.FLOAT16);
  });

  it('folds the Cast chains an exported float16 round trip leaves, and drops Casts to the type a value has', async () => {
    const g = new GraphBuilder('round_trip')
      .input('x', DataType.FLOAT, ['N', 4])
      .node('Cast', ['x'], ['xh'], { to: DataType.FLOAT16 }, { name: 'down' })
      .node('Cast', ['xh'], ['xf'], { to: DataType.FLOAT }, { name: 'up' })
      .node('Cast', ['xf'], ['xs'], { to: DataType.FLOAT }, { name: 'same' })
      .node('Relu', ['xs'], ['y'], {}, { name: 'act' })
      .output('y', DataType.FLOAT, ['N', 4]);
    const r = await quantizeModel(write(dir, 'round_trip.onnx', g), fp16());
    const out = readModelSync(r.output).proto.graph!;
    assert.deepStrictEqual(castChains(out), []);
    // x -> Cast(float16) -> Relu -> Cast(float) -> y: one Cast in, one out.
    assert.deepStrictEqual(
      out.node.map((n) => n.op_type),
      ['Cast', 'Relu', 'Cast'],
    );
    assert.ok(r.verification.outputSqnrDb!.y >= 45, r.verification.note);
  });

  it('bf16: the range checks keep nothing, and say why', async () => {
    const r = await quantizeModel(write(dir, 'overflow_bf16.onnx', overflowModel()), resolveSettings({ mode: 'bf16', calibration: data }));
    assert.ok(r.nodes.every((n) => n.quantized));
    assert.ok(r.warnings.some((w) => /bfloat16 keeps float32's exponent range.*the range checks keep nothing in float32/.test(w)));
    assert.strictEqual(r.calibration, null);
  });

  it('--exclude keeps the named node in float32; a pattern matching nothing is a warning', async () => {
    const r = await quantizeModel(write(dir, 'excl.onnx', overflowModel()), fp16({ calibration: data, exclude: ['mix', 'nothing*'] }));
    assert.strictEqual(decision(r, 'mix').reason, 'excluded (mix)');
    assert.deepStrictEqual(r.unmatchedPatterns, ['nothing*']);
    assert.ok(r.warnings.includes("the pattern 'nothing*' matches no node"));
  });
});
