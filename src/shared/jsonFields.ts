// Checks for JSON read from disk or from a webview: each check takes the value and where it sits
// (`layers[2].local.sqnr`) and returns it typed, or throws a JsonFieldError naming that place. The
// report and result parsers wrap the error in their own class and wording.

export class JsonFieldError extends Error {
  constructor(
    readonly where: string,
    readonly what: string,
  ) {
    super(`${where} ${what}`);
  }
}

export type Obj = Record<string, unknown>;
export type Check<T> = (v: unknown, where: string) => T;

export function fail(where: string, what: string): never {
  throw new JsonFieldError(where, what);
}
export function obj(v: unknown, where: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(where, 'must be an object');
  return v as Obj;
}
export function arr(v: unknown, where: string): unknown[] {
  if (!Array.isArray(v)) fail(where, 'must be an array');
  return v;
}
export function str(v: unknown, where: string): string {
  if (typeof v !== 'string') fail(where, 'must be a string');
  return v;
}
export function num(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(where, `must be a finite number (got ${JSON.stringify(v)})`);
  return v;
}
export function bool(v: unknown, where: string): boolean {
  if (typeof v !== 'boolean') fail(where, 'must be true or false');
  return v;
}
export function opt<T>(v: unknown, where: string, check: Check<T>): T | null {
  return v === null || v === undefined ? null : check(v, where);
}
export function list<T>(v: unknown, where: string, check: Check<T>): T[] {
  return arr(v, where).map((x, i) => check(x, `${where}[${i}]`));
}
export function nums(v: unknown, where: string): number[] {
  return list(v, where, num);
}
export function pair(v: unknown, where: string): [number, number] {
  const a = nums(v, where);
  if (a.length !== 2) fail(where, 'must be [min, max]');
  if (a[0] > a[1]) fail(where, `must have min <= max (got [${a[0]}, ${a[1]}])`);
  return [a[0], a[1]];
}
export function share(v: unknown, where: string): number {
  const x = num(v, where);
  if (x < 0 || x > 1) fail(where, `must be between 0 and 1 (got ${x})`);
  return x;
}
export function oneOf<T extends string | number>(allowed: readonly T[]): Check<T> {
  return (v, where) => {
    if (!allowed.includes(v as T)) fail(where, `must be one of ${allowed.join(', ')} (got ${JSON.stringify(v)})`);
    return v as T;
  };
}

/** The fields of one object, each checked at `where.key`. */
export class Fields {
  readonly o: Obj;

  /** `name`: what the object is called in an error when it is the whole document (`where` is ''). */
  constructor(
    v: unknown,
    readonly where: string,
    name = where,
  ) {
    this.o = obj(v, name);
  }

  at(key: string): string {
    return this.where ? `${this.where}.${key}` : key;
  }
  get<T>(key: string, check: Check<T>): T {
    return check(this.o[key], this.at(key));
  }
  opt<T>(key: string, check: Check<T>): T | null {
    return opt(this.o[key], this.at(key), check);
  }
  list<T>(key: string, check: Check<T>): T[] {
    return list(this.o[key], this.at(key), check);
  }
  str(key: string): string {
    return this.get(key, str);
  }
  num(key: string): number {
    return this.get(key, num);
  }
  bool(key: string): boolean {
    return this.get(key, bool);
  }
}

/** `check` as a parser that throws `wrap(message)` instead of a JsonFieldError. */
export function parseWith<T>(json: unknown, check: (json: unknown) => T, wrap: (message: string) => Error): T {
  try {
    return check(json);
  } catch (e) {
    if (e instanceof JsonFieldError) throw wrap(e.message);
    throw e;
  }
}
