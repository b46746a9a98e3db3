// The messages between the extension host and the quantization report panel (webview), and the
// names the offline HTML report shares with the app.
//
// The webview starts with `ready`; the host posts nothing before it. The host pushes the report
// (and, after keep-in-float, the report it replaces, for the before/after view); the webview posts
// the user's actions. Each action is answered by `busy` and then `done` or `error`, so the panel
// shows progress and failures where the user clicked.
import type { KeepInFloatTargetKind, LayerReport, QuantReport } from './quantReport';
import { quoteValue } from './format';

/** Where the offline HTML report puts the report JSON (the app reads it when not in VS Code). */
export const REPORT_DATA_ELEMENT_ID = 'quant-report';
/** The app's files, relative to the extension root: both stylesheets, in this order, then the script. */
export const REPORT_STYLESHEETS = ['media/main.css', 'media/report/report.css'] as const;
export const REPORT_SCRIPT = 'dist/report.js';

/** A layer as the panel names it: its activation tensor and the node producing it. */
export interface LayerRef {
  tensor: string;
  node: string;
}

export interface KeepInFloatTarget {
  kind: KeepInFloatTargetKind;
  value: number;
}

/** What keeping a row in float means: its node (the one producing the row's tensor, as the row
 *  names it) is kept in float, as onnxruntime's nodes_to_exclude does: the node reads float inputs.
 *  A graph input has no node: its readers are kept in float, so that it is no longer quantized. */
export function nodesToKeepInFloat(l: LayerReport): string[] {
  return l.node ? [l.node] : l.consumers;
}

export type ReportAction = 'keepInFloat' | 'autoKeepInFloat' | 'exportHtml';

export type FromReportView =
  | { type: 'ready' }
  | { type: 'reveal'; layer: LayerRef }
  /** Node names to keep in float: the nodes of the rows selected in the table or a chart
   *  (nodesToKeepInFloat), each computing in float in the new model. */
  | { type: 'keepInFloat'; nodes: string[] }
  | { type: 'autoKeepInFloat'; target: KeepInFloatTarget }
  | { type: 'exportHtml' }
  /** Stop the action running now. */
  | { type: 'cancel' };

export type ToReportView =
  /** `report` replaces what is shown; `previous` (after keep-in-float) is shown beside it. */
  | { type: 'report'; report: QuantReport; previous: QuantReport | null }
  | { type: 'busy'; action: ReportAction; message: string; fraction: number | null }
  | { type: 'done'; action: ReportAction; message: string }
  | { type: 'error'; action: ReportAction | null; message: string };

const MAX_NAME = 4096;
const MAX_NODES = 100_000;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const isName = (v: unknown): v is string => typeof v === 'string' && v.length <= MAX_NAME;

/** Range of a target by kind: SQNR in dB, agreement and accuracy as shares. */
export function targetProblem(t: KeepInFloatTarget): string | undefined {
  if (!Number.isFinite(t.value)) return 'target value must be a finite number';
  if (t.kind === 'sqnr') return t.value > 0 && t.value <= 200 ? undefined : 'an SQNR target is in dB, between 0 and 200';
  return t.value > 0 && t.value <= 1 ? undefined : `an ${t.kind} target is a share between 0 and 1`;
}

/** The message, or why it is refused: everything a webview sends is untrusted input. */
export function parseReportViewMessage(raw: unknown): FromReportView | string {
  if (!isPlainObject(raw)) return 'not an object';
  switch (raw.type) {
    case 'ready':
    case 'exportHtml':
    case 'cancel':
      return { type: raw.type };
    case 'reveal': {
      const l = raw.layer;
      if (!isPlainObject(l) || !isName(l.tensor) || !isName(l.node)) return 'reveal: layer must be { tensor, node } strings';
      return { type: 'reveal', layer: { tensor: l.tensor, node: l.node } };
    }
    case 'keepInFloat': {
      const n = raw.nodes;
      if (!Array.isArray(n) || n.length === 0 || n.length > MAX_NODES || !n.every((x) => isName(x) && x.length > 0)) {
        return 'keepInFloat: nodes must be a non-empty list of node names';
      }
      return { type: 'keepInFloat', nodes: [...new Set(n as string[])] };
    }
    case 'autoKeepInFloat': {
      const t = raw.target;
      if (!isPlainObject(t) || (t.kind !== 'sqnr' && t.kind !== 'agreement' && t.kind !== 'accuracy') || typeof t.value !== 'number') {
        return 'autoKeepInFloat: target must be { kind: sqnr|agreement|accuracy, value: number }';
      }
      const target = { kind: t.kind, value: t.value } as KeepInFloatTarget;
      const problem = targetProblem(target);
      return problem ? `autoKeepInFloat: ${problem}` : { type: 'autoKeepInFloat', target };
    }
    default:
      return `unknown message type ${quoteValue(raw.type)}`;
  }
}
