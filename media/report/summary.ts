// The Summary tab (whole-model comparison, fusion, warnings, every effective setting) and the
// Before/after tab. Every string from the report goes in as text.
import { formatBytes, formatLanguageModel } from '../../src/shared/format';
import { formatInputSpecs } from '../../src/shared/inputSpecText';
import type { ModelSummary, QuantReport } from '../../src/shared/quantReport';
import { card, h } from '../common/dom';
import { fmt, fmtDb, fmtLatency, fmtMs, fmtPct, fmtSizeChange, fmtValue, latencySpread, latencyVerdict } from './format';

function table(caption: string, head: string[], rows: string[][], id?: string): HTMLElement {
  return h(
    'table',
    { className: 'io', id },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, ...head.map((t) => h('th', {}, t)))),
    h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((t) => h('td', {}, t))))),
  );
}

/** A setting's value as text; per-input specs in the syntax --input and the wizard take. */
function settingText(key: string, v: unknown): string {
  if (key === 'inputs' && v && typeof v === 'object' && !Array.isArray(v)) {
    return formatInputSpecs(v as Parameters<typeof formatInputSpecs>[0]) || 'none given (each input as inferred from the model)';
  }
  return fmtValue(v);
}

/** Key/value rows of a settings object, every key shown. */
function settingsTable(caption: string, settings: object | null, id: string): HTMLElement {
  if (!settings) return h('p', { className: 'info', id }, `${caption}: not recorded (no quantization result beside the model).`);
  return table(
    caption,
    ['setting', 'value'],
    Object.entries(settings).map(([k, v]) => [k, settingText(k, v)]),
    id,
  );
}

const summaryRow = (label: string, m: ModelSummary) => [
  label,
  m.file,
  fmtDb(m.outputSqnr),
  fmtPct(m.top1Agreement),
  fmtPct(m.accuracy),
  formatBytes(m.bytes),
  fmtMs(m.medianMs),
];

const worstCosine = (r: QuantReport) =>
  r.model.outputs.reduce<number | null>((m, o) => (o.error.cosine !== null && (m === null || o.error.cosine < m) ? o.error.cosine : m), null);

const worstOutput = (r: QuantReport) =>
  r.model.outputs.reduce<number | null>((m, o) => (o.error.sqnr !== null && (m === null || o.error.sqnr < m) ? o.error.sqnr : m), null);

const synthetic = (spec: string | undefined) => !!spec && /^synthetic(:|\b)/.test(spec);

/**
 * A banner over every tab when the numbers come from generated inputs: ranges calibrated on random
 * data, or errors measured on it, look precise but say little about the model on real data.
 */
export function syntheticBanner(r: QuantReport): HTMLElement | null {
  const lines: string[] = [];
  // Dynamic and RTN/HQQ weight-only runs calibrate nothing: their data only evaluates, which the
  // second line covers when the report was made on it.
  const mode = r.quantSettings?.mode ?? 'static';
  const calibrates = mode === 'static' || mode === 'fp16' || mode === 'bf16' || (mode === 'weight-only' && /gptq|awq/.test(r.quantSettings?.algorithm ?? ''));
  if (calibrates && synthetic(r.quantSettings?.calibration))
    lines.push('Calibrated on synthetic data (random inputs): ranges and errors do not reflect your data. Quantize again with real samples.');
  if (synthetic(r.settings.data))
    lines.push('Analysed on synthetic data (random inputs): errors, clipping and agreement describe random inputs, not your data.');
  if (!lines.length) return null;
  return h('div', { className: 'banner warning', id: 'synthetic-data', role: 'status' }, ...lines.map((l) => h('div', {}, l)));
}

/**
 * Agreement and accuracy. Top-1 agreement only exists for class scores (the analysis decides); a
 * language model gets next-token agreement and, with labels, cross-entropy and perplexity; for any
 * other output cosine says how close the outputs are.
 */
function agreementCards(r: QuantReport): HTMLElement[] {
  const m = r.model;
  if (m.languageModel) {
    const lm = formatLanguageModel(m.languageModel);
    return [
      card('Next-token agreement', fmtPct(m.languageModel.nextTokenAgreement), `argmax at each of ${m.languageModel.tokens} positions`, 'card-next-token'),
      card(
        'Cross-entropy',
        lm.crossEntropy ?? 'no labels',
        lm.perplexity ? `perplexity ${lm.perplexity}, float → quantized, ${r.settings.labels ?? ''}` : 'give next-token labels [samples, seq]',
        'card-cross-entropy',
      ),
    ];
  }
  return [
    m.top1Agreement === null
      ? card('Output cosine', fmt(worstCosine(r), 6), 'the output is not class scores: no top-1 agreement', 'card-cosine')
      : card('Top-1 agreement', fmtPct(m.top1Agreement), undefined, 'card-agreement'),
    card(
      'Accuracy',
      m.accuracy ? `${fmtPct(m.accuracy.float)} → ${fmtPct(m.accuracy.quantized)}` : m.top1Agreement === null ? 'not class scores' : 'no labels',
      m.accuracy ? `float → quantized, ${r.settings.labels ?? ''}` : undefined,
      'card-accuracy',
    ),
  ];
}

export function summaryPanel(r: QuantReport): HTMLElement {
  const m = r.model;
  const lat = m.latency;
  const fusion = m.fusion;
  const panel = h(
    'div',
    { className: 'summary' },
    h(
      'div',
      { className: 'cards' },
      card(
        'Size',
        `${formatBytes(m.sizes.floatBytes)} → ${formatBytes(m.sizes.quantizedBytes)}`,
        fmtSizeChange(m.sizes.floatBytes, m.sizes.quantizedBytes),
        'card-size',
      ),
      card(
        'Latency (median)',
        lat ? `${fmtLatency(lat.float)} → ${fmtLatency(lat.quantized)}` : 'not measured',
        lat
          ? `${latencyVerdict(lat.float, lat.quantized)} · ± is p95 − median over ${lat.quantized.runs} runs, batch ${lat.quantized.batchSize}, ${lat.quantized.executionProvider}`
          : undefined,
        'card-latency',
      ),
      card('Output SQNR', fmtDb(worstOutput(r)), m.outputs.length > 1 ? `worst of ${m.outputs.length} outputs` : m.outputs[0]?.name, 'card-sqnr'),
      ...agreementCards(r),
      card(
        'Fusion',
        fusion ? `${fusion.fused} / ${fusion.candidates}` : 'not checked',
        fusion ? 'quantized nodes running as integer kernels' : undefined,
        'card-fusion',
      ),
      card('Layers', String(r.layers.length), `${r.weights.length} weights · ${r.unmatched.length} unmatched`, 'card-layers'),
    ),
  );
  if (r.warnings.length)
    panel.append(
      h('h3', {}, `Warnings (${r.warnings.length})`),
      h('div', { className: 'warnings', id: 'warnings' }, ...r.warnings.map((w) => h('div', { className: 'warning' }, w))),
    );
  if (r.keepInFloat) {
    const k = r.keepInFloat;
    panel.append(
      h('h3', {}, 'Kept in float'),
      h(
        'p',
        { id: 'kept-in-float' },
        `${k.nodes.length} node(s): ${k.nodes.join(', ') || '–'}. ` +
          (k.target
            ? `Target ${k.target.kind} ${k.target.value}: ${k.met ? 'met' : 'not met'}, reached ${fmt(k.achieved)}. `
            : `Output SQNR ${fmtDb(k.achieved)}. `) +
          `Cost: ${formatBytes(k.cost.sizeBytes)}${k.cost.latencyMs !== null ? `, ${k.cost.latencyMs >= 0 ? '+' : ''}${fmtMs(k.cost.latencyMs)}${lat && Math.abs(k.cost.latencyMs) <= latencySpread(lat.quantized) ? ' (within the run-to-run spread)' : ''}` : ''}. Model: ${k.output}`,
      ),
      table(
        'Fully quantized vs kept in float',
        ['', 'model', 'output SQNR', 'top-1 agreement', 'accuracy', 'size', 'latency'],
        [summaryRow('before', k.before), summaryRow('after', k.after)],
        'kept-summary',
      ),
    );
    if (k.steps.length)
      panel.append(
        table(
          'Search steps',
          ['added to float', 'reached'],
          k.steps.map((s) => [s.node, fmt(s.achieved)]),
          'kept-steps',
        ),
      );
  }
  if (m.outputs.length)
    panel.append(
      table(
        'Outputs',
        ['output', 'SQNR', 'MSE', 'cosine', 'max |error|'],
        m.outputs.map((o) => [o.name, fmtDb(o.error.sqnr), fmt(o.error.mse), fmt(o.error.cosine, 6), fmt(o.error.maxAbs)]),
        'outputs',
      ),
    );
  if (fusion?.unfused.length) {
    panel.append(
      table(
        `Not fused (${fusion.unfused.length})`,
        ['node', 'op', 'why'],
        fusion.unfused.map((u) => [u.node, u.opType, u.reason]),
        'unfused',
      ),
    );
  } else if (fusion) {
    panel.append(h('p', { className: 'info', id: 'unfused' }, 'Every quantized Conv/MatMul/Gemm runs as an integer kernel.'));
  }
  if (fusion && Object.keys(fusion.integerOps).length)
    panel.append(
      table(
        'Integer kernels',
        ['op', 'count'],
        Object.entries(fusion.integerOps).map(([k, v]) => [k, String(v)]),
        'integer-ops',
      ),
    );
  if (r.unmatched.length)
    panel.append(
      table(
        `Unmatched tensors (${r.unmatched.length})`,
        ['tensor', 'why'],
        r.unmatched.map((u) => [u.tensor, u.reason]),
        'unmatched',
      ),
    );
  panel.append(
    table(
      'Models',
      ['', 'path'],
      [
        ['float', r.floatModel],
        ['quantized', r.quantizedModel],
        ['quantization result', r.quantResultFile ?? '–'],
        ['analysed', r.created],
      ],
      'paths',
    ),
    h(
      'div',
      { className: 'io-row' },
      settingsTable('Analysis settings', r.settings, 'analysis-settings'),
      settingsTable('Quantization settings', r.quantSettings, 'quant-settings'),
    ),
  );
  return panel;
}

const worstLayer = (r: QuantReport) =>
  r.layers.reduce<number | null>((m, l) => (l.accumulated.sqnr !== null && (m === null || l.accumulated.sqnr < m) ? l.accumulated.sqnr : m), null);

/** Before and after side by side, with the change. */
export function compareTable(before: QuantReport, after: QuantReport): HTMLElement {
  const rows: Array<[string, number | null, number | null, (x: number | null) => string, boolean]> = [
    // label, before, after, format, higher is better
    ['output SQNR (worst output)', worstOutput(before), worstOutput(after), fmtDb, true],
    ['worst accumulated layer SQNR', worstLayer(before), worstLayer(after), fmtDb, true],
    ['top-1 agreement', before.model.top1Agreement, after.model.top1Agreement, (x) => fmtPct(x), true],
    ['accuracy (quantized)', before.model.accuracy?.quantized ?? null, after.model.accuracy?.quantized ?? null, (x) => fmtPct(x), true],
    ['size', before.model.sizes.quantizedBytes, after.model.sizes.quantizedBytes, (x) => (x === null ? '–' : formatBytes(x)), false],
    ['output cosine (worst output)', worstCosine(before), worstCosine(after), (x) => fmt(x, 6), true],
    ['latency median', before.model.latency?.quantized.medianMs ?? null, after.model.latency?.quantized.medianMs ?? null, fmtMs, false],
    ['latency p95', before.model.latency?.quantized.p95Ms ?? null, after.model.latency?.quantized.p95Ms ?? null, fmtMs, false],
    ['quantized layers', before.layers.length, after.layers.length, (x) => (x === null ? '–' : String(x)), false],
  ];
  // Latency changes within the run-to-run spread of either measurement are noise, not better or worse.
  const bl = before.model.latency?.quantized;
  const al = after.model.latency?.quantized;
  const latencyNoise = bl && al ? Math.max(latencySpread(bl), latencySpread(al)) : Infinity;
  return h(
    'table',
    { className: 'io compare', id: 'compare-table' },
    h('thead', {}, h('tr', {}, h('th', {}, ''), h('th', {}, 'before'), h('th', {}, 'after'), h('th', {}, 'change'))),
    h(
      'tbody',
      {},
      ...rows
        .filter(([, b, a]) => b !== null || a !== null)
        .map(([label, b, a, f, higherBetter]) => {
          const delta = a !== null && b !== null ? a - b : null;
          const noise = label.startsWith('latency') && delta !== null && Math.abs(delta) <= latencyNoise;
          const better = delta === null || delta === 0 || noise ? '' : delta > 0 === higherBetter ? 'better' : 'worse';
          const sign = delta !== null && delta > 0 ? '+' : delta !== null && delta < 0 ? '−' : '';
          return h(
            'tr',
            {},
            h('td', {}, label),
            h('td', {}, f(b)),
            h('td', {}, f(a)),
            h('td', { className: better }, delta === null ? '–' : `${sign}${f(Math.abs(delta))}${noise ? ' (within noise)' : ''}`),
          );
        }),
    ),
  );
}
