// Seeded, audio-like test signals (sums of sines with a slow envelope, plus noise) and the
// exact-feed .npz files that recurrent VAD models such as Silero take.
import { seededRandom } from '../../src/core/random';
import { writeNpz } from './npyWriter';

/** `length` samples at `rate` Hz: 2-5 sines of 80-3000 Hz under an envelope, plus white noise; peak about 0.5. */
export function audioLike(seed: number, length: number, rate = 16000): Float32Array {
  const random = seededRandom(seed);
  const tones = 2 + Math.floor(random() * 4);
  const parts = Array.from({ length: tones }, () => ({ f: 80 + random() * 2920, a: 0.05 + random() * 0.15, p: random() * 2 * Math.PI }));
  const noise = 0.005 + random() * 0.02;
  const wobble = 1 + random() * 5;
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    const t = i / rate;
    let v = 0;
    for (const s of parts) v += s.a * Math.sin(2 * Math.PI * s.f * t + s.p);
    const env = 0.6 + 0.4 * Math.sin(2 * Math.PI * wobble * t);
    out[i] = env * v + noise * (random() * 2 - 1);
  }
  return out;
}

/** One Silero VAD feed as a .npz: input [1,n] float32, state [2,1,128] float32 zeros, sr int64 scalar. */
export function writeSileroFeed(file: string, seed: number, samples = 512, rate = 16000): void {
  writeNpz(file, {
    input: { descr: '<f4', shape: [1, samples], data: audioLike(seed, samples, rate) },
    state: { descr: '<f4', shape: [2, 1, 128], data: new Float32Array(2 * 128) },
    sr: { descr: '<i8', shape: [], data: BigInt64Array.of(BigInt(rate)) },
  });
}
