// The validators of messages from the webviews (untrusted input): each returns the typed message or
// throws MessageRejected saying why, whatever the value.
import * as fc from 'fast-check';
import { type AnyProtocol, MessageRejected, parseFromView } from '../../../src/shared/ipc';
import { MODEL_VIEW_PROTOCOL } from '../../../src/shared/modelViewProtocol';
import { REPORT_VIEW_PROTOCOL } from '../../../src/shared/reportViewProtocol';
import { RUN_VIEW_PROTOCOL } from '../../../src/shared/runViewProtocol';
import { jsonLike } from '../jsonMutate';
import { expectClean, type FuzzTarget } from '../target';

const PARSERS: Array<(raw: unknown) => unknown> = ([MODEL_VIEW_PROTOCOL, REPORT_VIEW_PROTOCOL, RUN_VIEW_PROTOCOL] as AnyProtocol[]).map(
  (protocol) => (raw: unknown) => parseFromView(protocol, raw),
);

const SEEDS = [
  { type: 'ready' },
  { type: 'request', id: 1, method: 'nodes', params: { probe: true } },
  { type: 'request', id: 2, method: 'revealInInspector', params: { kind: 'node', name: 'conv1' } },
  { type: 'request', id: 3, method: 'tensorStats', params: { name: 'w' } },
  { type: 'notify', method: 'reveal', params: { layer: { tensor: 't', node: 'n' } } },
  { type: 'notify', method: 'keepInFloat', params: { nodes: ['a', 'b', 'a'] } },
  { type: 'notify', method: 'autoKeepInFloat', params: { target: { kind: 'sqnr', value: 30 } } },
  { type: 'notify', method: 'drawn', params: { events: 3, steps: 2, epochs: 1, eta: '1 min' } },
  { type: 'notify', method: 'action', params: { action: 'resume' } },
];

/** A cycle: what a message object could hold if the transport ever cloned instead of JSON. */
const cyclic = fc.constant(null).map(() => {
  const o: Record<string, unknown> = {};
  o.self = o;
  return o;
});

/** A valid message with one of its fields holding any value at all (bigints, cycles, typed arrays). */
const oddField = fc
  .tuple(
    fc.constantFrom(...SEEDS),
    fc.constantFrom('type', 'id', 'method', 'params'),
    fc.oneof(fc.anything({ withBigInt: true, withTypedArray: true, withBoxedValues: true, withNullPrototype: true }), cyclic),
  )
  .map(([seed, key, value]) => ({ ...seed, [key]: value }));

const target: FuzzTarget<{ parser: number; raw: unknown }> = {
  arbitrary: fc.record({ parser: fc.nat({ max: PARSERS.length - 1 }), raw: fc.oneof(jsonLike(SEEDS, true), oddField) }),
  async check({ parser, raw }) {
    await expectClean([MessageRejected], () => PARSERS[parser](raw));
  },
};

export default () => target;
