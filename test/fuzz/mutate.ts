// Byte-level inputs: real files (seeds) damaged the ways files get damaged, and random bytes.
import * as fc from 'fast-check';

type Mutation =
  | { kind: 'truncate'; at: number }
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'duplicate'; at: number; length: number };

/** Positions are fractions of the length, so one mutation means something for any seed. */
const at = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });
// Bytes that sit on boundaries: zero, sign bits, all ones, a varint continuation.
const interesting = fc.constantFrom(0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0x3f, 0x40);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at }),
  { arbitrary: fc.record({ kind: fc.constant('flip' as const), at, bit: fc.integer({ min: 0, max: 7 }) }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('set' as const), at, value: fc.oneof(interesting, fc.integer({ min: 0, max: 255 })) }), weight: 3 },
  fc.record({
    kind: fc.constant('insert' as const),
    at,
    bytes: fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 16 }), fc.constant(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f))),
  }),
  fc.record({ kind: fc.constant('delete' as const), at, length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('duplicate' as const), at, length: fc.integer({ min: 1, max: 256 }) }),
);

function apply(bytes: Uint8Array, m: Mutation): Uint8Array {
  const i = Math.floor(m.at * bytes.length);
  switch (m.kind) {
    case 'truncate':
      return bytes.subarray(0, i);
    case 'flip':
    case 'set': {
      if (!bytes.length) return bytes;
      const out = bytes.slice();
      out[i] = m.kind === 'flip' ? out[i] ^ (1 << m.bit) : m.value;
      return out;
    }
    case 'insert':
      return concat(bytes.subarray(0, i), m.bytes, bytes.subarray(i));
    case 'delete':
      return concat(bytes.subarray(0, i), bytes.subarray(i + m.length));
    case 'duplicate':
      return concat(bytes.subarray(0, i + m.length), bytes.subarray(i));
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A seed with 1 to `max` mutations applied. */
export function mutated(seeds: readonly Uint8Array[], max = 4): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(fc.integer({ min: 0, max: seeds.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: max }))
    .map(([k, ms]) => ms.reduce(apply, seeds[k]));
}

/** Mutated seeds mostly, fully random bytes sometimes, and `prefix` followed by random bytes
 *  (so that random data gets past a magic number). */
export function bytesLike(seeds: readonly Uint8Array[], prefix?: Uint8Array): fc.Arbitrary<Uint8Array> {
  const random = fc.uint8Array({ maxLength: 512 });
  return fc.oneof(
    { arbitrary: mutated(seeds), weight: 6 },
    { arbitrary: random, weight: 1 },
    { arbitrary: prefix ? random.map((r) => concat(prefix, r)) : random, weight: 1 },
  );
}
