// The Python side: which interpreter runs the trainer (option, then ONNX_COMPRESS_PYTHON, then
// python3), where the trainer package is (the `python/` folder shipped beside the code), and a
// probe saying exactly what is missing (Python itself, numpy, torch, CUDA).
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export const PYTHON_ENV = 'ONNX_COMPRESS_PYTHON';
export const TRAINER_MODULE = 'onnx_compress_trainer';

export function resolvePython(option?: string | null): string {
  return option || process.env[PYTHON_ENV] || 'python3';
}

/** The folder holding `onnx_compress_trainer` (the repository's or the packaged extension's `python/`). */
export function trainerPythonPath(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'python');
    if (fs.existsSync(path.join(candidate, TRAINER_MODULE, '__init__.py'))) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`the trainer package (python/${TRAINER_MODULE}) is not installed beside ${__dirname}; reinstall ONNX Compress`);
  }
}

/** The environment the trainer runs in: PYTHONPATH gets the trainer's folder first; output unbuffered. */
export function trainerEnv(): NodeJS.ProcessEnv {
  const sep = path.delimiter;
  const existing = process.env.PYTHONPATH;
  return { ...process.env, PYTHONPATH: existing ? `${trainerPythonPath()}${sep}${existing}` : trainerPythonPath(), PYTHONUNBUFFERED: '1' };
}

export interface PythonProbe {
  ok: boolean;
  python: string;
  /** What is missing: 'python', 'numpy', 'torch' (and 'cuda' only when asked for). */
  missing: string[];
  version: string | null;
  torch: string | null;
  numpy: string | null;
  cuda: boolean;
  cudaDevices: number;
  /** A sentence for the user: what is wrong and what to do. */
  message: string;
}

/** Runs the trainer's `probe` command; never throws. `needCuda` adds 'cuda' to missing when torch sees none. */
export async function probePython(python?: string | null, options: { needCuda?: boolean; signal?: AbortSignal } = {}): Promise<PythonProbe> {
  const exe = resolvePython(python);
  const base: PythonProbe = { ok: false, python: exe, missing: [], version: null, torch: null, numpy: null, cuda: false, cudaDevices: 0, message: '' };
  let out: { code: number | null; stdout: string; stderr: string; spawnError?: string };
  try {
    out = await runCapture(exe, ['-m', TRAINER_MODULE, 'probe'], trainerEnv(), options.signal);
  } catch (e) {
    return { ...base, missing: ['python'], message: `the trainer package cannot be found: ${(e as Error).message}` };
  }
  if (out.spawnError) {
    return { ...base, missing: ['python'], message: `no Python interpreter at '${exe}' (${out.spawnError}); install Python 3 with torch and numpy, then set the interpreter (setting onnxCompress.distill.pythonPath, --python, or ${PYTHON_ENV})` };
  }
  const probe = out.stdout.split('\n').map((l) => { try { return JSON.parse(l); } catch { return undefined; } }).find((e) => e && e.event === 'probe');
  if (!probe) {
    // The package could not even start (no numpy, say): read the import error.
    const mod = /No module named '([^']+)'/.exec(out.stderr)?.[1];
    const missing = mod ? [mod.split('.')[0]] : ['python'];
    return { ...base, missing, message: mod ? `${exe} lacks the module '${mod}'; install it (pip install ${mod.split('.')[0]}, or Debian's python3-${mod.split('.')[0]})` : `${exe} could not run the trainer probe (exit ${out.code}): ${lastLines(out.stderr || out.stdout)}` };
  }
  const missing: string[] = Array.isArray(probe.missing) ? [...probe.missing] : [];
  if (!probe.torch && !missing.includes('torch')) missing.push('torch');
  if (!probe.numpy && !missing.includes('numpy')) missing.push('numpy');
  if (options.needCuda && !probe.cuda) missing.push('cuda');
  const result: PythonProbe = {
    ...base, missing, version: probe.python ?? null, torch: probe.torch ?? null, numpy: probe.numpy ?? null,
    cuda: !!probe.cuda, cudaDevices: Array.isArray(probe.cudaDevices) ? probe.cudaDevices.length : Number(probe.cudaDevices ?? 0), ok: missing.length === 0, message: '',
  };
  result.message = result.ok
    ? `Python ${result.version ?? '?'} at ${exe}: torch ${result.torch}, numpy ${result.numpy}, CUDA ${result.cuda ? `yes (${result.cudaDevices} device${result.cudaDevices === 1 ? '' : 's'})` : 'no'}`
    : `${exe} lacks ${missing.join(', ')}: ${missing.map((m) => (m === 'cuda' ? 'torch sees no CUDA device (use device "cpu" or "auto", or a CUDA build of torch)' : `install ${m} (pip install ${m}, or Debian's python3-${m})`)).join('; ')}`;
  return result;
}

export function lastLines(text: string, n = 8): string {
  return text.trim().split('\n').slice(-n).join('\n');
}

function runCapture(exe: string, args: string[], env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<{ code: number | null; stdout: string; stderr: string; spawnError?: string }> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    const child = spawn(exe, args, { env, stdio: ['ignore', 'pipe', 'pipe'], signal });
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (e) => resolve({ code: null, stdout, stderr, spawnError: (e as NodeJS.ErrnoException).code ?? e.message }));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
