// The extension's side of every webview, driven through a fake panel: nothing is posted before
// the view says ready, a hidden (torn down) view waits for its next ready, requests get their
// answer under their id, refused messages never reach a handler.
import * as assert from 'assert';
import { WebviewHost, type HostPanel } from '../../src/extension/webview/host';
import { MODEL_VIEW_PROTOCOL } from '../../src/shared/modelViewProtocol';
import { RUN_VIEW_PROTOCOL } from '../../src/shared/runViewProtocol';

/** A panel whose view is played by the test: `send` is the view posting, `posted` what it got. */
function fakePanel() {
  const listeners = { message: [] as Array<(m: unknown) => void>, state: [] as Array<() => void>, dispose: [] as Array<() => void> };
  const on =
    <T extends unknown[]>(list: Array<(...a: T) => void>) =>
    (fn: (...a: T) => void) => {
      list.push(fn);
      return { dispose: () => list.splice(list.indexOf(fn), 1) };
    };
  const fake = {
    visible: true,
    posted: [] as unknown[],
    webview: { postMessage: async (m: unknown) => fake.posted.push(m) > 0, onDidReceiveMessage: on(listeners.message) },
    onDidChangeViewState: on(listeners.state),
    onDidDispose: on(listeners.dispose),
    /** The view posts `m`; resolves once the host has handled it. */
    send: async (m: unknown) => {
      listeners.message.forEach((fn) => fn(m));
      await new Promise((r) => setImmediate(r));
    },
    setVisible: (v: boolean) => {
      fake.visible = v;
      listeners.state.forEach((fn) => fn());
    },
    listeners,
  };
  return fake;
}

const log = () => {
  const lines: string[] = [];
  return { lines, warn: (s: string) => lines.push(s), error: (s: string) => lines.push(s) };
};

describe('webview host', () => {
  it('queues notifications until the view is ready, again after it was hidden, and answers requests by id', async () => {
    const panel = fakePanel();
    const host = new WebviewHost(panel as unknown as HostPanel, {
      protocol: MODEL_VIEW_PROTOCOL,
      log: log(),
      beforeReady: 'queue',
      notifications: {},
      requests: {
        overview: () => {
          throw new Error('no model');
        },
        nodes: () => {
          throw new Error('unused');
        },
        tensors: () => [],
        tensorStats: () => {
          throw new Error('unused');
        },
        revealInInspector: ({ name }) => name === 'conv',
        layerErrors: () => null,
        setInputShapes: () => false,
      },
    });
    assert.strictEqual(host.notify('reveal', { kind: 'node', name: 'a' }), false);
    assert.deepStrictEqual(panel.posted, [], 'nothing is posted before ready');
    await panel.send({ type: 'ready' });
    assert.deepStrictEqual(panel.posted, [{ type: 'notify', method: 'reveal', params: { kind: 'node', name: 'a' } }]);

    // VS Code tears a hidden webview down: what is sent meanwhile waits for its next ready.
    panel.setVisible(false);
    host.notify('reveal', { kind: 'tensor', name: 'w' });
    assert.strictEqual(panel.posted.length, 1);
    panel.setVisible(true);
    await panel.send({ type: 'ready' });
    assert.deepStrictEqual(panel.posted[1], { type: 'notify', method: 'reveal', params: { kind: 'tensor', name: 'w' } });

    await panel.send({ type: 'request', id: 7, method: 'revealInInspector', params: { kind: 'node', name: 'conv' } });
    await panel.send({ type: 'request', id: 8, method: 'overview' });
    assert.deepStrictEqual(panel.posted.slice(2), [
      { type: 'response', id: 7, result: true },
      { type: 'response', id: 8, error: 'no model' },
    ]);
  });

  it('replays through onReady instead of queueing, and refuses what does not fit the protocol', async () => {
    const panel = fakePanel();
    const logged = log();
    const actions: string[] = [];
    let readies = 0;
    const host = new WebviewHost(panel as unknown as HostPanel, {
      protocol: RUN_VIEW_PROTOCOL,
      log: logged,
      beforeReady: 'replay',
      onReady: () => {
        readies++;
        host.notify('reset', {});
      },
      notifications: { drawn: () => undefined, action: ({ action }) => void actions.push(action) },
    });
    host.notify('events', { events: [] });
    await panel.send({ type: 'ready' });
    assert.deepStrictEqual(panel.posted, [{ type: 'notify', method: 'reset', params: {} }], 'what was sent before ready is dropped: onReady replays');
    assert.strictEqual(readies, 1);

    await panel.send({ type: 'notify', method: 'action', params: { action: 'format c:' } });
    await panel.send({ type: 'request', id: 1, method: 'drawn', params: {} });
    assert.deepStrictEqual(actions, []);
    assert.match(host.lastRejected ?? '', /unknown method "drawn"/);
    assert.strictEqual(logged.lines.length, 2);
    await panel.send({ type: 'notify', method: 'action', params: { action: 'cancel' } });
    assert.deepStrictEqual(actions, ['cancel']);

    host.dispose();
    assert.deepStrictEqual([panel.listeners.message.length, panel.listeners.state.length, panel.listeners.dispose.length], [0, 0, 0]);
    assert.strictEqual(host.ready, false);
  });
});
