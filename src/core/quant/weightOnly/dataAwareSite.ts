// The one place where GPTQ and AWQ plug into weight-only quantization: the settings become the
// options of dataAwareChoices, per-node bits and block size come from the layer overrides, and
// what the algorithms warn about reaches the result.
import type { QuantSettings } from '../../../shared/quantResult';
import type { DataSource } from '../../data';
import type { OnnxModel } from '../../onnx/model';
import { dataAwareChoices } from './dataAware';
import type { ChoicesFor } from './quantizeWeightOnly';
import { nodeOptions } from './targets';

/**
 * The provider of GPTQ/AWQ choices for `quantizeWeightOnly`: given the MatMul/Gemm targets and a
 * reader of their float B [K, N], returns a WeightOnlyChoice per node name.
 */
export function dataAwareChoicesFor(
  floatModel: OnnxModel,
  settings: QuantSettings,
  data: DataSource,
  warnings: string[],
  signal?: AbortSignal,
  onProgress?: (stage: string) => void,
): ChoicesFor {
  const algorithm = settings.algorithm;
  if (algorithm !== 'gptq' && algorithm !== 'awq') throw new RangeError(`${algorithm} reads no data`);
  return (targets, weightOf) =>
    dataAwareChoices(
      floatModel,
      targets,
      weightOf,
      {
        ...nodeOptions(settings, undefined),
        algorithm,
        damp: settings.gptqDamp,
        actOrder: settings.gptqActOrder,
        grid: settings.awqGrid,
        batchSize: settings.batchSize,
        samples: settings.samples ?? undefined,
        shuffleSeed: settings.shuffleSeed ?? undefined,
        executionProvider: settings.executionProvider,
        onWarning: (node, message) => warnings.push(`${node}: ${message}`),
      },
      data,
      signal,
      onProgress,
      (t) => nodeOptions(settings, settings.layerOverrides[t.node]),
    );
}
