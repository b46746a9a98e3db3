// The one place where GPTQ and AWQ plug into weight-only quantization. They are built elsewhere
// (dataAware.ts: dataAwareChoices(modelFile, targets, weightOf, opts, data, signal, onProgress));
// until they are wired here, asking for them stops with a clear error before anything is read.
import type { QuantSettings } from '../../../shared/quantResult';
import type { DataSource } from '../../data';
import type { ChoicesFor } from './quantizeWeightOnly';

export class DataAwareUnavailable extends Error {}

/**
 * The provider of GPTQ/AWQ choices for `quantizeWeightOnly`: given the MatMul/Gemm targets and a
 * reader of their float B [K, N], returns a WeightOnlyChoice per node name. To wire:
 *   return (targets, weightOf) => dataAwareChoices(modelFile, targets, weightOf,
 *     { bits: settings.bits, blockSize: settings.blockSize, symmetric: settings.symmetricWeights, algorithm }, data, signal, onProgress);
 */
export function dataAwareChoicesFor(
  modelFile: string,
  settings: QuantSettings,
  data: DataSource,
  signal?: AbortSignal,
  onProgress?: (stage: string) => void,
): ChoicesFor {
  void [modelFile, data, signal, onProgress];
  throw new DataAwareUnavailable(`the ${settings.algorithm} algorithm is not built in yet; use --algorithm rtn or hqq`);
}
