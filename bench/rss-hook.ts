// Preloaded (`node -r out/bench/rss-hook.js dist/cli.js ...`) into a process the benchmark does not
// control, such as the real CLI bundle: on exit, writes the process's peak RSS (bytes) to the file
// named by BENCH_RSS_FILE.
//
// The peak is VmHWM from /proc/self/status where there is one (Linux): getrusage's maxRSS
// (process.resourceUsage().maxRSS) carries over the high-water mark of the process before exec,
// which for a child spawned by Node is a fork of the parent, so it never reads below the parent's RSS.
import * as fs from 'fs';

export function peakRssBytes(): number {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

/** Runs a benchmark child's main: prints its result as one JSON line with the peak RSS, or the error. */
export function runChildMain(main: () => Promise<object>): void {
  main().then(
    (r) => {
      process.stdout.write(`${JSON.stringify({ ...r, maxRssBytes: peakRssBytes() })}\n`);
    },
    (e) => {
      process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 1;
    },
  );
}

const target = process.env.BENCH_RSS_FILE;
if (target) {
  process.on('exit', () => {
    fs.writeFileSync(target, JSON.stringify({ maxRssBytes: peakRssBytes() }));
  });
}
