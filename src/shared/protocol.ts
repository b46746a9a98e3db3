// The messages between the extension host and the model view (webview).
//
// The webview starts with `ready`; the host posts nothing before it. The webview asks for what it
// shows with requests (each has an id and gets exactly one response); the host pushes
// notifications (reveal a node, show a tensor). The model itself never travels to the webview.
import type { Dim, ModelSummary, ProbeFailure, TensorStatsReport } from './summary';
import { quoteValue } from './format';

/** Quantization parameters of a tensor that feeds a DequantizeLinear (or a QLinear op). */
export interface QuantParams {
  /** The quantized tensor (an initializer or a value). */
  tensor: string;
  /** The DequantizeLinear/QuantizeLinear node it belongs to. */
  node: string;
  /** Integer type ('int8', 'uint8', 'int4', ...). */
  type: string;
  /** Scale values (one per channel or block; the first values when there are many). */
  scale: number[];
  zeroPoint: number[];
  /** Channels or blocks the parameters cover (1 for per-tensor). */
  count: number;
  axis: number | null;
  blockSize: number | null;
}

export interface NodeRow {
  /** Position in the list the host sent (topological, main graph first). */
  id: number;
  graph: string;
  name: string;
  op: string;
  domain: string;
  inputs: string[];
  outputs: Array<{ name: string; type: string | null; shape: Dim[] | null }>;
  /** Attributes, rendered as text. */
  attributes: Record<string, string>;
  parameters: number;
  /** Why this node computes in integer arithmetic, when it does ('QLinearConv', 'QDQ'...). */
  integer: string | null;
}

export interface TensorRow {
  name: string;
  /** 'initializer', 'constant', 'sparse-initializer' or 'attribute'. */
  role: string;
  graph: string;
  type: string;
  shape: number[];
  bytes: number;
  quant: QuantParams | null;
}

export interface ModelOverview {
  summary: ModelSummary;
  /** Quantized tensors found (empty for a float model). */
  quantized: QuantParams[];
  integerNodes: number;
}

export interface NodesResult {
  rows: NodeRow[];
  /** Where intermediate shapes came from ('value_info', 'probe', ...). */
  shapeSource: string;
  probeNote?: string;
  /** Why the probe run failed, in one sentence (onnxruntime's own words stay in the host's log). */
  probeError?: ProbeFailure;
}

/** Quantization error per node, from the report saved beside the model (NAME.report.json). */
export interface LayerErrors {
  reportFile: string;
  /** Node name -> the lowest accumulated and local SQNR (dB) among the tensors it produces. */
  nodes: Record<string, { accumulated: number | null; local: number | null; tensor: string }>;
}

/** Colour bands of accumulated SQNR in dB (lower bound of each band; below the first: 'bad'). */
export const SQNR_BANDS: ReadonlyArray<{ min: number; band: 'poor' | 'fair' | 'good' }> = [
  { min: 30, band: 'good' },
  { min: 20, band: 'fair' },
  { min: 10, band: 'poor' },
];

export function sqnrBand(db: number | null): 'bad' | 'poor' | 'fair' | 'good' | 'none' {
  if (db === null) return 'none';
  return SQNR_BANDS.find((b) => db >= b.min)?.band ?? 'bad';
}

/** Requests from the webview, with their parameters and results. */
export interface ModelViewRequests {
  overview: { params: Record<string, never>; result: ModelOverview };
  nodes: { params: { probe: boolean }; result: NodesResult };
  tensors: { params: Record<string, never>; result: TensorRow[] };
  tensorStats: { params: { name: string }; result: TensorStatsReport };
  /** Select a node or tensor in the Model Inspector sidebar. */
  revealInInspector: { params: { kind: 'node' | 'tensor'; name: string }; result: boolean };
  /** The per-node error of a report beside the model; null when there is none. */
  layerErrors: { params: Record<string, never>; result: LayerErrors | null };
  /** Ask the user for the probe run's input sizes; true when they changed (inputShapesChanged follows). */
  setInputShapes: { params: Record<string, never>; result: boolean };
}

/** Notifications from the host. */
export interface ModelViewNotifications {
  reveal: { kind: 'node' | 'tensor'; name: string };
  /** The file changed or failed to load. */
  error: { message: string };
  /** The report beside the model was written, changed or removed: ask for layerErrors again. */
  layerErrorsChanged: Record<string, never>;
  /** The probe run's input sizes (or the probe setting) changed: ask for the probed nodes again. */
  inputShapesChanged: Record<string, never>;
}

export type RequestMethod = keyof ModelViewRequests;
export type NotificationMethod = keyof ModelViewNotifications;

export type FromWebview =
  | { type: 'ready' }
  | { [M in RequestMethod]: { type: 'request'; id: number; method: M; params: ModelViewRequests[M]['params'] } }[RequestMethod];

export type ToWebview =
  | { type: 'response'; id: number; result?: unknown; error?: string }
  | { [M in NotificationMethod]: { type: 'notify'; method: M; params: ModelViewNotifications[M] } }[NotificationMethod];

export const REQUEST_METHODS: readonly RequestMethod[] = ['overview', 'nodes', 'tensors', 'tensorStats', 'revealInInspector', 'layerErrors', 'setInputShapes'];

const MAX_NAME = 4096;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const PARAM_CHECKS: { [M in RequestMethod]: (p: Record<string, unknown>) => string | undefined } = {
  overview: () => undefined,
  tensors: () => undefined,
  layerErrors: () => undefined,
  setInputShapes: () => undefined,
  nodes: (p) => (typeof p.probe === 'boolean' ? undefined : 'probe must be a boolean'),
  tensorStats: (p) => (typeof p.name === 'string' && p.name.length <= MAX_NAME ? undefined : 'name must be a string'),
  revealInInspector: (p) =>
    (p.kind === 'node' || p.kind === 'tensor') && typeof p.name === 'string' && p.name.length <= MAX_NAME ? undefined : 'kind must be node|tensor and name a string',
};

/** The message, or why it is refused: everything a webview sends is untrusted input. */
export function parseWebviewMessage(raw: unknown): FromWebview | string {
  if (!isPlainObject(raw)) return 'not an object';
  if (raw.type === 'ready') return { type: 'ready' };
  if (raw.type !== 'request') return `unknown message type ${quoteValue(raw.type)}`;
  if (!Number.isSafeInteger(raw.id)) return 'request id must be an integer';
  if (!REQUEST_METHODS.includes(raw.method as RequestMethod)) return `unknown method ${quoteValue(raw.method)}`;
  const params = raw.params ?? {};
  if (!isPlainObject(params)) return 'params must be an object';
  const problem = PARAM_CHECKS[raw.method as RequestMethod](params);
  if (problem) return `${String(raw.method)}: ${problem}`;
  return { type: 'request', id: raw.id as number, method: raw.method, params } as FromWebview;
}

