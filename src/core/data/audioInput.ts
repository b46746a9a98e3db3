// Raw audio inputs and the synthetic signal that feeds them. A float waveform in [-1, 1] fed
// normal(0,1) noise is nothing like audio: it is ten times louder than speech and flat in
// frequency, so calibration measures ranges real audio never reaches (Silero VAD: 0.4 dB output
// SQNR on speech-like windows after such a calibration). An input is taken for a waveform when its
// name says so (audio, waveform, wav, pcm, speech), or when it reaches, through data movement
// only, a spectral front end: a DFT/STFT op, or a Conv whose weight has one input channel and a
// kernel of at least 64 taps (a filterbank or a Conv-implemented STFT sliding over the samples).
import { GraphIndex } from '../onnx/graph';
import { tensorDims } from '../onnx/tensor';
import type { GraphProto, TensorProto } from '../onnx/types';

/** Shortest kernel counted as a filterbank over raw samples (4 ms at 16 kHz). */
const MIN_TAPS = 64;
const MOVEMENT = new Set(['Pad', 'Unsqueeze', 'Squeeze', 'Reshape', 'Cast', 'Identity', 'Flatten', 'Transpose', 'Slice', 'Concat']);
const AUDIO_NAME = /audio|waveform|^wav$|pcm|speech/i;

/** Every node of the model, subgraphs included, keyed by the values it reads, with the constants of its graph. */
function readers(graph: GraphProto): Map<string, Array<{ op: string; inputs: string[]; outputs: string[]; constants: Map<string, TensorProto> }>> {
  const out = new Map<string, Array<{ op: string; inputs: string[]; outputs: string[]; constants: Map<string, TensorProto> }>>();
  const visit = (index: GraphIndex, outer: Map<string, TensorProto>) => {
    const constants = new Map([...outer, ...index.constantTensors()]);
    for (const n of index.nodes) {
      const entry = { op: n.op_type ?? '', inputs: n.input, outputs: n.output, constants };
      n.input.forEach((name) => (out.get(name) ?? out.set(name, []).get(name)!).push(entry));
    }
    for (const s of index.subgraphs) visit(s.index, constants);
  };
  visit(new GraphIndex(graph), new Map());
  return out;
}

/** Why `name` is taken for a raw waveform (and the taps of the filter it reaches), or undefined. */
export function waveformReason(graph: GraphProto, name: string): { why: string; taps?: number } | undefined {
  if (AUDIO_NAME.test(name)) return { why: 'a waveform, by its name' };
  const byValue = readers(graph);
  const seen = new Set<string>();
  const queue = [name];
  while (queue.length) {
    const value = queue.shift()!;
    if (seen.has(value)) continue;
    seen.add(value);
    for (const n of byValue.get(value) ?? []) {
      if (n.op === 'DFT' || n.op === 'STFT') return { why: `a waveform: it feeds a ${n.op}` };
      if (n.op === 'Conv' && n.inputs[0] === value) {
        const w = n.constants.get(n.inputs[1]);
        const dims = w ? tensorDims(w) : [];
        if (dims.length === 3 && dims[1] === 1 && dims[2] >= MIN_TAPS) return { why: `a waveform: it feeds a ${dims[2]}-tap Conv`, taps: dims[2] };
      }
      if (MOVEMENT.has(n.op) && n.inputs[0] === value) queue.push(...n.outputs.filter((o) => o));
    }
  }
  return undefined;
}

/** Samples in a synthetic window when the model leaves the length open: 32 ms at `rate` (a VAD's
 *  chunk, 512 at 16 kHz), and at least two lengths of the filter the waveform reaches. */
export function audioWindow(rate: number, taps = 0): number {
  return Math.max(Math.round(rate * 0.032), 2 * taps);
}

/**
 * One sample of speech-like audio at `rate` Hz, written into `out`: a voiced part (a pitch of
 * 85-255 Hz with harmonics to 4 kHz falling as 1/k) mixed with noise low-passed near 3 kHz, under a
 * syllable-rate envelope (2-6 Hz), scaled to a peak drawn log-uniformly from 0.01 to 0.5 (-40 to
 * -6 dBFS) so that the samples span quiet and loud speech, over a noise floor of 1e-4.
 */
export function speechLike(out: Float32Array | Float64Array, count: number, random: () => number, rate: number): void {
  const f0 = 85 + 170 * random();
  const harmonics = Math.max(1, Math.floor(4000 / f0));
  const phases = Array.from({ length: harmonics }, () => 2 * Math.PI * random());
  const voiced = random();
  const syllable = 2 + 4 * random();
  const envPhase = 2 * Math.PI * random();
  const start = Math.floor(random() * rate);
  const lowpass = Math.exp((-2 * Math.PI * 3000) / rate);
  let noise = 0;
  let peak = 0;
  for (let i = 0; i < count; i++) {
    const t = (start + i) / rate;
    let v = 0;
    for (let k = 1; k <= harmonics; k++) v += Math.sin(2 * Math.PI * k * f0 * t + phases[k - 1]) / k;
    noise = lowpass * noise + (1 - lowpass) * (2 * random() - 1);
    const env = 0.55 + 0.45 * Math.sin(2 * Math.PI * syllable * t + envPhase);
    out[i] = env * (voiced * v + (1 - voiced) * 2 * noise);
    peak = Math.max(peak, Math.abs(out[i]));
  }
  const level = 10 ** (-2 + Math.log10(50) * random());
  const scale = peak > 0 ? level / peak : 0;
  for (let i = 0; i < count; i++) out[i] = out[i] * scale + 1e-4 * (2 * random() - 1);
}
