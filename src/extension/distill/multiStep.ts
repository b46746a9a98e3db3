// A multi-step QuickPick flow with a step counter and a Back button, built on createQuickPick /
// createInputBox. Each step is a function that asks one question and returns the next step; Back
// re-runs the previous step. The live widget is published (for the extension's tests to answer it).
import * as vscode from 'vscode';

export type Step<S> = (flow: MultiStep, state: S) => Promise<Step<S> | undefined>;

export type LiveInput = vscode.QuickPick<vscode.QuickPickItem> | vscode.InputBox;

class Back extends Error {}
class Cancelled extends Error {}

export interface PickOptions<T extends vscode.QuickPickItem> {
  placeholder: string;
  items: readonly T[];
  /** Items shown selected (multi-select) or active (single). */
  selected?: readonly T[];
  canSelectMany?: boolean;
  matchOnDescription?: boolean;
  matchOnDetail?: boolean;
  /** For multi-select: why the current selection cannot be accepted (undefined = fine). */
  validateMany?: (items: readonly T[]) => string | undefined;
}

export interface InputOptions {
  prompt: string;
  value: string;
  placeholder?: string;
  /** An error message for a value that cannot be accepted, undefined when it can. */
  validate: (value: string) => string | undefined | Promise<string | undefined>;
}

export class MultiStep {
  private current?: LiveInput;
  step = 0;

  constructor(
    private readonly title: string,
    /** Steps the flow has in total for the answers given so far. */
    private readonly totalSteps: () => number,
    private readonly publish: (input: LiveInput | undefined) => void,
  ) {}

  /** Runs the steps from `first`; false when the user closed the flow. */
  async run<S>(first: Step<S>, state: S): Promise<boolean> {
    const done: Array<Step<S>> = [];
    let next: Step<S> | undefined = first;
    try {
      while (next) {
        this.step = done.length + 1;
        try {
          const after: Step<S> | undefined = await next(this, state);
          done.push(next);
          next = after;
        } catch (e) {
          if (!(e instanceof Back)) throw e;
          next = done.pop() ?? first;
        }
      }
      return true;
    } catch (e) {
      if (e instanceof Cancelled) return false;
      throw e;
    } finally {
      this.current?.dispose();
      this.current = undefined;
      this.publish(undefined);
    }
  }

  async pick<T extends vscode.QuickPickItem>(o: PickOptions<T> & { canSelectMany: true }): Promise<T[]>;
  async pick<T extends vscode.QuickPickItem>(o: PickOptions<T>): Promise<T>;
  async pick<T extends vscode.QuickPickItem>(o: PickOptions<T>): Promise<T | T[]> {
    const qp = vscode.window.createQuickPick<T>();
    this.decorate(qp);
    qp.placeholder = o.placeholder;
    qp.canSelectMany = o.canSelectMany ?? false;
    qp.matchOnDescription = o.matchOnDescription ?? true;
    qp.matchOnDetail = o.matchOnDetail ?? false;
    qp.ignoreFocusOut = true;
    qp.items = o.items;
    if (o.selected?.length) {
      if (qp.canSelectMany) qp.selectedItems = o.selected;
      else qp.activeItems = o.selected;
    }
    // QuickPick has no validation message in this VS Code: the problem goes in the title.
    const showProblem = (problem: string | undefined) => {
      qp.title = problem ? `${this.title}: ${problem}` : this.title;
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

  async input(o: InputOptions): Promise<string> {
    const box = vscode.window.createInputBox();
    this.decorate(box);
    box.prompt = o.prompt;
    box.value = o.value;
    box.placeholder = o.placeholder;
    box.ignoreFocusOut = true;
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

  private decorate(input: LiveInput): void {
    input.title = this.title;
    input.step = this.step;
    input.totalSteps = Math.max(this.step, this.totalSteps());
    input.buttons = this.step > 1 ? [vscode.QuickInputButtons.Back] : [];
  }

  private show<R>(input: LiveInput, listen: (resolve: (r: R) => void) => vscode.Disposable[]): Promise<R> {
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
      previous?.dispose();
      this.publish(input);
    }).finally(() => subscriptions.forEach((s) => s.dispose()));
  }
}
