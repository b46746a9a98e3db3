// The messages between the extension host and a webview, for every view. A view's protocol
// (modelViewProtocol, reportViewProtocol, runViewProtocol) names its messages in a table whose
// entries pair each method with the validator of its parameters; `defineProtocol` turns the
// table into typed descriptors, and `parseFromView` reads anything the view sends against them.
//
// On the wire:
//   view -> host   { type: 'ready' } | { type: 'request', id, method, params } | { type: 'notify', method, params }
//   host -> view   { type: 'response', id, result | error }                   | { type: 'notify', method, params }
// The view starts with `ready`; requests get exactly one response each.
import { isPlainObject, MessageRejected, quote, reject, type Validator } from './validate';

export { MessageRejected, type Validator } from './validate';

/** A request map: per method, what it takes and what it answers. */
export type RequestMap<T> = { [M in keyof T]: { params: unknown; result: unknown } };

export interface RequestType<M extends string, P, R> {
  readonly kind: 'request';
  readonly method: M;
  readonly params: Validator<P>;
  /** Only a type: what the request answers. */
  readonly result?: R;
}

export interface NotificationType<M extends string, P> {
  readonly kind: 'notification';
  readonly method: M;
  readonly params: Validator<P>;
}

type Key<T> = keyof T & string;
export type ParamsOf<T, M extends keyof T> = T[M] extends { params: infer P } ? P : never;
export type ResultOf<T, M extends keyof T> = T[M] extends { result: infer R } ? R : never;

/** A view's messages: requests the view makes, notifications it sends, notifications it is sent. */
export interface Protocol<Rq extends RequestMap<Rq>, Up, Down> {
  /** The view, as logs name it. */
  readonly name: string;
  readonly requests: { readonly [M in Key<Rq>]: RequestType<M, ParamsOf<Rq, M>, ResultOf<Rq, M>> };
  readonly fromView: { readonly [M in Key<Up>]: NotificationType<M, Up[M]> };
  readonly toView: { readonly [M in Key<Down>]: NotificationType<M, Down[M]> };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyProtocol = Protocol<any, any, any>;

/** Builds a view's descriptors from its validators, one per method. */
export function defineProtocol<Rq extends RequestMap<Rq>, Up = Record<never, never>, Down = Record<never, never>>(
  name: string,
  validators: {
    requests?: { [M in Key<Rq>]: Validator<ParamsOf<Rq, M>> };
    fromView?: { [M in Key<Up>]: Validator<Up[M]> };
    toView?: { [M in Key<Down>]: Validator<Down[M]> };
  },
): Protocol<Rq, Up, Down> {
  const table = <K extends 'request' | 'notification'>(kind: K, v: Record<string, Validator<unknown>> = {}) =>
    Object.fromEntries(Object.entries(v).map(([method, params]) => [method, { kind, method, params }]));
  return {
    name,
    requests: table('request', validators.requests as Record<string, Validator<unknown>>),
    fromView: table('notification', validators.fromView as Record<string, Validator<unknown>>),
    toView: table('notification', validators.toView as Record<string, Validator<unknown>>),
  } as unknown as Protocol<Rq, Up, Down>;
}

export type FromView<Rq, Up> =
  | { type: 'ready' }
  | { [M in Key<Rq>]: { type: 'request'; id: number; method: M; params: ParamsOf<Rq, M> } }[Key<Rq>]
  | { [M in Key<Up>]: { type: 'notify'; method: M; params: Up[M] } }[Key<Up>];

export type ToView<Down> =
  { type: 'response'; id: number; result?: unknown; error?: string } | { [M in Key<Down>]: { type: 'notify'; method: M; params: Down[M] } }[Key<Down>];

/** A method of `table`, looked up as an own entry only (never `__proto__` or `toString`). */
function entry<T>(table: Record<string, T>, method: unknown, what: string): T {
  return typeof method === 'string' && Object.prototype.hasOwnProperty.call(table, method) ? table[method] : reject(`unknown ${what} ${quote(method)}`);
}

/** Reads a parameter validator's refusal as `method: why`. */
function paramsOf<P>(method: string, validate: Validator<P>, raw: unknown): P {
  try {
    return validate(raw ?? {});
  } catch (e) {
    if (e instanceof MessageRejected) throw new MessageRejected(`${method}: ${e.message}`);
    throw e;
  }
}

/** What the view sent, typed, or a MessageRejected: everything a webview sends is untrusted input. */
export function parseFromView<Rq extends RequestMap<Rq>, Up, Down>(protocol: Protocol<Rq, Up, Down>, raw: unknown): FromView<Rq, Up> {
  if (!isPlainObject(raw)) reject('not an object');
  switch (raw.type) {
    case 'ready':
      return { type: 'ready' };
    case 'request': {
      if (!Number.isSafeInteger(raw.id)) reject('request id must be an integer');
      const d = entry<RequestType<string, unknown, unknown>>(protocol.requests, raw.method, 'method');
      return { type: 'request', id: raw.id, method: d.method, params: paramsOf(d.method, d.params, raw.params) } as FromView<Rq, Up>;
    }
    case 'notify': {
      const d = entry<NotificationType<string, unknown>>(protocol.fromView, raw.method, 'method');
      return { type: 'notify', method: d.method, params: paramsOf(d.method, d.params, raw.params) } as FromView<Rq, Up>;
    }
    default:
      return reject(`unknown message type ${quote(raw.type)}`);
  }
}

/** What the host sent, checked by the view the same way (a stale or foreign message is dropped). */
export function parseToView<Rq extends RequestMap<Rq>, Up, Down>(protocol: Protocol<Rq, Up, Down>, raw: unknown): ToView<Down> {
  if (!isPlainObject(raw)) reject('not an object');
  if (raw.type === 'response') {
    if (!Number.isSafeInteger(raw.id)) reject('response id must be an integer');
    return { type: 'response', id: raw.id as number, result: raw.result, error: raw.error === undefined ? undefined : String(raw.error) };
  }
  if (raw.type !== 'notify') reject(`unknown message type ${quote(raw.type)}`);
  const d = entry<NotificationType<string, unknown>>(protocol.toView, raw.method, 'method');
  return { type: 'notify', method: d.method, params: paramsOf(d.method, d.params, raw.params) } as ToView<Down>;
}
