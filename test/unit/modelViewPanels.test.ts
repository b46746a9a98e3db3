// What the model view's host keeps per editor and per model, tested without VS Code: two editors
// of one model each keep their own state and outlive each other; a model is released when its
// last editor closes unless the inspector shows it.
import * as assert from 'assert';
import { ModelCache } from '../../src/extension/modelCache';
import { WebviewCollection } from '../../src/extension/webview/collection';

describe('model view panels', function () {
  it('two editors of one model keep their own state, and closing one keeps the other', () => {
    const panels = new WebviewCollection<{ id: string; status: string }>();
    const a = { id: 'a', status: 'ready' };
    const b = { id: 'b', status: 'loading' };
    const removeA = panels.add('file:///m.onnx', a);
    const removeB = panels.add('file:///m.onnx', b);
    panels.add('file:///other.onnx', { id: 'c', status: 'ready' });
    assert.deepStrictEqual(panels.panels('file:///m.onnx'), [a, b], 'the second editor does not replace the first');
    assert.strictEqual(panels.current('file:///m.onnx'), b, 'the editor opened last is current');
    panels.touch('file:///m.onnx', a);
    assert.strictEqual(panels.current('file:///m.onnx'), a, 'the editor made active is current');
    assert.strictEqual(a.status, 'ready');

    removeA();
    removeA();
    assert.ok(panels.has('file:///m.onnx'), 'closing one editor keeps the model open');
    assert.deepStrictEqual(panels.panels('file:///m.onnx'), [b]);
    assert.strictEqual(panels.current('file:///m.onnx'), b);
    removeB();
    assert.ok(!panels.has('file:///m.onnx'));
    assert.deepStrictEqual(panels.keys(), ['file:///other.onnx']);
    assert.deepStrictEqual(
      panels.panels('file:///other.onnx').map((p) => p.id),
      ['c'],
    );
  });
});

describe('model store: reference counting', function () {
  const load = (log: string[], key: string) => () => {
    log.push(key);
    return Promise.resolve(`model ${key}`);
  };

  it('keeps a model while an editor shows it and releases it when the last one closes', async () => {
    const reads: string[] = [];
    const released: string[] = [];
    const cache = new ModelCache<string>((key) => released.push(key));
    const first = cache.retain('m');
    const second = cache.retain('m');
    assert.strictEqual(await cache.get('m', load(reads, 'm')), 'model m');
    assert.strictEqual(await cache.get('m', load(reads, 'm')), 'model m');
    assert.deepStrictEqual(reads, ['m'], 'read once for both editors');
    assert.strictEqual(cache.references('m'), 2);

    first();
    first();
    assert.strictEqual(cache.references('m'), 1, 'releasing twice counts once');
    assert.ok(cache.isLoaded('m'), 'the other editor still shows it');
    second();
    assert.strictEqual(cache.references('m'), 0);
    assert.ok(!cache.isLoaded('m'), 'released with its last editor');
    assert.deepStrictEqual(released, ['m']);
    await cache.get('m', load(reads, 'm'));
    assert.deepStrictEqual(reads, ['m', 'm'], 'read again when asked for again');
  });

  it("keeps the inspector's active model without an editor, and releases it when another becomes active", async () => {
    const reads: string[] = [];
    const cache = new ModelCache<string>();
    cache.setActive('m');
    const editor = cache.retain('m');
    await cache.get('m', load(reads, 'm'));
    editor();
    assert.ok(cache.isLoaded('m'), 'the inspector still shows it');
    const other = cache.retain('n');
    await cache.get('n', load(reads, 'n'));
    cache.setActive('n');
    assert.ok(!cache.isLoaded('m'), 'no editor and no longer active: released');
    assert.ok(cache.isLoaded('n'));
    other();
    assert.ok(cache.isLoaded('n'), 'active: kept after its editor closes');
    cache.setActive(undefined);
    assert.ok(!cache.isLoaded('n'));
  });

  it('a read for a command while nothing keeps the model lasts until the next release; a failed read is forgotten', async () => {
    const cache = new ModelCache<string>();
    await cache.get('cmd', () => Promise.resolve('x'));
    assert.ok(cache.isLoaded('cmd'));
    cache.retain('m')();
    assert.ok(!cache.isLoaded('cmd'));
    await assert.rejects(cache.get('bad', () => Promise.reject(new Error('truncated'))));
    assert.ok(!cache.isLoaded('bad'), 'a failed read is tried again next time');
  });
});
