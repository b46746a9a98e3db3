// Summarizes a V8 CPU profile (node --cpu-prof) by self time per function, for the profiling step
// of BENCHMARKS.md, e.g.:
//
//   node --cpu-prof --cpu-prof-dir=/tmp/prof out/bench/quant-child.js calib-rss \
//     test/fixtures/models/fashion_cnn.onnx /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz entropy 8 512
//   node out/bench/cpuprofile-top.js /tmp/prof/*.cpuprofile [TOP]
import * as fs from 'fs';

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  samples: number[];
  timeDeltas: number[];
}

function main(): void {
  const [file, topArg] = process.argv.slice(2);
  if (!file) throw new Error('usage: node out/bench/cpuprofile-top.js FILE.cpuprofile [TOP]');
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const selfUs = new Map<number, number>();
  p.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const byFunction = new Map<string, number>();
  let total = 0;
  for (const n of p.nodes) {
    const ms = (selfUs.get(n.id) ?? 0) / 1000;
    total += ms;
    const f = n.callFrame;
    const where = f.url ? `${f.url.split('/').slice(-3).join('/')}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + ms);
  }
  console.log(`total ${total.toFixed(0)} ms of samples; self time by function:`);
  for (const [k, ms] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg ?? 15))) {
    console.log(`${ms.toFixed(1).padStart(9)} ms ${((100 * ms) / total).toFixed(1).padStart(5)}%  ${k}`);
  }
}

main();
