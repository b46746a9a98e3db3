// The messages between the extension host and the distillation run view (webview).
//
// The view starts with `ready`; the host posts nothing before it, then replays the run so far
// (a view opened late, or reopened, draws the whole run) and streams new events as they come.
// The view answers each batch with `drawn` (what it has shown) and asks for actions by name.
import type { DistillEvent, RunStatus, StudentVerification } from './distillRun';
import { quoteValue } from './format';

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

export type ToRunView =
  | { type: 'header'; header: RunViewHeader }
  | { type: 'events'; events: DistillEvent[] }
  /** Forget what was drawn (events of the run follow). */
  | { type: 'reset' }
  | {
    type: 'state';
    state: RunViewState;
    /** Why it ended (failed/cancelled), or what it is doing. */
    message: string;
    verification: StudentVerification | null;
    /** Actions offered now, as buttons. */
    actions: RunViewAction[];
  };

export type FromRunView =
  | { type: 'ready' }
  | { type: 'drawn'; events: number; steps: number; epochs: number; eta: string }
  | { type: 'action'; action: RunViewAction };

/** Checks a message from the view (untrusted input); a string says what is wrong with it. */
export function parseRunViewMessage(raw: unknown): FromRunView | string {
  if (!raw || typeof raw !== 'object') return 'not an object';
  const m = raw as Record<string, unknown>;
  switch (m.type) {
    case 'ready':
      return { type: 'ready' };
    case 'drawn': {
      const counts = ['events', 'steps', 'epochs'] as const;
      for (const k of counts) if (!Number.isInteger(m[k]) || (m[k] as number) < 0) return `drawn.${k} is not a count`;
      if (typeof m.eta !== 'string') return 'drawn.eta is not a string';
      return { type: 'drawn', events: m.events as number, steps: m.steps as number, epochs: m.epochs as number, eta: m.eta };
    }
    case 'action':
      if (!RUN_VIEW_ACTIONS.includes(m.action as RunViewAction)) return `unknown action ${quoteValue(m.action)}`;
      return { type: 'action', action: m.action as RunViewAction };
    default:
      return `unknown message type ${quoteValue(m.type)}`;
  }
}
