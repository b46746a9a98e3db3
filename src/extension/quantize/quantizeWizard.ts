// The multi-step QuickPick of "ONNX: Quantize Model...": preset, data, (Custom: method, per
// channel, types), nodes to keep in float, output path. One QuickPick per step with a step counter
// and a Back button; paths can be picked in a dialog or typed (pasted) into the QuickPick itself.
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { defaultOutput } from '../../core/quant/pipeline';
import { dataBeside, labelsBeside } from './dataCandidates';
import {
  METHOD_CHOICES, PRESETS, settingsOf, SYNTHETIC_DATA, TYPE_CHOICES, type PresetId, type QuantizeChoices, type TypeChoice,
} from './choices';

export type StepId = 'preset' | 'data' | 'samples' | 'labels' | 'method' | 'perChannel' | 'types' | 'exclude' | 'output';

/** What checking a data spec against the model found: its sample count, or the problem. */
export type DataCheck = { samples: number | null } | { problem: string };

export interface WizardModel {
  file: string;
  /** Main-graph nodes, in graph order. */
  nodes: ReadonlyArray<{ name: string; op: string }>;
  /** One line per model input ("input: float32 [batch, 1, 28, 28]"), shown where data is picked. */
  inputs: string;
  /** Reads the data's headers against the model's inputs, so a misfit is said at the data step. */
  checkData(spec: string): Promise<DataCheck>;
  /** Asks before an existing output is replaced; false keeps the user at the output step. */
  confirmReplace(output: string): Promise<boolean>;
}

export interface WizardOptions {
  /** Open at this step (the steps before it keep their remembered answers). */
  startAt?: StepId;
  /** Told about every QuickPick the wizard shows (undefined when none is left). */
  onShow?: (quickPick: vscode.QuickPick<vscode.QuickPickItem> | undefined) => void;
}

interface Item extends vscode.QuickPickItem {
  value?: string;
}

interface StepSpec {
  title: string;
  placeholder: string;
  items: Item[];
  many?: boolean;
  /** Items shown as selected (many) or active (one). */
  selected?: Item[];
  /** Accept a path or spec typed into the input box. */
  typed?: boolean;
  value?: string;
}

type Answer = { kind: 'back' } | { kind: 'items'; items: Item[] } | { kind: 'typed'; value: string };

/** The steps for these choices: synthetic data has no sample count or labels to ask. */
export function stepsFor(c: Pick<QuantizeChoices, 'preset' | 'data'>): StepId[] {
  const data: StepId[] = c.data.startsWith('synthetic') ? ['data'] : ['data', 'samples', 'labels'];
  const custom: StepId[] = c.preset === 'custom' ? ['method', 'perChannel', 'types'] : [];
  return ['preset', ...data, ...custom, 'exclude', 'output'];
}

const TYPED_LABEL = '$(edit) Use the typed path';

function pick(spec: StepSpec, step: number, total: number, onShow: WizardOptions['onShow']): Promise<Answer | undefined> {
  const qp = vscode.window.createQuickPick<Item>();
  qp.title = spec.title;
  qp.placeholder = spec.placeholder;
  qp.step = step;
  qp.totalSteps = total;
  qp.ignoreFocusOut = true;
  qp.canSelectMany = !!spec.many;
  qp.matchOnDescription = true;
  qp.matchOnDetail = true;
  qp.buttons = step > 1 ? [vscode.QuickInputButtons.Back] : [];
  const typedItem: Item = { label: TYPED_LABEL, alwaysShow: true, detail: 'Type or paste a file or folder path (relative to the model), or synthetic:N' };
  const withTyped = (value: string) => (spec.typed && value.trim() ? [...spec.items, { ...typedItem, description: value.trim() }] : spec.items);
  qp.items = withTyped(spec.value ?? '');
  if (spec.value) qp.value = spec.value;
  if (spec.selected?.length) {
    if (spec.many) qp.selectedItems = spec.selected;
    else qp.activeItems = spec.selected;
  }
  return new Promise((resolve) => {
    let done = false;
    const finish = (a: Answer | undefined) => {
      if (done) return;
      done = true;
      resolve(a);
      qp.hide();
      qp.dispose();
      onShow?.(undefined);
    };
    qp.onDidTriggerButton((b) => {
      if (b === vscode.QuickInputButtons.Back) finish({ kind: 'back' });
    });
    qp.onDidChangeValue((v) => {
      if (spec.typed) qp.items = withTyped(v);
    });
    qp.onDidAccept(() => {
      const chosen = [...(spec.many ? qp.selectedItems : qp.activeItems)];
      const typed = qp.value.trim();
      // Typed text that no picked item matches is a path (the filter would have hidden that item).
      const matches = (i: Item) => [i.label, i.description, i.detail].some((t) => t?.toLowerCase().includes(typed.toLowerCase()));
      if (spec.typed && typed && (!chosen.length || chosen[0].label === TYPED_LABEL || !matches(chosen[0]))) finish({ kind: 'typed', value: typed });
      else if (spec.many || chosen.length) finish({ kind: 'items', items: chosen });
    });
    qp.onDidHide(() => finish(undefined));
    qp.show();
    onShow?.(qp as unknown as vscode.QuickPick<vscode.QuickPickItem>);
  });
}

/** A typed path made absolute (relative to the model's folder), or a synthetic spec as it is. */
function typedData(value: string, model: string): string {
  const v = value.replace(/^["']|["']$/g, '');
  return v.startsWith('synthetic') ? v : path.resolve(path.dirname(model), v);
}

/** Runs the wizard from `initial` (remembered choices); undefined when the user dismissed it. */
export async function runQuantizeWizard(model: WizardModel, initial: QuantizeChoices, options: WizardOptions = {}): Promise<QuantizeChoices | undefined> {
  const c: QuantizeChoices = { ...initial, exclude: [...initial.exclude] };
  const name = path.basename(model.file);
  let steps = stepsFor(c);
  let dataSamples: number | null = null;
  let i = Math.max(0, steps.indexOf(options.startAt ?? 'preset'));
  let notice: string | undefined;
  while (i < steps.length) {
    const id = steps[i];
    const ask = (spec: Omit<StepSpec, 'title'>, what: string) => pick({ ...spec, title: `Quantize ${name}: ${what}` }, i + 1, steps.length, options.onShow);
    let answer: Answer | undefined;
    switch (id) {
      case 'preset': {
        const items: Item[] = PRESETS.map((p) => ({ label: p.label, description: p.description, detail: p.detail, value: p.id }));
        answer = await ask({ placeholder: 'How to quantize', items, selected: items.filter((x) => x.value === c.preset) }, 'preset');
        if (answer?.kind === 'items') {
          // An output still at its default follows the mode (NAME.int8.onnx / NAME.dynamic.int8.onnx).
          const wasDefault = c.output === defaultOutput(model.file, settingsOf(c));
          c.preset = answer.items[0].value as PresetId;
          if (wasDefault) c.output = defaultOutput(model.file, settingsOf(c));
          steps = stepsFor(c);
        }
        break;
      }
      case 'data': {
        const dynamic = c.preset === 'dynamic';
        const items: Item[] = [];
        const real = c.data && !c.data.startsWith('synthetic') && fs.existsSync(c.data) ? c.data : undefined;
        if (real) items.push({ label: `$(history) ${path.basename(real)}`, description: 'last used', detail: real, value: real });
        for (const f of dataBeside(model.file).filter((f) => f !== real)) {
          items.push({ label: `$(file) ${path.relative(path.dirname(model.file), f)}`, description: 'beside the model', detail: f, value: f });
        }
        items.push(
          { label: '$(file) Choose a file...', detail: '.npz (one array per input), .npy, .pb tensors, IDX (.gz)', value: 'file' },
          { label: '$(folder-opened) Choose a folder...', detail: 'images (PNG/JPEG), .npz/.npy/.pb files, test_data_set_N folders', value: 'folder' },
          { label: '$(beaker) Synthetic data (no samples)', detail: `$(warning) Random inputs, not your data: ${dynamic ? 'the report will not say how your data fares' : 'ranges will not fit real inputs and accuracy will suffer'}. Use it to try the flow.`, value: SYNTHETIC_DATA },
        );
        const what = dynamic ? 'evaluation data (dynamic mode needs no calibration)' : 'calibration data';
        // The last choice is active; otherwise the first real option, never Synthetic.
        const active = items.filter((x) => x.value === c.data || (x.value === SYNTHETIC_DATA && c.data.startsWith('synthetic')));
        answer = await ask({ placeholder: notice ?? `Data for ${model.inputs}, or paste a path`, items, typed: true, selected: active.length ? active : [items[0]] }, what);
        notice = undefined;
        let spec: string | undefined;
        if (answer?.kind === 'typed') {
          spec = typedData(answer.value, model.file);
          if (!spec.startsWith('synthetic') && !fs.existsSync(spec)) {
            notice = `No file or folder at ${spec}: pick one, or paste another path`;
            continue;
          }
        } else if (answer?.kind === 'items') {
          const v = answer.items[0].value!;
          if (v === 'file' || v === 'folder') {
            const got = await vscode.window.showOpenDialog({
              canSelectFiles: v === 'file', canSelectFolders: v === 'folder', canSelectMany: false,
              defaultUri: vscode.Uri.file(path.dirname(model.file)), title: `${dynamic ? 'Evaluation' : 'Calibration'} data for ${name}`,
            });
            if (!got?.length) continue;
            spec = got[0].fsPath;
          } else spec = v;
        }
        if (spec !== undefined) {
          // Checked now, not after the last step: data made for another model is refused here.
          const check = await model.checkData(spec);
          if ('problem' in check) {
            notice = `${check.problem} Pick other data`;
            continue;
          }
          if (spec !== c.data) {
            c.samples = null;
            c.labels = null;
          }
          c.data = spec;
          dataSamples = check.samples;
          steps = stepsFor(c);
        }
        break;
      }
      case 'samples': {
        const all = dataSamples;
        const counts = [128, 512, 2048].filter((n) => all === null || n < all);
        const items: Item[] = [
          ...counts.map((n) => ({ label: `${n} samples`, description: n === 512 ? 'recommended' : n < 512 ? 'faster' : 'more accurate ranges', value: String(n) })),
          { label: all === null ? 'All samples' : `All ${all} samples`, description: all !== null && all <= 2048 ? 'recommended' : undefined, value: 'all' },
        ];
        const current = c.samples === null ? 'all' : String(c.samples);
        const preferred = items.find((x) => x.value === current) ?? items.find((x) => x.description === 'recommended') ?? items[0];
        answer = await ask({
          placeholder: notice ?? `How many samples to ${c.preset === 'dynamic' ? 'evaluate on' : 'calibrate on'}, or type a number`, items, typed: true, selected: [preferred],
        }, 'samples');
        notice = undefined;
        if (answer?.kind === 'typed') {
          const n = Number(answer.value.replace(/[,_\s]/g, ''));
          if (!(Number.isInteger(n) && n >= 1)) {
            notice = `'${answer.value}' is not a sample count: type a whole number of at least 1`;
            continue;
          }
          c.samples = all !== null && n >= all ? null : n;
        } else if (answer?.kind === 'items') c.samples = answer.items[0].value === 'all' ? null : Number(answer.items[0].value);
        break;
      }
      case 'labels': {
        const found = labelsBeside(c.data);
        const items: Item[] = [
          ...found.map((f) => ({ label: `$(tag) ${path.basename(f)}`, description: 'beside the data', detail: f, value: f })),
          { label: '$(circle-slash) No labels', detail: 'The report compares the quantized model with the float one only (no accuracy).', value: '' },
          { label: '$(file) Choose a labels file...', detail: 'IDX labels (.gz) or .npy of integer classes, one per sample', value: 'file' },
        ];
        const active = items.find((x) => x.value === (c.labels ?? '')) ?? items[0];
        answer = await ask({ placeholder: 'Class labels of the data, for the accuracy in the report', items, selected: [c.labels === null && found.length ? items[0] : active] }, 'labels');
        if (answer?.kind === 'items') {
          const v = answer.items[0].value!;
          if (v === 'file') {
            const got = await vscode.window.showOpenDialog({ canSelectFiles: true, canSelectMany: false, defaultUri: vscode.Uri.file(path.dirname(c.data)), title: `Labels for ${path.basename(c.data)}` });
            if (!got?.length) continue;
            c.labels = got[0].fsPath;
          } else c.labels = v || null;
        }
        break;
      }
      case 'method': {
        const items: Item[] = METHOD_CHOICES.map((m) => ({ label: m.label, detail: m.detail, value: m.id }));
        answer = await ask({ placeholder: 'How activation ranges are chosen from the data', items, selected: items.filter((x) => x.value === c.method) }, 'calibration method');
        if (answer?.kind === 'items') c.method = answer.items[0].value as QuantizeChoices['method'];
        break;
      }
      case 'perChannel': {
        const items: Item[] = [
          { label: 'Per channel', detail: 'One scale per output channel of each weight: more accurate, same speed.', value: 'yes' },
          { label: 'Per tensor', detail: 'One scale per weight: what some older runtimes require.', value: 'no' },
        ];
        answer = await ask({ placeholder: 'Weight scales', items, selected: items.filter((x) => (x.value === 'yes') === c.perChannel) }, 'weight granularity');
        if (answer?.kind === 'items') c.perChannel = answer.items[0].value === 'yes';
        break;
      }
      case 'types': {
        const items: Item[] = (Object.keys(TYPE_CHOICES) as TypeChoice[]).map((k) => ({ label: TYPE_CHOICES[k].label, detail: TYPE_CHOICES[k].detail, value: k }));
        answer = await ask({ placeholder: 'Integer types', items, selected: items.filter((x) => x.value === c.types) }, 'types');
        if (answer?.kind === 'items') c.types = answer.items[0].value as TypeChoice;
        break;
      }
      case 'exclude': {
        const ops = new Set(settingsOf({ ...c, exclude: [] }).opTypes);
        const items: Item[] = model.nodes.filter((n) => ops.has(n.op)).map((n) => ({ label: n.name, description: n.op, value: n.name }));
        const keep = new Set(c.exclude);
        answer = await ask({
          placeholder: `Nodes to keep in float (${items.length} quantizable; none selected = quantize all)`, items, many: true,
          selected: items.filter((x) => keep.has(x.value!)),
        }, 'keep in float');
        if (answer?.kind === 'items') c.exclude = answer.items.map((x) => x.value!);
        break;
      }
      case 'output': {
        const items: Item[] = [
          { label: `$(save) ${path.basename(c.output)}`, description: 'save here', detail: c.output, value: c.output },
          { label: '$(folder-opened) Choose where to save...', value: 'dialog' },
        ];
        answer = await ask({ placeholder: notice ?? 'The quantized model (a recipe, the result and the report go beside it), or paste a path', items, typed: true, selected: [items[0]] }, 'output');
        notice = undefined;
        let out: string | undefined;
        if (answer?.kind === 'typed') out = path.resolve(path.dirname(model.file), answer.value.replace(/^["']|["']$/g, ''));
        else if (answer?.kind === 'items' && answer.items[0].value === 'dialog') {
          const got = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(c.output), filters: { 'ONNX models': ['onnx'] }, title: `Save the quantized ${name}` });
          if (!got) continue;
          out = got.fsPath;
        } else if (answer?.kind === 'items') out = answer.items[0].value;
        if (out !== undefined) {
          if (path.resolve(out) === path.resolve(model.file)) {
            notice = 'That is the model itself, which is never overwritten: choose another path';
            continue;
          }
          if (fs.existsSync(out) && !(await model.confirmReplace(out))) {
            notice = `${path.basename(out)} is kept: choose another name, or confirm to replace it`;
            continue;
          }
          c.output = out;
        }
        break;
      }
    }
    if (!answer) return undefined;
    i = answer.kind === 'back' ? Math.max(0, i - 1) : i + 1;
  }
  return c;
}
