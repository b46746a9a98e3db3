// The nodes and initializers that replace a float MatMul/Gemm/Gather once its weight is
// block-quantized (docs/quantization.md, section 10):
//   matmulnbits:       MatMulNBits(A, B_q, scales, zero_points?, -, bias?)      (com.microsoft)
//   dequantize-linear: DequantizeLinear-21(W_q, scales, zero_points?; axis 0, block_size) -> MatMul
//   embeddings:        GatherBlockQuantized(table_q, indices, scales, zero_points?) (com.microsoft)
// An AWQ input scale s becomes a Mul of A by 1/s in front of the node.
import type { WeightOnlyFormat } from '../../../shared/quantResult';
import { createMessage } from '../../onnx/codec';
import { DataType } from '../../onnx/dataTypes';
import { makeTensor } from '../../onnx/tensor';
import { AttributeType, type AttributeProto, type NodeProto, type TensorProto } from '../../onnx/types';
import { packMatMulNBits } from '../blockScheme';
import type { WeightNode } from './targets';
import type { BlockQuantizedWeight, WeightOnlyChoice } from './types';

export interface Rewrite {
  nodes: NodeProto[];
  initializers: TensorProto[];
  /** The quantized initializer holding the weight's integers. */
  quantizedName: string;
  /** The weight's initializers as the node reads them: [integers, scales, zero points?]. Another
   *  node with the same weight and options reads these instead of new copies (`reuse`). */
  weightInputs: string[];
  /** Its element type as the result reports it (uint4, int4, uint8, int8). */
  type: string;
}

function intAttr(name: string, v: number): AttributeProto {
  return createMessage<AttributeProto>('AttributeProto', { name, type: AttributeType.INT, i: v });
}

function makeNode(op: string, inputs: string[], outputs: string[], name: string, attrs: AttributeProto[] = [], domain = ''): NodeProto {
  return createMessage<NodeProto>('NodeProto', { op_type: op, input: inputs, output: outputs, name, attribute: attrs, domain });
}

/** Scales times Gemm's alpha (alpha folds into the dequantization exactly up to one rounding). */
function scaledScales(w: BlockQuantizedWeight, alpha: number): Float32Array {
  return alpha === 1 ? w.scales : w.scales.map((s) => Math.fround(s * alpha));
}

export interface WriteContext {
  /** A name no tensor or node of the graph uses yet, from `base`. */
  unique(base: string): string;
  /** Gemm's C as a constant float32 [N] (or [1, N]) when it is one, for MatMulNBits' bias input. */
  constantBias(name: string, N: number): Float32Array | undefined;
  accuracyLevel: number;
  format: WeightOnlyFormat;
}

/** A: the node's activation, divided by AWQ's input scale when there is one. */
function activation(t: WeightNode, choice: WeightOnlyChoice, ctx: WriteContext, out: Rewrite): string {
  const a = t.node.input[0];
  if (!choice.inputScale) return a;
  const inv = makeTensor({ name: ctx.unique(`${t.weight}_awq_inv_scale`), dataType: DataType.FLOAT, dims: [t.K], values: choice.inputScale.map((s) => 1 / s) });
  const scaled = ctx.unique(`${a}_awq_scaled`);
  out.initializers.push(inv);
  out.nodes.push(makeNode('Mul', [a, inv.name!], [scaled], ctx.unique(`${t.name}_awq_Mul`)));
  return scaled;
}

/** Gemm's beta * C as MatMulNBits' bias input: only when C is a constant [N]. */
function biasInitializer(t: WeightNode, ctx: WriteContext, out: Rewrite): string | undefined {
  const constant = t.bias ? ctx.constantBias(t.bias, t.N) : undefined;
  if (!constant) return undefined;
  const b = makeTensor({ name: ctx.unique(`${t.bias}_bias`), dataType: DataType.FLOAT, dims: [t.N], values: constant.map((v) => Math.fround(v * t.beta)) });
  out.initializers.push(b);
  return b.name!;
}

/** y + beta * C into the node's output, for a C that is not a constant [N] (or no bias input). */
function biasAdd(t: WeightNode, y: string, ctx: WriteContext, out: Rewrite): void {
  let c = t.bias;
  if (t.beta !== 1) {
    const beta = makeTensor({ name: ctx.unique(`${t.name}_beta`), dataType: DataType.FLOAT, dims: [], values: Float32Array.of(t.beta) });
    c = ctx.unique(`${t.bias}_times_beta`);
    out.initializers.push(beta);
    out.nodes.push(makeNode('Mul', [t.bias, beta.name!], [c], ctx.unique(`${t.name}_beta_Mul`)));
  }
  out.nodes.push(makeNode('Add', [y, c], [t.node.output[0]], ctx.unique(`${t.name}_bias_Add`)));
}

export function writeMatMulNBits(t: WeightNode, choice: WeightOnlyChoice, ctx: WriteContext, reuse?: string[]): Rewrite {
  const w = choice.weight;
  const out: Rewrite = { nodes: [], initializers: [], quantizedName: '', weightInputs: [], type: w.symmetric ? `int${w.bits}` : `uint${w.bits}` };
  const a = activation(t, choice, ctx, out);
  out.weightInputs = reuse ?? matMulNBitsTensors(t, w, ctx, out);
  const inputs = [a, ...out.weightInputs];
  const biasInput = biasInitializer(t, ctx, out);
  if (biasInput) inputs.push(...Array<string>(5 - inputs.length).fill(''), biasInput);
  const y = t.bias && !biasInput ? ctx.unique(`${t.node.output[0]}_before_bias`) : t.node.output[0];
  const attrs = [intAttr('K', w.K), intAttr('N', w.N), intAttr('bits', w.bits), intAttr('block_size', w.blockSize)];
  // 0 (unset) is left out, as onnxruntime's quantizer does: some providers reject the attribute.
  if (ctx.accuracyLevel) attrs.push(intAttr('accuracy_level', ctx.accuracyLevel));
  out.nodes.push(makeNode('MatMulNBits', inputs, [y], ctx.unique(`${t.name}_Q${w.bits}`), attrs, 'com.microsoft'));
  if (t.bias && !biasInput) biasAdd(t, y, ctx, out);
  out.quantizedName = out.weightInputs[0];
  return out;
}

function matMulNBitsTensors(t: WeightNode, w: BlockQuantizedWeight, ctx: WriteContext, out: Rewrite): string[] {
  const p = packMatMulNBits(w);
  const data = makeTensor({ name: ctx.unique(`${t.weight}_Q${w.bits}`), dataType: DataType.UINT8, dims: p.dims, values: p.data });
  const scales = makeTensor({ name: ctx.unique(`${t.weight}_scales`), dataType: DataType.FLOAT, dims: [w.N * w.kBlocks], values: scaledScales(w, t.alpha) });
  out.initializers.push(data, scales);
  if (!p.zeroPoints) return [data.name!, scales.name!];
  const zp = makeTensor({ name: ctx.unique(`${t.weight}_zero_points`), dataType: DataType.UINT8, dims: [p.zeroPoints.length], values: p.zeroPoints });
  out.initializers.push(zp);
  return [data.name!, scales.name!, zp.name!];
}

/** W_q as DequantizeLinear reads it: [K, N] row-major, signed (q - 2^(bits-1)) when symmetric. */
function rowMajorValues(w: BlockQuantizedWeight): Int8Array | Uint8Array {
  const mid = 1 << (w.bits - 1);
  const out = w.symmetric ? new Int8Array(w.K * w.N) : new Uint8Array(w.K * w.N);
  const kPadded = w.kBlocks * w.blockSize;
  for (let k = 0; k < w.K; k++) for (let n = 0; n < w.N; n++) out[k * w.N + n] = w.q[n * kPadded + k] - (w.symmetric ? mid : 0);
  return out;
}

/** [kBlocks, N] row-major, from the weight's column-major [N, kBlocks]. */
function blocksByRow<T extends Float32Array | Uint8Array>(v: T, w: BlockQuantizedWeight, make: (n: number) => T): T {
  const out = make(w.kBlocks * w.N);
  for (let n = 0; n < w.N; n++) for (let b = 0; b < w.kBlocks; b++) out[b * w.N + n] = v[n * w.kBlocks + b];
  return out;
}

const DQ_TYPES = { int4: DataType.INT4, uint4: DataType.UINT4, int8: DataType.INT8, uint8: DataType.UINT8 };

export function writeDequantizeLinear(t: WeightNode, choice: WeightOnlyChoice, ctx: WriteContext, reuse?: string[]): Rewrite {
  const w = choice.weight;
  const type = w.symmetric ? `int${w.bits}` : `uint${w.bits}`;
  const out: Rewrite = { nodes: [], initializers: [], quantizedName: '', weightInputs: [], type };
  const a = activation(t, choice, ctx, out);
  out.weightInputs = reuse ?? dequantizeLinearTensors(t, w, DQ_TYPES[type as keyof typeof DQ_TYPES], ctx, out);
  const deq = ctx.unique(`${t.weight}_dequantized`);
  out.nodes.push(
    makeNode('DequantizeLinear', out.weightInputs, [deq], ctx.unique(`${t.name}_DQ_Q${w.bits}`), [intAttr('axis', 0), intAttr('block_size', w.blockSize)]),
  );
  const y = t.bias ? ctx.unique(`${t.node.output[0]}_before_bias`) : t.node.output[0];
  out.nodes.push(makeNode('MatMul', [a, deq], [y], ctx.unique(`${t.name}_MatMul_Q${w.bits}`)));
  if (t.bias) biasAdd(t, y, ctx, out);
  out.quantizedName = out.weightInputs[0];
  return out;
}

function dequantizeLinearTensors(t: WeightNode, w: BlockQuantizedWeight, dataType: DataType, ctx: WriteContext, out: Rewrite): string[] {
  const q = makeTensor({ name: ctx.unique(`${t.weight}_DQ_Q${w.bits}`), dataType, dims: [w.K, w.N], values: rowMajorValues(w) });
  const scales = blocksByRow(scaledScales(w, t.alpha), w, (n) => new Float32Array(n));
  const s = makeTensor({ name: ctx.unique(`${t.weight}_DQ_scales`), dataType: DataType.FLOAT, dims: [w.kBlocks, w.N], values: scales });
  out.initializers.push(q, s);
  if (w.symmetric) return [q.name!, s.name!];
  const zp = makeTensor({
    name: ctx.unique(`${t.weight}_DQ_zero_points`),
    dataType,
    dims: [w.kBlocks, w.N],
    values: blocksByRow(w.zeroPoints, w, (n) => new Uint8Array(n)),
  });
  out.initializers.push(zp);
  return [q.name!, s.name!, zp.name!];
}

/** An embedding table [vocab, dim] quantized in blocks along dim (the weight's K), rows packed
 *  like MatMulNBits' columns: uint8 [vocab, dim * bits / 8]; needs dim to be a multiple of the block. */
export function writeGatherBlockQuantized(t: WeightNode, choice: WeightOnlyChoice, ctx: WriteContext, reuse?: string[]): Rewrite {
  const w = choice.weight;
  const out: Rewrite = { nodes: [], initializers: [], quantizedName: '', weightInputs: [], type: w.symmetric ? `int${w.bits}` : `uint${w.bits}` };
  out.weightInputs = reuse ?? gatherTensors(t, w, ctx, out);
  const [data, ...params] = out.weightInputs;
  const attrs = [intAttr('gather_axis', 0), intAttr('quantize_axis', 1), intAttr('block_size', w.blockSize), intAttr('bits', w.bits)];
  out.nodes.push(
    makeNode('GatherBlockQuantized', [data, t.node.input[1], ...params], [t.node.output[0]], ctx.unique(`${t.name}_Q${w.bits}`), attrs, 'com.microsoft'),
  );
  out.quantizedName = data;
  return out;
}

function gatherTensors(t: WeightNode, w: BlockQuantizedWeight, ctx: WriteContext, out: Rewrite): string[] {
  const p = packMatMulNBits(w);
  const data = makeTensor({ name: ctx.unique(`${t.weight}_Q${w.bits}`), dataType: DataType.UINT8, dims: [w.N, (w.K * w.bits) / 8], values: p.data });
  const scales = makeTensor({ name: ctx.unique(`${t.weight}_scales`), dataType: DataType.FLOAT, dims: [w.N, w.kBlocks], values: w.scales });
  out.initializers.push(data, scales);
  if (!p.zeroPoints) return [data.name!, scales.name!];
  const zp = makeTensor({
    name: ctx.unique(`${t.weight}_zero_points`),
    dataType: DataType.UINT8,
    dims: [w.N, p.zeroPoints.length / w.N],
    values: p.zeroPoints,
  });
  out.initializers.push(zp);
  return [data.name!, scales.name!, zp.name!];
}
