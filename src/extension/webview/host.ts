// The host side of every webview (model view, report panel, run view): the ready handshake,
// notifications held or replayed until the view listens, every message from the view validated
// against its protocol before a handler sees it, requests answered with their id, disposal.
// Only VS Code's types are used, so unit tests drive it with a fake panel.
import type * as vscode from 'vscode';
import { MessageRejected, parseFromView, type ParamsOf, type Protocol, type RequestMap, type ResultOf, type ToView } from '../../shared/ipc';

export type RequestHandlers<Rq> = {
  [M in keyof Rq & string]: (params: ParamsOf<Rq, M>) => Promise<ResultOf<Rq, M>> | ResultOf<Rq, M>;
};
export type NotificationHandlers<Up> = { [M in keyof Up & string]: (params: Up[M]) => Promise<void> | void };

/** What the host uses of a webview panel. */
export interface HostPanel {
  readonly visible: boolean;
  readonly webview: Pick<vscode.Webview, 'postMessage' | 'onDidReceiveMessage'>;
  readonly onDidChangeViewState: vscode.Event<unknown>;
  readonly onDidDispose: vscode.Event<void>;
}

export interface WebviewHostOptions<Rq extends RequestMap<Rq>, Up, Down> {
  protocol: Protocol<Rq, Up, Down>;
  log: Pick<vscode.LogOutputChannel, 'warn' | 'error'>;
  /** Absent for a view that makes no requests. */
  requests?: RequestHandlers<Rq>;
  notifications: NotificationHandlers<Up>;
  /**
   * Before the view is ready (and while it is hidden: VS Code tears a hidden webview down and it
   * says ready again when shown), notifications either wait in a queue ('queue') or are dropped
   * because `onReady` posts everything the view shows ('replay').
   */
  beforeReady: 'queue' | 'replay';
  /** Called each time the view says ready. */
  onReady?(): void;
}

export class WebviewHost<Rq extends RequestMap<Rq>, Up, Down> {
  private listening = false;
  private readonly pending: Array<ToView<Down>> = [];
  private readonly subscriptions: vscode.Disposable[];
  /** The last message from the view that was refused, and why (read by tests). */
  lastRejected: string | null = null;

  constructor(
    private readonly panel: HostPanel,
    private readonly options: WebviewHostOptions<Rq, Up, Down>,
  ) {
    this.subscriptions = [
      panel.webview.onDidReceiveMessage((raw) => void this.receive(raw)),
      panel.onDidChangeViewState(() => {
        if (!panel.visible) this.listening = false;
      }),
      panel.onDidDispose(() => this.dispose()),
    ];
  }

  /** Whether the view has said ready (and was not hidden since). */
  get ready(): boolean {
    return this.listening;
  }

  /** Posts a notification; false when it was not posted now (queued or dropped, see beforeReady). */
  notify<M extends keyof Down & string>(method: M, params: Down[M]): boolean {
    const msg = { type: 'notify', method, params } as ToView<Down>;
    if (this.listening) {
      void this.panel.webview.postMessage(msg);
      return true;
    }
    if (this.options.beforeReady === 'queue') this.pending.push(msg);
    return false;
  }

  private async receive(raw: unknown): Promise<void> {
    const { protocol, log } = this.options;
    let msg;
    try {
      msg = parseFromView(protocol, raw);
    } catch (e) {
      if (!(e instanceof MessageRejected)) throw e;
      this.lastRejected = e.message;
      log.warn(`${protocol.name}: ignored a message (${e.message})`);
      return;
    }
    if (msg.type === 'ready') {
      this.listening = true;
      this.options.onReady?.();
      for (const m of this.pending.splice(0)) void this.panel.webview.postMessage(m);
    } else if (msg.type === 'request') {
      let reply: ToView<Down>;
      try {
        const handler = this.options.requests?.[msg.method] as (p: unknown) => unknown;
        reply = { type: 'response', id: msg.id, result: await handler(msg.params) };
      } catch (e) {
        reply = { type: 'response', id: msg.id, error: e instanceof Error ? e.message : String(e) };
      }
      void this.panel.webview.postMessage(reply);
    } else {
      try {
        await (this.options.notifications[msg.method] as (p: unknown) => unknown)(msg.params);
      } catch (e) {
        log.error(`${protocol.name}: ${msg.method} failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  dispose(): void {
    this.listening = false;
    this.pending.length = 0;
    this.subscriptions.splice(0).forEach((d) => d.dispose());
  }
}
