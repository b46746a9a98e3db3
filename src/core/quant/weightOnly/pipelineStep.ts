// Weight-only mode inside the quantization pipeline: checks, the opset raise of the
// dequantize-linear format, the rewrite, and the refusal of a model with nothing to quantize.
import type { QuantSettings } from '../../../shared/quantResult';
import type { DataSource } from '../../data';
import { OnnxCompressError } from '../../errors';
import type { OnnxModel } from '../../onnx/model';
import type { TensorSink } from '../../onnx/tensorSink';
import { dataAwareChoicesFor } from './dataAwareSite';
import { raiseOpsetTo21 } from './opset21';
import { quantizeWeightOnly, type ChoicesFor, type WeightOnlyResult } from './quantizeWeightOnly';
import { findWeightNodes } from './targets';

export interface WeightOnlyStep extends WeightOnlyResult {
  /** The opset the model had when the dequantize-linear format raised it to 21. */
  raisedFrom?: number;
}

export async function runWeightOnly(
  model: OnnxModel,
  settings: QuantSettings,
  /** The float model as read (GPTQ/AWQ run it for their statistics), not the copy being rewritten. */
  source: OnnxModel,
  fail: (message: string) => OnnxCompressError,
  data?: DataSource,
  signal?: AbortSignal,
  onProgress?: (stage: string) => void,
  /** The staged output the new initializers go to as they are made (openOutputSink). */
  sink?: TensorSink,
): Promise<WeightOnlyStep> {
  if (settings.algorithm === 'hqq' && settings.symmetricWeights) {
    throw fail("hqq optimises each block's zero point, which --symmetric-weights fixes; drop --symmetric-weights or use --algorithm rtn");
  }
  let choicesFor: ChoicesFor | undefined;
  const dataWarnings: string[] = [];
  if (settings.algorithm === 'gptq' || settings.algorithm === 'awq') {
    if (!data) throw fail(`${settings.algorithm} needs calibration data: give samples with --calib`);
    if (settings.calibration.startsWith('synthetic')) {
      dataWarnings.push(
        `${settings.algorithm.toUpperCase()} ran on synthetic (random) inputs: it fitted the weights to random activations, which can be worse than rtn; give real samples with --calib`,
      );
    }
    choicesFor = dataAwareChoicesFor(source, settings, data, dataWarnings, signal, onProgress);
  }
  let raisedFrom: number | undefined;
  if (settings.weightOnlyFormat === 'dequantize-linear' && findWeightNodes(model, settings).nodes.some((t) => t.opType !== 'Gather')) {
    const from = raiseOpsetTo21(model, 'use --weight-only-format matmulnbits, which needs no opset change');
    if (from < 21) raisedFrom = from;
  }
  const r = await quantizeWeightOnly(model, settings, choicesFor, sink);
  r.warnings.push(...dataWarnings);
  if (!r.quantizedCount) {
    const excluded = settings.exclude.length || settings.include.length ? ' (or every one was excluded)' : '';
    throw fail(
      `no weight to quantize: no MatMul or Gemm with a constant float32 2-D B, nor Gather on a constant table, can be block-quantized here${excluded}`,
    );
  }
  if (settings.weightOnlyFormat === 'dequantize-linear' && r.decisions.some((d) => d.quantized && d.opType !== 'Gather')) {
    r.warnings.push(
      `onnxruntime's optimizer fuses each blocked DequantizeLinear + MatMul into MatMulNBits computing with int8 activations (session option session.qdq_matmulnbits_accuracy_level, default 4)${settings.accuracyLevel ? `; --accuracy-level ${settings.accuracyLevel} is written only by the matmulnbits format` : ''}`,
    );
  }
  if (raisedFrom !== undefined)
    r.warnings.push(`the model's opset ${raisedFrom} was raised to 21 for blocked DequantizeLinear (no operator it uses changed meaning)`);
  return { ...r, raisedFrom };
}
