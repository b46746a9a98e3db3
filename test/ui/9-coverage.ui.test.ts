// Runs last: every menu entry and palette command the extension contributes was clicked by a flow
// above. A contributed command without a UI test fails here.
import * as assert from 'assert';
import { contributedEntries, uncovered } from './coverage';

describe('UI: coverage of the contributed menus', () => {
  it('every menu entry and palette command in package.json was used as a person uses it', () => {
    const all = contributedEntries();
    assert.ok(all.length > 25, `${all.length} entries read from package.json`);
    assert.deepStrictEqual(uncovered(), [], 'entries no UI test clicked');
  });
});
