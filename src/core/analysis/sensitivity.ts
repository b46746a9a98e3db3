// Sensitivity: for each node the earlier run quantized, the output error when only that node is
// quantized and when every node but that one is, re-quantizing with the saved ranges (no new
// calibration) and scoring on a few samples. Rank 1 = the node whose quantization alone costs most.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { SensitivityReport, SensitivityEntry } from '../../shared/quantReport';
import type { QuantResult } from '../../shared/quantResult';
import type { DataSource } from '../data';
import { errorMessage, OnnxCompressError } from '../errors';
import { readModel } from '../onnx/model';
import { createSession } from '../runtime/session';
import { exactNode, quantizedNodes, requantize, scoreModel } from './requantize';

export interface SensitivityOptions {
  samples: number;
  batchSize: number;
  ep: string;
  signal?: AbortSignal;
  onProgress?: (p: { stage: string; batch?: number; total?: number }) => void;
}

export async function measureSensitivity(floatFile: string, previous: QuantResult, data: DataSource, o: SensitivityOptions): Promise<SensitivityReport> {
  if (previous.settings.mode !== 'static') throw new OnnxCompressError('sensitivity needs a static quantization (dynamic mode has no calibrated ranges to reuse)', previous.output);
  const nodes = quantizedNodes(previous);
  const float = await readModel(floatFile);
  const outputs = float.proto.graph!.output.map((x) => x.name!);
  const floatSession = await createSession(float, { executionProviders: [o.ep] });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-compress-sensitivity-'));
  const score = { samples: o.samples, batchSize: o.batchSize, ep: o.ep, signal: o.signal };
  const variant = async (change: { include?: string[]; exclude?: string[] }, name: string): Promise<number | null> => {
    if (o.signal?.aborted) throw new OnnxCompressError('cancelled; no report was written', previous.output);
    const file = path.join(dir, `${name}.onnx`);
    try {
      await requantize(floatFile, previous, change, file, o.signal, false);
    } catch (e) {
      if (o.signal?.aborted) throw e;
      // e.g. excluding the only quantized node leaves nothing to quantize.
      if (/no node to quantize/.test(errorMessage(e))) return null;
      throw e;
    }
    try {
      return (await scoreModel(floatSession, file, outputs, data, score)).outputSqnr;
    } finally {
      fs.rmSync(file, { force: true });
    }
  };
  try {
    const all = fs.existsSync(previous.output) ? (await scoreModel(floatSession, previous.output, outputs, data, score)).outputSqnr : await variant({}, 'all');
    const entries: SensitivityEntry[] = [];
    for (const [k, node] of nodes.entries()) {
      o.onProgress?.({ stage: `sensitivity of '${node}'`, batch: k + 1, total: nodes.length });
      const producer = float.proto.graph!.node.find((n) => n.name === node);
      entries.push({
        tensor: producer?.output[0] ?? '',
        node,
        onlyThisSqnr: await variant({ include: [exactNode(node)], exclude: previous.settings.exclude }, `only-${k}`),
        allButThisSqnr: await variant({ include: previous.settings.include, exclude: [...previous.settings.exclude, exactNode(node)] }, `but-${k}`),
        rank: 0,
      });
    }
    // Most sensitive first: the lowest SQNR when quantized alone; ties broken by the gain of keeping it in float.
    const key = (e: SensitivityEntry) => e.onlyThisSqnr ?? Infinity;
    [...entries].sort((a, b) => key(a) - key(b) || (b.allButThisSqnr ?? -Infinity) - (a.allButThisSqnr ?? -Infinity)).forEach((e, i) => (e.rank = i + 1));
    entries.sort((a, b) => a.rank - b.rank);
    return { samples: o.samples, allQuantizedSqnr: all, entries };
  } finally {
    await floatSession.release();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
