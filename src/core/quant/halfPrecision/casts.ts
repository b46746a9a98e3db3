// Cast clean-up after the half-precision rewrite: a Cast that reads another Cast reads that
// Cast's input instead (float32 -> half -> float32 becomes nothing, float32 -> half -> int64
// becomes float32 -> int64: fewer roundings, never more), and a Cast to the type its input has
// already disappears. Repeated until nothing changes; a Cast whose output is a graph output keeps
// its place, since the output's name must stay.
import { DataType } from '../../onnx/dataTypes';
import { inferElementTypes } from '../../onnx/elementTypes';
import { GraphIndex } from '../../onnx/graph';
import { int64ToNumber, type GraphProto, type NodeProto } from '../../onnx/types';
import { attributeGraphs } from '../../onnx/walk';

/** Points every read of `from` in `graph` and the graphs nested in it at `to`. */
export function renameReads(graph: GraphProto, from: string, to: string): void {
  for (const n of graph.node) {
    n.input = n.input.map((x) => (x === from ? to : x));
    for (const a of n.attribute) for (const g of attributeGraphs(a)) renameNested(g, from, to);
  }
}

function renameNested(graph: GraphProto, from: string, to: string): void {
  // A subgraph that defines the name itself shadows the outer value.
  if (graph.input.some((v) => v.name === from) || graph.node.some((n) => n.output.includes(from))) return;
  renameReads(graph, from, to);
  for (const o of graph.output) if (o.name === from) o.name = to;
}

function castTarget(n: NodeProto): number {
  return int64ToNumber(n.attribute.find((a) => a.name === 'to')?.i);
}

const FLOATS = new Set<number>([DataType.FLOAT, DataType.FLOAT16, DataType.BFLOAT16, DataType.DOUBLE]);

interface Located {
  node: NodeProto;
  graph: GraphProto;
}

function* graphsOf(graph: GraphProto): Generator<GraphProto> {
  yield graph;
  for (const n of graph.node) for (const a of n.attribute) for (const g of attributeGraphs(a)) yield* graphsOf(g);
}

/** Folds Cast chains and drops no-op Casts in `main` and its subgraphs; returns the Casts left.
 *  Each pass handles every Cast once (O(nodes)); passes repeat until nothing changes. */
export function foldCasts(main: GraphProto): number {
  const types = inferElementTypes(new GraphIndex(main)).types;
  for (;;) {
    const graphs = [...graphsOf(main)];
    const producers = new Map<string, Located>();
    const outputs = new Set<string>();
    for (const graph of graphs) {
      for (const node of graph.node) for (const o of node.output) if (o) producers.set(o, { node, graph });
      for (const o of graph.output) outputs.add(o.name ?? '');
    }
    const dropped = new Set<NodeProto>();
    const maybeDead = new Set<NodeProto>();
    // Values whose readers read another value instead (a dropped no-op Cast's output -> its input).
    const alias = new Map<string, string>();
    const resolve = (x: string) => {
      while (alias.has(x)) x = alias.get(x)!;
      return x;
    };
    for (const graph of graphs) {
      for (const c of graph.node) {
        if (c.op_type !== 'Cast' || (c.domain ?? '') !== '' || dropped.has(c)) continue;
        c.input[0] = resolve(c.input[0]);
        const before = producers.get(c.input[0])?.node;
        // Only a float-to-float Cast in front is skipped: float -> int64 -> float truncates on purpose.
        if (
          before &&
          !dropped.has(before) &&
          before.op_type === 'Cast' &&
          (before.domain ?? '') === '' &&
          FLOATS.has(types.get(before.input[0]) ?? 0) &&
          FLOATS.has(castTarget(before))
        ) {
          c.input[0] = before.input[0];
          maybeDead.add(before);
        }
        if (types.get(c.input[0]) === castTarget(c) && !outputs.has(c.output[0])) {
          alias.set(c.output[0], c.input[0]);
          dropped.add(c);
        }
      }
    }
    const reads = new Set<string>(outputs);
    for (const graph of graphs) {
      for (const n of graph.node) {
        n.input = n.input.map((x) => (x ? resolve(x) : x));
        for (const x of n.input) reads.add(x);
      }
      for (const o of graph.output) if (o.name) o.name = resolve(o.name);
    }
    for (const b of maybeDead) if (!reads.has(b.output[0])) dropped.add(b);
    for (const graph of graphs) if (graph.node.some((n) => dropped.has(n))) graph.node = graph.node.filter((n) => !dropped.has(n));
    const changed = dropped.size > 0 || maybeDead.size > 0;
    if (!changed) return graphs.reduce((k, g) => k + g.node.filter((n) => n.op_type === 'Cast').length, 0);
  }
}

/** Chains the folding removes: a float-to-float Cast read by another Cast (in the same graph or
 *  a nested one). Empty after folding; an integer Cast in between (a deliberate truncation) is
 *  not one. */
export function castChains(main: GraphProto): string[] {
  const types = inferElementTypes(new GraphIndex(main)).types;
  const graphs = [...graphsOf(main)];
  const casts = new Map<string, NodeProto>();
  for (const g of graphs) for (const n of g.node) if (n.op_type === 'Cast') casts.set(n.output[0], n);
  const chains: string[] = [];
  for (const g of graphs) {
    for (const n of g.node) {
      const before = n.op_type === 'Cast' ? casts.get(n.input[0]) : undefined;
      if (before && FLOATS.has(types.get(before.input[0]) ?? 0) && FLOATS.has(castTarget(before))) {
        chains.push(`${before.name ?? before.output[0]} -> ${n.name ?? n.output[0]}`);
      }
    }
  }
  return chains;
}
