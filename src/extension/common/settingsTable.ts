// Every `onnxCompress.*` setting the extension reads, declared once: its key and type here, its
// default and bounds in package.json's contributes.configuration (read from the manifest, never
// written again). A read clamps to the declared bounds and falls back to the declared default for
// a value of the wrong type. No `vscode` import: unit tests check the table against package.json.

export const SETTINGS_SECTION = 'onnxCompress';

export type SettingType = 'boolean' | 'integer' | 'string' | 'object';

interface SettingEntry {
  /** The key under `onnxCompress.`. */
  key: string;
  type: SettingType;
  /** Rounded to an even number before clamping (histogram bins). */
  even?: boolean;
}

export const SETTINGS = {
  probeShapes: { key: 'inspector.probeShapes', type: 'boolean' },
  inputShapes: { key: 'inspector.inputShapes', type: 'object' },
  pageSize: { key: 'inspector.pageSize', type: 'integer' },
  histogramBins: { key: 'statistics.histogramBins', type: 'integer', even: true },
  distillPython: { key: 'distill.pythonPath', type: 'string' },
  analysisSamples: { key: 'analysis.samples', type: 'integer' },
  latencyRuns: { key: 'analysis.latencyRuns', type: 'integer' },
  sensitivity: { key: 'analysis.sensitivity', type: 'boolean' },
} as const satisfies Record<string, SettingEntry>;

export type SettingName = keyof typeof SETTINGS;

type ValueOf<T extends SettingType> = T extends 'boolean' ? boolean : T extends 'integer' ? number : T extends 'string' ? string : Record<string, unknown>;
export type SettingValue<N extends SettingName> = ValueOf<(typeof SETTINGS)[N]['type']>;

/** What package.json declares for one setting. */
export interface DeclaredSetting {
  type?: unknown;
  default?: unknown;
  minimum?: unknown;
  maximum?: unknown;
}

/** The properties of a manifest's contributes.configuration (an object or a list of them). */
export function declaredSettings(manifest: unknown): Record<string, DeclaredSetting> {
  const configuration = (manifest as { contributes?: { configuration?: unknown } } | undefined)?.contributes?.configuration;
  const sections = Array.isArray(configuration) ? configuration : [configuration];
  const out: Record<string, DeclaredSetting> = {};
  for (const section of sections) Object.assign(out, (section as { properties?: Record<string, DeclaredSetting> } | undefined)?.properties ?? {});
  return out;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function fits(type: SettingType, v: unknown): boolean {
  switch (type) {
    case 'boolean':
      return typeof v === 'boolean';
    case 'integer':
      return typeof v === 'number' && Number.isFinite(v);
    case 'string':
      return typeof v === 'string';
    case 'object':
      return isPlainObject(v);
  }
}

/** `raw` (the configured value, undefined when unset) made to fit the declaration. */
export function settingValue<N extends SettingName>(name: N, declared: DeclaredSetting | undefined, raw: unknown): SettingValue<N> {
  const entry: SettingEntry = SETTINGS[name];
  const key = `${SETTINGS_SECTION}.${entry.key}`;
  if (!declared || !fits(entry.type, declared.default)) throw new Error(`package.json declares no ${entry.type} default for ${key}`);
  const value = fits(entry.type, raw) ? raw : declared.default;
  if (entry.type !== 'integer') return value as SettingValue<N>;
  let n = entry.even ? Math.round((value as number) / 2) * 2 : Math.round(value as number);
  if (typeof declared.minimum === 'number') n = Math.max(declared.minimum, n);
  if (typeof declared.maximum === 'number') n = Math.min(declared.maximum, n);
  return n as SettingValue<N>;
}
