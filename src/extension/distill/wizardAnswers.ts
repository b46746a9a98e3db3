// What the distillation wizard's steps share: the answers so far and the questions several steps
// ask (a model, a data file, a number), each offered from the workspace with Browse and Type a path.
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { listTensors, type TensorInfo } from '../../core/distill';
import {
  DISTILL_DEFAULTS,
  type DeviceName,
  type KnowledgeSpec,
  type KnowledgeType,
  type SchemeSpec,
  type StudentSpec,
  type TensorPairSpec,
} from '../../shared/distillSpec';
import { RUNS_FOLDER } from '../../shared/distillRun';
import type { StepDecl } from '../common/stepFlow';
import type { StepInputs } from '../common/stepInputs';

/** Knowledge made of tensor pairs, and the self scheme's deep-to-shallow pairs of the student. */
export type PairKind = 'feature' | 'attention' | 'similarity' | 'auxiliary';

export interface State {
  folder: string;
  teacher?: string;
  teacherTensors?: TensorInfo[];
  student?: StudentSpec;
  studentTensors?: TensorInfo[];
  train?: string;
  trainLabels?: string | null;
  trainSamples?: number | null;
  eval?: string | null;
  evalLabels?: string | null;
  types: KnowledgeType[];
  knowledge: Partial<Record<KnowledgeType, KnowledgeSpec>>;
  /** Pairs chosen per pair kind, and pairs the user added beyond the proposed ones. */
  pairs: Partial<Record<PairKind, TensorPairSpec[]>>;
  extraPairs: Partial<Record<PairKind, TensorPairSpec[]>>;
  /** The pair kind whose "Add a pair of my choice..." was picked, and the first tensor of that pair. */
  adding?: PairKind;
  pairFirst?: TensorInfo;
  scheme: SchemeSpec;
  epochs: number;
  batchSize: number;
  lr: number;
  device: DeviceName;
  name?: string;
}

export type Step = StepDecl<State, StepInputs>;

export function initialState(folder: string): State {
  return {
    folder,
    types: [],
    knowledge: {},
    pairs: {},
    extraPairs: {},
    scheme: { kind: 'offline' },
    epochs: DISTILL_DEFAULTS.epochs,
    batchSize: DISTILL_DEFAULTS.batchSize,
    lr: DISTILL_DEFAULTS.optimizer.lr,
    device: DISTILL_DEFAULTS.device,
  };
}

export interface Item<V> extends vscode.QuickPickItem {
  value: V;
}

export const item = <V>(label: string, value: V, description?: string, detail?: string, picked?: boolean): Item<V> => ({
  label,
  value,
  description,
  detail,
  picked,
});

/** A number in [min, max] typed in a box, with the reason it is refused. */
export function numberCheck(min: number, max: number, integer = false, exclusiveMin = false) {
  return (v: string): string | undefined => {
    const n = Number(v.trim());
    if (v.trim() === '' || !Number.isFinite(n)) return 'Type a number.';
    if (integer && !Number.isInteger(n)) return 'Type a whole number.';
    if (exclusiveMin ? n <= min : n < min) return `Must be ${exclusiveMin ? 'greater than' : 'at least'} ${min}.`;
    if (n > max) return `Must be at most ${max}.`;
    return undefined;
  };
}

const IGNORED = `**/{node_modules,${RUNS_FOLDER},${DISTILL_DEFAULTS.cacheDir},.git}/**`;

export async function workspaceFiles(s: State, glob: string): Promise<string[]> {
  const uris = await vscode.workspace.findFiles(new vscode.RelativePattern(vscode.Uri.file(s.folder), glob), IGNORED, 500);
  return uris.map((u) => u.fsPath).sort();
}

/** A path as the spec writes it: relative to the spec's folder where inside it. */
export function rel(s: State, file: string): string {
  const r = path.relative(s.folder, file);
  return r.startsWith('..') || path.isAbsolute(r) ? file : r.split(path.sep).join('/');
}

export function abs(s: State, p: string): string {
  return path.isAbsolute(p) ? p : path.join(s.folder, p);
}

export function existingFile(s: State, v: string, ext?: string): string | undefined {
  const p = v.trim();
  if (!p) return 'Type a path.';
  const file = abs(s, p);
  if (!fs.existsSync(file)) return `${file} does not exist.`;
  if (ext && !file.toLowerCase().endsWith(ext)) return `Expected a ${ext} file.`;
  return undefined;
}

/** A model from the workspace's .onnx files, a browse dialog or a typed path. */
export async function pickModel(
  ui: StepInputs,
  s: State,
  placeholder: string,
  exclude: string[],
  extra: Array<Item<string>> = [],
  example = 'models/teacher.onnx',
): Promise<string> {
  const models = (await workspaceFiles(s, '**/*.onnx')).filter((m) => !exclude.includes(m));
  const picked = await ui.pick<Item<string>>({
    placeholder,
    items: [
      ...models.map((m) => item(path.basename(m), m, rel(s, path.dirname(m)) || '.')),
      ...extra,
      item('$(folder-opened) Browse...', '#browse', 'an .onnx file outside the workspace'),
      item('$(edit) Type a path...', '#type', 'absolute, or relative to the workspace folder'),
    ],
  });
  if (picked.value === '#browse') {
    const uri = await ui.dialog(() => vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'ONNX models': ['onnx'] }, title: placeholder }));
    if (!uri?.[0]) return pickModel(ui, s, placeholder, exclude, extra, example);
    return uri[0].fsPath;
  }
  if (picked.value === '#type') {
    const typed = await ui.input({ prompt: placeholder, value: '', placeholder: example, validate: (v) => existingFile(s, v, '.onnx') });
    return abs(s, typed.trim());
  }
  return picked.value;
}

/** Data or labels from the workspace's files, a browse dialog or a typed path; null for `none`. */
export async function pickData(ui: StepInputs, s: State, placeholder: string, options: { none?: string; labels?: boolean }): Promise<string | null> {
  const files = options.labels
    ? await workspaceFiles(s, '**/{*.npy,*-idx1-ubyte,*-idx1-ubyte.gz,*.idx1}')
    : await workspaceFiles(s, '**/{*.npy,*.npz,*-idx3-ubyte,*-idx3-ubyte.gz,*.idx3}');
  const picked = await ui.pick<Item<string | null>>({
    placeholder,
    items: [
      ...(options.none ? [item(options.none, null)] : []),
      ...files.map((p) => item(path.basename(p), p as string | null, rel(s, path.dirname(p)) || '.')),
      item('$(folder-opened) Browse...', '#browse', options.labels ? 'a .npy or IDX labels file' : 'a file or a folder (images, .npz, .npy, .pb, IDX)'),
      item('$(edit) Type a path...', '#type', 'absolute, or relative to the workspace folder'),
    ],
  });
  if (picked.value === '#browse') {
    const uri = await ui.dialog(() =>
      vscode.window.showOpenDialog({ canSelectMany: false, canSelectFolders: !options.labels, canSelectFiles: true, title: placeholder }),
    );
    return uri?.[0] ? uri[0].fsPath : pickData(ui, s, placeholder, options);
  }
  if (picked.value === '#type') {
    const typed = await ui.input({ prompt: placeholder, value: '', placeholder: '/data/train-images-idx3-ubyte.gz', validate: (v) => existingFile(s, v) });
    return abs(s, typed.trim());
  }
  return picked.value;
}

/** A step that asks for a number in a box and records it. */
export function numberStep(
  id: string,
  prompt: (s: State) => string,
  value: (s: State) => number | undefined,
  check: (v: string) => string | undefined,
  apply: (s: State, n: number) => void,
  when?: (s: State) => boolean,
): Step {
  return {
    id,
    when,
    ask: async (ui, s) => {
      apply(s, Number(await ui.input({ prompt: prompt(s), value: String(value(s)), validate: check })));
    },
  };
}

async function tensorsOf(model: string): Promise<TensorInfo[]> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `Reading the tensors of ${path.basename(model)}` }, () =>
    listTensors(model),
  );
}

/** The tensors of both models, read once (a PyTorch student has none to offer). */
export async function loadTensors(s: State): Promise<void> {
  s.teacherTensors ??= await tensorsOf(s.teacher!);
  if (!s.studentTensors && s.student && 'model' in s.student) s.studentTensors = await tensorsOf(abs(s, s.student.model));
  s.studentTensors ??= [];
}
