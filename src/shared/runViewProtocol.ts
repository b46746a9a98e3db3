// The messages between the extension host and the distillation run view (webview).
//
// On the wire of ipc.ts. When the view says ready the host replays the run so far (a view opened
// late, or reopened, draws the whole run) and streams new events as they come. The view answers
// each batch with `drawn` (what it has shown) and asks for actions by name.
import type { DistillEvent, RunStatus, StudentVerification } from './distillRun';
import { defineProtocol, type FromView, type ToView } from './ipc';
import { count, fields, isPlainObject, noParams, oneOf, reject } from './validate';

/** What the header of the view shows: the run and every effective setting, echoed. */
export interface RunViewHeader {
  name: string;
  runDir: string;
  specFile: string;
  /** label -> value, in display order (epochs, batch, lr, device, scheme, knowledge...). */
  settings: Array<[string, string]>;
  /** term -> formula text. */
  formulas: Record<string, string>;
}

export type RunViewState = 'running' | RunStatus;

export type RunViewAction = 'cancel' | 'resume' | 'openFolder' | 'openReport' | 'quantize';

export const RUN_VIEW_ACTIONS: readonly RunViewAction[] = ['cancel', 'resume', 'openFolder', 'openReport', 'quantize'];

const RUN_STATES: readonly RunViewState[] = ['running', 'completed', 'failed', 'cancelled'];

/** What the host sends. */
export interface ToRunViewMessages {
  header: { header: RunViewHeader };
  events: { events: DistillEvent[] };
  /** Forget what was drawn (events of the run follow). */
  reset: Record<string, never>;
  state: {
    state: RunViewState;
    /** Why it ended (failed/cancelled), or what it is doing. */
    message: string;
    verification: StudentVerification | null;
    /** Actions offered now, as buttons. */
    actions: RunViewAction[];
  };
}

/** What the view sends. */
export interface FromRunViewMessages {
  /** What the view has drawn, after each batch. */
  drawn: { events: number; steps: number; epochs: number; eta: string };
  action: { action: RunViewAction };
}

const actions = (raw: unknown): RunViewAction[] =>
  Array.isArray(raw) ? raw.map((a) => oneOf(RUN_VIEW_ACTIONS, a, 'action')) : reject('actions must be a list');

export const RUN_VIEW_PROTOCOL = defineProtocol<Record<never, never>, FromRunViewMessages, ToRunViewMessages>('run view', {
  fromView: {
    drawn: (raw) => {
      const m = fields(raw);
      const [events, steps, epochs] = (['events', 'steps', 'epochs'] as const).map((k) => count(m[k], `drawn.${k}`));
      return typeof m.eta === 'string' ? { events, steps, epochs, eta: m.eta } : reject('drawn.eta is not a string');
    },
    action: (raw) => ({ action: oneOf(RUN_VIEW_ACTIONS, fields(raw).action, 'action') }),
  },
  toView: {
    // The host builds the header and reads the events from the trainer's own output.
    header: (raw) => ({ header: fields(fields(raw).header, 'header') as unknown as RunViewHeader }),
    events: (raw) => {
      const { events } = fields(raw);
      if (!Array.isArray(events)) reject('events must be a list');
      return { events: events.filter((e): e is DistillEvent => isPlainObject(e) && typeof e.event === 'string') };
    },
    reset: noParams,
    state: (raw) => {
      const m = fields(raw);
      const verification = m.verification === null ? null : (fields(m.verification, 'verification') as unknown as StudentVerification);
      return {
        state: oneOf(RUN_STATES, m.state, 'state'),
        message: typeof m.message === 'string' ? m.message : reject('message must be a string'),
        verification,
        actions: actions(m.actions),
      };
    },
  },
});

export type FromRunView = FromView<Record<never, never>, FromRunViewMessages>;
export type ToRunView = ToView<ToRunViewMessages>;
