// Plain-text rendering of engine results for the terminal.
import { formatBytes, formatCount, formatShape } from '../shared/format';
import type { ModelSummary, NodeList, TensorStatsReport, ValueSummary } from '../shared/summary';

export { formatBytes };

/** Left-aligned columns. */
export function table(rows: string[][], indent = '  '): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => indent + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n');
}

function values(list: ValueSummary[]): string {
  if (!list.length) return '  (none)';
  return table(list.map((v) => [v.name, v.elemType, v.kind === 'tensor' ? formatShape(v.shape) : v.kind]));
}

export function formatSummary(s: ModelSummary): string {
  const opsets = s.opsets.map((o) => `${o.domain || 'ai.onnx'} ${o.version}`).join(', ');
  const producer = [s.producer.name, s.producer.version].filter(Boolean).join(' ') || 'unknown';
  const lines = [
    `Model      ${s.file ?? '(memory)'}  (${formatBytes(s.fileBytes)})`,
    `IR         ${s.irVersion}    opsets: ${opsets || 'none'}`,
    `Producer   ${producer}${s.graphName ? `    graph: ${s.graphName}` : ''}`,
  ];
  if (s.domain || s.modelVersion) lines.push(`Domain     ${s.domain || '-'}    model version ${s.modelVersion}`);
  const meta = Object.entries(s.metadata);
  if (meta.length) lines.push('Metadata', table(meta.map(([k, v]) => [k, v.length > 80 ? `${v.slice(0, 77)}...` : v])));
  lines.push('', 'Inputs', values(s.inputs), '', 'Outputs', values(s.outputs));
  const n = s.nodes;
  lines.push('', `Nodes      ${n.total}${n.subgraphs ? ` (main graph ${n.mainGraph}, subgraphs ${n.subgraphs})` : ''}`);
  lines.push(table(n.byOpType.map((o) => [o.domain ? `${o.domain}::${o.opType}` : o.opType, String(o.count)])));
  if (n.functions.length) lines.push('Functions', table(n.functions.map((f) => [`${f.domain}.${f.name}`, `${f.nodes} nodes`])));
  const p = s.parameters;
  lines.push('', `Parameters ${formatCount(p.elements)} elements in ${p.tensors} tensors, ${formatBytes(p.bytes)}`);
  lines.push(table(p.byDataType.map((d) => [d.dataType, `${formatCount(d.elements)} elements`, `${d.tensors} tensors`, formatBytes(d.bytes)])));
  lines.push(table(p.byRole.map((r) => [`${r.role}s`, `${formatCount(r.elements)} elements`, `${r.tensors} tensors`, formatBytes(r.bytes)])));
  if (p.external.tensors) lines.push(`  external data: ${p.external.tensors} tensors, ${formatBytes(p.external.bytes)} in ${p.external.files.join(', ')}`);
  if (s.warnings.length) lines.push('', 'Warnings', ...s.warnings.map((w) => `  ! ${w}`));
  return lines.join('\n');
}

export function formatNodes(list: NodeList): string {
  const rows = list.nodes.map((n) => [
    n.graph === 'main' ? String(n.index) : `${n.graph}#${n.index}`,
    n.name || '(unnamed)',
    n.domain ? `${n.domain}::${n.opType}` : n.opType,
    n.outputs.map((o) => `${o.name} ${o.elemType ?? '?'}${formatShape(o.shape)}`).join('; '),
  ]);
  const head = `Shapes from: ${list.shapeSource}${list.probeNote ? ` (${list.probeNote})` : ''}`;
  return [head, table([['#', 'name', 'op', 'outputs'], ...rows])].join('\n');
}

export function formatTensorStats(r: TensorStatsReport): string {
  const s = r.stats;
  const num = (x: number | null) => (x === null ? '-' : Number(x.toPrecision(6)).toString());
  const lines = [
    `Tensor   ${r.name}  (${r.role} in ${r.graph}, ${r.storage} data)`,
    `Type     ${r.dataType} ${formatShape(r.shape)}  ${s.count} elements`,
    `Range    min ${num(s.min)}  max ${num(s.max)}`,
    `Moments  mean ${num(s.mean)}  std ${num(s.std)}`,
    `Zeros    ${s.zeros} (${(s.zeroFraction * 100).toFixed(2)}%)${s.nan || s.infinite ? `   NaN ${s.nan}  Inf ${s.infinite}` : ''}`,
    'Histogram',
  ];
  const peak = Math.max(1, ...s.histogram.counts);
  s.histogram.counts.forEach((c, i) => {
    if (c === 0 && (i === 0 || i === s.histogram.counts.length - 1)) return;
    const lo = s.histogram.start + i * s.histogram.binWidth;
    lines.push(`  ${num(lo).padStart(12)}  ${'#'.repeat(Math.round((c / peak) * 40)).padEnd(40)} ${c}`);
  });
  return lines.join('\n');
}
