// The engine's trainable-graph export as a line protocol, for the Python trainer's tests
// (python/tests/support.py): each stdin line `{"model": FILE, "dir": DIR}` is answered on stdout by
// `{"graphFile": ...}` or `{"error": MESSAGE}`, so that the trainer is tested on the graph.json the
// extension and the CLI really write, not on a copy of the exporter. One process serves many
// models: the ONNX conformance data is a thousand of them.
import * as readline from 'readline';
import { exportTrainableGraph } from '../src/core/distill/trainableGraph';

async function main(): Promise<void> {
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    let reply: object;
    try {
      const { model, dir } = JSON.parse(line) as { model: string; dir: string };
      reply = { graphFile: (await exportTrainableGraph(model, dir)).graphFile };
    } catch (err) {
      reply = { error: err instanceof Error ? err.message : String(err) };
    }
    process.stdout.write(`${JSON.stringify(reply)}\n`);
  }
}

void main();
