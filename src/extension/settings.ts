// The extension's settings (declared with types and descriptions in package.json), read in one place.
import * as vscode from 'vscode';

export interface Settings {
  probeShapes: boolean;
  histogramBins: number;
  pageSize: number;
  /** Interpreter of the distillation trainer (undefined: the engine's default). */
  distillPython: string | undefined;
}

export function settings(): Settings {
  const c = vscode.workspace.getConfiguration('onnxCompress');
  const even = (n: number) => Math.max(8, Math.min(1024, Math.round(n / 2) * 2));
  return {
    probeShapes: c.get<boolean>('inspector.probeShapes', true),
    histogramBins: even(c.get<number>('statistics.histogramBins', 64)),
    pageSize: Math.max(50, Math.min(5000, c.get<number>('inspector.pageSize', 200))),
    distillPython: c.get<string>('distill.pythonPath', '').trim() || undefined,
  };
}
