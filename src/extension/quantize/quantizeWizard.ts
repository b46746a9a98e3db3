// The multi-step QuickPick of "ONNX: Quantize Model...": preset, data, (Custom: method, per
// channel, types), nodes to keep in float, output path. One QuickPick per step with a step counter
// and a Back button; paths can be picked in a dialog or typed (pasted) into the QuickPick itself.
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { defaultOutput } from '../../core/quant/pipeline';
import {
  METHOD_CHOICES, PRESETS, settingsOf, SYNTHETIC_DATA, TYPE_CHOICES, type PresetId, type QuantizeChoices, type TypeChoice,
} from './choices';

export type StepId = 'preset' | 'data' | 'method' | 'perChannel' | 'types' | 'exclude' | 'output';

export interface WizardModel {
  file: string;
  /** Main-graph nodes, in graph order. */
  nodes: ReadonlyArray<{ name: string; op: string }>;
  /** One line per model input ("input: float32 [batch, 1, 28, 28]"), shown where data is picked. */
  inputs: string;
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

export function stepsFor(preset: PresetId): StepId[] {
  return preset === 'custom' ? ['preset', 'data', 'method', 'perChannel', 'types', 'exclude', 'output'] : ['preset', 'data', 'exclude', 'output'];
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
  let steps = stepsFor(c.preset);
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
          steps = stepsFor(c.preset);
        }
        break;
      }
      case 'data': {
        const dynamic = c.preset === 'dynamic';
        const items: Item[] = [];
        if (!c.data.startsWith('synthetic') && fs.existsSync(c.data)) items.push({ label: `$(history) ${path.basename(c.data)}`, description: 'last used', detail: c.data, value: c.data });
        items.push(
          { label: '$(file) Choose a file...', detail: '.npz (one array per input), .npy, .pb tensors, IDX (.gz)', value: 'file' },
          { label: '$(folder-opened) Choose a folder...', detail: 'images (PNG/JPEG), .npz/.npy/.pb files, test_data_set_N folders', value: 'folder' },
          { label: '$(beaker) Synthetic data (no samples)', detail: `$(warning) Random inputs, not your data: ${dynamic ? 'the report will not say how your data fares' : 'ranges will not fit real inputs and accuracy will suffer'}. Use it to try the flow.`, value: SYNTHETIC_DATA },
        );
        const what = dynamic ? 'evaluation data (dynamic mode needs no calibration)' : 'calibration data';
        answer = await ask({
          placeholder: notice ?? `Data for ${model.inputs}, or paste a path`, items, typed: true,
          selected: items.filter((x) => x.value === c.data || (x.value === SYNTHETIC_DATA && c.data.startsWith('synthetic'))),
        }, what);
        notice = undefined;
        if (answer?.kind === 'typed') {
          const spec = typedData(answer.value, model.file);
          if (!spec.startsWith('synthetic') && !fs.existsSync(spec)) {
            notice = `No file or folder at ${spec}: pick one, or paste another path`;
            continue;
          }
          c.data = spec;
        } else if (answer?.kind === 'items') {
          const v = answer.items[0].value!;
          if (v === 'file' || v === 'folder') {
            const got = await vscode.window.showOpenDialog({
              canSelectFiles: v === 'file', canSelectFolders: v === 'folder', canSelectMany: false,
              defaultUri: vscode.Uri.file(path.dirname(model.file)), title: `${dynamic ? 'Evaluation' : 'Calibration'} data for ${name}`,
            });
            if (!got?.length) continue;
            c.data = got[0].fsPath;
          } else c.data = v;
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
