// The Python side: which interpreter runs the trainer, where the trainer package is (the
// `python/` folder shipped beside the code), and a probe saying exactly what is missing (Python
// itself, numpy, torch, CUDA). An interpreter named by the user (option, then ONNX_COMPRESS_PYTHON)
// is authoritative; otherwise python3 on PATH, and when it lacks what the trainer needs (a pyenv or
// venv Python without torch, typically) the system's interpreter, saying so.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export const PYTHON_ENV = 'ONNX_COMPRESS_PYTHON';
export const TRAINER_MODULE = 'onnx_compress_trainer';
const DEFAULT_PYTHON = 'python3';
/** Tried after python3 on PATH when the user named no interpreter. */
const FALLBACK_PYTHONS: readonly string[] = process.platform === 'win32' ? ['python'] : ['/usr/bin/python3'];
const NAME_ONE = `name one that has them (setting onnxCompress.distill.pythonPath, --python, or ${PYTHON_ENV})`;
const INSTALL: Record<string, string> = {
  torch: 'apt-get install python3-torch libopenblas0-pthread, or pip install torch',
  numpy: 'apt-get install python3-numpy, or pip install numpy',
  python: 'install Python 3 with torch and numpy',
};

/** The interpreter the user named (option, then ONNX_COMPRESS_PYTHON), else python3. */
export function resolvePython(option?: string | null): string {
  return option || process.env[PYTHON_ENV] || DEFAULT_PYTHON;
}

/** The folder holding `onnx_compress_trainer` (the repository's or the packaged extension's `python/`). */
export function trainerPythonPath(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'python');
    if (fs.existsSync(path.join(candidate, TRAINER_MODULE, '__init__.py'))) return candidate;
    if (path.dirname(dir) === dir)
      throw new Error(`the trainer package (python/${TRAINER_MODULE}) is not installed beside ${__dirname}; reinstall ONNX Compress`);
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
  /** The interpreter's own path (sys.executable) when it ran. */
  executable: string | null;
  /** What is missing: 'python', 'numpy', 'torch' (and 'cuda' only when asked for). */
  missing: string[];
  version: string | null;
  torch: string | null;
  numpy: string | null;
  cuda: boolean;
  cudaDevices: number;
  /** When python3 on PATH lacked something and another interpreter is used: what python3 lacked. */
  fallbackFrom: string | null;
  /** One line for the user: what is wrong and what to do (or, when ok, what was found). */
  message: string;
}

export interface ProbeOptions {
  /** Adds 'cuda' to missing when torch sees no CUDA device. */
  needCuda?: boolean;
  signal?: AbortSignal;
  /** Interpreters tried after python3 when none is named (default FALLBACK_PYTHONS). */
  fallbacks?: readonly string[];
}

/**
 * Probes the interpreter the user named, or else python3 and then the fallbacks, returning the
 * first that has everything (with `fallbackFrom` set when it is not python3). Never throws.
 */
export async function probePython(python?: string | null, options: ProbeOptions = {}): Promise<PythonProbe> {
  const named = python || process.env[PYTHON_ENV];
  if (named) {
    // The user's choice stands: a wrong one is an error to fix, not something to route around.
    const p = await probeOne(named, options);
    if (!p.ok) p.message = `${p.message}${python ? '' : ` (${named} comes from ${PYTHON_ENV})`}`;
    return p;
  }
  const first = await probeOne(DEFAULT_PYTHON, options);
  if (first.ok) return first;
  const tried = [first];
  const seen = new Set([candidatePath(first.executable ?? onPath(DEFAULT_PYTHON))]);
  for (const exe of options.fallbacks ?? FALLBACK_PYTHONS) {
    const real = candidatePath(exe);
    if (real !== null && seen.has(real)) continue;
    seen.add(real);
    const p = await probeOne(exe, options);
    if (p.ok) {
      const lacked = `${DEFAULT_PYTHON} on PATH${first.executable ? ` (${first.executable})` : ''} ${lacks(first)}`;
      return { ...p, fallbackFrom: lacked, message: `${lacked}; using ${exe} instead: ${p.message}` };
    }
    tried.push(p);
  }
  const missing = [...new Set(tried.flatMap((t) => t.missing))];
  const fixes = missing.filter((m) => INSTALL[m]).map((m) => INSTALL[m]);
  if (missing.includes('cuda')) fixes.push('for CUDA a CUDA build of torch, or device "cpu" or "auto"');
  return {
    ...first,
    message:
      `no Python interpreter has what the trainer needs: ${tried.map((t) => `${t.python}${t.executable && t.executable !== t.python ? ` (${t.executable})` : ''} ${lacks(t)}`).join('; ')}. ` +
      `To fix: ${fixes.join('; ')}; or ${NAME_ONE}`,
  };
}

function lacks(p: PythonProbe): string {
  return p.missing.includes('python') ? 'cannot run the trainer' : `lacks ${p.missing.join(', ')}`;
}

/** Probes one interpreter with the trainer's `probe` command; never throws. */
async function probeOne(exe: string, options: ProbeOptions): Promise<PythonProbe> {
  const base: PythonProbe = {
    ok: false,
    python: exe,
    executable: null,
    missing: [],
    version: null,
    torch: null,
    numpy: null,
    cuda: false,
    cudaDevices: 0,
    fallbackFrom: null,
    message: '',
  };
  let out: { code: number | null; stdout: string; stderr: string; spawnError?: string };
  try {
    out = await runCapture(exe, ['-m', TRAINER_MODULE, 'probe'], trainerEnv(), options.signal);
  } catch (e) {
    return { ...base, missing: ['python'], message: `the trainer package cannot be found: ${(e as Error).message}` };
  }
  if (out.spawnError) {
    return { ...base, missing: ['python'], message: `no Python interpreter at '${exe}' (${out.spawnError}); ${INSTALL.python}, then ${NAME_ONE}` };
  }
  const probe = out.stdout
    .split('\n')
    .map((l) => {
      try {
        return JSON.parse(l);
      } catch {
        return undefined;
      }
    })
    .find((e) => e && e.event === 'probe');
  if (!probe) {
    // The package could not even start (no numpy, say): read the import error.
    const mod = /No module named '([^']+)'/.exec(out.stderr)?.[1];
    const top = mod?.split('.')[0];
    const missing = top ? [top] : ['python'];
    return {
      ...base,
      missing,
      message: top
        ? `${exe} lacks the module '${mod}'; install it (${INSTALL[top] ?? `pip install ${top}, or Debian's python3-${top}`}), or ${NAME_ONE}`
        : `${exe} could not run the trainer probe (exit ${out.code}): ${lastLines(out.stderr || out.stdout, 1)}`,
    };
  }
  const missing: string[] = Array.isArray(probe.missing) ? [...probe.missing] : [];
  if (!probe.torch && !missing.includes('torch')) missing.push('torch');
  if (!probe.numpy && !missing.includes('numpy')) missing.push('numpy');
  if (options.needCuda && !probe.cuda) missing.push('cuda');
  const result: PythonProbe = {
    ...base,
    missing,
    executable: typeof probe.executable === 'string' ? probe.executable : null,
    version: probe.python ?? null,
    torch: probe.torch ?? null,
    numpy: probe.numpy ?? null,
    cuda: !!probe.cuda,
    cudaDevices: Array.isArray(probe.cudaDevices) ? probe.cudaDevices.length : Number(probe.cudaDevices ?? 0),
    ok: missing.length === 0,
    message: '',
  };
  result.message = result.ok
    ? `Python ${result.version ?? '?'} at ${exe}: torch ${result.torch}, numpy ${result.numpy}, CUDA ${result.cuda ? `yes (${result.cudaDevices} device${result.cudaDevices === 1 ? '' : 's'})` : 'no'}`
    : `${exe} lacks ${missing.join(', ')}: ${missing.map((m) => (m === 'cuda' ? 'torch sees no CUDA device (use device "cpu" or "auto", or a CUDA build of torch)' : `install ${m} (${INSTALL[m]})`)).join('; ')}; or ${NAME_ONE}`;
  return result;
}

/** Where a command name resolves on PATH (null when it does not). */
function onPath(command: string): string | null {
  if (command.includes(path.sep)) return command;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, command);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      /* not here */
    }
  }
  return null;
}

/**
 * The interpreter's path as found, links not followed: a venv's python3 links to its base
 * interpreter but sees other packages, so the two are different candidates.
 */
function candidatePath(file: string | null): string | null {
  if (!file) return null;
  const found = onPath(file) ?? file;
  return fs.existsSync(found) ? path.resolve(found) : null;
}

export function lastLines(text: string, n = 8): string {
  return text.trim().split('\n').slice(-n).join('\n');
}

function runCapture(
  exe: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  signal?: AbortSignal,
): Promise<{ code: number | null; stdout: string; stderr: string; spawnError?: string }> {
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
