// The settings table against package.json: every declared setting is read through the table and
// every table entry is declared, with the type the code expects; reads clamp and fall back.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { declaredSettings, SETTINGS, SETTINGS_SECTION, settingValue, type SettingName } from '../../src/extension/common/settingsTable';

const ROOT = path.resolve(__dirname, '..', '..', '..');

const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const declared = declaredSettings(manifest);
const names = Object.keys(SETTINGS) as SettingName[];
const fullKey = (n: SettingName) => `${SETTINGS_SECTION}.${SETTINGS[n].key}`;

describe('settings table', () => {
  it('every setting in package.json is in the table, and every table entry in package.json', () => {
    assert.deepStrictEqual(Object.keys(declared).sort(), names.map(fullKey).sort());
  });

  it('each entry has the type package.json declares, and a default of that type', () => {
    for (const n of names) {
      assert.strictEqual(declared[fullKey(n)].type, SETTINGS[n].type, fullKey(n));
      assert.doesNotThrow(() => settingValue(n, declared[fullKey(n)], undefined), fullKey(n));
    }
  });

  it('an unset value reads as the declared default', () => {
    for (const n of names) assert.deepStrictEqual(settingValue(n, declared[fullKey(n)], undefined), declared[fullKey(n)].default, fullKey(n));
  });

  it('numbers are clamped to the declared bounds and rounded (histogram bins to an even number)', () => {
    const bins = declared[fullKey('histogramBins')];
    assert.strictEqual(settingValue('histogramBins', bins, 3), bins.minimum);
    assert.strictEqual(settingValue('histogramBins', bins, 1e9), bins.maximum);
    assert.strictEqual(settingValue('histogramBins', bins, 101), 102);
    const page = declared[fullKey('pageSize')];
    assert.strictEqual(settingValue('pageSize', page, 10), page.minimum);
    assert.strictEqual(settingValue('pageSize', page, 99999), page.maximum);
    assert.strictEqual(settingValue('latencyRuns', declared[fullKey('latencyRuns')], 2.6), 3);
    assert.strictEqual(settingValue('analysisSamples', declared[fullKey('analysisSamples')], -5), 0);
  });

  it('a value of the wrong type falls back to the declared default (it gave NaN bins before)', () => {
    for (const n of names) {
      for (const wrong of [n === 'probeShapes' || n === 'sensitivity' ? 'yes' : true, null, Number.NaN, [1, 2]]) {
        if (SETTINGS[n].type === 'integer' && typeof wrong === 'number' && Number.isFinite(wrong)) continue;
        assert.deepStrictEqual(settingValue(n, declared[fullKey(n)], wrong), declared[fullKey(n)].default, `${fullKey(n)} = ${JSON.stringify(wrong)}`);
      }
    }
    assert.strictEqual(settingValue('histogramBins', declared[fullKey('histogramBins')], 'many'), 64);
  });

  it('a manifest without a default for a setting is a programming error, said with the key', () => {
    assert.throws(() => settingValue('pageSize', undefined, 100), /onnxCompress\.inspector\.pageSize/);
  });
});
