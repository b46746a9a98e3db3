// The multi-step QuickPick of "ONNX: Quantize Model...": preset, data, (inputs, when synthetic
// data must infer something about them), (Custom: method, per channel, types), nodes to keep in
// float, output path, as steps of the extension's multi-step
// input engine. Paths can be picked in a dialog or typed (pasted) into the QuickPick itself; an
// answer that cannot be used asks the same step again, saying why in its placeholder.
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { InputsDescription } from '../../core/data/describeInputs';
import { defaultOutput } from '../../core/quant/pipeline';
import type { InputSpec } from '../../shared/quantResult';
import type { Next, StepDecl } from '../common/stepFlow';
import { runWizard, type LiveInput, type PickedOrTyped, type StepInputs } from '../common/stepInputs';
import { dataBeside, labelsBeside } from './dataCandidates';
import { asksInputs, describedInputs, inputsStep } from './inputsStep';
import {
  ALGORITHM_CHOICES,
  dataForEvaluationOnly,
  METHOD_CHOICES,
  needsRealData,
  PRESETS,
  settingsOf,
  SYNTHETIC_DATA,
  TYPE_CHOICES,
  type PresetId,
  type QuantizeChoices,
  type TypeChoice,
} from './choices';

export type StepId = 'preset' | 'algorithm' | 'data' | 'inputs' | 'samples' | 'labels' | 'method' | 'perChannel' | 'types' | 'exclude' | 'output';

/** What checking a data spec against the model found: its sample count, or the problem. */
export type DataCheck = { samples: number | null } | { problem: string };

export interface WizardModel {
  file: string;
  /** Main-graph nodes, in graph order. */
  nodes: ReadonlyArray<{ name: string; op: string }>;
  /** One line per model input ("input: float32 [batch, 1, 28, 28]"), shown where data is picked. */
  inputs: string;
  /** Reads the data's headers against the model's inputs (with the per-input specs), so a misfit is said at the data step. */
  checkData(spec: string, inputs: Record<string, InputSpec>): Promise<DataCheck>;
  /** What synthetic data with these per-input specs feeds each input (the engine's rules). */
  describeInputs(specs: Record<string, InputSpec>): InputsDescription;
  /** Asks before an existing output is replaced; false keeps the user at the output step. */
  confirmReplace(output: string): Promise<boolean>;
}

export interface WizardOptions {
  /** Open at this step (the steps before it keep their remembered answers). */
  startAt?: StepId;
  /** Told about every question the wizard shows (undefined when none is left). */
  onShow?: (input: LiveInput | undefined) => void;
}

interface Item extends vscode.QuickPickItem {
  value?: string;
}

/** The answers, and what the steps tell each other. */
interface State {
  model: WizardModel;
  c: QuantizeChoices;
  /** Samples the data holds (null: unknown), from the data step's check. */
  dataSamples: number | null;
  /** Why the step is asked again, said in its placeholder instead of the question. */
  notice?: string;
  /** The inputs step's last description of the inputs. */
  described?: { key: string; view: InputsDescription };
}

const TYPED_DETAIL = 'Type or paste a file or folder path (relative to the model), or synthetic:N';

/** A typed path made absolute (relative to the model's folder), or a synthetic spec as it is. */
function typedData(value: string, model: string): string {
  const v = value.replace(/^["']|["']$/g, '');
  return v.startsWith('synthetic') ? v : path.resolve(path.dirname(model), v);
}

/** The step's notice, said once: the question comes back on the next visit. */
function takeNotice(s: State, question: string): string {
  const placeholder = s.notice ?? question;
  s.notice = undefined;
  return placeholder;
}

const realData = (s: State) => !s.c.data.startsWith('synthetic');
const custom = (s: State) => s.c.preset === 'custom';

/** A step of Custom only: one choice among fixed options, the current answer active. */
function customStep(
  id: StepId,
  title: string,
  placeholder: string,
  items: (s: State) => Item[],
  current: (s: State, i: Item) => boolean,
  apply: (s: State, value: string) => void,
): StepDecl<State, StepInputs> {
  return {
    id,
    title,
    when: custom,
    ask: async (ui, s) => {
      const offered = items(s);
      const picked = await ui.pick({ placeholder, items: offered, matchOnDetail: true, selected: offered.filter((x) => current(s, x)) });
      apply(s, picked.value!);
    },
  };
}

async function presetStep(ui: StepInputs, s: State): Promise<Next> {
  const items: Item[] = PRESETS.map((p) => ({ label: p.label, description: p.description, detail: p.detail, value: p.id }));
  const picked = await ui.pick({ placeholder: 'How to quantize', items, matchOnDetail: true, selected: items.filter((x) => x.value === s.c.preset) });
  // An output still at its default follows the mode (NAME.int8.onnx / NAME.dynamic.int8.onnx).
  const wasDefault = s.c.output === defaultOutput(s.model.file, settingsOf(s.c));
  s.c.preset = picked.value as PresetId;
  if (wasDefault) s.c.output = defaultOutput(s.model.file, settingsOf(s.c));
}

async function algorithmStep(ui: StepInputs, s: State): Promise<Next> {
  const items: Item[] = ALGORITHM_CHOICES.map((a) => ({ label: a.label, description: a.description, detail: a.detail, value: a.id }));
  const picked = await ui.pick({
    placeholder: 'How each block of 32 weights is rounded to 4 bits',
    items,
    matchOnDetail: true,
    selected: items.filter((x) => x.value === s.c.algorithm),
  });
  s.c.algorithm = picked.value as QuantizeChoices['algorithm'];
  // Synthetic inputs would steer GPTQ/AWQ to fit random numbers: the data step asks for real data.
  if (needsRealData(s.c) && s.c.data.startsWith('synthetic')) s.c.data = '';
}

async function dataStep(ui: StepInputs, s: State): Promise<Next> {
  const { model, c } = s;
  const dynamic = dataForEvaluationOnly(c);
  const items: Item[] = [];
  const real = c.data && !c.data.startsWith('synthetic') && fs.existsSync(c.data) ? c.data : undefined;
  if (real) items.push({ label: `$(history) ${path.basename(real)}`, description: 'last used', detail: real, value: real });
  for (const f of dataBeside(model.file).filter((f) => f !== real)) {
    items.push({ label: `$(file) ${path.relative(path.dirname(model.file), f)}`, description: 'beside the model', detail: f, value: f });
  }
  items.push(
    { label: '$(file) Choose a file...', detail: '.npz (one array per input), .npy, .pb tensors, IDX (.gz)', value: 'file' },
    { label: '$(folder-opened) Choose a folder...', detail: 'images (PNG/JPEG), .npz/.npy/.pb files, test_data_set_N folders', value: 'folder' },
  );
  if (!needsRealData(c)) {
    items.push({
      label: '$(beaker) Synthetic data (no samples)',
      detail: `$(warning) Random inputs, not your data: ${dynamic ? 'the report will not say how your data fares' : 'ranges will not fit real inputs and accuracy will suffer'}. Use it to try the flow.`,
      value: SYNTHETIC_DATA,
    });
  }
  // The last choice is active; otherwise the first real option, never Synthetic.
  const active = items.filter((x) => x.value === c.data || (x.value === SYNTHETIC_DATA && c.data.startsWith('synthetic')));
  const answer = await ui.pickOrType({
    placeholder: takeNotice(s, `Data for ${model.inputs}, or paste a path`),
    items,
    matchOnDetail: true,
    typedDetail: TYPED_DETAIL,
    selected: active.length ? active : [items[0]],
  });
  let spec: string;
  if ('typed' in answer) {
    spec = typedData(answer.typed, model.file);
    if (spec.startsWith('synthetic') && needsRealData(c)) {
      s.notice = `${c.algorithm.toUpperCase()} fits the weights to the layer inputs of your data; random inputs would mislead it. Pick your data, or go back and choose RTN or HQQ`;
      return 'again';
    }
    if (!spec.startsWith('synthetic') && !fs.existsSync(spec)) {
      s.notice = `No file or folder at ${spec}: pick one, or paste another path`;
      return 'again';
    }
  } else if (answer.item.value === 'file' || answer.item.value === 'folder') {
    const v = answer.item.value;
    const got = await ui.dialog(() =>
      vscode.window.showOpenDialog({
        canSelectFiles: v === 'file',
        canSelectFolders: v === 'folder',
        canSelectMany: false,
        defaultUri: vscode.Uri.file(path.dirname(model.file)),
        title: `${dynamic ? 'Evaluation' : 'Calibration'} data for ${path.basename(model.file)}`,
      }),
    );
    if (!got?.length) return 'again';
    spec = got[0].fsPath;
  } else spec = answer.item.value!;
  // Checked now, not after the last step: data made for another model is refused here. Synthetic
  // data that needs a size the model leaves open goes on: the inputs step asks for it.
  const check = await model.checkData(spec, c.inputs);
  const inputsFix = spec.startsWith('synthetic') && !!describedInputs(s).problem;
  if ('problem' in check && !inputsFix) {
    s.notice = `${check.problem} Pick other data`;
    return 'again';
  }
  if (spec !== c.data) {
    c.samples = null;
    c.labels = null;
  }
  c.data = spec;
  s.dataSamples = 'samples' in check ? check.samples : null;
}

async function samplesStep(ui: StepInputs, s: State): Promise<Next> {
  const { c } = s;
  const all = s.dataSamples;
  const counts = [128, 512, 2048].filter((n) => all === null || n < all);
  const items: Item[] = [
    ...counts.map((n) => ({ label: `${n} samples`, description: n === 512 ? 'recommended' : n < 512 ? 'faster' : 'more accurate ranges', value: String(n) })),
    { label: all === null ? 'All samples' : `All ${all} samples`, description: all !== null && all <= 2048 ? 'recommended' : undefined, value: 'all' },
  ];
  const current = c.samples === null ? 'all' : String(c.samples);
  const preferred = items.find((x) => x.value === current) ?? items.find((x) => x.description === 'recommended') ?? items[0];
  const answer: PickedOrTyped<Item> = await ui.pickOrType({
    placeholder: takeNotice(s, `How many samples to ${dataForEvaluationOnly(c) ? 'evaluate on' : 'calibrate on'}, or type a number`),
    items,
    matchOnDetail: true,
    typedDetail: TYPED_DETAIL,
    selected: [preferred],
  });
  if ('item' in answer) {
    c.samples = answer.item.value === 'all' ? null : Number(answer.item.value);
    return;
  }
  const n = Number(answer.typed.replace(/[,_\s]/g, ''));
  if (!(Number.isInteger(n) && n >= 1)) {
    s.notice = `'${answer.typed}' is not a sample count: type a whole number of at least 1`;
    return 'again';
  }
  c.samples = all !== null && n >= all ? null : n;
}

async function labelsStep(ui: StepInputs, s: State): Promise<Next> {
  const { c } = s;
  const found = labelsBeside(c.data);
  const items: Item[] = [
    ...found.map((f) => ({ label: `$(tag) ${path.basename(f)}`, description: 'beside the data', detail: f, value: f })),
    { label: '$(circle-slash) No labels', detail: 'The report compares the quantized model with the float one only (no accuracy).', value: '' },
    { label: '$(file) Choose a labels file...', detail: 'IDX labels (.gz) or .npy of integer classes, one per sample', value: 'file' },
  ];
  const active = items.find((x) => x.value === (c.labels ?? '')) ?? items[0];
  const picked = await ui.pick({
    placeholder: 'Class labels of the data, for the accuracy in the report',
    items,
    matchOnDetail: true,
    selected: [c.labels === null && found.length ? items[0] : active],
  });
  if (picked.value !== 'file') {
    c.labels = picked.value || null;
    return;
  }
  const got = await ui.dialog(() =>
    vscode.window.showOpenDialog({
      canSelectFiles: true,
      canSelectMany: false,
      defaultUri: vscode.Uri.file(path.dirname(c.data)),
      title: `Labels for ${path.basename(c.data)}`,
    }),
  );
  if (!got?.length) return 'again';
  c.labels = got[0].fsPath;
}

async function excludeStep(ui: StepInputs, s: State): Promise<Next> {
  const ops = new Set(settingsOf({ ...s.c, exclude: [] }).opTypes);
  // Half precision converts every node (no op list): any can be kept in float32.
  const items: Item[] = s.model.nodes.filter((n) => !ops.size || ops.has(n.op)).map((n) => ({ label: n.name, description: n.op, value: n.name }));
  const keep = new Set(s.c.exclude);
  const picked = await ui.pick({
    placeholder: `Nodes to keep in float (${items.length} quantizable; none selected = quantize all)`,
    items,
    canSelectMany: true,
    matchOnDetail: true,
    selected: items.filter((x) => keep.has(x.value!)),
  });
  s.c.exclude = picked.map((x) => x.value!);
}

async function outputStep(ui: StepInputs, s: State): Promise<Next> {
  const { model, c } = s;
  const items: Item[] = [
    { label: `$(save) ${path.basename(c.output)}`, description: 'save here', detail: c.output, value: c.output },
    { label: '$(folder-opened) Choose where to save...', value: 'dialog' },
  ];
  const answer = await ui.pickOrType({
    placeholder: takeNotice(s, 'The quantized model (a recipe, the result and the report go beside it), or paste a path'),
    items,
    matchOnDetail: true,
    typedDetail: TYPED_DETAIL,
    selected: [items[0]],
  });
  let out: string;
  if ('typed' in answer) out = path.resolve(path.dirname(model.file), answer.typed.replace(/^["']|["']$/g, ''));
  else if (answer.item.value === 'dialog') {
    const got = await ui.dialog(() =>
      vscode.window.showSaveDialog({
        defaultUri: vscode.Uri.file(c.output),
        filters: { 'ONNX models': ['onnx'] },
        title: `Save the quantized ${path.basename(model.file)}`,
      }),
    );
    if (!got) return 'again';
    out = got.fsPath;
  } else out = answer.item.value!;
  if (path.resolve(out) === path.resolve(model.file)) {
    s.notice = 'That is the model itself, which is never overwritten: choose another path';
    return 'again';
  }
  if (fs.existsSync(out) && !(await ui.dialog(() => model.confirmReplace(out)))) {
    s.notice = `${path.basename(out)} is kept: choose another name, or confirm to replace it`;
    return 'again';
  }
  c.output = out;
}

function dataTitle(s: State): string {
  if (s.c.preset === 'dynamic') return 'evaluation data (dynamic mode needs no calibration)';
  if (s.c.preset === 'int4')
    return needsRealData(s.c)
      ? `calibration data (${s.c.algorithm.toUpperCase()} reads the layer inputs)`
      : `evaluation data (${s.c.algorithm.toUpperCase()} needs none)`;
  if (s.c.preset === 'fp16') return 'data (layers whose values leave the float16 range stay float32)';
  return 'calibration data';
}

const STEPS: ReadonlyArray<StepDecl<State, StepInputs>> = [
  { id: 'preset', title: 'preset', ask: presetStep },
  { id: 'algorithm', title: 'algorithm', when: (s) => s.c.preset === 'int4', ask: algorithmStep },
  { id: 'data', title: dataTitle, ask: dataStep },
  { id: 'inputs', title: (s) => (s.c.data.startsWith('synthetic') ? 'inputs (what synthetic data feeds each)' : 'inputs'), when: asksInputs, ask: inputsStep },
  // Synthetic data has no sample count or labels to ask.
  { id: 'samples', title: 'samples', when: realData, ask: samplesStep },
  { id: 'labels', title: 'labels', when: realData, ask: labelsStep },
  customStep(
    'method',
    'calibration method',
    'How activation ranges are chosen from the data',
    () => METHOD_CHOICES.map((m) => ({ label: m.label, detail: m.detail, value: m.id })),
    (s, x) => x.value === s.c.method,
    (s, v) => {
      s.c.method = v as QuantizeChoices['method'];
    },
  ),
  customStep(
    'perChannel',
    'weight granularity',
    'Weight scales',
    () => [
      { label: 'Per channel', detail: 'One scale per output channel of each weight: more accurate, same speed.', value: 'yes' },
      { label: 'Per tensor', detail: 'One scale per weight: what some older runtimes require.', value: 'no' },
    ],
    (s, x) => (x.value === 'yes') === s.c.perChannel,
    (s, v) => {
      s.c.perChannel = v === 'yes';
    },
  ),
  customStep(
    'types',
    'types',
    'Integer types',
    () => (Object.keys(TYPE_CHOICES) as TypeChoice[]).map((k) => ({ label: TYPE_CHOICES[k].label, detail: TYPE_CHOICES[k].detail, value: k })),
    (s, x) => x.value === s.c.types,
    (s, v) => {
      s.c.types = v as TypeChoice;
    },
  ),
  { id: 'exclude', title: 'keep in float', ask: excludeStep },
  { id: 'output', title: 'output', ask: outputStep },
];

/** Runs the wizard from `initial` (remembered choices); undefined when the user dismissed it. */
export async function runQuantizeWizard(model: WizardModel, initial: QuantizeChoices, options: WizardOptions = {}): Promise<QuantizeChoices | undefined> {
  const state: State = { model, c: { ...initial, exclude: [...initial.exclude], inputs: { ...initial.inputs } }, dataSamples: null };
  const wizard = { title: `Quantize ${path.basename(model.file)}`, steps: STEPS };
  return (await runWizard(wizard, state, options)) ? state.c : undefined;
}
