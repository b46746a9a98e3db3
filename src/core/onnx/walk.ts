// Walking a model: every graph (the main graph, subgraphs of If/Loop/Scan at any depth, function
// bodies, training graphs) and every tensor in it (initializers, sparse initializers, `Constant`
// nodes and tensor attributes). A tool that only looks at graph.initializer misses the weights of
// models that keep them in Constant nodes or inside If branches.
import type { AttributeProto, FunctionProto, GraphProto, ModelProto, NodeProto, TensorProto } from './types';

export interface GraphVisit {
  graph: GraphProto;
  /** Readable location: `main`, `main/If_3.then_branch`, `function:MyFn`... */
  path: string;
  /** Subgraph depth: 0 for the main graph. */
  depth: number;
  /** The node whose attribute holds this graph. */
  owner?: NodeProto;
}

/** `ai.onnx` is another name of the default domain. */
const DEFAULT_DOMAINS: Record<string, true> = { '': true, 'ai.onnx': true };

export type TensorRole = 'initializer' | 'sparse-initializer' | 'constant' | 'attribute';

export interface TensorVisit {
  tensor: TensorProto;
  role: TensorRole;
  /** The graph's path (see GraphVisit). */
  graphPath: string;
  node?: NodeProto;
  /** Name the tensor is known by: its own, or for a Constant its output's. */
  name: string;
}

export function nodeLabel(n: NodeProto, index: number): string {
  return n.name || `${n.op_type ?? '?'}_${index}`;
}

/** The graphs an attribute holds (`g` and `graphs`). */
export function attributeGraphs(a: AttributeProto): GraphProto[] {
  return a.g ? [a.g, ...a.graphs] : a.graphs;
}

/** Graphs held by these nodes' attributes, at any depth. */
export function* graphsInNodes(nodes: NodeProto[], path: string, depth = 1): Generator<GraphVisit> {
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i];
    for (const a of node.attribute) {
      const gs = attributeGraphs(a);
      for (let k = 0; k < gs.length; k++) {
        const sub = `${path}/${nodeLabel(node, i)}.${a.name ?? '?'}${gs.length > 1 ? `[${k}]` : ''}`;
        yield* walkGraph(gs[k], sub, depth + 1, node);
      }
    }
  }
}

function* walkGraph(graph: GraphProto, path: string, depth: number, owner?: NodeProto): Generator<GraphVisit> {
  yield { graph, path, depth, owner };
  yield* graphsInNodes(graph.node, path, depth);
}

/** Every graph of the model, parents before children. */
export function* allGraphs(model: ModelProto): Generator<GraphVisit> {
  if (model.graph) yield* walkGraph(model.graph, 'main', 0);
  for (const f of model.functions) yield* graphsInNodes(f.node, functionPath(f), 0);
  for (let i = 0; i < model.training_info.length; i++) {
    const ti = model.training_info[i];
    if (ti.initialization) yield* walkGraph(ti.initialization, `training[${i}].initialization`, 0);
    if (ti.algorithm) yield* walkGraph(ti.algorithm, `training[${i}].algorithm`, 0);
  }
}

export function functionPath(f: FunctionProto): string {
  return `function:${f.domain ? `${f.domain}.` : ''}${f.name ?? '?'}`;
}

function* tensorsOfNodes(nodes: NodeProto[], graphPath: string): Generator<TensorVisit> {
  for (const node of nodes) {
    for (const a of node.attribute) {
      // A Constant's value is a weight like an initializer, named by the node's output.
      const isConstant = node.op_type === 'Constant' && (node.domain ?? '') in DEFAULT_DOMAINS;
      const role: TensorRole = isConstant ? 'constant' : 'attribute';
      const ownName = (fallback?: string) => (isConstant ? node.output[0] : undefined) || fallback || `${node.name ?? ''}.${a.name}`;
      if (a.t) yield { tensor: a.t, role, graphPath, node, name: ownName(a.t.name) };
      for (const t of a.tensors) yield { tensor: t, role: 'attribute', graphPath, node, name: t.name || `${node.name ?? ''}.${a.name}` };
      const sparse = a.sparse_tensor ? [a.sparse_tensor, ...a.sparse_tensors] : a.sparse_tensors;
      for (const s of sparse) {
        const name = ownName(s.values?.name);
        if (s.values) yield { tensor: s.values, role, graphPath, node, name };
        if (s.indices) yield { tensor: s.indices, role, graphPath, node, name: `${name}.indices` };
      }
    }
  }
}

/** Every tensor stored in the model, in every graph and function. */
export function* allTensors(model: ModelProto): Generator<TensorVisit> {
  for (const { graph, path } of allGraphs(model)) {
    for (const t of graph.initializer) yield { tensor: t, role: 'initializer', graphPath: path, name: t.name ?? '' };
    for (const s of graph.sparse_initializer) {
      const name = s.values?.name ?? '';
      if (s.values) yield { tensor: s.values, role: 'sparse-initializer', graphPath: path, name };
      if (s.indices) yield { tensor: s.indices, role: 'sparse-initializer', graphPath: path, name: `${name}.indices` };
    }
    yield* tensorsOfNodes(graph.node, path);
  }
  for (const f of model.functions) yield* tensorsOfNodes(f.node, functionPath(f));
}
