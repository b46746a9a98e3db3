// What `inspect` shows: the model summary, the node list and one tensor's statistics. The summary
// reads only the protobuf structure (tensor sizes come from dims and data types), so it costs no
// more than decoding the file, whatever the size of the weights.
import {
  MODEL_SUMMARY_FORMAT,
  MODEL_SUMMARY_VERSION,
  type Dim,
  type ModelSummary,
  type NodeSummary,
  type TensorStatsReport,
  type ValueSummary,
} from '../../shared/summary';
import { StatsCollector } from '../stats/summaryStats';
import { TensorDataError } from '../errors';
import { DataType, dataTypeName, isKnownDataType } from './dataTypes';
import { externalDataRef, isExternal } from './externalData';
import { GraphIndex } from './graph';
import { isKnownOp } from './knownOps';
import type { OnnxModel } from './model';
import { elementCount, readTensor, tensorByteSize, tensorDims, tensorStorage, toFloat32 } from './tensor';
import { int64ToNumber, type AttributeProto, type TensorShapeProto, type TypeProto, type ValueInfoProto } from './types';
import { allGraphs, allTensors, nodeLabel, type TensorVisit } from './walk';

export function shapeDims(shape: TensorShapeProto | undefined): Dim[] | null {
  if (!shape) return null;
  return shape.dim.map((d) => (d.dim_value !== undefined ? int64ToNumber(d.dim_value) : d.dim_param !== undefined ? d.dim_param : null));
}

function describeType(t: TypeProto | undefined): { kind: string; elemType: string; shape: Dim[] | null } {
  if (!t) return { kind: 'unknown', elemType: 'unknown', shape: null };
  if (t.tensor_type) return { kind: 'tensor', elemType: dataTypeName(t.tensor_type.elem_type), shape: shapeDims(t.tensor_type.shape) };
  if (t.sparse_tensor_type)
    return { kind: 'sparse_tensor', elemType: dataTypeName(t.sparse_tensor_type.elem_type), shape: shapeDims(t.sparse_tensor_type.shape) };
  if (t.sequence_type) return { kind: 'sequence', elemType: `sequence<${describeType(t.sequence_type.elem_type).elemType}>`, shape: null };
  if (t.optional_type) return { kind: 'optional', elemType: `optional<${describeType(t.optional_type.elem_type).elemType}>`, shape: null };
  if (t.map_type) return { kind: 'map', elemType: `map<${dataTypeName(t.map_type.key_type)}, ${describeType(t.map_type.value_type).elemType}>`, shape: null };
  if (t.opaque_type) return { kind: 'opaque', elemType: `opaque<${t.opaque_type.domain ?? ''}.${t.opaque_type.name ?? ''}>`, shape: null };
  return { kind: 'unknown', elemType: 'unknown', shape: null };
}

export function valueSummary(v: ValueInfoProto): ValueSummary {
  return { name: v.name ?? '', ...describeType(v.type) };
}

/** Stored elements and bytes of one tensor (sizes from its dims, nothing read). */
function tensorSize(t: TensorVisit['tensor']): { elements: number; bytes: number } {
  const elements = elementCount(tensorDims(t));
  const bytes = isExternal(t) ? (externalDataRef(t).length ?? tensorByteSize(t, elements)) : tensorByteSize(t, elements);
  return { elements, bytes };
}

function bump<K>(map: Map<K, { tensors: number; elements: number; bytes: number }>, key: K, elements: number, bytes: number): void {
  const e = map.get(key) ?? { tensors: 0, elements: 0, bytes: 0 };
  e.tensors++;
  e.elements += elements;
  e.bytes += bytes;
  map.set(key, e);
}

export function summarizeModel(model: OnnxModel): ModelSummary {
  const p = model.proto;
  const graph = p.graph!;
  const warnings: string[] = [];
  const ops = new Map<string, { domain: string; opType: string; count: number }>();
  const unknownOps = new Map<string, string>();
  const functions = new Set(p.functions.map((f) => `${f.domain ?? ''}::${f.name ?? ''}`));
  let total = 0;
  let mainGraph = 0;
  for (const { graph: g, depth, path } of allGraphs(p)) {
    // Function bodies are templates and training graphs are not run at inference: counted apart.
    if (path.startsWith('function:') || path.startsWith('training[')) continue;
    total += g.node.length;
    if (depth === 0 && path === 'main') mainGraph = g.node.length;
    g.node.forEach((n, i) => {
      const domain = n.domain ?? '';
      const opType = n.op_type ?? '';
      const key = `${domain}::${opType}`;
      const e = ops.get(key) ?? { domain, opType, count: 0 };
      e.count++;
      ops.set(key, e);
      if (isKnownOp(domain, opType) === false && !functions.has(key) && !unknownOps.has(key)) {
        unknownOps.set(
          key,
          `unknown op ${domain ? `${domain}::` : ''}${opType} (node '${nodeLabel(n, i)}' in graph ${path}): not defined by ONNX; onnxruntime will refuse to run it`,
        );
      }
    });
  }
  warnings.push(...unknownOps.values());

  const byType = new Map<string, { tensors: number; elements: number; bytes: number }>();
  const byRole = new Map<string, { tensors: number; elements: number; bytes: number }>();
  const external = { tensors: 0, bytes: 0, files: new Set<string>() };
  let tensors = 0;
  let elements = 0;
  let bytes = 0;
  for (const v of allTensors(p)) {
    const size = tensorSize(v.tensor);
    tensors++;
    elements += size.elements;
    bytes += size.bytes;
    bump(byType, dataTypeName(v.tensor.data_type), size.elements, size.bytes);
    bump(byRole, v.role, size.elements, size.bytes);
    if (isExternal(v.tensor)) {
      external.tensors++;
      external.bytes += size.bytes;
      external.files.add(externalDataRef(v.tensor).location);
    }
  }

  // Before IR 4 exporters listed every initializer among the inputs too.
  const initializerNames = new Set(graph.initializer.map((t) => t.name ?? ''));
  return {
    format: MODEL_SUMMARY_FORMAT,
    version: MODEL_SUMMARY_VERSION,
    file: model.file ?? null,
    fileBytes: model.byteLength,
    irVersion: int64ToNumber(p.ir_version),
    opsets: p.opset_import.map((o) => ({ domain: o.domain ?? '', version: int64ToNumber(o.version) })),
    producer: { name: p.producer_name ?? '', version: p.producer_version ?? '' },
    domain: p.domain ?? '',
    modelVersion: int64ToNumber(p.model_version),
    docString: p.doc_string ?? '',
    metadata: Object.fromEntries(p.metadata_props.map((e) => [e.key ?? '', e.value ?? ''])),
    graphName: graph.name ?? '',
    inputs: graph.input.filter((v) => !initializerNames.has(v.name ?? '')).map(valueSummary),
    outputs: graph.output.map(valueSummary),
    nodes: {
      total,
      mainGraph,
      subgraphs: total - mainGraph,
      byOpType: [...ops.values()].sort((a, b) => b.count - a.count || a.opType.localeCompare(b.opType)),
      functions: p.functions.map((f) => ({ domain: f.domain ?? '', name: f.name ?? '', nodes: f.node.length })),
    },
    parameters: {
      tensors,
      elements,
      bytes,
      byDataType: [...byType].map(([dataType, e]) => ({ dataType, ...e })).sort((a, b) => b.bytes - a.bytes),
      byRole: [...byRole].map(([role, e]) => ({ role, ...e })),
      external: { tensors: external.tensors, bytes: external.bytes, files: [...external.files] },
    },
    warnings,
  };
}

function attributeText(a: AttributeProto): string {
  const list = <T>(xs: T[], f: (x: T) => string) => `[${xs.slice(0, 16).map(f).join(', ')}${xs.length > 16 ? `, ... (${xs.length})` : ''}]`;
  const dec = new TextDecoder();
  if (a.ref_attr_name) return `@${a.ref_attr_name}`;
  if (a.floats.length) return list(a.floats, (x) => String(Number(x.toPrecision(7))));
  if (a.ints.length) return list(a.ints, (x) => x.toString());
  if (a.strings.length) return list(a.strings, (x) => JSON.stringify(dec.decode(x)));
  if (a.t) return `tensor ${dataTypeName(a.t.data_type)}[${a.t.dims.join(', ')}]`;
  if (a.g) return `graph '${a.g.name ?? ''}' (${a.g.node.length} nodes)`;
  if (a.graphs.length) return `${a.graphs.length} graphs`;
  if (a.tensors.length) return `${a.tensors.length} tensors`;
  if (a.sparse_tensor) return 'sparse tensor';
  if (a.tp) return describeType(a.tp).elemType;
  if (a.s !== undefined) return JSON.stringify(dec.decode(a.s));
  if (a.i !== undefined) return a.i.toString();
  if (a.f !== undefined) return String(Number(a.f.toPrecision(7))); // float32: 7 digits hold it
  return '';
}

/** Every node of the main graph and its subgraphs, with output types and shapes where known. */
export function listNodes(model: OnnxModel, elemTypes: Map<string, number>, shapes: Map<string, Dim[]>): NodeSummary[] {
  const root = new GraphIndex(model.proto.graph!);
  const weights = new Map<string, number>();
  for (const v of allTensors(model.proto)) if (v.role !== 'attribute') weights.set(v.name, elementCount(tensorDims(v.tensor)));
  const out: NodeSummary[] = [];
  for (const index of root.allIndexes()) {
    for (const i of index.topologicalOrder()) {
      const n = index.nodes[i];
      out.push({
        index: i,
        graph: index.path,
        name: n.name ?? '',
        opType: n.op_type ?? '',
        domain: n.domain ?? '',
        inputs: [...n.input],
        outputs: n.output.map((name) => {
          const t = elemTypes.get(name);
          return { name, elemType: t === undefined ? null : dataTypeName(t), shape: shapes.get(name) ?? null };
        }),
        attributes: Object.fromEntries(n.attribute.map((a) => [a.name ?? '', attributeText(a)])),
        parameters: n.op_type === 'Constant' ? 0 : n.input.reduce((s, name) => s + (weights.get(name) ?? 0), 0),
      });
    }
  }
  return out;
}

/** Shapes declared for values in the model (value_info, inputs, outputs, every graph). */
export function declaredShapes(model: OnnxModel): Map<string, Dim[]> {
  const shapes = new Map<string, Dim[]>();
  for (const { graph } of allGraphs(model.proto)) {
    for (const v of [...graph.input, ...graph.output, ...graph.value_info]) {
      const dims = shapeDims(v.type?.tensor_type?.shape);
      if (v.name && dims) shapes.set(v.name, dims);
    }
    for (const t of graph.initializer) if (t.name) shapes.set(t.name, tensorDims(t));
  }
  return shapes;
}

/** Finds a stored tensor by name: an initializer, a Constant's output or a named attribute tensor. */
export function findTensor(model: OnnxModel, name: string): TensorVisit | undefined {
  for (const v of allTensors(model.proto)) if (v.name === name || v.tensor.name === name) return v;
  return undefined;
}

/** Up to `max` stored tensor names like `query`: those containing it (ignoring case), else those
 *  sharing its longest prefix. */
export function similarTensorNames(model: OnnxModel, query: string, max = 5): string[] {
  const names = [...new Set(Array.from(allTensors(model.proto), (v) => v.name))].filter(Boolean);
  const q = query.toLowerCase();
  const containing = names.filter((n) => n.toLowerCase().includes(q));
  if (containing.length) return containing.slice(0, max);
  const shared = (n: string) => {
    let k = 0;
    while (k < n.length && k < q.length && n[k].toLowerCase() === q[k]) k++;
    return k;
  };
  const best = names.reduce((m, n) => Math.max(m, shared(n)), 0);
  return best ? names.filter((n) => shared(n) === best).slice(0, max) : [];
}

export function tensorStatistics(model: OnnxModel, name: string, bins = 64): TensorStatsReport {
  const found = findTensor(model, name);
  if (!found) {
    const close = similarTensorNames(model, name);
    const hint = close.length ? `; did you mean ${close.map((n) => `'${n}'`).join(', ')}?` : '';
    throw new TensorDataError(`no initializer, constant or tensor attribute has this name${hint}`, `tensor '${name}'`);
  }
  const t = found.tensor;
  const type = t.data_type ?? DataType.UNDEFINED;
  if (!isKnownDataType(type) || type === DataType.STRING) {
    throw new TensorDataError(`${dataTypeName(type)} tensors have no numeric statistics`, `tensor '${name}'`);
  }
  const collector = new StatsCollector(bins);
  collector.add(toFloat32(readTensor(t, model.external)));
  const s = collector.result();
  const finite = (x: number) => (Number.isFinite(x) ? x : null);
  return {
    format: 'onnx-compress/tensor-stats',
    version: 1,
    name: found.name,
    role: found.role,
    graph: found.graphPath,
    dataType: dataTypeName(type),
    shape: tensorDims(t),
    storage: tensorStorage(t),
    stats: { ...s, min: finite(s.min), max: finite(s.max), mean: finite(s.mean), std: finite(s.std) },
  };
}
