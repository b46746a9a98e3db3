// The extension's settings (declared with types and descriptions in package.json), read in one place.
import * as vscode from 'vscode';

export interface Settings {
  probeShapes: boolean;
  /** Input sizes for probe runs, by input name (entries that are not lists of sizes are left out). */
  inputShapes: Record<string, number[]>;
  histogramBins: number;
  pageSize: number;
  /** Interpreter of the distillation trainer (undefined: the engine's default). */
  distillPython: string | undefined;
  /** Samples the analysis after a quantization runs on (null: all). */
  analysisSamples: number | null;
  latencyRuns: number;
  sensitivity: boolean;
}

export function settings(): Settings {
  const c = vscode.workspace.getConfiguration('onnxCompress');
  const even = (n: number) => Math.max(8, Math.min(1024, Math.round(n / 2) * 2));
  return {
    probeShapes: c.get<boolean>('inspector.probeShapes', true),
    inputShapes: Object.fromEntries(Object.entries(c.get<Record<string, unknown>>('inspector.inputShapes', {}) ?? {})
      .filter((e): e is [string, number[]] => Array.isArray(e[1]) && e[1].every((d) => Number.isSafeInteger(d) && d >= 0))),
    histogramBins: even(c.get<number>('statistics.histogramBins', 64)),
    pageSize: Math.max(50, Math.min(5000, c.get<number>('inspector.pageSize', 200))),
    distillPython: c.get<string>('distill.pythonPath', '').trim() || undefined,
    analysisSamples: Math.max(0, Math.round(c.get<number>('analysis.samples', 512))) || null,
    latencyRuns: Math.max(0, Math.min(1000, Math.round(c.get<number>('analysis.latencyRuns', 20)))),
    sensitivity: c.get<boolean>('analysis.sensitivity', false),
  };
}
