// The CLI run in this process with its output captured: what `onnx-compress ARGS` prints, and its exit code.
import { run } from '../../src/cli/main';

export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

export async function cli(...argv: string[]): Promise<Captured> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(argv, { log: (s) => out.push(s), error: (s) => err.push(s) });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}
