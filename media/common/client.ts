// The webview side of a view's protocol (src/shared/ipc.ts): typed requests answered by promises,
// notifications both ways, and the ready handshake that lets the host start posting. What the host
// posts is checked against the protocol too; a message that does not fit is dropped with a warning.
import { MessageRejected, parseToView, type ParamsOf, type Protocol, type RequestMap, type ResultOf } from '../../src/shared/ipc';
import { connect, type Transport } from './transport';

export class ViewClient<Rq extends RequestMap<Rq>, Up, Down> {
  readonly transport: Transport = connect();
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly listeners = new Map<string, Array<(p: unknown) => void>>();

  constructor(private readonly protocol: Protocol<Rq, Up, Down>) {
    this.transport.onMessage((raw) => this.receive(raw));
  }

  request<M extends keyof Rq & string>(method: M, params: ParamsOf<Rq, M>): Promise<ResultOf<Rq, M>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.transport.post({ type: 'request', id, method, params });
    });
  }

  notify<M extends keyof Up & string>(method: M, params: Up[M]): void {
    this.transport.post({ type: 'notify', method, params });
  }

  on<M extends keyof Down & string>(method: M, fn: (params: Down[M]) => void): void {
    const list = this.listeners.get(method) ?? [];
    list.push(fn as (p: unknown) => void);
    this.listeners.set(method, list);
  }

  /** Tells the host the view listens; call after the notification handlers are registered. */
  ready(): void {
    this.transport.post({ type: 'ready' });
  }

  private receive(raw: unknown): void {
    let msg;
    try {
      msg = parseToView(this.protocol, raw);
    } catch (e) {
      if (!(e instanceof MessageRejected)) throw e;
      console.warn(`${this.protocol.name}: dropped a message from the host (${e.message})`);
      return;
    }
    if (msg.type === 'response') {
      const w = this.waiting.get(msg.id);
      if (!w) return;
      this.waiting.delete(msg.id);
      if (msg.error !== undefined) w.reject(new Error(msg.error));
      else w.resolve(msg.result);
    } else {
      for (const fn of this.listeners.get(msg.method) ?? []) fn(msg.params);
    }
  }
}
