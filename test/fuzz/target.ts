// What a fuzz target is, and the invariant every target checks: the code under test returns a
// value or throws one of the errors it documents; any other exception is a defect.
import * as fc from 'fast-check';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export interface FuzzTarget<T> {
  /** Inputs: mutated real files, fully random bytes and structure-aware values. */
  arbitrary: fc.Arbitrary<T>;
  /** Feeds one input to the code under test; throws an InvariantViolation on a defect. */
  check(value: T, scratch: Scratch): void | Promise<void>;
}

/** An error the code under test must never let out (a TypeError, a RangeError, a library's own). */
export class InvariantViolation extends Error {
  constructor(readonly original: unknown) {
    super(`not a clean error: ${original instanceof Error ? `${original.name}: ${original.message}\n${original.stack ?? ''}` : String(original)}`);
    this.name = 'InvariantViolation';
  }
}

type ErrorClass = abstract new (...args: never[]) => Error;

/** Runs `f`; an error that is not an instance of `allowed` breaks the invariant. */
export async function expectClean<R>(allowed: readonly ErrorClass[], f: () => R | Promise<R>): Promise<R | undefined> {
  try {
    return await f();
  } catch (e) {
    if (allowed.some((c) => e instanceof c)) return undefined;
    throw e instanceof InvariantViolation ? e : new InvariantViolation(e);
  }
}

/** A folder for the files one input is written to, emptied before each input. */
export class Scratch {
  readonly root = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-fuzz-'));
  private n = 0;

  /** A new empty folder inside the scratch root (so the root's parent is outside). */
  fresh(): string {
    const dir = path.join(this.root, `case-${this.n++ % 4}`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir);
    return dir;
  }

  dispose(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}
