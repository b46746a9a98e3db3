import { debugging, failureLine, run } from './main';

// Whatever escapes a command (a rejected promise nobody awaited, an error in a callback) still
// ends as one line and exit code 1.
function fail(e: unknown): void {
  process.stderr.write(`onnx-compress: ${failureLine(e)}\n`);
  if (debugging() && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  process.exit(1);
}
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

void run(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
