// The data-aware weight-only algorithms as the weight-only pipeline calls them: the statistics of
// every target's input in one streaming pass over the calibration data (several when they exceed the
// memory budget), then GPTQ or AWQ per target (docs/quantization.md, section 11).
import type { DataSource } from '../../data';
import { readModel, type OnnxModel } from '../../onnx/model';
import { CalibrationCancelled } from '../calibrate';
import { awqQuantize } from './awq';
import { gptqQuantize } from './gptq';
import { collectInputStatistics, DataAwareError, type StatisticsOptions } from './inputStatistics';
import type { BlockOptions, WeightOnlyChoice, WeightTarget } from './types';

export interface DataAwareOptions extends BlockOptions, Omit<StatisticsOptions, 'signal' | 'onProgress'> {
  algorithm: 'gptq' | 'awq';
  /** GPTQ: damping as a fraction of the Hessian's mean diagonal (default 0.01). */
  damp?: number;
  /** GPTQ: quantize input channels in order of decreasing activation energy. */
  actOrder?: boolean;
  /** AWQ: steps of the alpha grid (default 20). */
  grid?: number;
  /** Told of what the result should carry as a warning: rows skipped for NaN/Inf, extra damping. */
  onWarning?: (node: string, message: string) => void;
}

/** Lets a pending abort (a click, a signal from another event) be seen between long synchronous steps. */
const yieldToEvents = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * GPTQ or AWQ choices for each target, keyed by node name. `weightOf` gives a target's B [K, N]
 * (float32, row-major); `optsOf`, when given, a target's own bits, block size and symmetry.
 * Throws CalibrationCancelled (an 'AbortError') when `signal` aborts, between batches or targets.
 */
export async function dataAwareChoices(
  floatModel: OnnxModel | string,
  targets: WeightTarget[],
  weightOf: (t: WeightTarget) => Float32Array,
  opts: DataAwareOptions,
  data: DataSource,
  signal?: AbortSignal,
  onProgress?: (stage: string) => void,
  optsOf?: (t: WeightTarget) => BlockOptions,
): Promise<Map<string, WeightOnlyChoice>> {
  const progress = onProgress ?? (() => undefined);
  if (opts.algorithm !== 'gptq' && opts.algorithm !== 'awq') throw new DataAwareError(`unknown data-aware algorithm '${String(opts.algorithm)}' (gptq or awq)`);
  const choices = new Map<string, WeightOnlyChoice>();
  if (!targets.length) return choices;
  if (signal?.aborted) throw new CalibrationCancelled();
  // The model the caller has read already, else its file.
  const model = typeof floatModel === 'string' ? await readModel(floatModel) : floatModel;
  progress(`collecting input statistics for ${opts.algorithm.toUpperCase()}`);
  const collected = await collectInputStatistics(
    model,
    targets.map((t) => ({ tensor: t.input, K: t.K })),
    data,
    { ...opts, signal, onProgress: progress },
  );
  for (const [tensor, rows] of collected.skippedRows) {
    for (const t of targets) {
      if (t.input === tensor)
        opts.onWarning?.(
          t.node,
          `${rows} calibration rows of its input '${tensor}' held NaN or ±Inf and were left out of the ${opts.algorithm.toUpperCase()} statistics`,
        );
    }
  }
  const name = opts.algorithm.toUpperCase();
  for (let i = 0; i < targets.length; i++) {
    await yieldToEvents();
    if (signal?.aborted) throw new CalibrationCancelled();
    const t = targets[i];
    progress(`${name} ${i + 1} of ${targets.length}: ${t.node}`);
    const stats = collected.stats.get(t.input)!;
    const W = weightOf(t);
    if (W.length !== t.K * t.N) throw new DataAwareError(`its weight '${t.weight}' holds ${W.length} values, not K x N = ${t.K} x ${t.N}`, t.node);
    const own = optsOf?.(t);
    const block: BlockOptions = own
      ? { bits: own.bits, blockSize: own.blockSize, symmetric: own.symmetric }
      : { bits: opts.bits, blockSize: opts.blockSize, symmetric: opts.symmetric };
    try {
      choices.set(
        t.node,
        opts.algorithm === 'gptq'
          ? gptqQuantize(W, t.K, t.N, stats, { ...block, damp: opts.damp, actOrder: opts.actOrder, onNote: (m) => opts.onWarning?.(t.node, `GPTQ: ${m}`) })
          : awqQuantize(W, t.K, t.N, stats, { ...block, grid: opts.grid }),
      );
    } catch (e) {
      if (e instanceof RangeError) throw new DataAwareError(e.message, t.node);
      throw e;
    }
  }
  return choices;
}
