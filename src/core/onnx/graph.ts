// Graph index: who produces and who consumes every value, topological order, value-info lookup,
// and the subgraphs of If/Loop/Scan indexed recursively with the outer-scope values they use.
// A node that owns subgraphs implicitly consumes those outer-scope values, so they count among
// its inputs for ordering and for consumers.
import { OnnxCompressError } from '../errors';
import type { GraphProto, NodeProto, TensorProto, ValueInfoProto } from './types';
import { attributeGraphs, nodeLabel } from './walk';

export interface SubgraphRef {
  /** Index of the owning node in the parent graph. */
  node: number;
  attribute: string;
  index: GraphIndex;
}

export class GraphIndex {
  /** Value name -> index of the node that produces it. */
  readonly producer = new Map<string, number>();
  /** Value name -> indices of the nodes that read it (explicitly or from a subgraph). */
  readonly consumers = new Map<string, number[]>();
  readonly initializers = new Map<string, TensorProto>();
  readonly inputs = new Map<string, ValueInfoProto>();
  readonly outputs = new Map<string, ValueInfoProto>();
  readonly valueInfos = new Map<string, ValueInfoProto>();
  readonly subgraphs: SubgraphRef[] = [];
  /** Values this graph (or a graph nested in it) reads from an enclosing scope. */
  readonly outerRefs = new Set<string>();
  /** Per node: outer-scope values its subgraphs read (its implicit inputs). */
  readonly implicitInputs = new Map<number, string[]>();
  private order?: number[];

  constructor(
    readonly graph: GraphProto,
    readonly path = 'main',
    readonly parent?: GraphIndex,
  ) {
    for (const t of graph.initializer) if (t.name) this.initializers.set(t.name, t);
    for (const s of graph.sparse_initializer) if (s.values?.name) this.initializers.set(s.values.name, s.values);
    for (const v of graph.input) if (v.name) this.inputs.set(v.name, v);
    for (const v of graph.output) if (v.name) this.outputs.set(v.name, v);
    for (const v of graph.value_info) if (v.name) this.valueInfos.set(v.name, v);
    graph.node.forEach((node, i) => {
      for (const o of node.output) if (o) this.producer.set(o, i);
    });
    graph.node.forEach((node, i) => {
      for (const name of node.input) if (name) this.addConsumer(name, i);
      const implicit = new Set<string>();
      for (const a of node.attribute) {
        for (const g of attributeGraphs(a)) {
          const sub = new GraphIndex(g, `${path}/${nodeLabel(node, i)}.${a.name ?? '?'}`, this);
          this.subgraphs.push({ node: i, attribute: a.name ?? '', index: sub });
          for (const ref of sub.outerRefs) implicit.add(ref);
        }
      }
      if (implicit.size) {
        this.implicitInputs.set(i, [...implicit]);
        for (const name of implicit) this.addConsumer(name, i);
      }
    });
    for (const name of this.consumers.keys()) if (!this.definesLocally(name)) this.outerRefs.add(name);
  }

  private addConsumer(name: string, node: number): void {
    const list = this.consumers.get(name);
    if (!list) this.consumers.set(name, [node]);
    else if (list[list.length - 1] !== node) list.push(node);
  }

  /** Whether a value is defined in this graph itself (not an enclosing one). */
  definesLocally(name: string): boolean {
    return this.producer.has(name) || this.inputs.has(name) || this.initializers.has(name);
  }

  /** Tensors with a fixed value: initializers and Constant node outputs. An initializer that is
   *  also a graph input can be overridden by the caller, so it is not a constant. */
  constantTensors(): Map<string, TensorProto> {
    const constants = new Map<string, TensorProto>(this.initializers);
    for (const n of this.graph.node) {
      const value = n.op_type === 'Constant' ? n.attribute.find((a) => a.name === 'value')?.t : undefined;
      if (value && n.output[0]) constants.set(n.output[0], value);
    }
    for (const name of this.inputs.keys()) constants.delete(name);
    return constants;
  }

  get nodes(): NodeProto[] {
    return this.graph.node;
  }

  /** Declared type information of a value: graph input/output or value_info, here or outside. */
  valueInfo(name: string): ValueInfoProto | undefined {
    return this.inputs.get(name) ?? this.outputs.get(name) ?? this.valueInfos.get(name) ?? this.parent?.valueInfo(name);
  }

  /** Node indices so that every node comes after the producers of what it reads. */
  topologicalOrder(): number[] {
    if (this.order) return this.order;
    const n = this.graph.node.length;
    const pending = new Array<number>(n).fill(0);
    const dependents: number[][] = Array.from({ length: n }, () => []);
    for (let i = 0; i < n; i++) {
      const reads = new Set([...this.graph.node[i].input, ...(this.implicitInputs.get(i) ?? [])]);
      for (const name of reads) {
        const p = name ? this.producer.get(name) : undefined;
        if (p === undefined) continue; // a node reading its own output waits on itself: a cycle
        pending[i]++;
        dependents[p].push(i);
      }
    }
    // Ready nodes are taken smallest index first, so an already sorted graph keeps its order.
    const ready = new MinHeap();
    for (let i = 0; i < n; i++) if (pending[i] === 0) ready.push(i);
    const order: number[] = [];
    while (ready.size) {
      const i = ready.pop();
      order.push(i);
      for (const d of dependents[i]) if (--pending[d] === 0) ready.push(d);
    }
    if (order.length !== n) {
      const stuck = [];
      for (let i = 0; i < n && stuck.length < 3; i++) if (pending[i] > 0) stuck.push(`'${nodeLabel(this.graph.node[i], i)}'`);
      throw new OnnxCompressError(`the graph has a cycle: nodes ${stuck.join(', ')} wait on each other`, `graph ${this.path}`);
    }
    this.order = order;
    return order;
  }

  /** This index and every nested subgraph index, parents first. */
  *allIndexes(): Generator<GraphIndex> {
    yield this;
    for (const s of this.subgraphs) yield* s.index.allIndexes();
  }
}

class MinHeap {
  private readonly items: number[] = [];
  get size(): number {
    return this.items.length;
  }
  push(v: number): void {
    const a = this.items;
    a.push(v);
    for (let i = a.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (a[p] <= a[i]) break;
      [a[p], a[i]] = [a[i], a[p]];
      i = p;
    }
  }
  pop(): number {
    const a = this.items;
    const top = a[0];
    const last = a.pop()!;
    if (a.length) {
      a[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l] < a[m]) m = l;
        if (r < a.length && a[r] < a[m]) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
}
