// The messages between the extension host and the quantization report panel (webview), and the
// names the offline HTML report shares with the app.
//
// On the wire of ipc.ts. The host pushes the report (and, after keep-in-float, the report it
// replaces, for the before/after view); the webview posts the user's actions. Each action is
// answered by `busy` and then `done` or `error`, so the panel shows progress and failures where
// the user clicked.
import { defineProtocol, type FromView, type ToView } from './ipc';
import type { KeepInFloatTargetKind, LayerReport, QuantReport } from './quantReport';
import { fields, isName, isPlainObject, noParams, oneOf, reject } from './validate';

/** Where the offline HTML report puts the report JSON (the app reads it when not in VS Code). */
export const REPORT_DATA_ELEMENT_ID = 'quant-report';
/** The app's files, relative to the extension root: both stylesheets, in this order, then the script. */
export const REPORT_STYLESHEETS = ['media/common/base.css', 'media/report/report.css'] as const;
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
const REPORT_ACTIONS: readonly ReportAction[] = ['keepInFloat', 'autoKeepInFloat', 'exportHtml'];

/** What the view sends: the user's clicks. */
export interface FromReportViewMessages {
  reveal: { layer: LayerRef };
  /** Node names to keep in float: the nodes of the rows selected in the table or a chart
   *  (nodesToKeepInFloat), each computing in float in the new model. */
  keepInFloat: { nodes: string[] };
  autoKeepInFloat: { target: KeepInFloatTarget };
  exportHtml: Record<string, never>;
  /** Stop the action running now. */
  cancel: Record<string, never>;
}

/** What the host sends. */
export interface ToReportViewMessages {
  /** `report` replaces what is shown; `previous` (after keep-in-float) is shown beside it. */
  report: { report: QuantReport; previous: QuantReport | null };
  busy: { action: ReportAction; message: string; fraction: number | null };
  done: { action: ReportAction; message: string };
  error: { action: ReportAction | null; message: string };
}

const MAX_NODES = 100_000;

/** Range of a target by kind: SQNR in dB, agreement and accuracy as shares. */
export function targetProblem(t: KeepInFloatTarget): string | undefined {
  if (!Number.isFinite(t.value)) return 'target value must be a finite number';
  if (t.kind === 'sqnr') return t.value > 0 && t.value <= 200 ? undefined : 'an SQNR target is in dB, between 0 and 200';
  return t.value > 0 && t.value <= 1 ? undefined : `an ${t.kind} target is a share between 0 and 1`;
}

const text = (raw: unknown, what: string): string => (typeof raw === 'string' ? raw : reject(`${what} must be a string`));
const action = (raw: unknown): ReportAction => oneOf(REPORT_ACTIONS, raw, 'action');

// The report itself is checked by the view with parseQuantReport, which says what is wrong with it.
const reportOrNull = (raw: unknown, what: string) => (raw === null ? null : (fields(raw, what) as unknown as QuantReport));

export const REPORT_VIEW_PROTOCOL = defineProtocol<Record<never, never>, FromReportViewMessages, ToReportViewMessages>('report panel', {
  fromView: {
    reveal: (raw) => {
      const l = fields(raw).layer;
      if (!isPlainObject(l) || !isName(l.tensor) || !isName(l.node)) reject('layer must be { tensor, node } strings');
      return { layer: { tensor: l.tensor as string, node: l.node as string } };
    },
    keepInFloat: (raw) => {
      const n = fields(raw).nodes;
      if (!Array.isArray(n) || n.length === 0 || n.length > MAX_NODES || !n.every((x) => isName(x) && x.length > 0)) {
        reject('nodes must be a non-empty list of node names');
      }
      return { nodes: [...new Set(n as string[])] };
    },
    autoKeepInFloat: (raw) => {
      const t = fields(raw).target;
      if (!isPlainObject(t) || (t.kind !== 'sqnr' && t.kind !== 'agreement' && t.kind !== 'accuracy') || typeof t.value !== 'number') {
        reject('target must be { kind: sqnr|agreement|accuracy, value: number }');
      }
      const target = { kind: t.kind, value: t.value } as KeepInFloatTarget;
      const problem = targetProblem(target);
      return problem ? reject(problem) : { target };
    },
    exportHtml: noParams,
    cancel: noParams,
  },
  toView: {
    report: (raw) => {
      const p = fields(raw);
      return { report: reportOrNull(p.report, 'report') ?? reject('report must be an object'), previous: reportOrNull(p.previous ?? null, 'previous') };
    },
    busy: (raw) => {
      const p = fields(raw);
      const fraction =
        p.fraction === null || p.fraction === undefined ? null : Number.isFinite(p.fraction) ? (p.fraction as number) : reject('fraction must be a number');
      return { action: action(p.action), message: text(p.message, 'message'), fraction };
    },
    done: (raw) => {
      const p = fields(raw);
      return { action: action(p.action), message: text(p.message, 'message') };
    },
    error: (raw) => {
      const p = fields(raw);
      return { action: p.action === null ? null : action(p.action), message: text(p.message, 'message') };
    },
  },
});

export type FromReportView = FromView<Record<never, never>, FromReportViewMessages>;
export type ToReportView = ToView<ToReportViewMessages>;
