// Number, size and shape formatting shared by the CLI, the extension and the webview.
import type { LanguageModelReport, WeightBlocks } from './quantReport';
import type { Dim } from './summary';

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[u]}`;
}

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

export function formatShape(shape: Dim[] | null): string {
  return shape ? `[${shape.map((d) => (d === null ? '?' : String(d))).join(', ')}]` : '(shape unknown)';
}

/** How the quantized size compares with the float size, as a factor of at least 1: "3.4× smaller", "1.2× larger". */
export function fmtSizeChange(floatBytes: number, quantizedBytes: number): string {
  if (!(floatBytes > 0 && quantizedBytes > 0)) return '–';
  const times = (r: number) => (r < 10 ? r.toFixed(1) : Math.round(r).toString());
  const r = floatBytes / quantizedBytes;
  if (times(r) === '1.0' || times(1 / r) === '1.0') return 'about the same size';
  return r > 1 ? `${times(r)}× smaller` : `${times(1 / r)}× larger`;
}

const signed = (x: number, digits: number) => `${x >= 0 ? '+' : '-'}${Math.abs(x).toFixed(digits)}`;

/**
 * A language model's numbers in words, the one formatter of the CLI summary and the report panel:
 * agreement "98.12% of 7296 positions", cross-entropy "1.2345 → 1.2401 nats/token (+0.0056)",
 * perplexity "3.437 → 3.456 (+0.56%)"; the last two are null without labels. `arrow`: '->' for a terminal.
 */
export function formatLanguageModel(lm: LanguageModelReport, arrow = '→'): { agreement: string; crossEntropy: string | null; perplexity: string | null } {
  const ce = lm.crossEntropy;
  const ppl = lm.perplexity;
  return {
    agreement: `${(lm.nextTokenAgreement * 100).toFixed(2)}% of ${lm.tokens} positions`,
    crossEntropy: ce && `${ce.float.toFixed(4)} ${arrow} ${ce.quantized.toFixed(4)} nats/token (${signed(lm.crossEntropyIncrease ?? 0, 4)})`,
    perplexity: ppl && `${ppl.float.toFixed(3)} ${arrow} ${ppl.quantized.toFixed(3)} (${signed((lm.perplexityIncrease ?? 0) * 100, 2)}%)`,
  };
}

/** A relative error as a percentage with three significant digits: 0%, 0.412%, 8.03%, 21.4%. */
export function formatRelativeError(x: number): string {
  if (!(x > 0)) return '0%';
  const p = x * 100;
  return `${p >= 100 ? p.toFixed(0) : p.toPrecision(3)}%`;
}

/** A block-quantized weight's blocks in words, shared by the CLI summary and the report panel:
 *  bits "4 bits", layout "blocks of 32 (4096 blocks)", error "8.03% mean, 21.4% worst block". */
export function formatWeightBlocks(type: string, b: WeightBlocks): { bits: string; layout: string; error: string } {
  const bits = /(\d+)$/.exec(type)?.[1];
  return {
    bits: bits ? `${bits} bits` : type,
    layout: `blocks of ${b.size} (${b.count} block${b.count === 1 ? '' : 's'})`,
    error: `${formatRelativeError(b.meanRelative)} mean, ${formatRelativeError(b.maxRelative)} worst block`,
  };
}
