// What the commands share: their option tables, flag values read as numbers or choices with the
// flag named in the error, and Ctrl-C as an AbortSignal.
import type { ParseArgsConfig } from 'util';

export type Values = Record<string, string | boolean | string[] | undefined>;
export type Out = { log: (s: string) => void; error: (s: string) => void };
export type Usage = (m: string) => Error;
type Options = NonNullable<ParseArgsConfig['options']>;

/** Flags that take a value. */
export function stringOptions(...names: string[]): Options {
  return Object.fromEntries(names.map((n) => [n, { type: 'string' as const }]));
}

/** Flags that are on or off. */
export function booleanOptions(...names: string[]): Options {
  return Object.fromEntries(names.map((n) => [n, { type: 'boolean' as const }]));
}

export function oneOf<T extends string>(flag: string, value: unknown, allowed: readonly T[], usage: Usage): T | undefined {
  if (value === undefined) return undefined;
  if (!allowed.includes(value as T)) throw usage(`--${flag} must be one of ${allowed.join(', ')} (got '${value}')`);
  return value as T;
}

/** A flag that takes one of a few numbers (`--bits 4|8`). */
export function numberOf<T extends number>(flag: string, value: unknown, allowed: readonly T[], usage: Usage): T | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!allowed.includes(n as T)) throw usage(`--${flag} must be one of ${allowed.join(', ')} (got '${value}')`);
  return n as T;
}

export function num(flag: string, value: unknown, usage: Usage, integer = false): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) throw usage(`--${flag} must be ${integer ? 'an integer' : 'a number'} (got '${value}')`);
  return n;
}

export function whole(flag: string, value: unknown, min: number, usage: Usage): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw usage(`--${flag} must be a whole number >= ${min} (got '${value}')`);
  return n;
}

/** Runs `body` with a signal that Ctrl-C aborts. */
export async function untilSigint<T>(body: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  try {
    return await body(controller.signal);
  } finally {
    process.removeListener('SIGINT', stop);
  }
}
