// "Done means onnxruntime fuses it": the quantized model is loaded with an optimized-model dump,
// which is read back to count the Conv/MatMul/Gemm nodes that became integer kernels, and to name
// those that did not, with the likely reason. The model also runs once on real input.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { FusionReport } from '../../shared/quantResult';
import { errorMessage } from '../errors';
import { readModel } from '../onnx/model';
import { INTEGER_OPS } from '../onnx/quantInfo';
import type { GraphProto, NodeProto } from '../onnx/types';
import { attributeGraphs } from '../onnx/walk';
import { createSessionFromFile, type ort } from '../runtime/session';

const FLOAT_COMPUTE = new Set(['Conv', 'ConvTranspose', 'MatMul', 'Gemm', 'FusedConv', 'FusedMatMul', 'FusedGemm']);

const WHY: Record<string, string> = {
  ConvTranspose: 'onnxruntime has no integer ConvTranspose kernel on CPU',
  Gemm: 'a Gemm fuses only with 2-D input, transA = 0 and a quantized constant weight',
  MatMul: 'both inputs must be quantized 8-bit tensors (a float side input or a 16-bit type stops the fusion)',
  Conv: 'the weight must be int8 (symmetric) or uint8 with a quantized input and output',
};

export interface Verification {
  fusion: FusionReport;
  loads: boolean;
  ran: boolean;
  note: string;
}

export async function verifyQuantized(
  file: string,
  candidates: Array<{ name: string; opType: string }>,
  feeds: Record<string, ort.Tensor> | undefined,
  ep: string,
  sixteenBit = false,
): Promise<Verification> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-compress-verify-'));
  const optimizedFile = path.join(dir, 'optimized.onnx');
  let session: ort.InferenceSession;
  try {
    // The staged file this engine just wrote: onnxruntime reads it (and its data file) itself,
    // without a copy of its bytes in JavaScript beside the model being written.
    session = await createSessionFromFile(file, { optimizedModelFilePath: optimizedFile, optimizedExternalData: true, executionProviders: [ep] });
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    // The reason, without the (staged) file name the caller knows better.
    return {
      loads: false,
      ran: false,
      note: errorMessage(e).replace(`${file}: `, ''),
      fusion: { candidates: candidates.length, fused: 0, integerOps: {}, unfused: [] },
    };
  }
  let ran = false;
  let note = 'loads in onnxruntime';
  try {
    if (feeds) {
      const out = await session.run(feeds);
      for (const t of Object.values(out)) t.dispose();
      ran = true;
      note = 'loads and runs on a calibration batch';
    }
  } catch (e) {
    note = `loads, but fails to run: ${errorMessage(e)}`;
  } finally {
    await session.release();
  }
  const integerOps: Record<string, number> = {};
  const floatNodes = new Map<string, string>();
  try {
    // The dump keeps its tensors in its own data file beside it (built tensor by tensor, where an
    // inline dump holds the whole model in memory once more); only its op types are read.
    const optimized = await readModel(optimizedFile);
    // Nodes of If branches (and other subgraphs) too: onnxruntime optimizes those graphs as well.
    const all = (g: GraphProto): NodeProto[] => g.node.flatMap((n) => [n, ...n.attribute.flatMap((a) => attributeGraphs(a).flatMap(all))]);
    for (const n of all(optimized.proto.graph!)) {
      const op = n.op_type ?? '';
      if (INTEGER_OPS.has(op)) integerOps[op] = (integerOps[op] ?? 0) + 1;
      if (FLOAT_COMPUTE.has(op) && n.name) floatNodes.set(n.name, op);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const unfused = candidates
    .filter((c) => floatNodes.has(c.name))
    .map((c) => ({
      node: c.name,
      opType: c.opType,
      reason: sixteenBit
        ? 'onnxruntime fuses 8-bit Q/DQ only: with 16-bit activations or weights it computes in float between Q/DQ (the accuracy-first mode)'
        : (WHY[c.opType] ?? 'onnxruntime kept it in float'),
    }));
  return { loads: true, ran, note, fusion: { candidates: candidates.length, fused: candidates.length - unfused.length, integerOps, unfused } };
}
