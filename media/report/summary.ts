// The Summary tab (whole-model comparison, fusion, warnings, every effective setting) and the
// Before/after tab. Every string from the report goes in as text.
import { formatBytes } from '../../src/shared/format';
import type { ModelSummary, QuantReport } from '../../src/shared/quantReport';
import { h } from '../dom';
import { fmt, fmtDb, fmtMs, fmtPct, fmtValue } from './format';

export function card(title: string, value: string, detail?: string, id?: string): HTMLElement {
  return h('div', { className: 'card', id }, h('div', { className: 'card-title' }, title), h('div', { className: 'card-value' }, value), detail ? h('div', { className: 'card-detail' }, detail) : null);
}

function table(caption: string, head: string[], rows: string[][], id?: string): HTMLElement {
  return h('table', { className: 'io', id },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, ...head.map((t) => h('th', {}, t)))),
    h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((t) => h('td', {}, t))))));
}

/** Key/value rows of a settings object, every key shown. */
function settingsTable(caption: string, settings: object | null, id: string): HTMLElement {
  if (!settings) return h('p', { className: 'info', id }, `${caption}: not recorded (no quantization result beside the model).`);
  return table(caption, ['setting', 'value'], Object.entries(settings).map(([k, v]) => [k, fmtValue(v)]), id);
}

const summaryRow = (label: string, m: ModelSummary) =>
  [label, m.file, fmtDb(m.outputSqnr), fmtPct(m.top1Agreement), fmtPct(m.accuracy), formatBytes(m.bytes), fmtMs(m.medianMs)];

const worstOutput = (r: QuantReport) => r.model.outputs.reduce<number | null>((m, o) => (o.error.sqnr !== null && (m === null || o.error.sqnr < m) ? o.error.sqnr : m), null);

export function summaryPanel(r: QuantReport): HTMLElement {
  const m = r.model;
  const lat = m.latency;
  const fusion = m.fusion;
  const speedup = lat && lat.quantized.medianMs > 0 ? lat.float.medianMs / lat.quantized.medianMs : null;
  const panel = h('div', { className: 'summary' },
    h('div', { className: 'cards' },
      card('Size', `${formatBytes(m.sizes.floatBytes)} → ${formatBytes(m.sizes.quantizedBytes)}`, `${fmt(m.sizes.ratio, 3)}× smaller`, 'card-size'),
      card('Latency (median)', lat ? `${fmtMs(lat.float.medianMs)} → ${fmtMs(lat.quantized.medianMs)}` : 'not measured',
        lat ? `p95 ${fmtMs(lat.float.p95Ms)} → ${fmtMs(lat.quantized.p95Ms)} · ${speedup ? `${speedup.toFixed(2)}× · ` : ''}${lat.quantized.runs} runs, batch ${lat.quantized.batchSize}, ${lat.quantized.executionProvider}` : undefined, 'card-latency'),
      card('Output SQNR', fmtDb(worstOutput(r)), m.outputs.length > 1 ? `worst of ${m.outputs.length} outputs` : m.outputs[0]?.name, 'card-sqnr'),
      card('Top-1 agreement', fmtPct(m.top1Agreement), m.top1Agreement === null ? 'not a classifier output' : undefined, 'card-agreement'),
      card('Accuracy', m.accuracy ? `${fmtPct(m.accuracy.float)} → ${fmtPct(m.accuracy.quantized)}` : 'no labels', m.accuracy ? `float → quantized, ${r.settings.labels ?? ''}` : undefined, 'card-accuracy'),
      card('Fusion', fusion ? `${fusion.fused} / ${fusion.candidates}` : 'not checked', fusion ? 'quantized nodes running as integer kernels' : undefined, 'card-fusion'),
      card('Layers', String(r.layers.length), `${r.weights.length} weights · ${r.unmatched.length} unmatched`, 'card-layers'),
    ),
  );
  if (r.warnings.length) panel.append(h('div', { className: 'warnings', id: 'warnings' }, ...r.warnings.map((w) => h('div', { className: 'warning' }, w))));
  if (r.keepInFloat) {
    const k = r.keepInFloat;
    panel.append(h('h3', {}, 'Kept in float'), h('p', { id: 'kept-in-float' },
      `${k.nodes.length} node(s): ${k.nodes.join(', ') || '–'}. ` +
      (k.target ? `Target ${k.target.kind} ${k.target.value}: ${k.met ? 'met' : 'not met'}, reached ${fmt(k.achieved)}. ` : `Output SQNR ${fmtDb(k.achieved)}. `) +
      `Cost: ${formatBytes(k.cost.sizeBytes)}${k.cost.latencyMs !== null ? `, ${k.cost.latencyMs >= 0 ? '+' : ''}${fmtMs(k.cost.latencyMs)}` : ''}. Model: ${k.output}`),
    table('Fully quantized vs kept in float', ['', 'model', 'output SQNR', 'top-1 agreement', 'accuracy', 'size', 'latency'],
      [summaryRow('before', k.before), summaryRow('after', k.after)], 'kept-summary'));
    if (k.steps.length) panel.append(table('Search steps', ['added to float', 'reached'], k.steps.map((s) => [s.node, fmt(s.achieved)]), 'kept-steps'));
  }
  if (m.outputs.length) panel.append(table('Outputs', ['output', 'SQNR', 'MSE', 'cosine', 'max |error|'], m.outputs.map((o) => [o.name, fmtDb(o.error.sqnr), fmt(o.error.mse), fmt(o.error.cosine, 6), fmt(o.error.maxAbs)]), 'outputs'));
  if (fusion?.unfused.length) {
    panel.append(table(`Not fused (${fusion.unfused.length})`, ['node', 'op', 'why'], fusion.unfused.map((u) => [u.node, u.opType, u.reason]), 'unfused'));
  } else if (fusion) {
    panel.append(h('p', { className: 'info', id: 'unfused' }, 'Every quantized Conv/MatMul/Gemm runs as an integer kernel.'));
  }
  if (fusion && Object.keys(fusion.integerOps).length) panel.append(table('Integer kernels', ['op', 'count'], Object.entries(fusion.integerOps).map(([k, v]) => [k, String(v)]), 'integer-ops'));
  if (r.unmatched.length) panel.append(table(`Unmatched tensors (${r.unmatched.length})`, ['tensor', 'why'], r.unmatched.map((u) => [u.tensor, u.reason]), 'unmatched'));
  panel.append(
    table('Models', ['', 'path'], [['float', r.floatModel], ['quantized', r.quantizedModel], ['quantization result', r.quantResultFile ?? '–'], ['analysed', r.created]], 'paths'),
    h('div', { className: 'io-row' },
      settingsTable('Analysis settings', r.settings, 'analysis-settings'),
      settingsTable('Quantization settings', r.quantSettings, 'quant-settings')),
  );
  return panel;
}

const worstLayer = (r: QuantReport) => r.layers.reduce<number | null>((m, l) => (l.accumulated.sqnr !== null && (m === null || l.accumulated.sqnr < m) ? l.accumulated.sqnr : m), null);

/** Before and after side by side, with the change. */
export function compareTable(before: QuantReport, after: QuantReport): HTMLElement {
  const rows: Array<[string, number | null, number | null, (x: number | null) => string, boolean]> = [
    // label, before, after, format, higher is better
    ['output SQNR (worst output)', worstOutput(before), worstOutput(after), fmtDb, true],
    ['worst accumulated layer SQNR', worstLayer(before), worstLayer(after), fmtDb, true],
    ['top-1 agreement', before.model.top1Agreement, after.model.top1Agreement, (x) => fmtPct(x), true],
    ['accuracy (quantized)', before.model.accuracy?.quantized ?? null, after.model.accuracy?.quantized ?? null, (x) => fmtPct(x), true],
    ['size', before.model.sizes.quantizedBytes, after.model.sizes.quantizedBytes, (x) => (x === null ? '–' : formatBytes(x)), false],
    ['latency median', before.model.latency?.quantized.medianMs ?? null, after.model.latency?.quantized.medianMs ?? null, fmtMs, false],
    ['latency p95', before.model.latency?.quantized.p95Ms ?? null, after.model.latency?.quantized.p95Ms ?? null, fmtMs, false],
    ['quantized layers', before.layers.length, after.layers.length, (x) => (x === null ? '–' : String(x)), false],
  ];
  return h('table', { className: 'io compare', id: 'compare-table' },
    h('thead', {}, h('tr', {}, h('th', {}, ''), h('th', {}, 'before'), h('th', {}, 'after'), h('th', {}, 'change'))),
    h('tbody', {}, ...rows.map(([label, b, a, f, higherBetter]) => {
      const delta = a !== null && b !== null ? a - b : null;
      const better = delta === null || delta === 0 ? '' : (delta > 0) === higherBetter ? 'better' : 'worse';
      const sign = delta !== null && delta > 0 ? '+' : delta !== null && delta < 0 ? '−' : '';
      return h('tr', {}, h('td', {}, label), h('td', {}, f(b)), h('td', {}, f(a)),
        h('td', { className: better }, delta === null ? '–' : `${sign}${f(Math.abs(delta))}`));
    })));
}
