// Targets that fail on purpose at input 5, so harness.test.ts can check that a hang, a runaway
// heap and a stray exception are each reported with the input that caused them.
import * as fc from 'fast-check';
import type { FuzzTarget } from '../target';
import { expectClean } from '../target';

const inputs = fc.nat({ max: 1000 });
let seen = 0;

export const hang: FuzzTarget<number> = {
  arbitrary: inputs,
  check() {
    if (seen++ === 5) for (;;);
  },
};

export const heap: FuzzTarget<number> = {
  arbitrary: inputs,
  check() {
    if (seen++ !== 5) return;
    const hoard: number[][] = [];
    for (;;) hoard.push(new Array(1 << 16).fill(seen));
  },
};

export const throws: FuzzTarget<number> = {
  arbitrary: inputs,
  async check(n) {
    await expectClean([RangeError], () => {
      if (n > 500) throw new TypeError(`input ${n} is not allowed`);
    });
  },
};
