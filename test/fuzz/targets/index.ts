// The fuzz targets by name, loaded lazily: a worker imports only the code its target feeds.
import type { FuzzTarget } from '../target';

type Loader = () => Promise<FuzzTarget<any>>;

const data = (kind: string): Loader => async () => (await import('./dataFiles')).dataTargets[`data-${kind}`]();

const TARGETS: Record<string, Loader> = {
  'onnx-model': async () => (await import('./onnxModel')).default(),
  'onnx-external-data': async () => (await import('./externalData')).default(),
  'quant-report': async () => (await import('./validators')).quantReportTarget(),
  'distill-spec': async () => (await import('./validators')).distillSpecTarget(),
  'webview-messages': async () => (await import('./webviewMessages')).default(),
  ...Object.fromEntries(['npy', 'npz', 'pb', 'idx', 'idx-gz', 'png', 'jpeg'].map((k) => [`data-${k}`, data(k)])),
};

export const TARGET_NAMES = Object.keys(TARGETS);

export async function loadTarget(name: string): Promise<FuzzTarget<any>> {
  const load = TARGETS[name];
  if (!load) throw new Error(`no fuzz target '${name}' (known: ${TARGET_NAMES.join(', ')})`);
  return load();
}
