// Structure-aware JSON inputs: a valid document with one to three of its values replaced, keys
// removed or unknown keys added (prototype names among them, as JSON.parse makes them own keys).
import * as fc from 'fast-check';

type Json = unknown;

/** Paths of every value inside `v` (the root included), parents first. */
function paths(v: Json, at: Array<string | number> = [], out: Array<Array<string | number>> = []): Array<Array<string | number>> {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}

const NASTY_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'type', ''];
const NASTY_VALUES: Json[] = [null, -1, 0, 1e308, -0, 2 ** 53 + 2, '', 'x'.repeat(5000), [], {}, true, '__proto__', [[[[[]]]]]];

const replacement = fc.oneof(fc.constantFrom(...NASTY_VALUES), fc.jsonValue({ maxDepth: 2 }));

interface Edit {
  where: number;
  op: 'replace' | 'delete' | 'add';
  key: string;
  value: Json;
}

const edit: fc.Arbitrary<Edit> = fc.record({
  where: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
  op: fc.constantFrom('replace', 'replace', 'delete', 'add'),
  key: fc.oneof(fc.constantFrom(...NASTY_KEYS), fc.string({ maxLength: 6 })),
  value: replacement,
});

function applyEdit(doc: Json, e: Edit): Json {
  const all = paths(doc);
  const p = all[Math.floor(e.where * all.length)];
  if (p.length === 0) return e.op === 'replace' ? structuredClone(e.value) : doc;
  let parent = doc as Record<string | number, Json>;
  for (const k of p.slice(0, -1)) parent = parent[k] as Record<string | number, Json>;
  const last = p[p.length - 1];
  const target = parent[last];
  // A copy: the same generated value placed twice (inside itself, even) would make a cycle.
  const value = structuredClone(e.value);
  if (e.op === 'replace') parent[last] = value;
  else if (e.op === 'delete') {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else if (target && typeof target === 'object' && !Array.isArray(target)) {
    // An own property even for '__proto__', as JSON.parse and structured clone make it.
    Object.defineProperty(target, e.key, { value, enumerable: true, writable: true, configurable: true });
  }
  return doc;
}

/** A seed deep-copied (through JSON text, as a file or message would arrive) then edited. */
export function mutatedJson(seeds: readonly Json[]): fc.Arbitrary<Json> {
  return fc
    .tuple(fc.integer({ min: 0, max: seeds.length - 1 }), fc.array(edit, { minLength: 1, maxLength: 3 }))
    .map(([k, edits]) => JSON.parse(JSON.stringify(edits.reduce(applyEdit, JSON.parse(JSON.stringify(seeds[k]))))));
}

/** Mutated seeds, random JSON values, and anything at all (bigints, typed arrays, cycles-free objects). */
export function jsonLike(seeds: readonly Json[], anything = false): fc.Arbitrary<Json> {
  return fc.oneof(
    { arbitrary: mutatedJson(seeds), weight: 6 },
    { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 1 },
    {
      arbitrary: anything
        ? fc.anything({ withBigInt: true, withTypedArray: true, withMap: true, withNullPrototype: true, withSparseArray: true })
        : fc.jsonValue(),
      weight: 1,
    },
  );
}
