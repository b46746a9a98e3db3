// The host side of a webview: strict-CSP HTML, a ready handshake (nothing is posted before the
// view says it is ready), requests answered by typed handlers, notifications. Everything the
// webview sends is validated like any untrusted input before a handler sees it.
import * as crypto from 'crypto';
import * as vscode from 'vscode';
import {
  parseWebviewMessage, type ModelViewNotifications, type ModelViewRequests, type NotificationMethod,
  type RequestMethod, type ToWebview,
} from '../shared/protocol';
import { modelViewHtml } from '../shared/webviewHtml';

export type RequestHandlers = {
  [M in RequestMethod]: (params: ModelViewRequests[M]['params']) => Promise<ModelViewRequests[M]['result']> | ModelViewRequests[M]['result'];
};

export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, title: string): string {
  return modelViewHtml({
    nonce: crypto.randomBytes(16).toString('base64'),
    cspSource: webview.cspSource,
    scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview.js')).toString(),
    styleUri: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'main.css')).toString(),
    title,
  });
}

export class WebviewChannel implements vscode.Disposable {
  private ready = false;
  private readonly pending: ToWebview[] = [];
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly webview: vscode.Webview,
    private readonly handlers: RequestHandlers,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.subscription = webview.onDidReceiveMessage((raw) => this.receive(raw));
  }

  private async receive(raw: unknown): Promise<void> {
    const msg = parseWebviewMessage(raw);
    if (typeof msg === 'string') {
      this.log.warn(`model view: ignored a message (${msg})`);
      return;
    }
    if (msg.type === 'ready') {
      // A view that was hidden and shown again starts over and says ready again.
      this.ready = true;
      for (const m of this.pending.splice(0)) void this.webview.postMessage(m);
      return;
    }
    let reply: ToWebview;
    try {
      const handler = this.handlers[msg.method] as (p: unknown) => unknown;
      reply = { type: 'response', id: msg.id, result: await handler(msg.params) };
    } catch (e) {
      reply = { type: 'response', id: msg.id, error: e instanceof Error ? e.message : String(e) };
    }
    void this.webview.postMessage(reply);
  }

  notify<M extends NotificationMethod>(method: M, params: ModelViewNotifications[M]): void {
    const msg = { type: 'notify', method, params } as ToWebview;
    if (this.ready) void this.webview.postMessage(msg);
    else this.pending.push(msg);
  }

  dispose(): void {
    this.subscription.dispose();
  }
}
