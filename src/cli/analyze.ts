// `onnx-compress analyze FLOAT QUANT`: per-layer and whole-model errors of a quantized model,
// optionally sensitivity and keep-in-float (by hand or to a target); prints a ranked table and the
// model summary, saves the QuantReport JSON and, on request, the offline HTML report.
import type { ParseArgsConfig } from 'util';
import type { LayerReport, QuantReport } from '../shared/quantReport';
import { fmtSizeChange, formatBytes, formatLanguageModel, formatWeightBlocks } from '../shared/format';
import { analyzeQuantization, rankLayers, type AnalysisProgress } from '../core/analysis/analyze';
import { writeReportHtml } from '../core/analysis/htmlReport';
import { parseTarget } from '../core/analysis/keepReport';
import { defaultQuantResultFile, defaultReportFile, previousQuantResult } from '../core/analysis/quantResultFile';
import { describeWeightOnly } from '../shared/quantResult';
import { keepInFloatAndAnalyze } from '../core/workflows/keepInFloatAndAnalyze';
import { errorMessage } from '../core/errors';
import { table } from './format';
import { booleanOptions, stringOptions, untilSigint, whole, type Out, type Usage, type Values } from './options';

export const ANALYZE_OPTIONS: ParseArgsConfig['options'] = {
  ...stringOptions('data', 'labels', 'samples', 'batch', 'ep', 'latency-runs', 'bins', 'keep-in-float', 'target', 'quant-result', 'sort', 'top', 'html'),
  ...booleanOptions('sensitivity', 'json'),
  output: { type: 'string', short: 'o' },
};

const db = (x: number | null) => (x === null ? '-' : x > 150 ? 'exact' : x.toFixed(1));
const pct = (x: number | null, digits = 1) => (x === null ? '-' : `${(x * 100).toFixed(digits)}%`);
const g = (x: number | null) => (x === null ? '-' : Number(x.toPrecision(3)).toString());

function progressPrinter(write: (s: string) => void, tty: boolean): (p: AnalysisProgress) => void {
  let open = false;
  return (p) => {
    const count =
      p.samples !== undefined ? `batch ${p.batch}, ${p.samples}${p.total ? `/${p.total}` : ''} samples` : `${p.batch}${p.total ? `/${p.total}` : ''}`;
    const line = p.batch !== undefined ? `${p.stage}: ${count}` : p.stage;
    if (tty && p.batch !== undefined) {
      write(`\r${line}`);
      open = true;
      return;
    }
    if (open) write('\n');
    open = false;
    if (p.batch === undefined || p.batch % 20 === 1) write(`${line}...\n`);
  };
}

function layerTable(layers: LayerReport[], top: number): string {
  const rows = layers
    .slice(0, top)
    .map((l, i) => [
      String(i + 1),
      l.tensor,
      l.opType || '-',
      l.quantizedType,
      db(l.local.sqnr),
      db(l.accumulated.sqnr),
      l.accumulated.cosine === null ? '-' : l.accumulated.cosine.toFixed(5),
      g(l.accumulated.maxAbs),
      pct(l.clippingRate, 2),
      pct(l.rangeUse, 0),
      l.consumers.join(',') || '-',
    ]);
  const more = layers.length > top ? `\n  ... and ${layers.length - top} more in the report` : '';
  return table([['#', 'tensor', 'op', 'type', 'local dB', 'accum dB', 'cosine', 'max abs', 'clipped', 'range use', 'read by (keep in float)'], ...rows]) + more;
}

export function formatReport(r: QuantReport, sort: 'local' | 'accumulated', top: number): string {
  const m = r.model;
  const lines: string[] = [];
  lines.push(
    `Float      ${r.floatModel}`,
    `Quantized  ${r.quantizedModel}${
      r.quantSettings
        ? r.quantSettings.mode === 'weight-only'
          ? `  (weight-only, ${describeWeightOnly(r.quantSettings)})`
          : `  (${r.quantSettings.mode}, ${r.quantSettings.method}, activations ${r.quantSettings.activationType}, weights ${r.quantSettings.weightType}${r.quantSettings.perChannel ? ' per channel' : ''})`
        : ''
    }`,
  );
  const s = r.settings;
  lines.push(
    `Data       ${s.data.split('\n')[0]}; ${s.samplesUsed} samples (asked ${s.samples ?? 'all'}), batch ${s.batchSize}, ${s.histogramBins} histogram bins, provider ${s.executionProvider}${s.labels ? `, labels ${s.labels}` : ''}`,
  );
  if (r.layers.length) {
    lines.push('', `Layers, worst first by ${sort} SQNR (local: the layer's own Q/DQ; accumulated: float model vs quantized model at that tensor):`);
    lines.push(layerTable(rankLayers(r.layers, sort), top));
  }
  if (r.weights.length) {
    const worst = [...r.weights].sort((a, b) => (a.error.sqnr ?? Infinity) - (b.error.sqnr ?? Infinity))[0];
    const ratios = r.weights.filter((w) => w.type !== 'int32' && w.rmseOverStep !== null).map((w) => w.rmseOverStep!);
    lines.push(
      '',
      `Weights    ${r.weights.length} quantized; worst SQNR ${db(worst.error.sqnr)} dB (${worst.tensor}); RMSE/step ${ratios.length ? `${g(Math.min(...ratios))}-${g(Math.max(...ratios))}` : '-'} (0.289 = pure rounding)`,
    );
    const blocked = r.weights.filter((w) => w.blocks);
    if (blocked.length) {
      // The worst weight by its mean block error; per-weight numbers are in the report.
      const w = blocked.reduce((a, b) => (b.blocks!.meanRelative > a.blocks!.meanRelative ? b : a));
      const f = formatWeightBlocks(w.type, w.blocks!);
      lines.push(`           ${blocked.length} in blocks; highest block error ${f.error} (${w.tensor}: ${w.type}, ${f.layout})`);
    }
  }
  lines.push('', 'Model');
  for (const o of m.outputs)
    lines.push(
      `  output ${o.name}: SQNR ${db(o.error.sqnr)} dB, max abs error ${g(o.error.maxAbs)}, cosine ${o.error.cosine === null ? '-' : o.error.cosine.toFixed(5)}`,
    );
  if (m.top1Agreement !== null) lines.push(`  top-1 agreement ${pct(m.top1Agreement, 2)}`);
  if (m.languageModel) {
    const lm = formatLanguageModel(m.languageModel, '->');
    lines.push(`  next-token agreement ${lm.agreement}`);
    if (lm.crossEntropy) lines.push(`  cross-entropy ${lm.crossEntropy}`, `  perplexity ${lm.perplexity}`);
  }
  if (m.accuracy) lines.push(`  accuracy: float ${pct(m.accuracy.float, 2)}, quantized ${pct(m.accuracy.quantized, 2)}`);
  lines.push(
    `  size ${formatBytes(m.sizes.floatBytes)} -> ${formatBytes(m.sizes.quantizedBytes)} (${fmtSizeChange(m.sizes.floatBytes, m.sizes.quantizedBytes)})`,
  );
  if (m.latency) {
    const l = m.latency;
    lines.push(
      `  latency, batch ${l.float.batchSize}, ${l.float.runs} runs on ${l.float.executionProvider}: float median ${l.float.medianMs.toFixed(2)} ms (p95 ${l.float.p95Ms.toFixed(2)}), quantized median ${l.quantized.medianMs.toFixed(2)} ms (p95 ${l.quantized.p95Ms.toFixed(2)})`,
    );
  }
  if (m.fusion) {
    lines.push(`  fusion: ${m.fusion.fused} of ${m.fusion.candidates} Conv/MatMul/Gemm run as integer kernels`);
    for (const u of m.fusion.unfused) lines.push(`    not fused: ${u.opType} '${u.node}': ${u.reason}`);
  }
  if (r.sensitivity) {
    lines.push('', `Sensitivity (output SQNR on ${r.sensitivity.samples} samples; all quantized: ${db(r.sensitivity.allQuantizedSqnr)} dB)`);
    if (!r.sensitivity.entries.length) lines.push('  no node reads dequantized values here (dynamic or QOperator form): nothing to switch one at a time');
    else
      lines.push(
        table([
          ['rank', 'node', 'only this quantized', 'all but this'],
          ...r.sensitivity.entries.slice(0, top).map((e) => [String(e.rank), e.node, `${db(e.onlyThisSqnr)} dB`, `${db(e.allButThisSqnr)} dB`]),
        ]),
      );
  }
  const k = r.keepInFloat;
  if (k) {
    lines.push('', `Kept in float: ${k.nodes.length ? k.nodes.join(', ') : '(nothing needed)'}`);
    if (k.target) lines.push(`  target ${k.target.kind} >= ${k.target.value}: ${k.met ? 'met' : 'NOT met'} (reached ${g(k.achieved)})`);
    for (const st of k.steps) lines.push(`  + ${st.node}: ${g(st.achieved)}`);
    const side = (x: typeof k.before) =>
      `SQNR ${db(x.outputSqnr)} dB, agreement ${pct(x.top1Agreement, 2)}${x.accuracy !== null ? `, accuracy ${pct(x.accuracy, 2)}` : ''}, ${formatBytes(x.bytes)}${x.medianMs !== null ? `, ${x.medianMs.toFixed(2)} ms` : ''}`;
    lines.push(`  before: ${side(k.before)}`, `  after:  ${side(k.after)}`);
    lines.push(
      `  cost: ${k.cost.sizeBytes >= 0 ? '+' : ''}${formatBytes(Math.abs(k.cost.sizeBytes))}${k.cost.sizeBytes < 0 ? ' less' : ''}${k.cost.latencyMs !== null ? `, ${k.cost.latencyMs >= 0 ? '+' : ''}${k.cost.latencyMs.toFixed(2)} ms median` : ''}`,
    );
  }
  if (r.unmatched.length) lines.push('', 'Unmatched', ...r.unmatched.map((u) => `  ${u.tensor}: ${u.reason}`));
  return lines.join('\n');
}

export async function analyzeCommand(floatFile: string, quantFile: string, v: Values, usage: Usage, out: Out): Promise<void> {
  if (typeof v.data !== 'string')
    throw usage('--data DATA is required: evaluation samples for the float model (a .npz/.npy file or folder, images, .pb files, IDX, or synthetic[:N])');
  if (v['keep-in-float'] !== undefined && v.target !== undefined)
    throw usage('--keep-in-float and --target cannot be combined: name the layers, or let the target choose them');
  const sort = (v.sort ?? 'local') as string;
  if (sort !== 'local' && sort !== 'accumulated') throw usage(`--sort must be local or accumulated (got '${sort}')`);
  const samples = v.samples === 'all' ? null : whole('samples', v.samples, 1, usage);
  const evaluation = {
    data: v.data,
    labels: v.labels as string | undefined,
    samples,
    batchSize: whole('batch', v.batch, 1, usage),
    ep: v.ep as string | undefined,
    latencyRuns: whole('latency-runs', v['latency-runs'], 0, usage),
    histogramBins: whole('bins', v.bins, 2, usage),
    sensitivity: !!v.sensitivity,
  };
  const top = whole('top', v.top, 1, usage) ?? 25;
  let target;
  try {
    target = v.target !== undefined ? parseTarget(v.target as string) : undefined;
  } catch (e) {
    throw usage(`--target: ${errorMessage(e)}`);
  }
  const layers =
    typeof v['keep-in-float'] === 'string'
      ? v['keep-in-float']
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean)
      : undefined;
  if (layers && !layers.length) throw usage('--keep-in-float takes node names separated by commas');
  const onProgress = progressPrinter((s) => process.stderr.write(s), !!process.stderr.isTTY);
  const output = v.output as string | undefined;
  const given = v['quant-result'] as string | undefined;
  await untilSigint(async (signal) => {
    const what = layers ?? target;
    const report = what
      ? (
          await keepInFloatAndAnalyze({
            floatFile,
            previous: previousQuantResult(quantFile, given),
            previousFile: given ?? defaultQuantResultFile(quantFile),
            what,
            evaluation,
            reportFile: output,
            signal,
            onEvent: (e) => e.type === 'progress' && onProgress(e),
          })
        ).report
      : await analyzeQuantization(floatFile, quantFile, { ...evaluation, quantResult: given, reportFile: output, signal, onProgress });
    const reportFile = output ?? defaultReportFile(report.quantizedModel);
    if (v.html) writeReportHtml(report, v.html as string);
    if (v.json) out.log(JSON.stringify(report, null, 2));
    else {
      out.log(formatReport(report, sort, top));
      out.log(`\nwrote ${reportFile}${v.html ? ` and ${v.html}` : ''}`);
    }
    for (const w of report.warnings) out.error(`warning: ${w}`);
  });
}
