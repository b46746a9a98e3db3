// The webview side of the protocol (src/shared/protocol.ts): typed requests with promises,
// notification handlers, and the ready handshake that lets the host start posting.
import type {
  ModelViewNotifications, ModelViewRequests, NotificationMethod, RequestMethod, ToWebview,
} from '../src/shared/protocol';

interface VsCodeApi {
  postMessage(msg: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

export const vscode: VsCodeApi = acquireVsCodeApi();

let nextId = 1;
const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
const listeners: { [M in NotificationMethod]?: Array<(p: ModelViewNotifications[M]) => void> } = {};

export function request<M extends RequestMethod>(method: M, params: ModelViewRequests[M]['params']): Promise<ModelViewRequests[M]['result']> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
    vscode.postMessage({ type: 'request', id, method, params });
  });
}

export function onNotification<M extends NotificationMethod>(method: M, fn: (p: ModelViewNotifications[M]) => void): void {
  ((listeners[method] ??= []) as Array<typeof fn>).push(fn);
}

window.addEventListener('message', (event: MessageEvent<ToWebview>) => {
  const msg = event.data;
  if (!msg || typeof msg !== 'object') return;
  if (msg.type === 'response') {
    const w = waiting.get(msg.id);
    if (!w) return;
    waiting.delete(msg.id);
    if (msg.error !== undefined) w.reject(new Error(String(msg.error)));
    else w.resolve(msg.result);
  } else if (msg.type === 'notify') {
    for (const fn of (listeners[msg.method] ?? []) as Array<(p: unknown) => void>) fn(msg.params);
  }
});

/** Tells the host the view listens; call after the notification handlers are registered. */
export function ready(): void {
  vscode.postMessage({ type: 'ready' });
}
