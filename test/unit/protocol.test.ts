// Every message a webview sends is untrusted input: the view protocols validate it with pure
// functions (no DOM, no VS Code) that give a typed value or a MessageRejected, never another throw.
import * as assert from 'assert';
import fc from 'fast-check';
import { MessageRejected, parseFromView, parseToView, type AnyProtocol } from '../../src/shared/ipc';
import { MODEL_VIEW_PROTOCOL } from '../../src/shared/modelViewProtocol';
import { REPORT_VIEW_PROTOCOL } from '../../src/shared/reportViewProtocol';
import { RUN_VIEW_PROTOCOL } from '../../src/shared/runViewProtocol';

const PROTOCOLS: AnyProtocol[] = [MODEL_VIEW_PROTOCOL, REPORT_VIEW_PROTOCOL, RUN_VIEW_PROTOCOL];

/** Why `raw` is refused (fails when it is accepted). */
function refusal(parse: (raw: unknown) => unknown, raw: unknown): string {
  try {
    parse(raw);
  } catch (e) {
    assert.ok(e instanceof MessageRejected, `only MessageRejected is thrown, not ${String(e)}`);
    return e.message;
  }
  return assert.fail(`${JSON.stringify(raw)} is accepted`);
}

describe('model view messages', () => {
  const parse = (raw: unknown) => parseFromView(MODEL_VIEW_PROTOCOL, raw);

  it('accepts the ready handshake and well-formed requests', () => {
    assert.deepStrictEqual(parse({ type: 'ready' }), { type: 'ready' });
    assert.deepStrictEqual(parse({ type: 'request', id: 3, method: 'tensorStats', params: { name: 'w' } }), {
      type: 'request',
      id: 3,
      method: 'tensorStats',
      params: { name: 'w' },
    });
    assert.deepStrictEqual(parse({ type: 'request', id: 1, method: 'overview' }), { type: 'request', id: 1, method: 'overview', params: {} });
  });

  it('refuses anything else, saying why', () => {
    const cases: Array<[unknown, RegExp]> = [
      [null, /not an object/],
      ['ready', /not an object/],
      [{ type: 'eval', code: 'x' }, /unknown message type "eval"/],
      [{ type: 'request', id: 1.5, method: 'overview' }, /id must be an integer/],
      [{ type: 'request', id: 1, method: '__proto__' }, /unknown method/],
      [{ type: 'request', id: 1, method: 'toString' }, /unknown method/],
      [{ type: 'notify', method: 'reveal', params: { kind: 'node', name: 'n' } }, /unknown method/],
      [{ type: 'request', id: 1, method: 'tensorStats', params: { name: 42 } }, /tensorStats: name must be a string/],
      [{ type: 'request', id: 1, method: 'tensorStats', params: { name: 'x'.repeat(5000) } }, /name must be a string/],
      [{ type: 'request', id: 1, method: 'nodes', params: { probe: 'yes' } }, /probe must be a boolean/],
      [{ type: 'request', id: 1, method: 'revealInInspector', params: { kind: 'file', name: '/etc/passwd' } }, /kind must be node\|tensor/],
      [{ type: 'request', id: 1, method: 'overview', params: [1] }, /params must be an object/],
    ];
    for (const [msg, why] of cases) assert.match(refusal(parse, msg), why);
  });
});

describe('run view messages', () => {
  const parse = (raw: unknown) => parseFromView(RUN_VIEW_PROTOCOL, raw);

  it('accepts the messages the view sends and names what is wrong with others', () => {
    assert.deepStrictEqual(parse({ type: 'notify', method: 'action', params: { action: 'resume' } }), {
      type: 'notify',
      method: 'action',
      params: { action: 'resume' },
    });
    const drawn = { events: 3, steps: 2, epochs: 0, eta: '5s' };
    assert.deepStrictEqual(parse({ type: 'notify', method: 'drawn', params: drawn }), { type: 'notify', method: 'drawn', params: drawn });
    assert.match(refusal(parse, { type: 'notify', method: 'action', params: { action: 'rm -rf' } }), /unknown action "rm -rf"/);
    assert.match(refusal(parse, { type: 'notify', method: 'drawn', params: { ...drawn, events: -1 } }), /drawn\.events is not a count/);
    assert.match(refusal(parse, { type: 'notify', method: 'action', params: { action: 10n } }), /unknown action \(bigint\)/);
  });
});

describe('report panel messages', () => {
  const parse = (raw: unknown) => parseFromView(REPORT_VIEW_PROTOCOL, raw);
  const note = (method: string, params?: unknown) => ({ type: 'notify', method, params });

  it('reads the actions, keeping only the fields it knows, and caps what it is sent', () => {
    assert.deepStrictEqual(parse(note('keepInFloat', { nodes: ['a', 'b', 'a'] })), note('keepInFloat', { nodes: ['a', 'b'] }));
    assert.deepStrictEqual(
      parse(note('autoKeepInFloat', { target: { kind: 'sqnr', value: 30 }, extra: 1 })),
      note('autoKeepInFloat', { target: { kind: 'sqnr', value: 30 } }),
    );
    assert.deepStrictEqual(parse(note('reveal', { layer: { tensor: 't', node: 'n', x: 1 } })), note('reveal', { layer: { tensor: 't', node: 'n' } }));
    assert.deepStrictEqual(parse(note('cancel')), note('cancel', {}));
    assert.match(refusal(parse, note('keepInFloat', { nodes: [] })), /non-empty list/);
    assert.match(refusal(parse, note('keepInFloat', { nodes: Array.from({ length: 100_001 }, (_, i) => `n${i}`) })), /non-empty list/);
    assert.match(
      refusal(parse, note('autoKeepInFloat', { target: { kind: 'accuracy', value: 87 } })),
      /autoKeepInFloat: an accuracy target is a share between 0 and 1/,
    );
    assert.match(refusal(parse, note('reveal', { layer: 'x' })), /layer must be/);
    assert.match(refusal(parse, note('keepInFloat', { nodes: [3] })), /non-empty list of node names/);
    assert.match(refusal(parse, note('autoKeepInFloat', { target: { kind: 'latency', value: 1 } })), /kind: sqnr\|agreement\|accuracy/);
    assert.match(refusal(parse, { type: 'runScript', code: 'x' }), /unknown message type "runScript"/);
  });
});

describe('every view message validator, fuzzed', () => {
  const wire = fc.record(
    {
      type: fc.constantFrom('ready', 'request', 'response', 'notify', 'other'),
      id: fc.oneof(fc.integer(), fc.double(), fc.string()),
      method: fc.oneof(
        fc.constantFrom(
          ...PROTOCOLS.flatMap((p) => [...Object.keys(p.requests), ...Object.keys(p.fromView), ...Object.keys(p.toView)]),
          '__proto__',
          'constructor',
        ),
        fc.string(),
      ),
      params: fc.anything({ withBigInt: true, withNullPrototype: true, withMap: true, withTypedArray: true }),
    },
    { requiredKeys: ['type'] },
  );

  /** Runs `parse`: a value or a MessageRejected, nothing else. */
  const cleanly = (parse: (raw: unknown) => unknown) => (raw: unknown) => {
    try {
      parse(raw);
    } catch (e) {
      if (!(e instanceof MessageRejected)) throw e;
    }
  };

  for (const protocol of PROTOCOLS) {
    it(`${protocol.name}: any input gives a typed value or a clean refusal`, () => {
      const descriptors = [...Object.values(protocol.requests), ...Object.values(protocol.fromView), ...Object.values(protocol.toView)];
      for (const d of descriptors as Array<{ params: (raw: unknown) => unknown }>) {
        fc.assert(fc.property(fc.anything({ withBigInt: true, withNullPrototype: true }), cleanly(d.params)), { seed: 11, numRuns: 300 });
      }
      fc.assert(
        fc.property(
          fc.oneof(wire, fc.anything()),
          cleanly((raw) => parseFromView(protocol, raw)),
        ),
        { seed: 11, numRuns: 1000 },
      );
      fc.assert(
        fc.property(
          fc.oneof(wire, fc.anything()),
          cleanly((raw) => parseToView(protocol, raw)),
        ),
        { seed: 11, numRuns: 1000 },
      );
    });
  }
});
