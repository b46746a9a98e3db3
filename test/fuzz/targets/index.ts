// The fuzz targets by name, loaded lazily: a worker imports only the code its target feeds.
import type { FuzzTarget } from '../target';

type Loader = () => Promise<FuzzTarget<unknown>>;

const data =
  (kind: string): Loader =>
  async () =>
    (await import('./dataFiles')).dataTargets[`data-${kind}`]();

const TARGETS: Record<string, Loader> = {
  'onnx-model': async () => (await import('./onnxModel')).default(),
  'onnx-external-data': async () => (await import('./externalData')).default(),
  'quant-report': async () => (await import('./validators')).quantReportTarget(),
  'distill-spec': async () => (await import('./validators')).distillSpecTarget(),
  'webview-messages': async () => (await import('./webviewMessages')).default(),
  ...Object.fromEntries(['npy', 'npz', 'pb', 'idx', 'idx-gz', 'png', 'jpeg'].map((k) => [`data-${k}`, data(k)])),
};

export const TARGET_NAMES = Object.keys(TARGETS);

/** Targets that break the invariant on purpose, to check that the harness reports each way. */
const SELF_TESTS: Record<string, Loader> = {
  'selftest-hang': async () => (await import('./selfTest')).hang,
  'selftest-heap': async () => (await import('./selfTest')).heap,
  'selftest-throw': async () => (await import('./selfTest')).throws,
};

export async function loadTarget(name: string): Promise<FuzzTarget<unknown>> {
  const load = TARGETS[name] ?? SELF_TESTS[name];
  if (!load) throw new Error(`no fuzz target '${name}' (known: ${TARGET_NAMES.join(', ')})`);
  return load();
}
