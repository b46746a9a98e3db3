// The quantize wizard's inputs step: every model input with what synthetic data feeds it (the
// engine's own description, describeSyntheticInputs), accepted as it is or changed per input by
// typing a spec in the CLI's --input syntax, checked as it is typed by the CLI's parser and against
// the model. Asked only when something about the inputs is inferred (an integer input, a size
// other than the batch that the model leaves open, a batch axis that is not the first) or given.
import type * as vscode from 'vscode';
import type { InputDescription, InputsDescription } from '../../core/data/describeInputs';
import { DataSourceError } from '../../core/data/errors';
import { parseInputSpecs } from '../../core/data/inputSpecs';
import { formatInputSpecs } from '../../shared/inputSpecText';
import type { InputSpec } from '../../shared/quantResult';
import { Back, type Next } from '../common/stepFlow';
import type { StepInputs } from '../common/stepInputs';

type Specs = Record<string, InputSpec>;

export interface InputsStepState {
  model: { describeInputs(specs: Specs): InputsDescription };
  c: { data: string; inputs: Specs };
  /** Why the step is asked again, said in its placeholder instead of the question. */
  notice?: string;
  /** The last description, by the specs it was made for (a step's `when` asks often). */
  described?: { key: string; view: InputsDescription };
}

interface Row extends vscode.QuickPickItem {
  action: 'accept' | 'clear' | 'input';
  input?: InputDescription;
}

const KINDS = /^(shape|batch|range|normal|value):/;

const isSynthetic = (s: InputsStepState) => s.c.data.startsWith('synthetic');

export function describedInputs(s: InputsStepState): InputsDescription {
  const key = JSON.stringify(s.c.inputs);
  if (s.described?.key !== key) s.described = { key, view: s.model.describeInputs(s.c.inputs) };
  return s.described.view;
}

/**
 * Whether the step is asked: synthetic data for a model with an input whose feed is inferred (or
 * that cannot be made without a spec), or specs already given (so nothing is carried unseen).
 */
export function asksInputs(s: InputsStepState): boolean {
  if (Object.keys(s.c.inputs).length) return true;
  if (!isSynthetic(s)) return false;
  const view = describedInputs(s);
  return !!view.problem || view.inputs.some((r) => !r.plain);
}

/** Items without a name ("shape:batch,16") belong to `name`: the box edits one input. */
function withName(text: string, name: string): string[] {
  return text
    .split(';')
    .map((t) => t.trim())
    .filter((t) => t !== '')
    .map((t) => (KINDS.test(t) ? `${name}=${t}` : t));
}

function sizesText(r: InputDescription): string {
  return r.shape ? `[${r.shape.join(',')}]` : r.declared;
}

function rowDescription(r: InputDescription): string {
  const parts = [`${r.type} ${sizesText(r)}`];
  if (r.given) parts.push('set by you');
  else if (r.guessed.length) parts.push(`${r.guessed.join(', ')} guessed as 1`);
  return parts.join(' · ');
}

/** The values, and where the batch is when not on axis 0 (kept short: the row is one line). */
function rowDetail(r: InputDescription): string {
  if (r.batchAxis === null) return `${r.values} · no batch axis: the same every batch`;
  return r.batchAxis > 0 ? `${r.values} · batch on axis ${r.batchAxis}` : r.values;
}

/** Why `text` cannot be `name`'s spec (with an example), or undefined when it can. */
function specProblem(s: InputsStepState, row: InputDescription, text: string): string | undefined {
  if (!text.trim()) return undefined;
  const example = `Example: ${row.specText || `${row.name}=shape:batch`}`;
  let parsed: Specs;
  try {
    parsed = parseInputSpecs(withName(text, row.name));
  } catch (e) {
    if (e instanceof DataSourceError) return `${e.message}. ${example}`;
    throw e;
  }
  const others = Object.keys(parsed).filter((n) => n !== row.name);
  if (others.length)
    return `This box sets '${row.name}' only (it names ${others.map((n) => `'${n}'`).join(', ')}); pick another input in the list to set it. ${example}`;
  const problem = s.model.describeInputs({ ...s.c.inputs, [row.name]: parsed[row.name] }).problem;
  return problem ? `${problem}. ${example}` : undefined;
}

export async function inputsStep(ui: StepInputs, s: InputsStepState): Promise<Next> {
  const view = describedInputs(s);
  const given = Object.keys(s.c.inputs).length;
  const items: Row[] = [
    {
      label: '$(check) Use these inputs',
      description: given ? `${given} of ${view.inputs.length} set by you` : 'as inferred from the model',
      detail: isSynthetic(s)
        ? 'Synthetic data feeds each input as listed.'
        : 'Your specs say how the data is read (sizes, batch axis); values apply to synthetic data only.',
      action: 'accept',
    },
    ...view.inputs.map((r): Row => ({
      label: r.name,
      description: rowDescription(r),
      detail: rowDetail(r),
      action: 'input',
      input: r,
    })),
  ];
  if (given) items.push({ label: '$(discard) Clear your specs', detail: 'Every input as the engine infers it.', action: 'clear' });
  const question = view.problem
    ? `${view.problem}: pick the input to give its spec`
    : 'What each input is fed: Enter to use it, or pick an input to set its sizes or values';
  const placeholder = s.notice ?? question;
  s.notice = undefined;
  const picked = await ui.pick({ placeholder, items, matchOnDetail: true, selected: [items[0]] });
  if (picked.action === 'accept') {
    if (!view.problem) return;
    s.notice = `${view.problem}: pick the input to give its spec`;
    return 'again';
  }
  if (picked.action === 'clear') {
    s.c.inputs = {};
    return 'again';
  }
  const row = picked.input!;
  const current = s.c.inputs[row.name];
  let typed: string;
  try {
    typed = await ui.input({
      prompt: `${row.name} (${row.type}, declared ${row.declared}): write it as --input takes it, items separated by ;. Empty: as inferred`,
      value: current ? formatInputSpecs({ [row.name]: current }) : row.specText,
      placeholder: row.specText,
      validate: (v) => specProblem(s, row, v),
    });
  } catch (e) {
    // Back from the box returns to the list, not to the step before.
    if (e instanceof Back) return 'again';
    throw e;
  }
  const rest = { ...s.c.inputs };
  delete rest[row.name];
  const spec = typed.trim() ? parseInputSpecs(withName(typed, row.name))[row.name] : undefined;
  // The inferred spec accepted as it was shown changes nothing: it stays inferred.
  const unchanged = !current && spec && formatInputSpecs({ [row.name]: spec }) === row.specText;
  s.c.inputs = spec && !unchanged ? { ...rest, [row.name]: spec } : rest;
  return 'again';
}
