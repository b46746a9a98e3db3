// Per quantized weight: the float initializer against its dequantized integers, per-channel
// ranges and scales. RMSE/step near 1/sqrt(12) = 0.289 means the error is pure rounding.
import type { WeightReport } from '../../shared/quantReport';
import type { OnnxModel } from '../onnx/model';
import { ErrorAccumulator } from './metrics';
import { blockWeightReport, floatWeightUse, type BlockWeightMatch } from './blockWeights';
import { floatConstants, type QuantizedWeight } from './match';

/** Channel c of each element along `axis` of a tensor shaped `dims`. */
function channelIndexer(dims: number[], axis: number | null): (i: number) => number {
  if (axis === null) return () => 0;
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const channels = dims[axis];
  return (i) => Math.floor(i / inner) % channels;
}

/** A Gemm weight [N, K] that the dynamic rewrite stored as MatMul's [K, N]: transposed to match. */
function transposedLike(f: { values: Float32Array; dims: number[] } | undefined, dims: number[]): { values: Float32Array; dims: number[] } | undefined {
  if (!f || f.dims.length !== 2 || dims.length !== 2 || f.dims[0] === f.dims[1] || f.dims[0] !== dims[1] || f.dims[1] !== dims[0]) return f;
  const [rows, cols] = f.dims;
  const t = new Float32Array(f.values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = f.values[r * cols + c];
  return { values: t, dims };
}

/** Reports of the weights; those whose float counterpart differs in size go to `unmatched`. */
export function weightReports(
  float: OnnxModel,
  weights: QuantizedWeight[],
  unmatched: Array<{ tensor: string; reason: string }>,
  blockWeights: BlockWeightMatch[] = [],
): WeightReport[] {
  const read = floatConstants(float);
  const out: WeightReport[] = [];
  for (const m of blockWeights) {
    const f = read(m.floatName);
    const use = f && floatWeightUse(float, m.floatName, m.weight.K, m.weight.N, f.dims);
    if (!f || !use) {
      unmatched.push({
        tensor: m.floatName,
        reason: `the float tensor has shape [${f?.dims.join(', ') ?? ''}], the block-quantized one K=${m.weight.K}, N=${m.weight.N}`,
      });
      continue;
    }
    out.push(blockWeightReport(m, f.values, use.layout, use.alpha));
  }
  for (const w of weights) {
    const f = transposedLike(read(w.floatName), w.dims);
    if (!f || f.values.length !== w.elements) {
      unmatched.push({ tensor: w.floatName, reason: `the float tensor holds ${f?.values.length ?? 0} values, the quantized one ${w.elements}` });
      continue;
    }
    const quantized = w.quantized();
    const channels = w.scales.length;
    const channel = channelIndexer(w.dims, w.axis);
    const dequantized = new Float32Array(quantized.length);
    const min = new Float64Array(channels).fill(Infinity);
    const max = new Float64Array(channels).fill(-Infinity);
    const sq = new Float64Array(channels);
    const n = new Float64Array(channels);
    for (let i = 0; i < dequantized.length; i++) {
      const c = channel(i);
      dequantized[i] = (quantized[i] - w.zeroPoints[c]) * w.scales[c];
      const v = f.values[i];
      if (v < min[c]) min[c] = v;
      if (v > max[c]) max[c] = v;
      sq[c] += (v - dequantized[i]) ** 2;
      n[c]++;
    }
    const acc = new ErrorAccumulator();
    acc.add(f.values, dequantized);
    // RMS over channels of each channel's RMSE in units of its own step.
    let ratio = 0;
    let used = 0;
    for (let c = 0; c < channels; c++) {
      if (!n[c] || !(w.scales[c] > 0)) continue;
      ratio += sq[c] / n[c] / (w.scales[c] * w.scales[c]);
      used++;
    }
    out.push({
      tensor: w.floatName,
      nodes: w.consumers,
      type: w.type,
      axis: w.axis,
      channelMin: Array.from(min, (x) => (Number.isFinite(x) ? x : 0)),
      channelMax: Array.from(max, (x) => (Number.isFinite(x) ? x : 0)),
      scales: Array.from(w.scales),
      zeroPoints: Array.from(w.zeroPoints),
      error: acc.result(),
      rmseOverStep: used ? Math.sqrt(ratio / used) : null,
      elements: f.values.length,
    });
  }
  return out;
}
