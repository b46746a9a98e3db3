// Small checks for untrusted input (messages from a webview), shared by every view's protocol.
// Pure: no DOM, no Node, no VS Code, so that the extension, the webviews and plain-Node tests
// import the same functions.

/** Why a message is refused: the one error a validator throws. */
export class MessageRejected extends Error {
  override readonly name = 'MessageRejected';
}

/** Checks untrusted input: the typed value, or a MessageRejected saying what is wrong. */
export type Validator<T> = (raw: unknown) => T;

/** Longest name (node, tensor, layer) a webview may send. */
export const MAX_NAME = 4096;

export function reject(why: string): never {
  throw new MessageRejected(why);
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export const isName = (v: unknown): v is string => typeof v === 'string' && v.length <= MAX_NAME;

/** `raw` as an object of fields; `what` names it in the refusal. */
export function fields(raw: unknown, what = 'params'): Record<string, unknown> {
  return isPlainObject(raw) ? raw : reject(`${what} must be an object`);
}

/** A count (a non-negative integer). */
export function count(raw: unknown, what: string): number {
  return Number.isInteger(raw) && (raw as number) >= 0 ? (raw as number) : reject(`${what} is not a count`);
}

/** The parameters of a message that carries none: any object (or nothing), read as {}. */
export const noParams: Validator<Record<string, never>> = (raw) => {
  if (raw !== undefined) fields(raw);
  return {};
};

/** One of `allowed`, checked against the list itself (never by `in`, which sees the prototype). */
export function oneOf<T extends string>(allowed: readonly T[], raw: unknown, what: string): T {
  return allowed.includes(raw as T) ? (raw as T) : reject(`unknown ${what} ${quote(raw)}`);
}

/** A short, safe rendering of an untrusted value for a refusal (JSON.stringify throws on a BigInt). */
export function quote(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}…` : v);
  if (v === null || v === undefined || typeof v === 'number' || typeof v === 'boolean') return String(v);
  return `(${typeof v})`;
}
