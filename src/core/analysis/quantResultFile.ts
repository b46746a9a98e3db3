// The files beside a quantized model that the analysis reads and writes: NAME.quant.json (what the
// quantization did, through parseQuantResult) and NAME.report.json (what the analysis found).
import * as fs from 'fs';
import * as path from 'path';
import { parseQuantResult, type QuantResult } from '../../shared/quantResult';
import { errorMessage } from '../errors';
import { jsonText, writeFileAtomicSync } from '../files';
import { AnalysisError, KeepInFloatError } from './errors';

export function defaultReportFile(quantFile: string): string {
  return quantFile.replace(/(\.onnx)?$/i, '.report.json');
}

export function defaultQuantResultFile(quantFile: string): string {
  return quantFile.replace(/(\.onnx)?$/i, '.quant.json');
}

/** Reads and checks a QuantResult file; a file that is not one is refused with the field that is wrong. */
export function readQuantResult(file: string): QuantResult {
  try {
    return parseQuantResult(JSON.parse(fs.readFileSync(file, 'utf8')), file);
  } catch (e) {
    throw new AnalysisError(
      `cannot read the quantization result (${errorMessage(e).replace(`${file}: `, '')}); re-run onnx-compress quantize to write it again`,
      file,
    );
  }
}

/** The QuantResult given, or the one beside the quantized model, or null. */
export function loadQuantResult(quantFile: string, given?: QuantResult | string): { result: QuantResult | null; file: string | null } {
  if (given && typeof given !== 'string') return { result: given, file: null };
  const file = given ?? defaultQuantResultFile(quantFile);
  if (!fs.existsSync(file)) {
    if (given) throw new AnalysisError('quantization result file not found', file);
    return { result: null, file: null };
  }
  return { result: readQuantResult(file), file };
}

/** NAME.quant.json beside the quantized model (or the file given): the ranges keep-in-float reuses. */
export function previousQuantResult(quantFile: string, resultFile?: string): QuantResult {
  const file = resultFile ?? defaultQuantResultFile(quantFile);
  if (!fs.existsSync(file)) {
    const where = resultFile ? file : `${path.basename(file)} is missing beside ${path.basename(quantFile)}`;
    throw new KeepInFloatError(
      `${resultFile ? `${where} is missing` : where}: the calibration ranges are needed to keep layers in float without calibrating again; quantize the model again`,
    );
  }
  return readQuantResult(file);
}

/** Writes JSON through a temporary file renamed into place: never a half-written report. */
export function writeJsonFile(file: string, value: unknown): void {
  writeFileAtomicSync(file, jsonText(value));
}
