// The model summary as it crosses a boundary: `onnx-compress inspect --json`, the webview, tests.
// Versioned: a change that removes or renames a field bumps MODEL_SUMMARY_VERSION.

export const MODEL_SUMMARY_FORMAT = 'onnx-compress/model-summary';
export const MODEL_SUMMARY_VERSION = 1;

/** A dimension: a size, a symbolic name (dim_param), or null when unknown. */
export type Dim = number | string | null;

export interface ValueSummary {
  name: string;
  /** 'tensor', 'sparse_tensor', 'sequence', 'map', 'optional', 'opaque' or 'unknown'. */
  kind: string;
  /** Element type name ('float32', 'int64', ...), or a description for non-tensor kinds. */
  elemType: string;
  /** null when the shape is not declared. */
  shape: Dim[] | null;
}

export interface OpCount {
  domain: string;
  opType: string;
  count: number;
}

export interface DataTypeBytes {
  dataType: string;
  tensors: number;
  elements: number;
  bytes: number;
}

export interface TensorSourceCount {
  /** 'initializer', 'sparse-initializer', 'constant' or 'attribute'. */
  role: string;
  tensors: number;
  elements: number;
  bytes: number;
}

export interface ModelSummary {
  format: typeof MODEL_SUMMARY_FORMAT;
  version: typeof MODEL_SUMMARY_VERSION;
  file: string | null;
  fileBytes: number;
  irVersion: number;
  opsets: Array<{ domain: string; version: number }>;
  producer: { name: string; version: string };
  domain: string;
  modelVersion: number;
  docString: string;
  metadata: Record<string, string>;
  graphName: string;
  inputs: ValueSummary[];
  outputs: ValueSummary[];
  nodes: {
    /** Nodes of the main graph and every subgraph (function bodies are counted apart). */
    total: number;
    mainGraph: number;
    subgraphs: number;
    byOpType: OpCount[];
    functions: Array<{ domain: string; name: string; nodes: number }>;
  };
  /** Tensors stored in the model: initializers, sparse initializers and tensor attributes
   *  (Constant values included), in every graph, subgraph and function. */
  parameters: {
    tensors: number;
    elements: number;
    bytes: number;
    byDataType: DataTypeBytes[];
    byRole: TensorSourceCount[];
    external: { tensors: number; bytes: number; files: string[] };
  };
  /** Problems that do not stop reading: unknown ops, unusual constructs. */
  warnings: string[];
}

export interface NodeSummary {
  index: number;
  /** Graph path: `main` or `main/<node>.<attribute>` for subgraphs. */
  graph: string;
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: Array<{ name: string; elemType: string | null; shape: Dim[] | null }>;
  attributes: Record<string, string>;
  /** Elements of the weights (initializers and constants) this node reads. */
  parameters: number;
}

/** Where the shapes of intermediate values came from. */
export type ShapeSource = 'value_info' | 'probe' | 'value_info+probe' | 'none';

export interface ProbeFailure {
  sentence: string;
  /** Whether other input sizes may fix it (false: onnxruntime cannot run the model at all). */
  sizes: boolean;
}

export interface NodeList {
  format: 'onnx-compress/node-list';
  version: 1;
  shapeSource: ShapeSource;
  /** Why a probe run was not made or failed, when it was wanted. */
  probeNote?: string;
  /** When the probe run failed: one sentence on what failed, in which input (probeNote has onnxruntime's words). */
  probeFailure?: ProbeFailure;
  nodes: NodeSummary[];
}

export interface TensorStatsReport {
  format: 'onnx-compress/tensor-stats';
  version: 1;
  name: string;
  role: string;
  graph: string;
  dataType: string;
  shape: number[];
  storage: 'raw' | 'external' | 'typed';
  stats: {
    count: number;
    min: number | null;
    max: number | null;
    mean: number | null;
    std: number | null;
    zeros: number;
    zeroFraction: number;
    nan: number;
    infinite: number;
    histogram: { start: number; binWidth: number; counts: number[] };
  };
}
