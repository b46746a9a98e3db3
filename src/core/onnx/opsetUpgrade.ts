// Upgrading the default-domain opset of a model from 7, 8 or 9 to 10, exactly.
//
// Static QDQ quantization inserts QuantizeLinear/DequantizeLinear, which onnxruntime fuses with
// Conv/MatMul into QLinearConv/QLinearMatMul of the default domain; those exist from opset 10 on,
// so an opset-9 export (PaddleOCR's recognizer, for one) fails to load once quantized. Opset 10
// keeps every operator version of opset 9 except the few whose definition changed; those nodes
// are rewritten here into their opset-10 form with the same results, following the adapters of
// ONNX's version converter (7->8, 8->9, 9->10):
//
//   Slice-1      starts/ends/axes attributes   -> Slice-10 inputs (int64 tensors; no steps)
//   TopK-1       k attribute                   -> TopK-10 input K (int64 [1])
//   Upsample-7   scales attribute              -> Resize-10 (X, scales as a float tensor), mode kept
//   Upsample-9   scales input                  -> Resize-10 (X, scales), mode kept
//   BatchNormalization-7 (from opset 7/8) spatial=1 -> the attribute removed (BN-9 has none)
//   Dropout-7    an unused mask output         -> the output dropped (Dropout-10's mask is bool)
//
// Compatible without change: AveragePool-10 and MaxPool-10 (ceil_mode, default 0), Dropout-10
// (only the mask's type changed), Max/Min/Mean/Sum-8 (broadcasting added), the type extensions
// of opset 9 (Cast, Constant, Flatten, Gemm, Greater, Less, MatMul, PRelu), and every op new in 8,
// 9 or 10. Refused, with the node named: Scan at opset 8 (Scan-9 dropped sequence_lens and the
// batch axis), MeanVarianceNormalization before opset 9 (the experimental op's attributes are not
// MVN-9's), BatchNormalization with spatial=0 before opset 9, a Dropout whose mask is read, an
// Upsample with a mode Resize-10 lacks, and Slice/TopK/Upsample nodes missing what their version
// requires. Models older than opset 7 are refused as a whole.
//
// Nothing is changed unless every node can be converted. New tensors become initializers of the
// graph that holds the node; where initializers cannot be used (IR version below 4, where every
// initializer must also be a graph input, and function bodies) they are Constant nodes placed just
// before the node. Subgraphs (If/Loop/Scan bodies) share the model's opset and are converted too;
// model-local functions are converted when they import the default domain below 10 themselves.
import { OnnxCompressError } from '../errors';
import { createMessage } from './codec';
import { DataType } from './dataTypes';
import type { OnnxModel } from './model';
import { makeTensor } from './tensor';
import {
  AttributeType,
  int64ToBigInt,
  int64ToNumber,
  type AttributeProto,
  type FunctionProto,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type OperatorSetIdProto,
  type TensorProto,
} from './types';
import { allGraphs, functionPath, nodeLabel, graphsInNodes } from './walk';

export interface OpsetUpgradeResult {
  /** The default-domain opset the model had (0 when it imported none). */
  from: number;
  /** Names (or `OpType_index` labels) of the nodes that were rewritten. */
  converted: string[];
}

export class OpsetUpgradeError extends OnnxCompressError {}

const TARGET = 10;
const REEXPORT = 're-export the model with opset 13 or newer';

function isDefaultDomain(domain: string | undefined): boolean {
  return !domain || domain === 'ai.onnx';
}

function defaultImports(list: OperatorSetIdProto[]): OperatorSetIdProto[] {
  return list.filter((o) => isDefaultDomain(o.domain));
}

/** The default-domain opset version a model imports (undefined when it imports none). */
export function defaultOpsetVersion(proto: ModelProto): number | undefined {
  const found = defaultImports(proto.opset_import);
  return found.length ? int64ToNumber(found[0].version, 'opset version') : undefined;
}

/** Where a unit's new constant tensors go. */
type Placement = { kind: 'initializer'; graph: GraphProto } | { kind: 'constant' };

/** A list of nodes converted together: a graph's, or a function body's. */
interface Unit {
  nodes: NodeProto[];
  placement: Placement;
  /** For messages: `main`, `main/If_3.then_branch`, `function:MyFn`... */
  path: string;
}

type Edit = (ctx: EditContext) => void;

interface EditContext {
  /** Adds an int64/float tensor the node reads; returns its (unique) name. */
  addTensor(base: string, dataType: DataType.INT64 | DataType.FLOAT, values: BigInt64Array | Float32Array): string;
  /** Records an output the node no longer produces (its value_info goes too). */
  dropOutput(name: string): void;
}

interface Planned {
  unit: Unit;
  node: NodeProto;
  label: string;
  edit: Edit;
}

function attr(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute.find((a) => a.name === name);
}

function removeAttrs(node: NodeProto, ...names: string[]): void {
  node.attribute = node.attribute.filter((a) => !names.includes(a.name ?? ''));
}

function attrString(a: AttributeProto | undefined): string | undefined {
  return a?.s === undefined ? undefined : new TextDecoder().decode(a.s);
}

/** The ints of an INTS attribute (an INT one counts as one value), exact. */
function attrInts(a: AttributeProto): bigint[] {
  if (a.ints.length || a.type === AttributeType.INTS) return a.ints.map(int64ToBigInt);
  return a.i !== undefined ? [int64ToBigInt(a.i)] : [];
}

/** Every graph of the model that uses the model's own default opset, with its path. */
function* modelGraphs(proto: ModelProto): Generator<{ graph: GraphProto; path: string }> {
  // Graphs inside function bodies follow their function's opset import, handled with it.
  for (const v of allGraphs(proto)) if (!v.path.startsWith('function:')) yield v;
}

/** Every name a value, tensor or node has anywhere in the model, so new ones can avoid them. */
function takenNames(proto: ModelProto): Set<string> {
  const names = new Set<string>();
  const addNodes = (nodes: NodeProto[]) => {
    for (const n of nodes) {
      for (const s of n.input) names.add(s);
      for (const s of n.output) names.add(s);
      if (n.name) names.add(n.name);
    }
  };
  for (const { graph } of allGraphs(proto)) {
    addNodes(graph.node);
    for (const t of graph.initializer) if (t.name) names.add(t.name);
    for (const s of graph.sparse_initializer) if (s.values?.name) names.add(s.values.name);
    for (const v of [...graph.input, ...graph.output, ...graph.value_info]) if (v.name) names.add(v.name);
  }
  for (const f of proto.functions) {
    addNodes(f.node);
    for (const s of [...f.input, ...f.output]) names.add(s);
  }
  return names;
}

/** Names something reads: node inputs anywhere, graph and function outputs. */
function readNames(proto: ModelProto): Set<string> {
  const names = new Set<string>();
  for (const { graph } of allGraphs(proto)) {
    for (const n of graph.node) for (const s of n.input) if (s) names.add(s);
    for (const v of graph.output) if (v.name) names.add(v.name);
  }
  for (const f of proto.functions) {
    for (const n of f.node) for (const s of n.input) if (s) names.add(s);
    for (const s of f.output) names.add(s);
  }
  return names;
}

class Refusal extends Error {}

/** The edit a node needs, undefined when it needs none; throws Refusal when it cannot be done. */
function planNode(node: NodeProto, from: number, reads: Set<string>): Edit | undefined {
  switch (node.op_type) {
    case 'Slice': {
      const starts = attr(node, 'starts');
      const ends = attr(node, 'ends');
      const axes = attr(node, 'axes');
      if (!starts && !ends && !axes && node.input.length >= 3) return undefined; // already in input form
      if (!starts || !ends) throw new Refusal('Slice-1 needs both starts and ends attributes');
      if (node.input.length !== 1) throw new Refusal(`Slice-1 takes one input, this node has ${node.input.length}`);
      const s = attrInts(starts);
      const e = attrInts(ends);
      const a = axes ? attrInts(axes) : undefined;
      if (s.length !== e.length || (a && a.length !== s.length)) {
        throw new Refusal(`starts, ends${a ? ' and axes' : ''} differ in length (${s.length}, ${e.length}${a ? `, ${a.length}` : ''})`);
      }
      return (ctx) => {
        const inputs = [
          node.input[0],
          ctx.addTensor('starts', DataType.INT64, BigInt64Array.from(s)),
          ctx.addTensor('ends', DataType.INT64, BigInt64Array.from(e)),
        ];
        if (a) inputs.push(ctx.addTensor('axes', DataType.INT64, BigInt64Array.from(a)));
        node.input = inputs;
        removeAttrs(node, 'starts', 'ends', 'axes');
      };
    }
    case 'TopK': {
      const k = attr(node, 'k');
      if (!k) {
        if (node.input.length >= 2) return undefined; // already in input form
        throw new Refusal('TopK-1 needs its k attribute');
      }
      const values = attrInts(k);
      if (values.length !== 1) throw new Refusal('the k attribute is not one integer');
      if (node.input.length !== 1) throw new Refusal(`TopK-1 takes one input, this node has ${node.input.length}`);
      return (ctx) => {
        node.input = [node.input[0], ctx.addTensor('k', DataType.INT64, BigInt64Array.from(values))];
        removeAttrs(node, 'k');
      };
    }
    case 'Upsample': {
      const mode = attrString(attr(node, 'mode')) ?? 'nearest';
      if (mode !== 'nearest' && mode !== 'linear') throw new Refusal(`mode '${mode}' has no Resize-10 equivalent`);
      const scalesAttr = attr(node, 'scales');
      if (scalesAttr) {
        if (node.input.length !== 1) throw new Refusal(`Upsample-7 takes one input, this node has ${node.input.length}`);
        const scales = Float32Array.from(scalesAttr.floats);
        if (!scales.length) throw new Refusal('the scales attribute is empty');
        return (ctx) => {
          node.input = [node.input[0], ctx.addTensor('scales', DataType.FLOAT, scales)];
          node.op_type = 'Resize';
          removeAttrs(node, 'scales');
        };
      }
      if (node.input.length !== 2 || !node.input[1]) throw new Refusal('Upsample has neither a scales attribute nor a scales input');
      return () => {
        node.op_type = 'Resize';
      };
    }
    case 'Dropout': {
      const mask = node.output[1];
      if (!mask) return undefined;
      if (reads.has(mask)) throw new Refusal(`its mask output '${mask}' is read, and Dropout-10's mask is bool where Dropout-7's had the input's type`);
      return (ctx) => {
        node.output = node.output.slice(0, 1);
        ctx.dropOutput(mask);
      };
    }
    case 'BatchNormalization': {
      if (from >= 9) return undefined;
      const spatial = attr(node, 'spatial');
      if (!spatial) return undefined;
      if (int64ToBigInt(spatial.i) !== 1n) throw new Refusal('spatial=0 (per-activation statistics) does not exist in BatchNormalization-9');
      return () => removeAttrs(node, 'spatial');
    }
    case 'Scan':
      if (from === 8) throw new Refusal("Scan-9 dropped Scan-8's sequence_lens input and batch axis");
      return undefined;
    case 'MeanVarianceNormalization':
      if (from < 9) throw new Refusal('the experimental MeanVarianceNormalization of opsets before 9 has other attributes than MeanVarianceNormalization-9');
      return undefined;
    default:
      return undefined;
  }
}

/**
 * Raises the model's default-domain opset from 7, 8 or 9 to 10, rewriting the nodes whose
 * operator changed so that the model computes exactly what it did. Mutates `model.proto` (work on
 * a copy); a model already at 10 or newer is left as it is. Throws OpsetUpgradeError, leaving the
 * model untouched, when a node cannot be converted.
 */
export function upgradeOpsetTo10(model: OnnxModel): OpsetUpgradeResult {
  const proto = model.proto;
  const subject = model.file;
  const imports = defaultImports(proto.opset_import);
  if (!imports.length) {
    const ir = int64ToNumber(proto.ir_version, 'IR version');
    // Before IR 3 a model without opset imports means opset 1.
    if (ir < 3)
      throw new OpsetUpgradeError(`IR version ${ir} without an opset import means opset 1, which cannot be upgraded automatically; ${REEXPORT}`, subject);
    for (const { graph, path } of modelGraphs(proto)) {
      const n = graph.node.find((x) => isDefaultDomain(x.domain));
      if (n)
        throw new OpsetUpgradeError(
          `node '${nodeLabel(n, graph.node.indexOf(n))}' (${n.op_type}) in graph ${path} is in the default domain, which the model does not import; the model is invalid`,
          subject,
        );
    }
    proto.opset_import.push(createMessage<OperatorSetIdProto>('OperatorSetIdProto', { domain: '', version: TARGET }));
    return { from: 0, converted: [] };
  }
  const versions = new Set(imports.map((o) => int64ToNumber(o.version, 'opset version')));
  if (versions.size > 1) throw new OpsetUpgradeError(`the model imports the default domain twice, at opsets ${[...versions].join(' and ')}`, subject);
  const from = [...versions][0];
  if (from >= TARGET) return { from, converted: [] };
  if (from < 7)
    throw new OpsetUpgradeError(`opset ${from} predates opset 7, and the operators changed too much since to upgrade automatically; ${REEXPORT}`, subject);

  const ir = int64ToNumber(proto.ir_version, 'IR version');
  const units: Unit[] = [];
  for (const { graph, path } of modelGraphs(proto)) {
    units.push({ nodes: graph.node, path, placement: ir >= 4 ? { kind: 'initializer', graph } : { kind: 'constant' } });
  }
  const functions: FunctionProto[] = [];
  for (const f of proto.functions) {
    const own = defaultImports(f.opset_import);
    if (!own.length || own.some((o) => int64ToNumber(o.version, 'opset version') >= TARGET)) continue;
    const fromF = int64ToNumber(own[0].version, 'opset version');
    if (fromF !== from) throw new OpsetUpgradeError(`function ${functionPath(f)} imports the default domain at opset ${fromF}, the model at ${from}`, subject);
    functions.push(f);
    const path = functionPath(f);
    units.push({ nodes: f.node, path, placement: { kind: 'constant' } });
    for (const s of graphsInNodes(f.node, path)) {
      units.push({ nodes: s.graph.node, path: s.path, placement: ir >= 4 ? { kind: 'initializer', graph: s.graph } : { kind: 'constant' } });
    }
  }

  // Plan every edit first: a refusal must leave the model as it was.
  const reads = readNames(proto);
  const planned: Planned[] = [];
  for (const unit of units) {
    unit.nodes.forEach((node, i) => {
      if (!isDefaultDomain(node.domain)) return;
      const label = nodeLabel(node, i);
      let edit: Edit | undefined;
      try {
        edit = planNode(node, from, reads);
      } catch (e) {
        if (!(e instanceof Refusal)) throw e;
        const where = unit.path === 'main' ? '' : ` in ${unit.path}`;
        throw new OpsetUpgradeError(
          `cannot upgrade node '${label}' (${node.op_type})${where} from opset ${from} to ${TARGET} automatically; ${REEXPORT} (${e.message})`,
          subject,
        );
      }
      if (edit) planned.push({ unit, node, label, edit });
    });
  }

  const taken = takenNames(proto);
  const unique = (base: string) => {
    let name = base;
    for (let k = 1; taken.has(name); k++) name = `${base}_${k}`;
    taken.add(name);
    return name;
  };
  const inserts = new Map<Unit, Map<NodeProto, NodeProto[]>>();
  const dropped = new Set<string>();
  for (const { unit, node, label, edit } of planned) {
    const stem = node.name || node.output[0] || label;
    edit({
      addTensor(what, dataType, values) {
        const name = unique(`${stem}_${what}`);
        const t: TensorProto = makeTensor({ name, dataType, dims: [values.length], values });
        if (unit.placement.kind === 'initializer') {
          unit.placement.graph.initializer.push(t);
        } else {
          t.name = '';
          const constant = createMessage<NodeProto>('NodeProto', {
            name: unique(`${name}_constant`),
            op_type: 'Constant',
            input: [],
            output: [name],
            attribute: [createMessage<AttributeProto>('AttributeProto', { name: 'value', type: AttributeType.TENSOR, t })],
          });
          let byNode = inserts.get(unit);
          if (!byNode) inserts.set(unit, (byNode = new Map()));
          byNode.set(node, [...(byNode.get(node) ?? []), constant]);
        }
        return name;
      },
      dropOutput(name) {
        dropped.add(name);
      },
    });
  }
  // Constant nodes go just before the node that reads them (the lists are edited in place: the
  // graph or function holds the same array).
  for (const [unit, byNode] of inserts) {
    const out: NodeProto[] = [];
    for (const n of unit.nodes) out.push(...(byNode.get(n) ?? []), n);
    unit.nodes.splice(0, unit.nodes.length, ...out);
  }
  // A dropped Dropout mask may still be declared in value_info with its old type.
  if (dropped.size) {
    for (const { graph } of allGraphs(proto)) graph.value_info = graph.value_info.filter((v) => !dropped.has(v.name ?? ''));
  }

  for (const o of imports) o.version = TARGET;
  for (const f of functions) for (const o of defaultImports(f.opset_import)) o.version = TARGET;
  return { from, converted: planned.map((p) => p.label) };
}
