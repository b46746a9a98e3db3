// Report files on disk: NAME.report.json beside a quantized model, read through the validator
// (a report edited by hand is refused with the field that is wrong), and the per-node error the
// model view colours its layers by.
import * as fs from 'fs';
import * as path from 'path';
import { parseQuantReport, type QuantReport } from '../../shared/quantReport';
import type { LayerErrors } from '../../shared/modelViewProtocol';
import { defaultReportFile } from '../../core/analysis/quantResultFile';

export async function readReportFile(file: string): Promise<QuantReport> {
  let json: unknown;
  try {
    json = JSON.parse(await fs.promises.readFile(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: cannot read the report (${(e as Error).message}). Quantize the model again to write a new one.`);
  }
  try {
    return parseQuantReport(json);
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}. Quantize the model again to write a new report.`);
  }
}

/**
 * The report that describes `model`: NAME.report.json beside it (the model is the quantized one),
 * else the newest NAME.*.report.json whose float model it is.
 */
export async function reportFor(model: string): Promise<{ file: string; report: QuantReport } | null> {
  const own = defaultReportFile(model);
  if (fs.existsSync(own)) return { file: own, report: await readReportFile(own) };
  const dir = path.dirname(model);
  const stem = path.basename(model).replace(/\.onnx$/i, '');
  const candidates = (await fs.promises.readdir(dir).catch(() => [] as string[]))
    .filter((f) => f.startsWith(`${stem}.`) && f.endsWith('.report.json'))
    .map((f) => path.join(dir, f))
    .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  for (const file of candidates) {
    const report = await readReportFile(file).catch(() => undefined);
    if (report && path.resolve(report.floatModel) === path.resolve(model)) return { file, report };
  }
  return null;
}

/** Per node, the worst (lowest) SQNR of the tensors it produces. */
export function layerErrorsOf(file: string, report: QuantReport): LayerErrors {
  const nodes: LayerErrors['nodes'] = {};
  const lower = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));
  for (const l of report.layers) {
    if (!l.node) continue;
    const seen = nodes[l.node];
    const acc = l.accumulated.sqnr;
    if (!seen) nodes[l.node] = { accumulated: acc, local: l.local.sqnr, tensor: l.tensor };
    else {
      if (acc !== null && (seen.accumulated === null || acc < seen.accumulated)) seen.tensor = l.tensor;
      seen.accumulated = lower(seen.accumulated, acc);
      seen.local = lower(seen.local, l.local.sqnr);
    }
  }
  return { reportFile: file, nodes };
}

export async function layerErrorsFor(model: string): Promise<LayerErrors | null> {
  const found = await reportFor(model);
  return found && layerErrorsOf(found.file, found.report);
}
