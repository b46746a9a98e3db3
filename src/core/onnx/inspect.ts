// The node list with shapes: declared ones from value_info, the rest from a probe run.
import type { Dim, NodeList, ProbeFailure, ShapeSource } from '../../shared/summary';
import { errorMessage } from '../errors';
import { ProbeError, probeRun, type ProbeOptions } from '../runtime/probe';
import { inferElementTypes } from './elementTypes';
import { GraphIndex } from './graph';
import type { OnnxModel } from './model';
import { declaredShapes, listNodes } from './summary';

export interface NodeListOptions extends Omit<ProbeOptions, 'elemTypes'> {
  /** Run the model once to learn undeclared shapes (default true). */
  probe?: boolean;
}

export async function nodeList(model: OnnxModel, options: NodeListOptions = {}): Promise<NodeList> {
  const index = new GraphIndex(model.proto.graph!);
  const { types } = inferElementTypes(index);
  const shapes: Map<string, Dim[]> = declaredShapes(model);
  const missing = index.nodes.flatMap((n) => n.output).filter((o) => o && !shapes.has(o));
  let source: ShapeSource = shapes.size ? 'value_info' : 'none';
  let probeNote: string | undefined;
  let probeFailure: ProbeFailure | undefined;
  if (missing.length && options.probe !== false) {
    try {
      const probed = await probeRun(model, missing, { ...options, elemTypes: types });
      for (const [name, dims] of probed.shapes) if (!shapes.has(name)) shapes.set(name, dims);
      for (const [name, t] of probed.types) if (!types.has(name)) types.set(name, t);
      const given = Object.entries(probed.inputShapes)
        .map(([k, d]) => `${k}=[${d.join(',')}]`)
        .join(' ');
      const skipped = probed.notExposed.size ? `; not probed: ${[...probed.notExposed].map(([k, why]) => `${k} (${why})`).join(', ')}` : '';
      probeNote = `shapes not in value_info come from one run with synthetic inputs ${given}${skipped}`;
      source = source === 'value_info' ? 'value_info+probe' : 'probe';
    } catch (e) {
      probeNote = `no probe run: ${errorMessage(e)}`;
      probeFailure = e instanceof ProbeError ? { sentence: e.sentence, sizes: e.sizes } : { sentence: 'Shapes could not be probed.', sizes: false };
    }
  } else if (missing.length) {
    probeNote = `${missing.length} values have no declared shape (probe run disabled)`;
  }
  return { format: 'onnx-compress/node-list', version: 1, shapeSource: source, probeNote, probeFailure, nodes: listNodes(model, types, shapes) };
}
