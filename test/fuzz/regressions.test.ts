// The smallest inputs the fuzz targets found that broke the invariant, kept as fixed cases: each
// must now fail with the reader's own error class (see FUZZING.md for the defects).
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { openDataSource } from '../../src/core/data';
import { DataSourceError } from '../../src/core/data/errors';
import { checkSpecStructure } from '../../src/core/distill/spec';
import { MessageRejected, parseFromView } from '../../src/shared/ipc';
import { MODEL_VIEW_PROTOCOL } from '../../src/shared/modelViewProtocol';
import { REPORT_VIEW_PROTOCOL } from '../../src/shared/reportViewProtocol';
import { RUN_VIEW_PROTOCOL } from '../../src/shared/runViewProtocol';
import { ModelReadError } from '../../src/core/errors';
import { DataType } from '../../src/core/onnx/dataTypes';
import { decodeModel } from '../../src/core/onnx/model';
import { GraphBuilder, modelBytes } from '../fixtures/builder';
import { TempDirs } from '../support/helpers';
import { idxBytes, npyBytes, npzBytes } from '../support/npyWriter';
import { decodeImage } from '../../src/core/data/images';
import { PNG } from 'pngjs';
import { pngWithSize } from './targets/dataFiles';

const echo = () =>
  decodeModel(
    modelBytes(new GraphBuilder('echo').input('x', DataType.FLOAT, ['N', 2, 3]).node('Identity', ['x'], ['y']).output('y', DataType.FLOAT, ['N', 2, 3])),
  );

describe('fuzz regressions', () => {
  const temp = new TempDirs('onnx-fuzz-regression-');
  after(() => temp.cleanup());

  it('a value_info dim of 2^63-1 is a ModelReadError, not a RangeError from the summary', () => {
    // ModelProto { ir_version 1, graph { input { type { tensor_type { shape { dim { dim_value INT64_MAX }}}}}}}
    const bytes = Uint8Array.from([8, 1, 58, 26, 18, 0, 90, 22, 10, 0, 18, 18, 10, 16, 8, 0, 18, 12, 10, 10, 8, 255, 255, 255, 255, 255, 255, 255, 255, 127]);
    assert.throws(
      () => decodeModel(bytes),
      (e: Error) => e instanceof ModelReadError && /dimension of value '' of graph main 9223372036854775807 is beyond 2\^53/.test(e.message),
    );
  });

  it('an opset version beyond 2^53 is a ModelReadError', () => {
    const b = new GraphBuilder('g').input('x', DataType.FLOAT, [1]).output('x', DataType.FLOAT, [1]);
    const bytes = modelBytes(b, { opsets: { 'com.microsoft': '9223372036854775807' as unknown as number } });
    assert.throws(
      () => decodeModel(bytes),
      (e: Error) => e instanceof ModelReadError && /opset version of 'com.microsoft'/.test(e.message),
    );
  });

  it('a zip directory entry whose extra field runs past the directory is a DataSourceError, not a DataView RangeError', async () => {
    const bytes = npzBytes({ x: { descr: '<f4', shape: [2, 2, 3], data: new Float32Array(12) } }, false);
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const eocd = bytes.length - 22;
    const central = v.getUint32(eocd + 16, true);
    v.setUint16(central + 30, 0xffff, true); // extra field length
    const file = path.join(temp.make(), 'data.npz');
    fs.writeFileSync(file, bytes);
    await assert.rejects(openDataSource(file, echo()), (e: Error) => e instanceof DataSourceError && /the zip directory is corrupt/.test(e.message));
  });

  it('a ZIP64 extra field shorter than the values it stands for is a DataSourceError', async () => {
    const bytes = npzBytes({ x: { descr: '<f4', shape: [2, 2, 3], data: new Float32Array(12) } }, false);
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const central = v.getUint32(bytes.length - 22 + 16, true);
    const nameLen = v.getUint16(central + 28, true);
    const extraLen = v.getUint16(central + 30, true);
    v.setUint32(central + 24, 0xffffffff, true); // size: "see ZIP64"
    // An extra field of id 1 holding 0 bytes, where the 8-byte size should be.
    const out = new Uint8Array(bytes.length + 4);
    out.set(bytes.subarray(0, central + 46 + nameLen + extraLen));
    out.set([1, 0, 0, 0], central + 46 + nameLen + extraLen);
    out.set(bytes.subarray(central + 46 + nameLen + extraLen), central + 50 + nameLen + extraLen);
    const ov = new DataView(out.buffer);
    ov.setUint16(central + 30, extraLen + 4, true);
    ov.setUint32(out.length - 22 + 12, ov.getUint32(out.length - 22 + 12, true) + 4, true); // directory size
    const file = path.join(temp.make(), 'data.npz');
    fs.writeFileSync(file, out);
    await assert.rejects(openDataSource(file, echo()), (e: Error) => e instanceof DataSourceError && /ZIP64 field is too short/.test(e.message));
  });

  it('a spec key named like an Object.prototype member is an unknown field, not a TypeError or silently accepted', () => {
    assert.doesNotThrow(() => checkSpecStructure({ valueOf: 0 }));
    for (const key of ['valueOf', 'toString', 'hasOwnProperty', 'constructor']) {
      const problems = checkSpecStructure(JSON.parse(`{"${key}": 1}`));
      assert.ok(
        problems.some((p) => p.path === key && /is not a known field/.test(p.message)),
        `${key}: ${JSON.stringify(problems)}`,
      );
    }
    const knowledge = checkSpecStructure({ knowledge: [{ type: 'constructor', name: 1 }] });
    assert.ok(
      knowledge.some((p) => p.path === 'knowledge[0].type' && /must be one of/.test(p.message)),
      JSON.stringify(knowledge),
    );
  });

  it('a webview message holding a bigint or a cycle is refused with a reason, not a TypeError from JSON.stringify', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    const refusal = (protocol: Parameters<typeof parseFromView>[0], raw: unknown) =>
      assert.throws(
        () => parseFromView(protocol, raw),
        (e: unknown) => e instanceof MessageRejected,
      );
    refusal(MODEL_VIEW_PROTOCOL, { type: 1n });
    refusal(MODEL_VIEW_PROTOCOL, { type: 'request', id: 1, method: cycle });
    refusal(REPORT_VIEW_PROTOCOL, { type: cycle });
    refusal(RUN_VIEW_PROTOCOL, { type: 'notify', method: 'action', params: { action: 2n } });
    refusal(RUN_VIEW_PROTOCOL, { type: 'nope' });
  });

  it('an array declaring 2^31 samples of no values is refused, not shuffled with an 8 GiB order', async () => {
    const dir = temp.make();
    const npy = path.join(dir, 'data.npy');
    fs.writeFileSync(npy, npyBytes('<f4', [2 ** 31, 0, 3], new Uint8Array(0)));
    const shapeless = decodeModel(
      modelBytes(new GraphBuilder('g').input('x', DataType.FLOAT, null).node('Identity', ['x'], ['y']).output('y', DataType.FLOAT, null)),
    );
    await assert.rejects(
      openDataSource(npy, shapeless),
      (e: Error) => e instanceof DataSourceError && /declares 2147483648 samples of shape \[0,3\], which hold no values/.test(e.message),
    );
    const idx = path.join(dir, 'train-images-idx3-ubyte');
    fs.writeFileSync(idx, idxBytes(0x08, [2 ** 31, 0, 3], new Uint8Array(0)));
    await assert.rejects(openDataSource(idx, shapeless), (e: Error) => e instanceof DataSourceError && /which hold no values/.test(e.message));
  });

  it('a PNG header declaring 65535x65535 or 0x(2^31-1) pixels is refused before pngjs fills it out', () => {
    const p = new PNG({ width: 2, height: 2 });
    const png = new Uint8Array(PNG.sync.write(p));
    for (const [w, h, why] of [
      [65535, 65535, /65535x65535 PNG, more than 100 megapixels/],
      [0, 2 ** 31 - 1, /PNG of 0x2147483647 pixels/],
    ] as const) {
      assert.throws(
        () => decodeImage(pngWithSize(png, w, h), 'big.png'),
        (e: Error) => e instanceof DataSourceError && why.test(e.message),
      );
    }
  });
});
