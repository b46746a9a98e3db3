// The messages between the extension host and the model view (webview), on the wire of ipc.ts.
//
// The webview asks for what it shows with requests; the host pushes notifications (reveal a node,
// show a tensor). The model itself never travels to the webview.
import { defineProtocol, type FromView, type ToView } from './ipc';
import type { Dim, ModelSummary, NodeSummary, ProbeFailure, TensorStatsReport } from './summary';
import { fields, isName, noParams, reject } from './validate';

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

/** A node as the view lists it: its summary under the view's column names, and how it computes. */
export interface NodeRow extends Pick<NodeSummary, 'graph' | 'name' | 'domain' | 'inputs' | 'attributes' | 'parameters'> {
  /** Position in the list the host sent (topological, main graph first). */
  id: number;
  op: string;
  outputs: Array<{ name: string; type: string | null; shape: Dim[] | null }>;
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

const nodeOrTensor = (raw: unknown) => {
  const p = fields(raw);
  if ((p.kind !== 'node' && p.kind !== 'tensor') || !isName(p.name)) reject('kind must be node|tensor and name a string');
  return { kind: p.kind as 'node' | 'tensor', name: p.name as string };
};

export const MODEL_VIEW_PROTOCOL = defineProtocol<ModelViewRequests, Record<never, never>, ModelViewNotifications>('model view', {
  requests: {
    overview: noParams,
    tensors: noParams,
    layerErrors: noParams,
    setInputShapes: noParams,
    nodes: (raw) => {
      const { probe } = fields(raw);
      return typeof probe === 'boolean' ? { probe } : reject('probe must be a boolean');
    },
    tensorStats: (raw) => {
      const { name } = fields(raw);
      return isName(name) ? { name } : reject('name must be a string');
    },
    revealInInspector: nodeOrTensor,
  },
  toView: {
    reveal: nodeOrTensor,
    error: (raw) => {
      const { message } = fields(raw);
      return typeof message === 'string' ? { message } : reject('message must be a string');
    },
    layerErrorsChanged: noParams,
    inputShapesChanged: noParams,
  },
});

export type FromModelView = FromView<ModelViewRequests, Record<never, never>>;
export type ToModelView = ToView<ModelViewNotifications>;
