import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DataType } from '../../src/core/onnx/dataTypes';
import { decodeModel } from '../../src/core/onnx/model';
import { readModelSync } from '../support/helpers';
import { ModelView } from '../../src/core/onnx/modelView';
import { createSession, ort } from '../../src/core/runtime/session';
import { GraphBuilder, modelBytes } from '../fixtures/builder';

/** A QDQ Conv as quantization tools write it: uint8 activations, int8 per-channel weights, int32 bias. */
function qdqConv(): Uint8Array {
  const g = new GraphBuilder('qdq')
    .input('x', DataType.FLOAT, [1, 1, 4, 4])
    .initializer('x_scale', DataType.FLOAT, [], new Float32Array([0.02]))
    .initializer('x_zp', DataType.UINT8, [], new Uint8Array([128]))
    .node('QuantizeLinear', ['x', 'x_scale', 'x_zp'], ['x_q'], {}, { name: 'x_QuantizeLinear' })
    .node('DequantizeLinear', ['x_q', 'x_scale', 'x_zp'], ['x_dq'], {}, { name: 'x_DequantizeLinear' })
    .initializer(
      'w_q',
      DataType.INT8,
      [2, 1, 3, 3],
      new Int8Array(18).map((_, i) => i - 9),
    )
    .initializer('w_scale', DataType.FLOAT, [2], new Float32Array([0.01, 0.03]))
    .initializer('w_zp', DataType.INT8, [2], new Int8Array([0, 0]))
    .node('DequantizeLinear', ['w_q', 'w_scale', 'w_zp'], ['w'], { axis: 0 }, { name: 'w_DequantizeLinear' })
    .initializer('b_q', DataType.INT32, [2], new Int32Array([5, -5]))
    .initializer('b_scale', DataType.FLOAT, [2], new Float32Array([0.0002, 0.0006]))
    .initializer('b_zp', DataType.INT32, [2], new Int32Array([0, 0]))
    .node('DequantizeLinear', ['b_q', 'b_scale', 'b_zp'], ['b'], { axis: 0 }, { name: 'b_DequantizeLinear' })
    .node('Conv', ['x_dq', 'w', 'b'], ['y'], {}, { name: 'conv' })
    .initializer('y_scale', DataType.FLOAT, [], new Float32Array([0.05]))
    .initializer('y_zp', DataType.UINT8, [], new Uint8Array([100]))
    .node('QuantizeLinear', ['y', 'y_scale', 'y_zp'], ['y_q'], {}, { name: 'y_QuantizeLinear' })
    .node('DequantizeLinear', ['y_q', 'y_scale', 'y_zp'], ['out'], {}, { name: 'y_DequantizeLinear' })
    .output('out', DataType.FLOAT, [1, 2, 2, 2]);
  return modelBytes(g, { opset: 13 });
}

describe('quantization parameters in the model view', () => {
  it('lists scale, zero point, axis and type of each quantized tensor', () => {
    const view = new ModelView(decodeModel(qdqConv()));
    const w = view.tensors().find((t) => t.name === 'w_q')!;
    assert.deepStrictEqual(w.quant, {
      tensor: 'w_q',
      node: 'w_DequantizeLinear',
      type: 'int8',
      scale: [0.009999999776482582, 0.029999999329447746],
      zeroPoint: [0, 0],
      count: 2,
      axis: 0,
      blockSize: null,
    });
    const overview = view.overview();
    assert.strictEqual(overview.quantized.length, 6, 'two QuantizeLinear, four DequantizeLinear');
    assert.ok(overview.quantized.some((q) => q.tensor === 'x_q' && q.type === 'uint8' && q.zeroPoint[0] === 128 && q.axis === null));
  });

  it('marks the Conv between dequantized inputs and a QuantizeLinear as integer, and onnxruntime agrees', async () => {
    const model = decodeModel(qdqConv());
    const rows = (await new ModelView(model).nodes(false)).rows;
    assert.strictEqual(rows.find((r) => r.name === 'conv')!.integer, 'QDQ');
    assert.strictEqual(rows.find((r) => r.name === 'y_QuantizeLinear')!.integer, null);
    // onnxruntime fuses that Conv into an integer kernel.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qdq-'));
    try {
      const optimized = path.join(dir, 'optimized.onnx');
      const session = await createSession(model, { optimizedModelFilePath: optimized });
      const r = await session.run({ x: new ort.Tensor('float32', new Float32Array(16).fill(0.5), [1, 1, 4, 4]) });
      assert.deepStrictEqual(r.out.dims, [1, 2, 2, 2]);
      await session.release();
      const ops = readModelSync(optimized).proto.graph!.node.map((n) => n.op_type);
      assert.ok(ops.includes('QLinearConv') && !ops.includes('Conv'), `optimized ops: ${ops.join(', ')}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
