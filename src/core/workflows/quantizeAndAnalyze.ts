// Quantize, then analyze on the same data: what "Quantize Model..." does. The quantized model and
// its QuantResult are written first (complete, whatever follows); the analysis then runs on the
// calibration data (for dynamic mode, the data picked for evaluation) and writes NAME.report.json once.
import type { QuantReport } from '../../shared/quantReport';
import type { QuantResult, QuantSettings } from '../../shared/quantResult';
import { analyzeQuantization, type AnalysisOptions } from '../analysis/analyze';
import { cancelled } from '../analysis/errors';
import { defaultReportFile } from '../analysis/quantResultFile';
import { quantizeModel } from '../quant/pipeline';
import { progressTo, type OnWorkflowEvent } from './events';

export interface QuantizeAndAnalyzeOptions {
  /** The quantized model (default: beside the input, NAME.int8.onnx). */
  output?: string;
  /** How the result is analyzed; the data is the calibration data. */
  analysis: Pick<AnalysisOptions, 'labels' | 'samples' | 'latencyRuns' | 'sensitivity'>;
  signal?: AbortSignal;
  onEvent?: OnWorkflowEvent;
}

export interface QuantizeAndAnalyzeResult {
  result: QuantResult;
  resultFile: string;
  report: QuantReport;
  reportFile: string;
}

export async function quantizeAndAnalyze(model: string, settings: QuantSettings, o: QuantizeAndAnalyzeOptions): Promise<QuantizeAndAnalyzeResult> {
  const result = await quantizeModel(model, settings, {
    output: o.output,
    signal: o.signal,
    onProgress: (stage, calibration) => o.onEvent?.({ type: 'quantize', stage, calibration }),
  });
  const resultFile = result.output.replace(/\.onnx$/i, '.quant.json');
  o.onEvent?.({ type: 'quantized', result, resultFile });
  if (o.signal?.aborted) throw cancelled(result.output);
  const reportFile = defaultReportFile(result.output);
  const report = await analyzeQuantization(result.input, result.output, {
    ...o.analysis,
    data: result.settings.calibration,
    sensitivity: !!o.analysis.sensitivity && result.settings.mode === 'static',
    ep: result.settings.executionProvider,
    quantResult: resultFile,
    reportFile,
    signal: o.signal,
    onProgress: progressTo(o.onEvent),
  });
  return { result, resultFile, report, reportFile };
}
