// The widgets of the multi-step input engine: each question is a QuickPick or an InputBox titled
// by the wizard and its step, with the step counter "n/m" and a Back button from step 2 on; a file
// dialog closes the question first. The next question replaces the one answered, so the flow never
// looks closed in between. The live widget is published (the extension's tests answer it).
import * as vscode from 'vscode';
import { Back, Cancelled, StepFlow, type StepDecl } from './stepFlow';

export type LiveInput = vscode.QuickPick<vscode.QuickPickItem> | vscode.InputBox;

export interface PickOptions<T extends vscode.QuickPickItem> {
  placeholder: string;
  items: readonly T[];
  /** Items shown selected (multi-select) or active (single). */
  selected?: readonly T[];
  canSelectMany?: boolean;
  matchOnDescription?: boolean;
  matchOnDetail?: boolean;
  /** For multi-select: why the current selection cannot be accepted (undefined = fine); said in the title. */
  validateMany?: (items: readonly T[]) => string | undefined;
}

export interface InputOptions {
  prompt: string;
  value: string;
  placeholder?: string;
  /** An error message for a value that cannot be accepted, undefined when it can. */
  validate: (value: string) => string | undefined | Promise<string | undefined>;
}

/** A pick that also takes text typed into its box (a pasted path): the typed text, or the item picked. */
export type PickedOrTyped<T> = { item: T } | { typed: string };

const TYPED_LABEL = '$(edit) Use the typed path';

interface Position {
  title: string;
  step: number;
  totalSteps: number;
}

/** The questions a step asks (each throws Back or Cancelled when the user goes back or closes). */
export class StepInputs {
  private current?: LiveInput;

  constructor(
    private readonly position: () => Position,
    private readonly publish: (input: LiveInput | undefined) => void,
  ) {}

  async pick<T extends vscode.QuickPickItem>(o: PickOptions<T> & { canSelectMany: true }): Promise<T[]>;
  async pick<T extends vscode.QuickPickItem>(o: PickOptions<T>): Promise<T>;
  async pick<T extends vscode.QuickPickItem>(o: PickOptions<T>): Promise<T | T[]> {
    const qp = this.quickPick(o);
    const title = qp.title;
    // QuickPick has no validation message in this VS Code: the problem goes in the title.
    const showProblem = (problem: string | undefined) => {
      qp.title = problem ? `${title}: ${problem}` : title;
    };
    return this.show(qp, (resolve) => [
      qp.onDidAccept(() => {
        if (qp.canSelectMany) {
          const problem = o.validateMany?.(qp.selectedItems);
          showProblem(problem);
          if (!problem) resolve([...qp.selectedItems]);
        } else {
          const item = qp.selectedItems[0] ?? qp.activeItems[0];
          if (item) resolve(item);
        }
      }),
      qp.onDidChangeSelection((items) => {
        if (qp.canSelectMany) showProblem(o.validateMany?.(items));
      }),
    ]);
  }

  /** A single-select pick whose box also takes a typed path (offered as a "Use the typed path" row). */
  async pickOrType<T extends vscode.QuickPickItem>(
    o: Omit<PickOptions<T>, 'canSelectMany' | 'validateMany'> & { typedDetail: string },
  ): Promise<PickedOrTyped<T>> {
    const typedRow = { label: TYPED_LABEL, alwaysShow: true, detail: o.typedDetail };
    const withTyped = (value: string): vscode.QuickPickItem[] => (value.trim() ? [...o.items, { ...typedRow, description: value.trim() }] : [...o.items]);
    const qp = this.quickPick<vscode.QuickPickItem>(o);
    return this.show(qp, (resolve) => [
      qp.onDidChangeValue((v) => {
        qp.items = withTyped(v);
      }),
      qp.onDidAccept(() => {
        const chosen = qp.activeItems[0];
        const typed = qp.value.trim();
        // Typed text that the active row does not match is a path (the filter would have hidden that row).
        const matches = (i: vscode.QuickPickItem) => [i.label, i.description, i.detail].some((t) => t?.toLowerCase().includes(typed.toLowerCase()));
        if (typed && (!chosen || chosen.label === TYPED_LABEL || !matches(chosen))) resolve({ typed });
        else if (chosen) resolve({ item: chosen as T });
      }),
    ]);
  }

  async input(o: InputOptions): Promise<string> {
    const box = vscode.window.createInputBox();
    this.decorate(box);
    box.prompt = o.prompt;
    box.value = o.value;
    box.placeholder = o.placeholder;
    let checking = 0;
    const check = async (value: string) => {
      const n = ++checking;
      const problem = await o.validate(value);
      if (n === checking) box.validationMessage = problem;
      return problem;
    };
    void check(o.value);
    return this.show(box, (resolve) => [
      box.onDidChangeValue((v) => void check(v)),
      box.onDidAccept(async () => {
        // Checked again here: a value set from code does not always announce itself.
        const value = box.value;
        box.busy = true;
        const problem = await check(value);
        box.busy = false;
        if (!problem) resolve(value);
      }),
    ]);
  }

  /** A dialog (open, save, a modal question) shown with the question closed; the step decides what a dismissal means. */
  async dialog<R>(show: () => Thenable<R>): Promise<R> {
    this.close();
    return show();
  }

  /** Closes the question on screen (the flow ended, or a dialog takes its place). */
  close(): void {
    this.current?.dispose();
    this.current = undefined;
    this.publish(undefined);
  }

  private quickPick<T extends vscode.QuickPickItem>(o: PickOptions<T>): vscode.QuickPick<T> {
    const qp = vscode.window.createQuickPick<T>();
    this.decorate(qp);
    qp.placeholder = o.placeholder;
    qp.canSelectMany = o.canSelectMany ?? false;
    qp.matchOnDescription = o.matchOnDescription ?? true;
    qp.matchOnDetail = o.matchOnDetail ?? false;
    qp.items = o.items;
    if (o.selected?.length) {
      if (qp.canSelectMany) qp.selectedItems = o.selected;
      else qp.activeItems = o.selected;
    }
    return qp;
  }

  private decorate(input: LiveInput | vscode.QuickPick<vscode.QuickPickItem>): void {
    const at = this.position();
    input.title = at.title;
    input.step = at.step;
    input.totalSteps = at.totalSteps;
    input.ignoreFocusOut = true;
    input.buttons = at.step > 1 ? [vscode.QuickInputButtons.Back] : [];
  }

  private show<R>(input: vscode.QuickPick<vscode.QuickPickItem> | vscode.InputBox, listen: (resolve: (r: R) => void) => vscode.Disposable[]): Promise<R> {
    const previous = this.current;
    let settled = false;
    let subscriptions: vscode.Disposable[] = [];
    return new Promise<R>((resolve, reject) => {
      const settle = (fn: () => void) => {
        settled = true;
        fn();
      };
      subscriptions = [
        ...listen((r) => settle(() => resolve(r))),
        input.onDidTriggerButton((b) => {
          if (b === vscode.QuickInputButtons.Back) settle(() => reject(new Back()));
        }),
        input.onDidHide(() => {
          if (!settled) settle(() => reject(new Cancelled()));
        }),
      ];
      this.current = input;
      input.show();
      // The next widget replaces the previous one, so the flow never looks closed in between.
      if (previous !== input) previous?.dispose();
      this.publish(input);
    }).finally(() => subscriptions.forEach((s) => s.dispose()));
  }
}

/** A wizard: its title and its steps, in the order they are asked. */
export interface Wizard<S> {
  title: string;
  steps: ReadonlyArray<StepDecl<S, StepInputs>>;
}

export interface WizardRunOptions {
  /** Open at this step (the steps before it count as answered, Back returns to them). */
  startAt?: string;
  /** Told about every question shown, and undefined when none is left. */
  onShow?: (input: LiveInput | undefined) => void;
}

/** Runs `wizard` on `state` (answers are recorded there); false when the user closed it. */
export async function runWizard<S>(wizard: Wizard<S>, state: S, options: WizardRunOptions = {}): Promise<boolean> {
  const flow = new StepFlow(wizard.steps, state);
  const position = () => ({ title: flow.title ? `${wizard.title}: ${flow.title}` : wizard.title, step: flow.step, totalSteps: flow.totalSteps });
  const inputs = new StepInputs(position, (input) => options.onShow?.(input));
  try {
    return await flow.run(inputs, options.startAt);
  } finally {
    inputs.close();
  }
}
