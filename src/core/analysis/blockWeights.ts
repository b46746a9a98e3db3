// Weights quantized in blocks along K (weight-only quantization, docs/quantization.md, section 10):
// found in the quantized model's MatMulNBits, GatherBlockQuantized and blocked DequantizeLinear,
// unpacked into the form the quantizer held them in, and compared with their float original.
// Their report summarises per output column (N entries), never per block: a 4096 x 4096 weight
// has half a million blocks.
import type { WeightReport } from '../../shared/quantReport';
import { DataType, dataTypeName } from '../onnx/dataTypes';
import { GraphIndex } from '../onnx/graph';
import type { OnnxModel } from '../onnx/model';
import { readTensor, toFloat32 } from '../onnx/tensor';
import { int64ToNumber, type NodeProto, type TensorProto } from '../onnx/types';
import { nodeLabel } from '../onnx/walk';
import { blockDequantize, blockErrorStats, blockReader, dequantizedValue, unpackMatMulNBits, type WeightLayout } from '../quant/blockScheme';
import type { BlockQuantizedWeight } from '../quant/weightOnly/types';
import { ErrorAccumulator } from './metrics';

export interface BlockWeightMatch {
  floatName: string;
  quantizedName: string;
  /** Nodes of the quantized model reading it. */
  consumers: string[];
  type: string;
  weight: BlockQuantizedWeight;
  /** A divisor per input row k that the node applies to its input first (AWQ's x / s): the
   *  weight it multiplies by is then W~[k, n] / s[k]. */
  inputScale?: Float32Array;
}

/** The names the weight-only writers give a weight W's integers: W_Q4, W_DQ_Q8, W_Q4_1, ... */
const BLOCK_SUFFIX = /(_DQ)?_Q(4|8)(_\d+)?$/;

export function blockFloatNameGuess(quantizedName: string): string | undefined {
  return BLOCK_SUFFIX.test(quantizedName) ? quantizedName.replace(BLOCK_SUFFIX, '') : undefined;
}

function intAttr(n: NodeProto, name: string): number | undefined {
  const a = n.attribute.find((x) => x.name === name);
  return a?.i !== undefined && a.i !== null ? int64ToNumber(a.i) : undefined;
}

/** The name the writer gives AWQ's 1/s (another Mul by a constant, such as a norm's gain, is not one). */
const AWQ_SCALE = /_awq_inv_scale(_\d+)?$/;

/** AWQ's Mul of A by a constant 1/s[K] in front of the node, when there is one. */
function inputDivisor(index: GraphIndex, constants: Map<string, TensorProto>, model: OnnxModel, a: string, K: number): Float32Array | undefined {
  const p = index.producer.get(a);
  const n = p !== undefined ? index.nodes[p] : undefined;
  if (!n || n.op_type !== 'Mul') return undefined;
  const c = AWQ_SCALE.test(n.input[1]) ? constants.get(n.input[1]) : undefined;
  if (!c || c.data_type !== DataType.FLOAT) return undefined;
  const inv = toFloat32(readTensor(c, model.external));
  return inv.length === K ? inv.map((x) => 1 / x) : undefined;
}

/**
 * The block-quantized weights of `quant`, each with the float initializer it was made from
 * (`floatName`, undefined when unknown). `unmatched` gets those that cannot be read back.
 */
export function matchBlockWeights(
  quant: OnnxModel,
  floatName: (quantizedName: string) => string | undefined,
  unmatched: Array<{ tensor: string; reason: string }>,
): BlockWeightMatch[] {
  const index = new GraphIndex(quant.proto.graph!);
  const constants = index.constantTensors();
  const nodes = quant.proto.graph!.node;
  const out = new Map<string, BlockWeightMatch>();
  const read = (name: string | undefined) => {
    const t = name ? constants.get(name) : undefined;
    return t ? readTensor(t, quant.external) : undefined;
  };
  nodes.forEach((n, i) => {
    const op = n.op_type ?? '';
    const blockSize = intAttr(n, 'block_size');
    const dataSlot = op === 'MatMulNBits' ? 1 : op === 'GatherBlockQuantized' || op === 'DequantizeLinear' ? 0 : -1;
    if (dataSlot < 0 || blockSize === undefined) return;
    const qName = n.input[dataSlot];
    if (!constants.has(qName)) return;
    const label = nodeLabel(n, i);
    const seen = out.get(qName);
    if (seen) {
      seen.consumers.push(label);
      return;
    }
    const fail = (reason: string) => unmatched.push({ tensor: qName, reason });
    const source = floatName(qName);
    if (!source) return fail('block-quantized initializer whose float tensor is not recorded in the quantization result nor named W_Q4/W_Q8 after it');
    try {
      const m = unpack(n, op, blockSize, read);
      if (typeof m === 'string') return fail(m);
      const inputScale = op === 'MatMulNBits' ? inputDivisor(index, constants, quant, n.input[0], m.weight.K) : undefined;
      out.set(qName, { floatName: source, quantizedName: qName, consumers: [label], ...m, ...(inputScale ? { inputScale } : {}) });
    } catch (e) {
      fail(`cannot be read back as a block-quantized weight: ${(e as Error).message}`);
    }
  });
  return [...out.values()];
}

type Reader = (name: string | undefined) => ReturnType<typeof readTensor> | undefined;

function bytes(t: ReturnType<typeof readTensor> | undefined): Uint8Array | undefined {
  return t && t.dataType === DataType.UINT8 ? (t.values as Uint8Array) : undefined;
}

/** The weight and its type name, or why it cannot be read. */
function unpack(n: NodeProto, op: string, blockSize: number, read: Reader): { weight: BlockQuantizedWeight; type: string } | string {
  if (op === 'DequantizeLinear') return unpackBlockedDequantize(n, blockSize, read);
  const bits = intAttr(n, 'bits') ?? 4;
  if (bits !== 4 && bits !== 8) return `${op} with ${bits} bits: only 4 and 8 are read back`;
  const data = read(n.input[op === 'MatMulNBits' ? 1 : 0]);
  const scales = read(n.input[2]);
  const zp = n.input[3] ? read(n.input[3]) : undefined;
  if (!bytes(data) || !scales || scales.dataType !== DataType.FLOAT) return `${op} whose data is not constant uint8 with float32 scales`;
  if (n.input[3] && !bytes(zp)) return `${op} whose zero points are not constant uint8`;
  let K: number;
  let N: number;
  if (op === 'MatMulNBits') {
    K = intAttr(n, 'K') ?? 0;
    N = intAttr(n, 'N') ?? 0;
  } else {
    // GatherBlockQuantized as the writer emits it: table [vocab, dim * bits / 8], blocks along dim.
    if ((intAttr(n, 'gather_axis') ?? 0) !== 0 || (intAttr(n, 'quantize_axis') ?? 1) !== 1 || data!.dims.length !== 2) {
      return 'GatherBlockQuantized other than a [vocab, dim] table gathered on axis 0 and quantized along axis 1';
    }
    N = data!.dims[0];
    K = (data!.dims[1] * 8) / bits;
  }
  const weight = unpackMatMulNBits({ data: bytes(data)!, scales: toFloat32(scales), zeroPoints: bytes(zp) }, K, N, bits, blockSize);
  return { weight, type: `${weight.symmetric ? 'int' : 'uint'}${bits}` };
}

const BLOCK_TYPES: Record<number, { bits: 4 | 8; signed: boolean }> = {
  [DataType.INT4]: { bits: 4, signed: true },
  [DataType.UINT4]: { bits: 4, signed: false },
  [DataType.INT8]: { bits: 8, signed: true },
  [DataType.UINT8]: { bits: 8, signed: false },
};

/** DequantizeLinear-21 of W_q [K, N] with scales [ceil(K / block), N] (axis 0, blocks along K);
 *  signed integers are shifted by 2^(bits-1) into the unsigned levels the weight holds. */
function unpackBlockedDequantize(n: NodeProto, blockSize: number, read: Reader): { weight: BlockQuantizedWeight; type: string } | string {
  const q = read(n.input[0]);
  const scales = read(n.input[1]);
  const zp = n.input[2] ? read(n.input[2]) : undefined;
  const kind = q ? BLOCK_TYPES[q.dataType] : undefined;
  if (!q || !kind || q.dims.length !== 2) return 'blocked DequantizeLinear of other than a 2-D int4/uint4/int8/uint8 weight';
  const rank = q.dims.length;
  const axis = intAttr(n, 'axis') ?? 1;
  if ((axis < 0 ? axis + rank : axis) !== 0) return `blocked DequantizeLinear along axis ${axis}: only blocks along axis 0 (K of a MatMul's B) are read back`;
  const [K, N] = q.dims;
  const kBlocks = Math.ceil(K / blockSize);
  if (!scales || scales.dataType !== DataType.FLOAT || scales.values.length !== kBlocks * N)
    return `blocked DequantizeLinear whose scales are not float32 [${kBlocks}, ${N}]`;
  if (n.input[2] && (!zp || zp.values.length !== kBlocks * N)) return `blocked DequantizeLinear whose zero points are not constant [${kBlocks}, ${N}]`;
  const shift = kind.signed ? 1 << (kind.bits - 1) : 0;
  const qv = toFloat32(q);
  const s = toFloat32(scales);
  const z = zp ? toFloat32(zp) : undefined;
  const kPadded = kBlocks * blockSize;
  const w: BlockQuantizedWeight = {
    bits: kind.bits,
    blockSize,
    symmetric: kind.signed && (!z || z.every((x) => x === 0)),
    K,
    N,
    kBlocks,
    q: new Uint8Array(N * kPadded),
    scales: new Float32Array(N * kBlocks),
    zeroPoints: new Uint8Array(N * kBlocks),
  };
  for (let c = 0; c < N; c++) {
    for (let b = 0; b < kBlocks; b++) {
      w.scales[c * kBlocks + b] = s[b * N + c];
      w.zeroPoints[c * kBlocks + b] = (z ? z[b * N + c] : 0) + shift;
    }
    for (let k = 0; k < kPadded; k++) w.q[c * kPadded + k] = k < K ? qv[k * N + c] + shift : w.zeroPoints[c * kBlocks + Math.floor(k / blockSize)];
  }
  return { weight: w, type: dataTypeName(q.dataType) };
}

/** How the float model stores the weight (blocks run along K either way) and the factor its node
 *  applies to it (Gemm's alpha, which the writer folds into the scales). */
export function floatWeightUse(float: OnnxModel, name: string, K: number, N: number, dims: number[]): { layout: WeightLayout; alpha: number } | undefined {
  if (dims.length !== 2) return undefined;
  const index = new GraphIndex(float.proto.graph!);
  const first = (index.consumers.get(name) ?? []).map((c) => index.nodes[c])[0];
  const op = first?.op_type ?? '';
  const alpha = op === 'Gemm' ? (first!.attribute.find((a) => a.name === 'alpha')?.f ?? 1) : 1;
  let layout: WeightLayout | undefined;
  if (op === 'Gather') layout = 'NK';
  else if (op === 'Gemm') layout = (intAttr(first!, 'transB') ?? 0) !== 0 ? 'NK' : 'KN';
  else if (dims[0] === K && dims[1] === N) layout = 'KN';
  else if (dims[0] === N && dims[1] === K) layout = 'NK';
  const [d0, d1] = layout === 'NK' ? [N, K] : [K, N];
  return layout && dims[0] === d0 && dims[1] === d1 ? { layout, alpha } : undefined;
}

/**
 * The report of one block-quantized weight against its float values B (stored as `layout`):
 * `error` over every element of the weight the node multiplies by, `rmseOverStep` RMS over blocks
 * of each block's RMSE in its own step, per-column ranges, the largest |scale| and mean zero point
 * of each column, and the blocks' relative errors (blockErrorStats, as the quantizer reports them).
 */
export function blockWeightReport(m: BlockWeightMatch, B: Float32Array, layout: WeightLayout, alpha: number): WeightReport {
  const w = m.weight;
  const { K, N, kBlocks, blockSize } = w;
  // The reference the blocks were quantized from: alpha * W (scales carry alpha), times s for AWQ.
  const at = blockReader(B, K, N, layout);
  const exact = alpha === 1 && !m.inputScale;
  // B itself where it already is [K, N] and nothing is folded in: a large weight is not copied.
  const floatKN = layout === 'KN' ? B : new Float32Array(K * N);
  if (floatKN !== B) for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) floatKN[k * N + n] = at(n, k);
  const reference = exact ? floatKN : new Float32Array(K * N);
  if (!exact) for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) reference[k * N + n] = floatKN[k * N + n] * alpha * (m.inputScale ? m.inputScale[k] : 1);
  const stats = blockErrorStats(reference, w, 'KN');
  const deq = blockDequantize(w);
  // What the node multiplies by, in the float weight's terms.
  if (!exact) for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) deq[k * N + n] = deq[k * N + n] / alpha / (m.inputScale ? m.inputScale[k] : 1);
  const acc = new ErrorAccumulator();
  acc.add(floatKN, deq);
  const channelMin: number[] = [];
  const channelMax: number[] = [];
  const scales: number[] = [];
  const zeroPoints: number[] = [];
  let ratio = 0;
  let used = 0;
  for (let n = 0; n < N; n++) {
    let lo = Infinity;
    let hi = -Infinity;
    let scale = 0;
    let zp = 0;
    for (let b = 0; b < kBlocks; b++) {
      const s = Math.abs(w.scales[n * kBlocks + b]);
      scale = Math.max(scale, s);
      zp += w.zeroPoints[n * kBlocks + b];
      let sq = 0;
      const end = Math.min(K, (b + 1) * blockSize);
      for (let k = b * blockSize; k < end; k++) {
        const v = at(n, k);
        if (v < lo) lo = v;
        if (v > hi) hi = v;
        sq += (reference[k * N + n] - dequantizedValue(w, n, k)) ** 2;
      }
      if (s > 0) {
        ratio += sq / (end - b * blockSize) / (s * s);
        used++;
      }
    }
    channelMin.push(lo);
    channelMax.push(hi);
    scales.push(scale);
    zeroPoints.push(zp / kBlocks);
  }
  return {
    tensor: m.floatName,
    nodes: m.consumers,
    type: m.type,
    axis: layout === 'KN' ? 1 : 0,
    channelMin,
    channelMax,
    scales,
    zeroPoints,
    error: acc.result(),
    rmseOverStep: used ? Math.sqrt(ratio / used) : null,
    elements: K * N,
    blocks: { size: blockSize, count: stats.blocks, meanRelative: stats.meanRelative, maxRelative: stats.maxRelative },
  };
}
