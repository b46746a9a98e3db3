import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { ModelReadError, ModelWriteError } from '../../src/core/errors';
import { createMessage } from '../../src/core/onnx/codec';
import { DataType } from '../../src/core/onnx/dataTypes';
import { externalDataRef, isExternal } from '../../src/core/onnx/externalData';
import { decodeModel, readModel, type OnnxModel } from '../../src/core/onnx/model';
import { readTensor } from '../../src/core/onnx/tensor';
import type { TensorProto } from '../../src/core/onnx/types';
import { allTensors } from '../../src/core/onnx/walk';
import { writeModel } from '../../src/core/onnx/write';
import { createSession } from '../../src/core/runtime/session';
import { GraphBuilder, modelBytes } from '../fixtures/builder';
import { listFiles, ort, runOrt, runSession, seededFloats, TempDirs, type Outputs } from '../support/helpers';

/** A small MLP: two weights over 1 KiB, a bias and a Constant under it. */
function mlp(): GraphBuilder {
  return new GraphBuilder('mlp')
    .input('x', DataType.FLOAT, ['N', 64])
    .initializer('w1', DataType.FLOAT, [64, 32], seededFloats(1, 64 * 32)) // 8 KiB
    .initializer('b1', DataType.FLOAT, [32], seededFloats(2, 32)) // 128 B
    .initializer('w2', DataType.FLOAT, [32, 16], seededFloats(3, 32 * 16)) // 2 KiB
    .constant('c', DataType.FLOAT, [16], seededFloats(4, 16)) // 64 B
    .node('MatMul', ['x', 'w1'], ['h'])
    .node('Add', ['h', 'b1'], ['h2'])
    .node('Relu', ['h2'], ['h3'])
    .node('MatMul', ['h3', 'w2'], ['o'])
    .node('Add', ['o', 'c'], ['y'])
    .output('y', DataType.FLOAT, ['N', 16]);
}

const feeds = () => ({ x: new ort.Tensor('float32', seededFloats(9, 2 * 64), [2, 64]) });

function externalTensor(name: string, dims: number[], entries: Record<string, string>): TensorProto {
  return createMessage<TensorProto>('TensorProto', {
    name,
    data_type: DataType.FLOAT,
    dims,
    data_location: 1,
    external_data: Object.entries(entries).map(([key, value]) => ({ key, value })),
  });
}

/** A model whose initializer 'w' [4] lives in external data described by `entries`. */
function modelWithExternal(entries: Record<string, string>): Uint8Array {
  const g = new GraphBuilder('ext')
    .input('x', DataType.FLOAT, [4])
    .initializerProto(externalTensor('w', [4], entries))
    .node('Add', ['x', 'w'], ['y'])
    .output('y', DataType.FLOAT, [4]);
  return modelBytes(g);
}

function expectReadError(file: string, ...patterns: RegExp[]) {
  return (e: unknown) => {
    assert.ok(e instanceof ModelReadError, `expected ModelReadError, got ${e instanceof Error ? `${e.name}: ${e.message}` : e}`);
    assert.ok(e.message.includes(file), `message names the model file ${file}: ${e.message}`);
    assert.ok(e.message.includes("tensor 'w'"), `message names the tensor: ${e.message}`);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  };
}

describe('external data', () => {
  const temp = new TempDirs('onnx-compress-ext-');
  afterEach(() => temp.cleanup());

  let reference: Outputs;
  before(async () => {
    reference = await runOrt(modelBytes(mlp()), feeds());
  });

  async function writeExternal(threshold?: number): Promise<{ dir: string; file: string; result: Awaited<ReturnType<typeof writeModel>> }> {
    const dir = temp.make();
    const file = path.join(dir, 'mlp.onnx');
    const result = await writeModel(decodeModel(modelBytes(mlp())), file, { placement: 'external', threshold });
    return { dir, file, result };
  }

  describe("writeModel(placement 'external')", () => {
    it('moves tensors of at least the threshold to one aligned data file; onnxruntime runs it identically', async () => {
      const { dir, file, result } = await writeExternal();
      assert.deepStrictEqual(listFiles(dir), ['mlp.onnx', 'mlp.onnx.data']);
      assert.strictEqual(result.externalTensors, 2);
      assert.strictEqual(result.dataFile, path.join(dir, 'mlp.onnx.data'));
      assert.strictEqual(fs.statSync(result.dataFile!).size, result.dataBytes);
      assert.strictEqual(fs.statSync(file).size, result.bytes);
      assert.ok(result.bytes < 1024, `the .onnx file keeps only the small tensors (${result.bytes} bytes)`);

      const model = await readModel(file);
      const ext = [...allTensors(model.proto)].filter((v) => isExternal(v.tensor));
      assert.deepStrictEqual(ext.map((v) => v.name).sort(), ['w1', 'w2']);
      for (const v of ext) {
        const ref = externalDataRef(v.tensor);
        assert.strictEqual(ref.location, 'mlp.onnx.data');
        assert.strictEqual(ref.offset % 64, 0, `${v.name} offset ${ref.offset} aligned`);
        assert.strictEqual(v.tensor.raw_data, undefined);
      }

      // onnxruntime reads the file (and its data) itself...
      assert.deepStrictEqual(await runOrt(file, feeds()), reference);
      // ...and through the engine's in-memory session, which resolves data in the model's folder.
      const session = await createSession(model);
      try {
        assert.deepStrictEqual(await runSession(session, feeds()), reference);
      } finally {
        await session.release();
      }
    });

    it('a lower threshold moves small tensors and Constant values too', async () => {
      const { file, result } = await writeExternal(64);
      assert.strictEqual(result.externalTensors, 4);
      const model = await readModel(file);
      const constant = [...allTensors(model.proto)].find((v) => v.name === 'c')!;
      assert.strictEqual(constant.role, 'constant');
      assert.ok(isExternal(constant.tensor));
      assert.deepStrictEqual(await runOrt(file, feeds()), reference);
    });

    it('writing leaves the model in memory unchanged', async () => {
      const model = decodeModel(modelBytes(mlp()));
      const before = modelBytes(mlp());
      await writeModel(model, path.join(temp.make(), 'm.onnx'), { placement: 'external', threshold: 0 });
      assert.ok([...allTensors(model.proto)].every((v) => !isExternal(v.tensor)));
      const { encodeMessage } = await import('../../src/core/onnx/codec');
      assert.deepStrictEqual(Buffer.from(encodeMessage('ModelProto', model.proto)), Buffer.from(before));
    });
  });

  describe('reading external tensors', () => {
    it('reads tensors lazily, from the data file as it is when asked', async () => {
      const { file, result } = await writeExternal();
      const model = await readModel(file);
      const w1 = model.proto.graph!.initializer.find((t) => t.name === 'w1')!;
      assert.deepStrictEqual(readTensor(w1, model.external).values, seededFloats(1, 64 * 32));

      // Nothing was read at load: change the bytes on disk, the next read sees the change.
      const { offset } = externalDataRef(w1);
      const fd = fs.openSync(result.dataFile!, 'r+');
      try {
        fs.writeSync(fd, new Uint8Array(Float32Array.of(123.5).buffer), 0, 4, offset);
      } finally {
        fs.closeSync(fd);
      }
      const again = readTensor(w1, model.external).values as Float32Array;
      assert.strictEqual(again[0], 123.5);
      assert.strictEqual(again[1], seededFloats(1, 2)[1]);
    });

    it('readModel and decodeModel with baseDir resolve the same data', async () => {
      const { dir, file } = await writeExternal();
      const viaFile = await readModel(file);
      const viaBytes = decodeModel(fs.readFileSync(file), { baseDir: dir, label: 'in memory' });
      for (const m of [viaFile, viaBytes]) {
        const w2 = m.proto.graph!.initializer.find((t) => t.name === 'w2')!;
        assert.deepStrictEqual(readTensor(w2, m.external).values, seededFloats(3, 32 * 16));
      }
    });

    it('a location with a harmless .. that stays in the folder is accepted', async () => {
      const dir = temp.make();
      fs.mkdirSync(path.join(dir, 'sub'));
      fs.writeFileSync(path.join(dir, 'w.bin'), new Uint8Array(Float32Array.of(1, 2, 3, 4).buffer));
      const file = path.join(dir, 'm.onnx');
      fs.writeFileSync(file, modelWithExternal({ location: 'sub/../w.bin', offset: '0', length: '16' }));
      const model = await readModel(file);
      assert.deepStrictEqual(Array.from(readTensor(model.proto.graph!.initializer[0], model.external).values as Float32Array), [1, 2, 3, 4]);
      assert.deepStrictEqual((await runOrt(file, { x: new ort.Tensor('float32', new Float32Array(4), [4]) })).y.data, [1, 2, 3, 4]);
    });
  });

  describe('bad external references give a ModelReadError naming the file, the tensor and the problem', () => {
    function setup(entries: Record<string, string>, dataBytes = 16): { dir: string; file: string } {
      const dir = temp.make();
      fs.writeFileSync(path.join(dir, 'w.bin'), new Uint8Array(dataBytes));
      const file = path.join(dir, 'bad.onnx');
      fs.writeFileSync(file, modelWithExternal(entries));
      return { dir, file };
    }

    async function expectBoth(dir: string, file: string, ...patterns: RegExp[]): Promise<void> {
      await assert.rejects(readModel(file), expectReadError(file, ...patterns));
      assert.throws(() => decodeModel(fs.readFileSync(file), { baseDir: dir, label: file }), expectReadError(file, ...patterns));
    }

    it('a missing data file', async () => {
      const { dir, file } = setup({ location: 'nowhere.bin', offset: '0', length: '16' });
      await expectBoth(dir, file, /nowhere\.bin/, /missing/);
    });

    it('a location with .. that leads out of the folder', async () => {
      const { dir, file } = setup({ location: '../w.bin', offset: '0', length: '16' });
      fs.writeFileSync(path.join(path.dirname(dir), 'w.bin'), new Uint8Array(16)); // exists, so only the escape is wrong
      try {
        await expectBoth(dir, file, /\.\.\/w\.bin/, /outside the model's folder/, /refused/);
      } finally {
        fs.rmSync(path.join(path.dirname(dir), 'w.bin'), { force: true });
      }
      const deeper = setup({ location: 'a/../../../etc/passwd', offset: '0', length: '4' });
      await expectBoth(deeper.dir, deeper.file, /outside the model's folder/);
    });

    it('an absolute location', async () => {
      const { dir, file } = setup({ location: '/etc/passwd', offset: '0', length: '4' });
      await expectBoth(dir, file, /\/etc\/passwd/, /relative to the model's folder/);
      const inside = setup({ location: '', offset: '0', length: '4' });
      fs.writeFileSync(inside.file, modelWithExternal({ location: path.join(inside.dir, 'w.bin'), offset: '0', length: '16' }));
      await expectBoth(inside.dir, inside.file, /relative to the model's folder/);
    });

    it('a symbolic link that points outside the folder (file or folder link)', async () => {
      const outside = temp.make();
      fs.writeFileSync(path.join(outside, 'secret.bin'), new Uint8Array(64).fill(7));
      const { dir, file } = setup({ location: 'link.bin', offset: '0', length: '16' });
      fs.symlinkSync(path.join(outside, 'secret.bin'), path.join(dir, 'link.bin'));
      await expectBoth(dir, file, /link\.bin/, /link that leads outside/, /refused/);

      const viaFolder = setup({ location: 'sub/secret.bin', offset: '0', length: '16' });
      fs.symlinkSync(outside, path.join(viaFolder.dir, 'sub'));
      await expectBoth(viaFolder.dir, viaFolder.file, /sub\/secret\.bin/, /outside/);
    });

    it('a symbolic link that stays inside the folder is followed', async () => {
      const { dir, file } = setup({ location: 'alias.bin', offset: '0', length: '16' });
      fs.writeFileSync(path.join(dir, 'w.bin'), new Uint8Array(Float32Array.of(4, 3, 2, 1).buffer));
      fs.symlinkSync('w.bin', path.join(dir, 'alias.bin'));
      const model = await readModel(file);
      assert.deepStrictEqual(Array.from(readTensor(model.proto.graph!.initializer[0], model.external).values as Float32Array), [4, 3, 2, 1]);
    });

    it('offset + length beyond the end of the data file', async () => {
      const past = setup({ location: 'w.bin', offset: '8', length: '16' });
      await expectBoth(past.dir, past.file, /bytes 8\.\.24/, /has 16 bytes/, /truncated/);
      const offsetOnly = setup({ location: 'w.bin', offset: '20' });
      await expectBoth(offsetOnly.dir, offsetOnly.file, /has 16 bytes/);
      const tooLong = setup({ location: 'w.bin', offset: '0', length: '99999999999' });
      await expectBoth(tooLong.dir, tooLong.file, /has 16 bytes/);
    });

    it('malformed offset or length, no location', async () => {
      const neg = setup({ location: 'w.bin', offset: '-4', length: '16' });
      await expectBoth(neg.dir, neg.file, /offset '-4'/);
      const huge = setup({ location: 'w.bin', offset: '99999999999999999999', length: '16' });
      await expectBoth(huge.dir, huge.file, /too large/);
      const none = setup({ offset: '0', length: '16' });
      await expectBoth(none.dir, none.file, /without a location/);
    });

    it('a location that names a folder, not a file', async () => {
      const { dir, file } = setup({ location: '.', offset: '0', length: '16' });
      const sub = setup({ location: 'data', offset: '0', length: '4' });
      fs.mkdirSync(path.join(sub.dir, 'data'));
      // A folder has a size on Linux but no bytes to read: refused at load, not by EISDIR later.
      await expectBoth(dir, file);
      await expectBoth(sub.dir, sub.file, /data/);
    });

    it('a model with external data decoded from memory without a folder', () => {
      const bytes = modelWithExternal({ location: 'w.bin', offset: '0', length: '16' });
      assert.throws(() => decodeModel(bytes, { label: 'buffer.onnx' }), expectReadError('buffer.onnx', /read from memory/));
    });
  });

  describe("writeModel(placement 'inline')", () => {
    it('pulls every external tensor back into the .onnx file', async () => {
      const src = await writeExternal(0);
      assert.strictEqual(src.result.externalTensors, 4);
      const model = await readModel(src.file);
      const outDir = temp.make();
      const out = path.join(outDir, 'inline.onnx');
      const r = await writeModel(model, out, { placement: 'inline' });
      assert.deepStrictEqual(listFiles(outDir), ['inline.onnx']);
      assert.strictEqual(r.externalTensors, 0);
      assert.strictEqual(r.dataFile, undefined);
      // Needs no folder any more: decode the bytes alone.
      const back = decodeModel(fs.readFileSync(out));
      for (const v of allTensors(back.proto)) {
        assert.ok(!isExternal(v.tensor), `${v.name} inline`);
        assert.ok(v.tensor.raw_data && v.tensor.raw_data.length > 0, `${v.name} has raw_data`);
      }
      assert.deepStrictEqual(readTensor(back.proto.graph!.initializer.find((t) => t.name === 'w1')!).values, seededFloats(1, 64 * 32));
      assert.deepStrictEqual(await runOrt(out, feeds()), reference);
      assert.deepStrictEqual(await runOrt(fs.readFileSync(out), feeds()), reference);
      // The source keeps its external layout in memory and on disk.
      assert.ok(isExternal(model.proto.graph!.initializer.find((t) => t.name === 'w1')!));
      assert.deepStrictEqual(await runOrt(src.file, feeds()), reference);
    });

    it("'keep' writes external tensors to a data file beside the new output", async () => {
      const src = await writeExternal();
      const outDir = temp.make();
      const r = await writeModel(await readModel(src.file), path.join(outDir, 'copy.onnx'));
      assert.deepStrictEqual(listFiles(outDir), ['copy.onnx', 'copy.onnx.data']);
      assert.strictEqual(r.externalTensors, 2);
      assert.deepStrictEqual(await runOrt(path.join(outDir, 'copy.onnx'), feeds()), reference);
    });
  });

  describe('never harming the source', () => {
    function snapshot(dir: string): Map<string, string> {
      return new Map(listFiles(dir).map((f) => [f, fs.readFileSync(path.join(dir, f)).toString('base64')]));
    }

    it('writing over the source model is refused and leaves it untouched', async () => {
      const { dir, file } = await writeExternal();
      const before = snapshot(dir);
      const model = await readModel(file);
      for (const target of [file, path.join(dir, '.', 'mlp.onnx'), path.join(dir, 'sub', '..', 'mlp.onnx')]) {
        for (const placement of ['keep', 'external', 'inline'] as const) {
          await assert.rejects(
            writeModel(model, target, { placement }),
            (e: unknown) => e instanceof ModelWriteError && /refusing to write over the model being read/.test(e.message) && e.message.includes(target),
          );
        }
      }
      // A link to the source is the source too.
      fs.symlinkSync(file, path.join(dir, 'alias.onnx'));
      fs.linkSync(file, path.join(dir, 'hard.onnx'));
      for (const alias of ['alias.onnx', 'hard.onnx']) {
        await assert.rejects(writeModel(model, path.join(dir, alias)), ModelWriteError);
      }
      fs.rmSync(path.join(dir, 'alias.onnx'));
      fs.rmSync(path.join(dir, 'hard.onnx'));
      assert.deepStrictEqual(snapshot(dir), before, 'no file changed, no temp file left');
      assert.deepStrictEqual(await runOrt(file, feeds()), reference);
    });

    it('a data file location that is the source model itself is refused', async () => {
      const { dir, file } = await writeExternal();
      const before = snapshot(dir);
      const model = await readModel(file);
      await assert.rejects(
        writeModel(model, path.join(dir, 'other.onnx'), { placement: 'external', location: 'mlp.onnx' }),
        (e: unknown) => e instanceof ModelWriteError && /overwrite the source model/.test(e.message),
      );
      assert.deepStrictEqual(snapshot(dir), before);
    });

    it("a data file location that is the source's own external data file is refused", async () => {
      // The source's data is laid out by hand (offsets 0 and 40) so that a rewrite with the
      // writer's alignment would move the bytes under the source's feet.
      const dir = temp.make();
      const a = Float32Array.from({ length: 10 }, (_, i) => i + 1);
      const b = Float32Array.from({ length: 10 }, (_, i) => i + 11);
      fs.writeFileSync(path.join(dir, 'src.onnx.data'), Buffer.concat([Buffer.from(a.buffer), Buffer.from(b.buffer)]));
      const g = new GraphBuilder('g')
        .input('x', DataType.FLOAT, [10])
        .initializerProto(externalTensor('a', [10], { location: 'src.onnx.data', offset: '0', length: '40' }))
        .initializerProto(externalTensor('b', [10], { location: 'src.onnx.data', offset: '40', length: '40' }))
        .node('Add', ['x', 'a'], ['t'])
        .node('Add', ['t', 'b'], ['y'])
        .output('y', DataType.FLOAT, [10]);
      const file = path.join(dir, 'src.onnx');
      fs.writeFileSync(file, modelBytes(g));
      const x = { x: new ort.Tensor('float32', new Float32Array(10), [10]) };
      const expected = await runOrt(file, x);
      const before = snapshot(dir);

      const model = await readModel(file);
      await assert.rejects(
        writeModel(model, path.join(dir, 'copy.onnx'), { location: 'src.onnx.data' }),
        ModelWriteError,
        "writing the copy's data over the source's data file must be refused",
      );
      assert.deepStrictEqual(snapshot(dir), before, 'the source model and its data are untouched');
      assert.deepStrictEqual(await runOrt(file, x), expected);
    });
  });

  describe('cancelling a write', () => {
    async function sourceModel(): Promise<OnnxModel> {
      const g = new GraphBuilder('big').input('x', DataType.FLOAT, [256]);
      let prev = 'x';
      for (let i = 0; i < 8; i++) {
        g.initializer(`w${i}`, DataType.FLOAT, [256], seededFloats(i, 256)).node('Add', [prev, `w${i}`], [`a${i}`]);
        prev = `a${i}`;
      }
      g.output(prev, DataType.FLOAT, [256]);
      const dir = temp.make();
      fs.writeFileSync(path.join(dir, 'big.onnx'), modelBytes(g));
      return readModel(path.join(dir, 'big.onnx'));
    }

    const isCancel = (e: unknown) => e instanceof ModelWriteError && /cancel|abort/i.test(e.message);

    it('an already aborted signal writes nothing', async () => {
      const model = await sourceModel();
      const outDir = temp.make();
      const ac = new AbortController();
      ac.abort();
      await assert.rejects(writeModel(model, path.join(outDir, 'out.onnx'), { placement: 'external', signal: ac.signal }), isCancel);
      assert.deepStrictEqual(listFiles(outDir), []);
    });

    it('an abort between tensors removes the partly written data file and the temp model', async () => {
      const model = await sourceModel();
      const outDir = temp.make();
      // Aborted once three tensors have gone to the (temporary) data file.
      let checks = 0;
      const signal = {
        get aborted() {
          return ++checks > 4;
        },
      } as unknown as AbortSignal;
      await assert.rejects(writeModel(model, path.join(outDir, 'out.onnx'), { placement: 'external', threshold: 0, signal }), isCancel);
      assert.ok(checks > 4);
      assert.deepStrictEqual(listFiles(outDir), [], 'no output, no data file, no temp files');
      // The model in memory is as it was, and can still be written.
      const r = await writeModel(model, path.join(outDir, 'out.onnx'), { placement: 'external', threshold: 0 });
      assert.strictEqual(r.externalTensors, 8);
    });

    it('an abort while the write is in progress rejects and leaves no file', async () => {
      const model = await sourceModel();
      const outDir = temp.make();
      const ac = new AbortController();
      const writing = writeModel(model, path.join(outDir, 'out.onnx'), { placement: 'external', threshold: 0, signal: ac.signal });
      ac.abort(); // the caller cancels before the promise has settled
      const outcome = await writing.then(
        () => 'completed',
        (e: unknown) => e,
      );
      assert.ok(isCancel(outcome), `the write must honour the abort, but it ${outcome === 'completed' ? 'completed' : `failed with ${outcome}`}`);
      assert.deepStrictEqual(listFiles(outDir), []);
    });

    it('a failed write leaves no temp files', async () => {
      const model = await sourceModel();
      const outDir = temp.make();
      await assert.rejects(writeModel(model, path.join(outDir, 'out.onnx'), { placement: 'external', location: 'sub/data.bin' }), /plain file name/);
      // The output's folder cannot be made (a file has its name): the error is reported, nothing is left.
      fs.writeFileSync(path.join(outDir, 'taken'), '');
      const blocked = path.join(outDir, 'taken', 'out.onnx');
      await assert.rejects(writeModel(model, blocked, { placement: 'external', threshold: 0 }), ModelWriteError);
      assert.deepStrictEqual(listFiles(outDir), ['taken']);
    });
  });
});
