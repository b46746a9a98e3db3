// Streaming a converted model's tensors to its data file as they are made (TensorSink), alone and
// through the fp16 and weight-only modes: the written model holds the same tensors as one written
// at the end, onnxruntime runs it, and a failure or cancel leaves nothing behind.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { ModelWriteError } from '../../src/core/errors';
import { DataType } from '../../src/core/onnx/dataTypes';
import { isExternal } from '../../src/core/onnx/externalData';
import { decodeModel, readModel, type OnnxModel } from '../../src/core/onnx/model';
import { makeTensor, readTensor, tensorRawBytes } from '../../src/core/onnx/tensor';
import { TensorSink } from '../../src/core/onnx/tensorSink';
import { int64ToNumber } from '../../src/core/onnx/types';
import { allTensors } from '../../src/core/onnx/walk';
import { writeModel } from '../../src/core/onnx/write';
import { quantizeModel } from '../../src/core/quant/pipeline';
import { resolveSettings } from '../../src/core/quant/settings';
import { GraphBuilder, modelBytes } from '../fixtures/builder';
import { ort, runOrt, seededFloats, TempDirs } from '../support/helpers';

/** Two MatMul weights (16 KiB, 8 KiB), a small bias (inline whatever the placement), a Constant. */
function mlp(): GraphBuilder {
  return new GraphBuilder('mlp')
    .input('x', DataType.FLOAT, ['N', 64])
    .initializer('w1', DataType.FLOAT, [64, 64], seededFloats(1, 64 * 64))
    .initializer('b1', DataType.FLOAT, [64], seededFloats(2, 64))
    .initializer('w2', DataType.FLOAT, [64, 32], seededFloats(3, 64 * 32))
    .constant('c', DataType.FLOAT, [32], seededFloats(4, 32))
    .node('MatMul', ['x', 'w1'], ['h'])
    .node('Add', ['h', 'b1'], ['h2'])
    .node('Relu', ['h2'], ['h3'])
    .node('MatMul', ['h3', 'w2'], ['o'])
    .node('Add', ['o', 'c'], ['y'])
    .output('y', DataType.FLOAT, ['N', 32]);
}

const feeds = () => ({ x: new ort.Tensor('float32', seededFloats(9, 2 * 64), [2, 64]) });

/** Name -> the tensor's bytes, for every tensor of a model (external ones read from their file). */
function tensorBytes(model: OnnxModel): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const { tensor, name } of allTensors(model.proto)) out.set(name, Buffer.from(tensorRawBytes(tensor, model.external)));
  return out;
}

/** Every entry of a folder, hidden staging folders included (empty ones too). */
function entries(dir: string): string[] {
  return fs.readdirSync(dir).sort();
}

/** The weights (>= 1 KiB) replaced by new tensors of the same values times 2, as a conversion makes them. */
function convert(model: OnnxModel, sink?: TensorSink): void {
  const graph = model.proto.graph!;
  graph.initializer = graph.initializer.map((t) => {
    const values = Float32Array.from(readTensor(t, model.external).values as Float32Array, (v) => v * 2);
    const made = makeTensor({ name: t.name ?? '', dataType: DataType.FLOAT, dims: t.dims.map((d) => int64ToNumber(d)), values });
    sink?.put(made);
    return made;
  });
}

describe('streaming converted tensors to the data file (TensorSink)', () => {
  const temp = new TempDirs('onnx-compress-sink-');
  afterEach(() => temp.cleanup());

  /** The mlp saved with its weights in external data, read back. */
  async function externalSource(): Promise<OnnxModel> {
    const dir = temp.make();
    const file = path.join(dir, 'mlp.onnx');
    await writeModel(decodeModel(modelBytes(mlp())), file, { placement: 'external' });
    return readModel(file);
  }

  it('a model whose tensors were put as made holds the same tensors as one written at the end, and runs the same', async () => {
    const source = await externalSource();
    const outDir = temp.make();

    const atEnd = decodeModel(modelBytes(mlp()));
    convert(atEnd);
    const endFile = path.join(outDir, 'end.onnx');
    await writeModel(atEnd, endFile, { placement: 'external' });

    const streamed = decodeModel(modelBytes(mlp()), { baseDir: source.external.baseDir });
    const streamFile = path.join(outDir, 'streamed.onnx');
    const sink = new TensorSink(streamFile, { store: streamed.external });
    convert(streamed, sink);
    // w1 and w2 went to the staged data file at once; the 256-byte bias stays inline.
    const weights = streamed.proto.graph!.initializer;
    assert.deepStrictEqual(
      weights.map((t) => [t.name, isExternal(t), t.raw_data === undefined]),
      [
        ['w1', true, true],
        ['b1', false, false],
        ['w2', true, true],
      ],
    );
    assert.ok(fs.statSync(sink.stagedData).size >= (64 * 64 + 64 * 32) * 4);
    assert.ok(!fs.existsSync(streamFile), 'nothing under the final name before the write');
    // Read before the write, a put tensor comes from the staged file (not a file of its name elsewhere).
    assert.deepStrictEqual(Buffer.from(tensorRawBytes(weights[0], streamed.external)), tensorBytes(atEnd).get('w1'));

    const r = await writeModel(streamed, streamFile, { placement: 'external', sink, release: true });
    assert.strictEqual(r.externalTensors, 2);
    assert.deepStrictEqual(entries(outDir), ['end.onnx', 'end.onnx.data', 'streamed.onnx', 'streamed.onnx.data']);
    assert.strictEqual(fs.statSync(r.dataFile!).size, r.dataBytes);

    const [a, b] = [tensorBytes(await readModel(endFile)), tensorBytes(await readModel(streamFile))];
    assert.deepStrictEqual([...b.keys()].sort(), [...a.keys()].sort());
    for (const [name, bytes] of a) assert.ok(bytes.equals(b.get(name)!), `tensor ${name} has the same bytes`);
    assert.deepStrictEqual(await runOrt(streamFile, feeds()), await runOrt(endFile, feeds()));
    // After the write, the model in memory reads its put tensors from the written data file.
    assert.deepStrictEqual(Buffer.from(tensorRawBytes(weights[2], streamed.external)), a.get('w2'));
  });

  it('a tensor of the source left as it was is copied from its data file after the put ones', async () => {
    const source = await externalSource();
    const model = decodeModel(modelBytes(mlp()), { baseDir: source.external.baseDir });
    // Only w1 is converted; w2 stays the source's external tensor.
    const src = source.proto.graph!.initializer;
    model.proto.graph!.initializer = [src[0], src[1], src[2]];
    const out = path.join(temp.make(), 'part.onnx');
    const sink = new TensorSink(out, { store: model.external });
    const w1 = makeTensor({ name: 'w1', dataType: DataType.FLOAT, dims: [64, 64], values: seededFloats(1, 64 * 64) });
    sink.put(w1);
    model.proto.graph!.initializer[0] = w1;
    await writeModel(model, out, { placement: 'external', keepExternal: true, sink, release: true });
    const written = tensorBytes(await readModel(out));
    const expected = tensorBytes(decodeModel(modelBytes(mlp())));
    for (const name of ['w1', 'b1', 'w2', 'c']) assert.ok(written.get(name)!.equals(expected.get(name)!), name);
    assert.deepStrictEqual(await runOrt(out, feeds()), await runOrt(modelBytes(mlp()), feeds()));
  });

  it('cancelling between puts, or a failed write or check, leaves no file and no staging folder', async () => {
    const outDir = temp.make();
    const out = path.join(outDir, 'x.onnx');
    const isCancel = (e: unknown) => e instanceof ModelWriteError && /cancelled/.test(e.message);

    // Cancelled after the first put: the next put refuses, the caller discards.
    const ac = new AbortController();
    const model = decodeModel(modelBytes(mlp()));
    const sink = new TensorSink(out, { signal: ac.signal, store: model.external });
    assert.strictEqual(entries(outDir).length, 1, 'the staging folder');
    const graph = model.proto.graph!;
    sink.put(makeTensor({ name: 'w1', dataType: DataType.FLOAT, dims: [64, 64], values: seededFloats(1, 64 * 64) }));
    ac.abort();
    assert.throws(() => sink.put(makeTensor({ name: 'w2', dataType: DataType.FLOAT, dims: [64, 32], values: seededFloats(3, 64 * 32) })), isCancel);
    sink.discard();
    sink.discard();
    assert.deepStrictEqual(entries(outDir), []);

    // Cancelled while writeModel finishes a sink: it discards it.
    const ac2 = new AbortController();
    const m2 = decodeModel(modelBytes(mlp()));
    const sink2 = new TensorSink(out, { signal: ac2.signal, store: m2.external });
    convert(m2, sink2);
    const writing = writeModel(m2, out, { placement: 'external', sink: sink2, signal: ac2.signal });
    ac2.abort();
    await assert.rejects(writing, isCancel);
    assert.deepStrictEqual(entries(outDir), []);

    // The check refuses the staged model: its error comes out, nothing is left.
    const m3 = decodeModel(modelBytes(mlp()));
    const sink3 = new TensorSink(out, { store: m3.external });
    convert(m3, sink3);
    await assert.rejects(
      writeModel(m3, out, {
        placement: 'external',
        sink: sink3,
        check: () => Promise.reject(new Error('refused by the check')),
      }),
      /refused by the check/,
    );
    assert.deepStrictEqual(entries(outDir), []);
    assert.ok(graph.initializer.length > 0);
  });

  it('a sink for another output is refused and discarded', async () => {
    const outDir = temp.make();
    const model = decodeModel(modelBytes(mlp()));
    const sink = new TensorSink(path.join(outDir, 'a.onnx'), { store: model.external });
    convert(model, sink);
    await assert.rejects(writeModel(model, path.join(outDir, 'b.onnx'), { placement: 'external', sink }), /is not/);
    assert.deepStrictEqual(entries(outDir), []);
  });

  describe('through the modes (a source with external data streams its converted tensors)', () => {
    /** The same float model saved inline and with external data, each in its own folder. */
    async function both(): Promise<{ inline: string; external: string }> {
      const inline = path.join(temp.make(), 'mlp.onnx');
      fs.writeFileSync(inline, modelBytes(mlp()));
      const external = path.join(temp.make(), 'mlp.onnx');
      await writeModel(decodeModel(modelBytes(mlp())), external, { placement: 'external' });
      return { inline, external };
    }

    it('fp16 verification: the float model runs first, and its session is gone before the half model is loaded', async () => {
      const { inline } = await both();
      const create = ort.InferenceSession.create.bind(ort.InferenceSession);
      const order: string[] = [];
      let alive = 0;
      let most = 0;
      // The real onnxruntime, counted: sessions alive at once, and which file each one loads.
      ort.InferenceSession.create = (async (...args: Parameters<typeof create>) => {
        const session = await create(...args);
        order.push(typeof args[0] === 'string' ? path.basename(args[0]) : 'bytes');
        most = Math.max(most, ++alive);
        const release = session.release.bind(session);
        session.release = () => {
          alive--;
          return release();
        };
        return session;
      }) as typeof ort.InferenceSession.create;
      let r;
      try {
        r = await quantizeModel(inline, resolveSettings({ mode: 'fp16', calibration: 'synthetic:2' }), { output: path.join(path.dirname(inline), 'h.onnx') });
      } finally {
        ort.InferenceSession.create = create;
      }
      assert.deepStrictEqual(order, ['mlp.onnx', 'h.onnx']);
      assert.strictEqual(most, 1, 'one session at a time');
      assert.ok(Number.isFinite(r.verification.outputSqnrDb?.y), r.verification.note);
    });

    for (const mode of ['fp16', 'weight-only', 'dynamic'] as const) {
      it(`${mode}: the streamed output holds the same tensors as the inline one, and runs the same`, async () => {
        const { inline, external } = await both();
        const settings = resolveSettings({ mode, calibration: 'synthetic:2', ...(mode === 'weight-only' ? { blockSize: 16 } : {}) });
        const a = await quantizeModel(inline, settings, { output: path.join(path.dirname(inline), 'out.onnx') });
        const b = await quantizeModel(external, settings, { output: path.join(path.dirname(external), 'out.onnx') });
        assert.ok(!fs.existsSync(`${a.output}.data`), 'the inline source gives an inline output');
        assert.deepStrictEqual(entries(path.dirname(b.output)), ['mlp.onnx', 'mlp.onnx.data', 'out.onnx', 'out.onnx.data', 'out.quant.json']);
        const [ta, tb] = [tensorBytes(await readModel(a.output)), tensorBytes(await readModel(b.output))];
        assert.deepStrictEqual([...tb.keys()].sort(), [...ta.keys()].sort());
        for (const [name, bytes] of ta) assert.ok(bytes.equals(tb.get(name)!), `tensor ${name} has the same bytes`);
        const streamed = await readModel(b.output);
        assert.ok(streamed.proto.graph!.initializer.some((t) => isExternal(t)));
        assert.deepStrictEqual(await runOrt(b.output, feeds()), await runOrt(a.output, feeds()));
        assert.strictEqual(b.verification.loads, true);
      });

      it(`${mode}: a cancel during the conversion leaves the output folder as it was`, async () => {
        const { external } = await both();
        const dir = path.dirname(external);
        // Aborted at the second put (the first weight is already in the staged data file).
        let asked = 0;
        const signal = {
          get aborted() {
            return ++asked > 1;
          },
          addEventListener() {},
          removeEventListener() {},
        } as unknown as AbortSignal;
        await assert.rejects(
          quantizeModel(external, resolveSettings({ mode, calibration: 'synthetic:2', ...(mode === 'weight-only' ? { blockSize: 16 } : {}) }), {
            output: path.join(dir, 'out.onnx'),
            signal,
          }),
          /cancelled/,
        );
        assert.ok(asked > 1);
        assert.deepStrictEqual(entries(dir), ['mlp.onnx', 'mlp.onnx.data']);
      });
    }
  });
});
