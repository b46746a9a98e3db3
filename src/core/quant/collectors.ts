// Calibration collectors (docs/quantization.md, section 4): one per observed tensor, fed one
// batch at a time, each keeping running statistics of constant size and returning the float range
// the scale and zero point are derived from.
//
//   minmax      1 pass: running min/max, or a moving average of per-batch min/max.
//   percentile  2 passes: global range, then a fixed-range histogram; cut the tails.
//   entropy     2 passes (KL threshold search, 2048 bins, 128 levels), or 1 pass in parity mode
//               (ONNX Runtime's 128/128 histogram and its widening merge rule).
//   mse         2 passes: the clipping range of least estimated quantize-dequantize error.
//
// Options that do not apply to the chosen method are ignored, so one settings object can feed
// every method.
import { checkInteger } from './collectors/common';
import { entropyCollector } from './collectors/entropy';
import { MinMaxCollector } from './collectors/minmax';
import { mseCollector } from './collectors/mse';
import { PercentileCollector } from './collectors/percentile';
import type { CalibrationOptions, Collector } from './collectors/types';

export type { CalibrationMethod, CalibrationOptions, CollectedRange, Collector } from './collectors/types';
export { MinMaxCollector } from './collectors/minmax';
export { PercentileCollector } from './collectors/percentile';
export { EntropyCollector, EntropyParityCollector } from './collectors/entropy';
export { MseCollector } from './collectors/mse';

export function createCollector(options: CalibrationOptions): Collector {
  const symmetric = options.symmetric ?? false;
  switch (options.method) {
    case 'minmax':
      return new MinMaxCollector(options.movingAverage);
    case 'percentile':
      return new PercentileCollector(options.percentile ?? 99.999, symmetric, checkInteger('bins', options.bins ?? 2048, 1, 1 << 22));
    case 'entropy':
      return entropyCollector(options.bins, options.quantizedBins, symmetric, options.parity ?? false);
    case 'mse':
      return mseCollector(options.targetBits, symmetric, options.bins);
    default:
      throw new RangeError(`unknown calibration method '${String((options as { method: unknown }).method)}' (minmax, percentile, entropy, mse)`);
  }
}
