// Synthetic data for raw audio inputs: an input that reaches a spectral front end (a Conv of one
// input channel and a long kernel, a DFT) or is named like a waveform is fed speech-like audio at
// a realistic level instead of normal(0,1); other float inputs keep the spec's distribution, and a
// per-input spec still wins. On Silero VAD the calibrated front-end ranges come close to those of
// audio-like windows (N(0,1) made them 5-9 times too wide).
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { openDataSource, parseInputSpecs } from '../../src/core/data';
import { DataType } from '../../src/core/onnx/dataTypes';
import { decodeModel, type OnnxModel } from '../../src/core/onnx/model';
import { readModel } from '../../src/core/onnx/model';
import { quantizeModel } from '../../src/core/quant/pipeline';
import { resolveSettings } from '../../src/core/quant/settings';
import type { ort } from '../../src/core/runtime/session';
import { GraphBuilder, modelBytes } from '../fixtures/builder';
import { realModel } from '../support/browser';

async function firstInput(
  model: OnnxModel,
  spec: string,
  name: string,
  inputs = parseInputSpecs([]),
): Promise<{ text: string; values: Float32Array; dims: readonly number[] }> {
  const source = await openDataSource(spec, model, { inputs });
  for await (const b of source.batches({ batchSize: 8 })) {
    const t = b[name] as ort.Tensor;
    return { text: source.describe(), values: t.data as Float32Array, dims: t.dims };
  }
  throw new Error('no batch');
}

/** x [batch, 400] -> Unsqueeze -> Conv with `taps`-tap filters of one input channel (a filterbank), or MatMul when taps is 0. */
function frontEnd(taps: number, name = 'x'): OnnxModel {
  const b = new GraphBuilder('front');
  b.input(name, DataType.FLOAT, ['batch', 400]);
  if (taps) {
    b.initializer('axes', DataType.INT64, [1], BigInt64Array.of(1n));
    b.node('Unsqueeze', [name, 'axes'], ['u']);
    b.initializer('w', DataType.FLOAT, [4, 1, taps], new Float32Array(4 * taps).fill(0.01));
    b.node('Conv', ['u', 'w'], ['y'], { strides: [taps] });
    b.output('y', DataType.FLOAT, null);
  } else {
    b.initializer('w', DataType.FLOAT, [400, 2], new Float32Array(800).fill(0.01));
    b.node('MatMul', [name, 'w'], ['y']);
    b.output('y', DataType.FLOAT, ['batch', 2]);
  }
  return decodeModel(modelBytes(b, { opset: 13 }));
}

function peaks(values: Float32Array, per: number): number[] {
  return Array.from({ length: values.length / per }, (_, s) => values.subarray(s * per, (s + 1) * per).reduce((m, v) => Math.max(m, Math.abs(v)), 0));
}

describe('synthetic data for raw audio inputs', function () {
  this.timeout(300000);

  for (const file of ['silero_vad_16k_op15.onnx', 'silero_vad.onnx']) {
    it(`${file}: the waveform input is found through its STFT Conv (in If branches too) and fed speech-like audio`, async () => {
      const model = await readModel(realModel(file));
      const { text, values, dims } = await firstInput(model, 'synthetic:8', 'input', parseInputSpecs(['input=shape:batch,512']));
      assert.match(
        text,
        /input \[.*\]: synthetic float32 \[N,512\], speech-like audio at 16000 Hz, peaks 0\.01-0\.5 \(a waveform: it feeds a (256|128)-tap Conv\)/,
        text,
      );
      assert.deepStrictEqual(dims, [8, 512]);
      const p = peaks(values, 512);
      // Peaks drawn from 0.01 to 0.5 (plus the 1e-4 floor): quiet and loud windows, all distinct.
      for (const v of p) assert.ok(v >= 0.009 && v <= 0.501, `peak ${v}`);
      assert.ok(Math.max(...p) / Math.min(...p) > 2, `peaks ${p.join(', ')} span quiet and loud`);
      assert.strictEqual(new Set(p).size, 8);
    });
  }

  it('finds a filterbank Conv of 64 taps or more; a short kernel or a MatMul keeps the distribution; a name says waveform; a spec wins', async () => {
    const conv = await firstInput(frontEnd(80), 'synthetic:4', 'x');
    assert.match(conv.text, /x \[batch,400\]: .*speech-like audio at 16000 Hz, peaks 0\.01-0\.5 \(a waveform: it feeds a 80-tap Conv\)/);
    for (const model of [frontEnd(16), frontEnd(0)]) {
      const plain = await firstInput(model, 'synthetic:4', 'x');
      assert.match(plain.text, /x \[batch,400\]: synthetic float32 \[N,400\], normal\(0,1\)/);
      assert.ok(
        peaks(plain.values, 400).every((v) => v > 1.5),
        'normal(0,1) samples reach past 1.5',
      );
    }
    const named = await firstInput(frontEnd(0, 'audio_signal'), 'synthetic:4', 'audio_signal');
    assert.match(named.text, /speech-like audio at 16000 Hz, peaks 0\.01-0\.5 \(a waveform, by its name\)/);
    const given = await firstInput(frontEnd(80), 'synthetic:4', 'x', parseInputSpecs(['x=normal:0,1']));
    assert.match(given.text, /normal\(0,1\) \(given\)/);
  });

  it('quantizing Silero on synthetic data calibrates the front end near the ranges of audio, not of N(0,1)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'synth-audio-'));
    try {
      const src = realModel('silero_vad_16k_op15.onnx');
      const range = async (inputs: Record<string, { shape?: Array<number | 'batch'>; normal?: [number, number] }>) => {
        const r = await quantizeModel(src, resolveSettings({ calibration: 'synthetic:16', batchSize: 4, perChannel: true, inputs }), {
          output: path.join(dir, 'q.onnx'),
          resultFile: false,
        });
        const of = (t: string) => r.tensors.find((x) => x.tensor === t)!.range!;
        return { input: of('input'), encoder: of('/model/encoder/0/reparam_conv/Conv_output_0') };
      };
      const audio = await range({ input: { shape: ['batch', 512] } });
      const normal = await range({ input: { shape: ['batch', 512], normal: [0, 1] } });
      console.log(
        `      input range ${JSON.stringify(audio.input)} (normal(0,1): ${JSON.stringify(normal.input)}); first encoder Conv [0, ${audio.encoder[1].toFixed(1)}] (normal(0,1): [0, ${normal.encoder[1].toFixed(1)}])`,
      );
      // Measured: input [-0.32, 0.37] against [-3.7, 3.7]; first encoder Conv up to 20 against 369
      // (audio-like windows: [-0.42, 0.42] and 73).
      assert.ok(Math.max(-audio.input[0], audio.input[1]) <= 0.51, JSON.stringify(audio.input));
      assert.ok(Math.max(-normal.input[0], normal.input[1]) > 2, JSON.stringify(normal.input));
      assert.ok(audio.encoder[1] * 5 < normal.encoder[1], `${audio.encoder[1]} vs ${normal.encoder[1]}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
