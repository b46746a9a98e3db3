import * as assert from 'assert';
import { parseWebviewMessage } from '../../src/shared/protocol';

describe('webview messages are validated as untrusted input', () => {
  it('accepts the ready handshake and well-formed requests', () => {
    assert.deepStrictEqual(parseWebviewMessage({ type: 'ready' }), { type: 'ready' });
    assert.deepStrictEqual(parseWebviewMessage({ type: 'request', id: 3, method: 'tensorStats', params: { name: 'w' } }),
      { type: 'request', id: 3, method: 'tensorStats', params: { name: 'w' } });
    assert.deepStrictEqual(parseWebviewMessage({ type: 'request', id: 1, method: 'overview' }),
      { type: 'request', id: 1, method: 'overview', params: {} });
  });

  it('refuses anything else, saying why', () => {
    const cases: Array<[unknown, RegExp]> = [
      [null, /not an object/],
      ['ready', /not an object/],
      [{ type: 'eval', code: 'x' }, /unknown message type/],
      [{ type: 'request', id: 1.5, method: 'overview' }, /id must be an integer/],
      [{ type: 'request', id: 1, method: '__proto__' }, /unknown method/],
      [{ type: 'request', id: 1, method: 'tensorStats', params: { name: 42 } }, /name must be a string/],
      [{ type: 'request', id: 1, method: 'tensorStats', params: { name: 'x'.repeat(5000) } }, /name must be a string/],
      [{ type: 'request', id: 1, method: 'nodes', params: { probe: 'yes' } }, /probe must be a boolean/],
      [{ type: 'request', id: 1, method: 'revealInInspector', params: { kind: 'file', name: '/etc/passwd' } }, /kind must be node\|tensor/],
      [{ type: 'request', id: 1, method: 'overview', params: [1] }, /params must be an object/],
    ];
    for (const [msg, why] of cases) {
      const r = parseWebviewMessage(msg);
      assert.strictEqual(typeof r, 'string', `${JSON.stringify(msg)} is refused`);
      assert.match(r as string, why);
    }
  });
});
