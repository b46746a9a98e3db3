// What a quantized model carries: the scale, zero point, axis and type of every quantized tensor,
// and which nodes compute in integer arithmetic — integer ops (QLinearConv, MatMulInteger...) and
// float ops wrapped in DequantizeLinear/QuantizeLinear pairs, which onnxruntime fuses.
import type { QuantParams } from '../../shared/modelViewProtocol';
import { dataTypeName } from './dataTypes';
import { GraphIndex } from './graph';
import type { OnnxModel } from './model';
import { readTensor, toFloat32 } from './tensor';
import { int64ToNumber, type NodeProto, type TensorProto } from './types';
import { allTensors } from './walk';

/** Ops that compute in integer arithmetic (onnxruntime's QLinear*, *Integer and fused kernels). */
export const INTEGER_OPS = new Set([
  'QLinearConv',
  'QLinearMatMul',
  'MatMulInteger',
  'ConvInteger',
  'QGemm',
  'QLinearAdd',
  'QLinearMul',
  'QLinearConcat',
  'QLinearSigmoid',
  'QLinearLeakyRelu',
  'QLinearGlobalAveragePool',
  'QLinearAveragePool',
  'QLinearSoftmax',
  'QLinearWhere',
  'QAttention',
  'DynamicQuantizeMatMul',
  'MatMulIntegerToFloat',
  'DynamicQuantizeLSTM',
  'MatMulNBits',
  'QOrderedMatMul',
  'QLinearConvTranspose',
]);
const Q_OPS = new Set(['QuantizeLinear']);
const DQ_OPS = new Set(['DequantizeLinear']);
/** Per op: [input index of the quantized weight, of its scale, of its zero point]. */
const QLINEAR_WEIGHTS: Record<string, [number, number, number]> = { QLinearConv: [3, 4, 5], QLinearMatMul: [3, 4, 5] };
/** Block-quantized weights (com.microsoft): per op, input index of the packed weight, of its scales,
 *  of its zero points, and the axis the blocks run along in the float weight's layout. */
const BLOCK_WEIGHTS: Record<string, [number, number, number]> = { MatMulNBits: [1, 2, 3], GatherBlockQuantized: [0, 2, 3] };
/** How many values of scale and zero point a summary keeps. */
const SHOWN_VALUES = 8;

export interface QuantizationInfo {
  params: QuantParams[];
  /** Node (by name, or op_index when unnamed) -> why it runs in integer. */
  integerNodes: Map<string, string>;
}

function attrInt(node: NodeProto, name: string): number | null {
  const a = node.attribute.find((x) => x.name === name);
  return a?.i !== undefined ? int64ToNumber(a.i) : null;
}

export function quantizationInfo(model: OnnxModel, nodeKey: (n: NodeProto, i: number) => string): QuantizationInfo {
  const stored = new Map<string, TensorProto>();
  for (const v of allTensors(model.proto)) if (!stored.has(v.name)) stored.set(v.name, v.tensor);
  const values = (name: string | undefined): number[] => {
    const t = name ? stored.get(name) : undefined;
    if (!t) return [];
    try {
      return Array.from(toFloat32(readTensor(t, model.external)).subarray(0, SHOWN_VALUES));
    } catch {
      return [];
    }
  };
  const count = (name: string | undefined) => {
    const t = name ? stored.get(name) : undefined;
    return t ? t.dims.reduce<number>((a, d) => a * int64ToNumber(d), 1) : 1;
  };
  const typeOf = (name: string | undefined) => (name && stored.get(name) ? dataTypeName(stored.get(name)!.data_type) : null);

  const params: QuantParams[] = [];
  const integerNodes = new Map<string, string>();
  const root = new GraphIndex(model.proto.graph!);
  for (const index of root.allIndexes()) {
    const op = (i: number | undefined) => (i === undefined ? undefined : (index.nodes[i].op_type ?? ''));
    index.nodes.forEach((node, i) => {
      const opType = node.op_type ?? '';
      const key = nodeKey(node, i);
      if (DQ_OPS.has(opType) || Q_OPS.has(opType)) {
        const [x, scale, zp] = node.input;
        const isDQ = DQ_OPS.has(opType);
        params.push({
          tensor: isDQ ? x : node.output[0],
          node: key,
          type: typeOf(zp) ?? (isDQ ? typeOf(x) : null) ?? 'uint8',
          scale: values(scale),
          zeroPoint: values(zp),
          count: count(scale),
          axis: count(scale) > 1 ? (attrInt(node, 'axis') ?? 1) : null,
          blockSize: attrInt(node, 'block_size'),
        });
        return;
      }
      const w = QLINEAR_WEIGHTS[opType];
      if (w) {
        params.push({
          tensor: node.input[w[0]],
          node: key,
          type: typeOf(node.input[w[2]]) ?? typeOf(node.input[w[0]]) ?? 'uint8',
          scale: values(node.input[w[1]]),
          zeroPoint: values(node.input[w[2]]),
          count: count(node.input[w[1]]),
          axis: count(node.input[w[1]]) > 1 ? 0 : null,
          blockSize: null,
        });
      }
      const b = BLOCK_WEIGHTS[opType];
      if (b) {
        // MatMulNBits stores `bits` per weight (default 4) in uint8 bytes, its zero points packed the
        // same way; GatherBlockQuantized's weight has the 4-bit type itself. Shown unpacked: the type
        // and block, the scales; the packed zero points are not decoded here.
        const bits = opType === 'MatMulNBits' ? (attrInt(node, 'bits') ?? 4) : null;
        params.push({
          tensor: node.input[b[0]],
          node: key,
          type: bits !== null ? `${node.input[b[2]] ? 'uint' : 'int'}${bits} (packed)` : (typeOf(node.input[b[0]]) ?? 'int4'),
          scale: values(node.input[b[1]]),
          zeroPoint: bits !== null ? [] : values(node.input[b[2]]),
          count: count(node.input[b[1]]),
          axis: opType === 'MatMulNBits' ? 0 : attrInt(node, 'quantize_axis'),
          blockSize: attrInt(node, 'block_size'),
        });
      }
      if (INTEGER_OPS.has(opType)) {
        integerNodes.set(key, opType);
        return;
      }
      // A float op between dequantized inputs and a quantized output is fused to integer by ORT.
      const fromDQ = node.input.filter((n) => n && DQ_OPS.has(op(index.producer.get(n)) ?? ''));
      if (!fromDQ.length) return;
      const toQ = node.output.some((o) => (index.consumers.get(o) ?? []).some((c) => Q_OPS.has(op(c) ?? '')));
      integerNodes.set(key, toQ ? 'QDQ' : 'QDQ (dequantized inputs)');
    });
  }
  return { params, integerNodes };
}
