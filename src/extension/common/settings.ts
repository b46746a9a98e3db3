// The extension's settings as the code uses them, each read through the declared table
// (settingsTable.ts) with the default and bounds of the extension's own package.json.
import * as vscode from 'vscode';
import { declaredSettings, SETTINGS, SETTINGS_SECTION, settingValue, type DeclaredSetting, type SettingName, type SettingValue } from './settingsTable';

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

let declared: Record<string, DeclaredSetting> = {};

/** Reads the declared defaults and bounds from the running extension's own manifest (at activation). */
export function useManifest(packageJSON: unknown): void {
  declared = declaredSettings(packageJSON);
}

function read<N extends SettingName>(c: vscode.WorkspaceConfiguration, name: N): SettingValue<N> {
  const key = SETTINGS[name].key;
  return settingValue(name, declared[`${SETTINGS_SECTION}.${key}`], c.get(key));
}

export function settings(): Settings {
  const c = vscode.workspace.getConfiguration(SETTINGS_SECTION);
  return {
    probeShapes: read(c, 'probeShapes'),
    inputShapes: Object.fromEntries(
      Object.entries(read(c, 'inputShapes')).filter(
        (e): e is [string, number[]] => Array.isArray(e[1]) && e[1].every((d) => Number.isSafeInteger(d) && d >= 0),
      ),
    ),
    histogramBins: read(c, 'histogramBins'),
    pageSize: read(c, 'pageSize'),
    distillPython: read(c, 'distillPython').trim() || undefined,
    analysisSamples: read(c, 'analysisSamples') || null,
    latencyRuns: read(c, 'latencyRuns'),
    sensitivity: read(c, 'sensitivity'),
  };
}
