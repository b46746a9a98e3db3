// The multi-step input engine's order of questions, without widgets (no `vscode` import, so unit
// tests drive it with a fake): steps are declared in the order they are asked; a step whose `when`
// is false for the answers so far is skipped and not counted; Back returns to the step asked
// before; a step may ask again (a refused answer) or jump to another step (a loop, "add another").

/** Thrown by a question when the user pressed Back. */
export class Back extends Error {}
/** Thrown by a question when the user closed it (Escape, or focus lost for good). */
export class Cancelled extends Error {}

/** What a step says after its answer: nothing (on to the next step that applies), ask again, or go to a step. */
export type Next = void | 'again' | { goto: string };

export interface StepDecl<S, U> {
  id: string;
  /** Said after the wizard's title ("Quantize m.onnx: preset"); none: the wizard's title alone. */
  title?: string | ((state: S) => string);
  /** Whether the step applies to the answers so far; a step without it always does. */
  when?: (state: S) => boolean;
  /** Asks through `ui` (which throws Back or Cancelled) and records the answer in `state`. */
  ask: (ui: U, state: S) => Promise<Next>;
}

export class StepFlow<S, U> {
  /** Indices of the steps answered before the current one, in the order they were asked. */
  private readonly history: number[] = [];
  private index = 0;

  constructor(
    private readonly steps: ReadonlyArray<StepDecl<S, U>>,
    private readonly state: S,
  ) {}

  /** The current step's number, counting from 1. */
  get step(): number {
    return this.history.length + 1;
  }

  /** Steps asked so far plus those still to come for the answers given so far. */
  get totalSteps(): number {
    let ahead = 1;
    for (let i = this.index + 1; i < this.steps.length; i++) if (this.applies(i)) ahead++;
    return this.history.length + ahead;
  }

  get title(): string | undefined {
    const title = this.steps[this.index]?.title;
    return typeof title === 'function' ? title(this.state) : title;
  }

  /** Runs the steps (from `startAt`, the steps before it counted as answered); false when the user closed the flow. */
  async run(ui: U, startAt?: string): Promise<boolean> {
    let i = this.nextFrom(0);
    const start = this.steps.findIndex((s) => s.id === startAt);
    if (start >= 0 && this.applies(start)) {
      while (i < start) {
        this.history.push(i);
        i = this.nextFrom(i + 1);
      }
    }
    while (i < this.steps.length) {
      this.index = i;
      let next: Next;
      try {
        next = await this.steps[i].ask(ui, this.state);
      } catch (e) {
        if (e instanceof Cancelled) return false;
        if (!(e instanceof Back)) throw e;
        // Back re-asks the previous step even if the answers since no longer make it apply.
        i = this.history.pop() ?? i;
        continue;
      }
      if (next === 'again') continue;
      this.history.push(i);
      i = next ? this.indexOf(next.goto) : this.nextFrom(i + 1);
    }
    return true;
  }

  private applies(i: number): boolean {
    const when = this.steps[i].when;
    return !when || when(this.state);
  }

  private nextFrom(i: number): number {
    while (i < this.steps.length && !this.applies(i)) i++;
    return i;
  }

  private indexOf(id: string): number {
    const i = this.steps.findIndex((s) => s.id === id);
    if (i < 0) throw new Error(`no step '${id}' in this wizard`);
    return i;
  }
}
