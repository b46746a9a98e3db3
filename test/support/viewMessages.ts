// The messages of a view as the webview tests write them: the method as `type`, its parameters
// beside it ({ type: 'keepInFloat', nodes }), translated to and from the wire of src/shared/ipc.ts.
import { parseFromView, type Protocol, type RequestMap } from '../../src/shared/ipc';

export type Flat<T> = { [M in keyof T & string]: string extends keyof T[M] ? { type: M } : { type: M } & T[M] }[keyof T & string];

/** What the view sent, validated as the host validates it (throws MessageRejected), flattened. */
export function fromView<Rq extends RequestMap<Rq>, Up, Down>(protocol: Protocol<Rq, Up, Down>, raw: unknown): { type: 'ready' } | Flat<Up> {
  const msg = parseFromView(protocol, raw);
  if (msg.type === 'ready') return msg;
  if (msg.type === 'request') throw new Error(`unexpected request ${msg.method}`);
  return { type: msg.method, ...(msg.params as object) } as Flat<Up>;
}

/** A host message on the wire. */
export function toView<Down>(msg: Flat<Down>): unknown {
  const { type, ...params } = msg as { type: string };
  return { type: 'notify', method: type, params };
}
