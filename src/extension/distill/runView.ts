// The run view's host side: one webview panel per run folder. It keeps the run's events, so a
// view that is opened late, hidden and shown again, or reopened draws the whole run when it says
// ready; every message from the view is validated by its protocol (runViewProtocol).
import * as path from 'path';
import * as vscode from 'vscode';
import type { DistillEvent, StudentVerification } from '../../shared/distillRun';
import {
  RUN_VIEW_PROTOCOL,
  type FromRunViewMessages,
  type RunViewAction,
  type RunViewHeader,
  type RunViewState,
  type ToRunViewMessages,
} from '../../shared/runViewProtocol';
import { WebviewCollection } from '../webview/collection';
import type { WebviewHost } from '../webview/host';
import { createPanel, hostPanel } from '../webview/panel';

export const RUN_VIEW_TYPE = 'onnxCompress.distillRun';
const RUN_VIEW_PAGE = { script: 'dist/run.js', styles: ['media/common/base.css', 'media/run/run.css'] };
const RUN_VIEW = { viewType: RUN_VIEW_TYPE, page: RUN_VIEW_PAGE, protocol: RUN_VIEW_PROTOCOL };

/** What the view last reported (read by the extension's tests through its API). */
export interface RunViewStatus {
  ready: boolean;
  /** Events posted to the view, and what the view said it drew. */
  posted: number;
  drawn: FromRunViewMessages['drawn'] | null;
  state: RunViewState;
  lastRejected: string | null;
}

export class RunView implements vscode.Disposable {
  /** One view per run folder. */
  private static readonly views = new WebviewCollection<RunView>();

  private readonly host: WebviewHost<Record<never, never>, FromRunViewMessages, ToRunViewMessages>;
  private readonly events: DistillEvent[] = [];
  private header: RunViewHeader;
  private stateMessage: ToRunViewMessages['state'] = { state: 'running', message: 'Starting', verification: null, actions: ['cancel'] };
  private drawn: RunViewStatus['drawn'] = null;
  private rejectedAction: string | null = null;
  private readonly removeFromViews: () => void;
  private onAction: (action: RunViewAction) => void = () => undefined;

  static get(runDir: string): RunView | undefined {
    return RunView.views.current(path.resolve(runDir));
  }

  /** Opens (or reveals) the view of `header.runDir`; `onAction` answers its buttons. */
  static show(extensionUri: vscode.Uri, header: RunViewHeader, onAction: (a: RunViewAction) => void, log: vscode.LogOutputChannel): RunView {
    let view = RunView.get(header.runDir);
    if (!view) {
      const panel = createPanel(RUN_VIEW, `Distill: ${header.name}`, { viewColumn: vscode.ViewColumn.Active, preserveFocus: true }, extensionUri);
      view = new RunView(panel, extensionUri, header, log);
    } else {
      view.panel.reveal(undefined, true);
    }
    view.onAction = onAction;
    view.setHeader(header);
    return view;
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    header: RunViewHeader,
    log: vscode.LogOutputChannel,
  ) {
    this.header = header;
    this.host = hostPanel(panel, RUN_VIEW, extensionUri, log, () => this.replay(), {
      drawn: (drawn) => {
        this.drawn = drawn;
      },
      action: ({ action }) => {
        if (this.stateMessage.actions.includes(action)) this.onAction(action);
        else this.rejectedAction = `action ${action} is not offered now`;
      },
    });
    this.removeFromViews = RunView.views.add(path.resolve(header.runDir), this);
    panel.onDidDispose(() => this.dispose());
  }

  /** The whole run, posted each time the view says ready. */
  private replay(): void {
    this.host.notify('header', { header: this.header });
    if (this.events.length) this.host.notify('events', { events: this.events });
    this.host.notify('state', this.stateMessage);
  }

  get status(): RunViewStatus {
    return {
      ready: this.host.ready,
      posted: this.events.length,
      drawn: this.drawn,
      state: this.stateMessage.state,
      lastRejected: this.rejectedAction ?? this.host.lastRejected,
    };
  }

  setHeader(header: RunViewHeader): void {
    this.header = header;
    this.host.notify('header', { header });
  }

  /** Starts the curves over (a resumed run replays its folder's metrics before the new events). */
  reset(events: DistillEvent[] = []): void {
    this.events.splice(0, this.events.length, ...events);
    this.drawn = null;
    this.host.notify('reset', {});
    if (events.length) this.host.notify('events', { events });
  }

  addEvents(events: DistillEvent[]): void {
    if (!events.length) return;
    this.events.push(...events);
    this.host.notify('events', { events });
  }

  setState(state: RunViewState, message: string, verification: StudentVerification | null, actions: RunViewAction[]): void {
    this.stateMessage = { state, message, verification, actions };
    this.host.notify('state', this.stateMessage);
  }

  dispose(): void {
    this.removeFromViews();
    this.host.dispose();
    this.panel.dispose();
  }
}
