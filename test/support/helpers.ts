// Shared helpers for the unit suites: temporary folders that are always removed, a timeout
// wrapper for code that must not hang, seeded bytes, and onnxruntime runs of models on disk or
// in memory.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { decodeModel, type OnnxModel } from '../../src/core/onnx/model';

/** Temporary folders under os.tmpdir(); call `cleanup()` in an `after`/`afterEach` hook. */
export class TempDirs {
  private readonly dirs: string[] = [];

  constructor(private readonly prefix = 'onnx-compress-test-') {}

  make(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), this.prefix));
    this.dirs.push(dir);
    return dir;
  }

  cleanup(): void {
    for (const d of this.dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  }
}

/** Rejects when `work` takes longer than `ms` (so a hang fails the test instead of stalling it). */
export async function withTimeout<T>(work: Promise<T> | (() => Promise<T> | T), ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    const p = typeof work === 'function' ? Promise.resolve().then(work) : work;
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Deterministic bytes (mulberry32). */
export function seededBytes(seed: number, n: number): Uint8Array {
  let a = seed >>> 0;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
  }
  return out;
}

/** `n` seeded uniform values in [-1, 1) (a linear congruential generator: the same on every machine). */
export function seededFloats(seed: number, n: number): Float32Array {
  let a = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return (a / 2 ** 32) * 2 - 1;
  });
}

export type Outputs = Record<string, { type: string; dims: number[]; data: number[] | string[] }>;

function plain(results: ort.InferenceSession.ReturnType): Outputs {
  const out: Outputs = {};
  for (const [name, t] of Object.entries(results)) {
    const data = t.type === 'string' ? [...(t.data as string[])] : Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
    out[name] = { type: t.type, dims: [...t.dims], data };
  }
  return out;
}

/** Runs a model file (or model bytes) with onnxruntime-node directly, as any other tool would. */
export async function runOrt(model: string | Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Outputs> {
  const session =
    typeof model === 'string'
      ? await ort.InferenceSession.create(model, { logSeverityLevel: 3 })
      : await ort.InferenceSession.create(model, { logSeverityLevel: 3 });
  try {
    return plain(await session.run(feeds));
  } finally {
    await session.release();
  }
}

/** Runs an open session and returns plain arrays. */
export async function runSession(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>): Promise<Outputs> {
  return plain(await session.run(feeds));
}

/** Lists a folder recursively (relative paths, sorted). */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(d, e.name), r);
      else out.push(r);
    }
  };
  walk(dir, '');
  return out.sort();
}

export { ort };

/** A model read synchronously (tests only; the product reads with readModel). */
export function readModelSync(file: string): OnnxModel {
  const abs = path.resolve(file);
  return decodeModel(fs.readFileSync(abs), { file: abs, label: file });
}
