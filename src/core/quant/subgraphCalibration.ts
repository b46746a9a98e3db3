// Calibration of values inside If branches. onnxruntime returns graph outputs of the main graph
// only, so a value computed inside a branch cannot be asked for by name. It is lifted out instead,
// on a copy of the model: the branch lists it as an extra output, the other branch lists an empty
// float tensor in the same place (a Constant of shape [0]), and the If gets a matching extra output,
// which is a value of the enclosing graph; nested branches repeat this up to the main graph. The
// lifted output holds exactly the branch's value when the branch ran, and nothing when the other
// branch ran: the empty tensor's extremes (+Inf, -Inf) add nothing to any collector. A value whose
// branch no calibration batch took is reported as unobserved, and its nodes stay in float.
// Loop and Scan bodies are not lifted: their values change at every iteration.
import type { NodeDecision, QuantSettings } from '../../shared/quantResult';
import type { DataSource } from '../data';
import { errorMessage, OnnxCompressError } from '../errors';
import { createMessage, encodeMessage } from '../onnx/codec';
import { DataType } from '../onnx/dataTypes';
import { GraphIndex } from '../onnx/graph';
import { decodeModel, type OnnxModel } from '../onnx/model';
import { makeTensor } from '../onnx/tensor';
import { AttributeType, type AttributeProto, type GraphProto, type NodeProto, type ValueInfoProto } from '../onnx/types';
import { calibrate, type CalibrationResult, type CalibrationRun } from './calibrate';
import type { QuantPlan } from './plan';

interface Owner {
  node: NodeProto;
  attribute: string;
}

export interface LiftedModel {
  model: OnnxModel;
  /** Value inside a branch -> the main-graph output that carries it. */
  lifted: Map<string, string>;
  /** Values that cannot be lifted (inside a Loop or Scan body), with the reason. */
  unliftable: Map<string, string>;
}

const floatOutput = (name: string) => createMessage<ValueInfoProto>('ValueInfoProto', { name, type: { tensor_type: { elem_type: DataType.FLOAT } } });

/** A copy of `model` in which every value of `tensors` defined inside If branches is a main-graph output. */
export function liftBranchValues(model: OnnxModel, tensors: readonly string[]): LiftedModel {
  const copy = decodeModel(encodeMessage('ModelProto', model.proto), { file: model.file, baseDir: model.external.baseDir });
  const main = new GraphIndex(copy.proto.graph!);
  // Where each value is defined: the chain of owning nodes from the main graph down.
  const owners = new Map<string, Owner[]>();
  const names = new Set<string>();
  const walk = (g: GraphIndex, chain: Owner[]) => {
    for (const name of [...g.producer.keys(), ...g.inputs.keys(), ...g.initializers.keys()]) {
      names.add(name);
      if (!owners.has(name)) owners.set(name, chain);
    }
    for (const s of g.subgraphs) walk(s.index, [...chain, { node: g.nodes[s.node], attribute: s.attribute }]);
  };
  walk(main, []);
  const unique = (base: string) => {
    let name = base;
    for (let k = 1; names.has(name); k++) name = `${base}_${k}`;
    names.add(name);
    return name;
  };
  const branch = (node: NodeProto, attribute: string): GraphProto | undefined => node.attribute.find((a) => a.name === attribute)?.g ?? undefined;

  const lifted = new Map<string, string>();
  const unliftable = new Map<string, string>();
  for (const tensor of tensors) {
    const chain = owners.get(tensor);
    if (!chain?.length) continue; // a main-graph value (or unknown): observed as it is
    const loop = chain.find((o) => o.node.op_type !== 'If');
    if (loop) {
      unliftable.set(tensor, `it is inside the ${loop.node.op_type} body of '${loop.node.name || loop.node.op_type}', whose values change at each iteration`);
      continue;
    }
    let current = tensor;
    for (let k = chain.length - 1; k >= 0; k--) {
      const { node, attribute } = chain[k];
      const taken = branch(node, attribute)!;
      const other = branch(node, attribute === 'then_branch' ? 'else_branch' : 'then_branch')!;
      const at = taken.output.findIndex((o) => o.name === current);
      if (at >= 0 && node.output[at]) {
        current = node.output[at];
        continue;
      }
      taken.output.push(floatOutput(current));
      const empty = unique(`${tensor}__not_taken`);
      other.node.push(
        createMessage<NodeProto>('NodeProto', {
          op_type: 'Constant',
          output: [empty],
          name: empty,
          attribute: [
            createMessage<AttributeProto>('AttributeProto', {
              name: 'value',
              type: AttributeType.TENSOR,
              t: makeTensor({ name: empty, dataType: DataType.FLOAT, dims: [0], values: new Float32Array(0) }),
            }),
          ],
        }),
      );
      other.output.push(floatOutput(empty));
      const out = unique(`${tensor}__lifted`);
      node.output.push(out);
      current = out;
    }
    lifted.set(tensor, current);
  }
  return { model: copy, lifted, unliftable };
}

export interface SubgraphCalibration extends CalibrationResult {
  /** Values no batch computed (their branch was never taken), or that cannot be observed, with the reason. */
  unobserved: Map<string, string>;
}

/** Calibrates `tensors`, lifting those inside If branches out of them (see the top of this file). */
export async function calibrateWithSubgraphs(
  model: OnnxModel,
  tensors: string[],
  data: DataSource,
  settings: QuantSettings,
  run: CalibrationRun = {},
): Promise<SubgraphCalibration> {
  const { model: lifted, lifted: names, unliftable } = liftBranchValues(model, tensors);
  const observed = tensors.filter((t) => !unliftable.has(t));
  let result: CalibrationResult;
  try {
    result = await calibrate(names.size ? lifted : model, [...new Set(observed.map((t) => names.get(t) ?? t))], data, settings, run);
  } catch (e) {
    // A run that fails on sizes the data layer guessed (a symbolic dim set to 1) says which to give.
    const guessed = data
      .describe()
      .split('\n')
      .map((l) => l.replace(/^\s*note: /, ''))
      .filter((l) => /symbolic dims .* are 1; give sizes as/.test(l));
    if (!guessed.length || e instanceof OnnxCompressError || (e as Error).name === 'AbortError') throw e;
    throw new OnnxCompressError(`the model could not run on the calibration data (${errorMessage(e).split('\n')[0]}); ${guessed.join('; ')}`);
  }
  const ranges = new Map<string, typeof result.ranges extends Map<string, infer R> ? R : never>();
  const unobserved = new Map(unliftable);
  for (const t of observed) {
    const r = result.ranges.get(names.get(t) ?? t);
    if (!r) continue;
    // Both collector families say so when no batch held a finite value.
    if (names.has(t) && r.note?.includes('no finite value observed')) {
      unobserved.set(t, 'no calibration batch took the branch it is in');
      continue;
    }
    ranges.set(t, r);
  }
  return { ...result, ranges, unobserved };
}

/**
 * Keeps in float the planned nodes that read or write an unobserved value, with the reason in
 * their decision; returns the names of those nodes.
 */
export function keepUnobservedInFloat(plan: QuantPlan, unobserved: Map<string, string>): string[] {
  if (!unobserved.size) return [];
  // A value whose parameters come from an unobserved one (data movement, a fused Relu) is unknown too.
  for (const t of plan.activations) {
    const from = [plan.sharedParams.get(t), plan.fusedActivationRanges.get(t)].find((x) => x !== undefined && unobserved.has(x));
    if (from && !unobserved.has(t)) unobserved.set(t, unobserved.get(from)!);
  }
  const dropped: string[] = [];
  plan.nodes = plan.nodes.filter((p) => {
    const touched = [...p.activationInputs.map((k) => p.inputs[k]), ...p.outputs].find((t) => unobserved.has(t));
    if (!touched) return true;
    const d = plan.decisions.find((x: NodeDecision) => x.node === p.name && x.quantized);
    if (d) {
      d.quantized = false;
      d.reason = `kept in float: the range of '${touched}' is unknown (${unobserved.get(touched)})`;
    }
    dropped.push(p.name);
    return false;
  });
  const still = new Set(plan.nodes.flatMap((p) => [...p.activationInputs.map((k) => p.inputs[k]), ...p.outputs]));
  plan.activations = plan.activations.filter((t) => still.has(t));
  return dropped;
}
