// A parsed `*.distill.json` checked against its schema (shared/distillSpecSchema.ts), the same
// schema the editor validates with. Each problem names its JSON path, what is wrong and what is
// allowed; unknown keys are reported with the closest known name, never ignored. Only the
// keywords that schema uses are understood: a keyword added there must be added here too (a unit
// test walks the schema for unknown ones).
import { closest } from './names';

export interface SpecProblem {
  severity: 'error' | 'warning';
  /** JSON path of the field, e.g. `knowledge[1].pairs[0].teacher` (empty: the whole spec). */
  path: string;
  message: string;
}

/** A JSON Schema node as plain data (TypeBox schemas are such objects). */
export type SchemaNode = { readonly [keyword: string]: unknown };

/** The keywords checkAgainstSchema acts on or knowingly passes over (annotations for the editor). */
export const UNDERSTOOD_KEYWORDS = new Set([
  'type',
  'const',
  'enum',
  'minLength',
  'pattern',
  'patternErrorMessage',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'minItems',
  'items',
  'properties',
  'required',
  'additionalProperties',
  'oneOf',
  'anyOf',
  'discriminator',
  'title',
  'description',
  'default',
  'examples',
  'enumDescriptions',
  '$schema',
  '$id',
]);

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const join = (at: string, key: string | number) => (typeof key === 'number' ? `${at}[${key}]` : at ? `${at}.${key}` : key);
const show = (v: unknown) => JSON.stringify(v);
const oneOfText = (values: readonly unknown[]) => `must be one of ${values.map(show).join(', ')}`;
const members = (s: SchemaNode) => (s.oneOf ?? s.anyOf) as SchemaNode[] | undefined;

export function checkAgainstSchema(schema: SchemaNode, value: unknown): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const err = (at: string, message: string): false => (problems.push({ severity: 'error', path: at, message }), false);

  const numberProblem = (s: SchemaNode, v: unknown, integer: boolean): string | null => {
    const { minimum, maximum, exclusiveMinimum } = s as Record<string, number | undefined>;
    const fits =
      typeof v === 'number' &&
      Number.isFinite(v) &&
      (!integer || Number.isInteger(v)) &&
      (minimum === undefined || v >= minimum) &&
      (exclusiveMinimum === undefined || v > exclusiveMinimum) &&
      (maximum === undefined || v <= maximum);
    if (fits) return null;
    const bounds = [
      minimum !== undefined ? `>= ${minimum}` : '',
      exclusiveMinimum !== undefined ? `> ${exclusiveMinimum}` : '',
      maximum !== undefined ? `<= ${maximum}` : '',
    ]
      .filter(Boolean)
      .join(' and ');
    return `must be ${integer ? 'a whole number' : 'a number'}${bounds ? ` ${bounds}` : ''} (got ${show(v)})`;
  };

  const object = (s: SchemaNode, v: unknown, at: string): boolean => {
    if (!isObj(v)) return err(at || '(spec)', 'must be an object');
    const fields = (s.properties ?? {}) as Record<string, SchemaNode>;
    let ok = true;
    // Own keys only: a spec key such as `valueOf` must not find Object.prototype's member.
    for (const k of (s.required ?? []) as string[]) if (!Object.hasOwn(v, k) || v[k] === undefined) ok = err(join(at, k), 'is required');
    for (const [k, x] of Object.entries(v)) {
      const field = Object.hasOwn(fields, k) ? fields[k] : undefined;
      if (!field) {
        const near = closest(k, Object.keys(fields));
        ok = err(join(at, k), `is not a known field${near ? ` (did you mean '${near}'?)` : ''}; known: ${Object.keys(fields).join(', ')}`);
      } else if (x !== undefined && !check(field, x, join(at, k))) ok = false;
    }
    return ok;
  };

  /** Alternatives: null, objects told apart by a `discriminator` value, or objects told apart by their required key. */
  const union = (s: SchemaNode, alternatives: SchemaNode[], v: unknown, at: string): boolean => {
    if (v === null && alternatives.some((m) => m.type === 'null')) return true;
    const objects = alternatives.filter((m) => m.type !== 'null');
    if (objects.length === 1) return check(objects[0], v, at);
    const key = s.discriminator as string | undefined;
    if (key) {
      if (!isObj(v)) return err(at, `must be an object with a ${key}`);
      const tags = objects.map((m) => (m.properties as Record<string, SchemaNode>)[key].const);
      const i = tags.indexOf(v[key]);
      return i < 0 ? err(join(at, key), `${oneOfText(tags)} (got ${show(v[key])})`) : check(objects[i], v, at);
    }
    if (!isObj(v)) return err(at, 'must be an object');
    const keyOf = (m: SchemaNode) => (m.required as string[])[0];
    const present = objects.filter((m) => v[keyOf(m)] !== undefined);
    if (present.length > 1) return err(at, `give either ${objects.map((m) => `${keyOf(m)} (${m.title})`).join(' or ')}, not both`);
    return check(present[0] ?? objects[objects.length - 1], v, at);
  };

  function check(s: SchemaNode, v: unknown, at: string): boolean {
    const alternatives = members(s);
    if (alternatives) return union(s, alternatives, v, at);
    if ('const' in s) return v === s.const || err(at, `${oneOfText([s.const])} (got ${show(v)})`);
    if (s.enum) return (s.enum as unknown[]).includes(v) || err(at, `${oneOfText(s.enum as unknown[])} (got ${show(v)})`);
    const types = ([] as unknown[]).concat(s.type);
    if (v === null && types.includes('null')) return true;
    switch (types.find((t) => t !== 'null')) {
      case 'string': {
        if (typeof v !== 'string' || v.length < ((s.minLength as number) ?? 0)) return err(at, s.minLength ? 'must be a non-empty string' : 'must be a string');
        if (s.pattern && !new RegExp(s.pattern as string).test(v))
          return err(at, `${(s.patternErrorMessage as string) ?? `must match ${s.pattern}`} (got ${show(v)})`);
        return true;
      }
      case 'number':
      case 'integer': {
        const problem = numberProblem(s, v, s.type === 'integer' || types.includes('integer'));
        return problem === null || err(at, problem);
      }
      case 'boolean':
        return typeof v === 'boolean' || err(at, 'must be true or false');
      case 'array': {
        if (!Array.isArray(v)) return err(at, 'must be a list');
        const min = (s.minItems as number) ?? 0;
        if (v.length < min) return err(at, `must list at least ${min} item${min === 1 ? '' : 's'}`);
        return v.map((x, i) => check(s.items as SchemaNode, x, join(at, i))).every(Boolean);
      }
      case 'object':
        return object(s, v, at);
      default:
        throw new Error(`the spec schema at ${at || '(spec)'} has a node this check does not understand`);
    }
  }

  check(schema, value, '');
  return problems;
}
