// Static quantization of a recurrent model: Silero VAD (16 kHz, opset 15) takes input [batch,
// sequence] float32, state [2, batch, 128] float32 and sr [] int64: the batch sits on axis 1 of
// the state and the scalar sr has none, so windows are batched along each input's own batch axis.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { sqnr } from '../../src/core/analysis/metrics';
import { openDataSource } from '../../src/core/data';
import { readModelSync } from '../support/helpers';
import { quantizeModel } from '../../src/core/quant/pipeline';
import { resolveSettings } from '../../src/core/quant/settings';
import { cpuHasVnni } from '../../src/core/runtime/cpu';
import { ort } from '../../src/core/runtime/session';
import type { QuantResult } from '../../src/shared/quantResult';
import { writeSileroFeed } from '../support/audio';
import { writeNpz } from '../support/npyWriter';
import { realModel } from '../support/browser';

const MODEL = 'silero_vad_16k_op15.onnx';

async function run(file: string, feed: Record<string, ort.Tensor>, level: 'all' | 'disabled' = 'all'): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(file, { graphOptimizationLevel: level });
  try {
    const out = await session.run(feed);
    return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, Float32Array.from(t.data as Float32Array)]));
  } finally {
    await session.release();
  }
}

describe("quantization of Silero VAD with windows batched on each input's batch axis", function () {
  this.timeout(300000);
  let dir: string;
  let calib: string;
  let src: string;
  let result: QuantResult;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'silero-'));
    src = path.join(dir, MODEL);
    fs.copyFileSync(realModel(MODEL), src);
    calib = path.join(dir, 'calib');
    fs.mkdirSync(calib);
    for (let k = 0; k < 8; k++) writeSileroFeed(path.join(calib, `feed_${k}.npz`), 1000 + k);
    writeSileroFeed(path.join(dir, 'unseen.npz'), 4242);
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("batches the .npz windows along each input's batch axis (state on axis 1, sr without one)", async () => {
    const source = await openDataSource(calib, readModelSync(src));
    const text = source.describe();
    assert.match(text, /8 samples/);
    assert.match(text, /input 'state' \[2,batch,128\]: batch on axis 1 \(the axis named batch\)/);
    assert.match(text, /input 'sr' \[\]: no batch axis/);
    const feeds = [];
    for await (const f of source.batches({ batchSize: 4 })) feeds.push(f);
    assert.strictEqual(feeds.length, 2, 'batchSize 4 concatenates four files');
    assert.deepStrictEqual(feeds[0].input.dims, [4, 512]);
    assert.deepStrictEqual(feeds[0].state.dims, [2, 4, 128]);
    assert.deepStrictEqual(feeds[0].sr.dims, []);
    assert.strictEqual(feeds[0].sr.type, 'int64');
    assert.strictEqual(feeds[0].sr.data[0], 16000n);
    // A limit counts samples; a seed shuffles their order.
    const limited = [];
    for await (const f of source.batches({ batchSize: 8, limit: 3, shuffleSeed: 1 })) limited.push(f);
    assert.strictEqual(limited.length, 1);
    assert.deepStrictEqual(limited[0].state.dims, [2, 3, 128]);
  });

  it('keeps the samples-reading error when a file is not an exact feed either', async () => {
    const bad = path.join(dir, 'bad.npz');
    writeNpz(bad, {
      input: { descr: '<f4', shape: [1, 512], data: new Float32Array(512) },
      state: { descr: '<f4', shape: [2, 1, 64], data: new Float32Array(128) },
      sr: { descr: '<i8', shape: [], data: BigInt64Array.of(16000n) },
    });
    await assert.rejects(() => openDataSource(bad, readModelSync(src)), /input 'state' \[2,batch,128\]: axis 2 is 64 where the model needs 128/);
    // sr as int32 is refused: the feed's element types must match the model's.
    writeNpz(bad, {
      input: { descr: '<f4', shape: [1, 512], data: new Float32Array(512) },
      state: { descr: '<f4', shape: [2, 1, 128], data: new Float32Array(256) },
      sr: { descr: '<i4', shape: [], data: Int32Array.of(16000) },
    });
    await assert.rejects(() => openDataSource(bad, readModelSync(src)), /is int32 but input 'sr' is int64/);
  });

  it('quantizes statically on the windows; the result loads and runs', async () => {
    result = await quantizeModel(src, resolveSettings({ calibration: calib, batchSize: 1 }), { resultFile: false });
    assert.ok(result.verification.ran, result.verification.note);
    assert.strictEqual(result.calibration!.samples, 8);
    assert.match(result.calibration!.source, /8 samples/);
    const quantized = result.nodes.filter((n) => n.quantized);
    const inBranches = quantized.filter((n) => n.reason.includes('(in main/'));
    console.log(`      quantized (${quantized.length}): ${quantized.map((n) => `${n.opType} ${n.node}`).join(', ')}`);
    console.log(`      of them inside If branches (${inBranches.length}): ${[...new Set(inBranches.map((n) => n.opType))].join(', ')}`);
    console.log(`      fusion: ${JSON.stringify(result.fusion)}; warnings: ${JSON.stringify(result.warnings)}`);
    console.log(`      size ratio ${result.sizes.ratio.toFixed(3)}`);
    // In this export (op15) the STFT Conv, the four encoder Convs and the decoder Conv sit in the
    // main graph. The last encoder Conv and its Relu feed the LSTM (through If branches) with
    // nothing but data movement between: they are kept in float, since the recurrence accumulates
    // the rounding of its input, and so are the branch nodes that carry the state into the LSTM;
    // the other five Convs are fused into QLinearConv (measured: 5 of 5). The LSTM lives inside
    // the If branches (one per sample rate); the data movement around it there is quantized in
    // the branch the calibration takes, the other branch's nodes stay in float, each saying why.
    assert.strictEqual(quantized.filter((n) => n.opType === 'Conv').length, 5, 'the other main-graph Convs are quantized');
    const beforeLstm = result.nodes.filter((n) => !n.quantized && n.reason.includes('reaches a recurrent op')).map((n) => n.node);
    for (const n of ['/model/encoder/3/reparam_conv/Conv', '/model/encoder/3/activation/Relu', '/model/decoder/Gather_2', '/model/decoder/Gather_3']) {
      assert.ok(beforeLstm.includes(n), `${n} feeds the LSTM: ${beforeLstm.join(', ')}`);
    }
    assert.ok(
      result.warnings.some((w) => w.includes('feeds a recurrent op') && w.includes('/model/encoder/3/reparam_conv/Conv')),
      JSON.stringify(result.warnings),
    );
    assert.ok(inBranches.length > 0, 'nodes inside the If branches are quantized');
    const untaken = result.nodes.filter((n) => !n.quantized && n.reason.includes('no calibration batch took the branch'));
    assert.ok(untaken.length > 0, 'the branch for the other sample rate is kept in float, with the reason');
    assert.strictEqual(result.fusion!.fused, result.fusion!.candidates, JSON.stringify(result.fusion!.unfused));
  });

  it('keeps the float outputs on an unseen feed (SQNR)', async () => {
    const model = readModelSync(src);
    const source = await openDataSource(path.join(dir, 'unseen.npz'), model);
    let feed: Record<string, ort.Tensor> | undefined;
    for await (const f of source.batches({ batchSize: 1 })) feed = f;
    const f = await run(src, feed!);
    const q = await run(result.output, feed!);
    const db: Record<string, number> = {};
    for (const name of Object.keys(f)) {
      db[name] = sqnr(f[name], q[name]);
      console.log(`      ${name}: SQNR ${db[name].toFixed(1)} dB (float ${f[name][0].toPrecision(4)}, int8 ${q[name][0].toPrecision(4)})`);
    }
    // Measured on this feed (seed 4242, onnxruntime-node 1.30, CPU): output 36.3 dB, stateN
    // 41.3 dB (11.3 dB while the STFT's power spectrum was quantized before its Sqrt: the LSTM
    // ran on encoder features that had lost the quiet bins; that Add now stays in float). The
    // speech probability is one scalar (about 6e-4 on this tone-and-noise signal) on a grid of
    // 6.0e-4, so 36.3 dB is the nearest grid point. Thresholds leave a margin under those numbers.
    assert.ok(db.output > 25, `output SQNR ${db.output} dB`);
    assert.ok(db.stateN > 30, `stateN SQNR ${db.stateN} dB`);
  });

  it("computes on this CPU's integer kernels what its Q/DQ pairs say, and the result says which path", async () => {
    // Without VNNI, full-range int8 weights saturate the kernels' 16-bit sums: 7-bit weights there.
    const vnni = cpuHasVnni();
    const r =
      vnni === false
        ? await quantizeModel(src, resolveSettings({ calibration: calib, batchSize: 1, reduceRange: true }), {
            output: path.join(dir, 'reduced.onnx'),
            resultFile: false,
          })
        : result;
    if (vnni === true)
      assert.ok(
        r.warnings.some((w) => /has VNNI.*exactly here/.test(w)),
        JSON.stringify(r.warnings),
      );
    if (vnni === false) assert.ok(!r.warnings.some((w) => /VNNI/.test(w)), JSON.stringify(r.warnings));
    const source = await openDataSource(path.join(dir, 'unseen.npz'), readModelSync(src));
    for await (const feed of source.batches({ batchSize: 1 })) {
      // Fused integer kernels vs the same Q/DQ graph computed in float, unoptimized.
      const fused = await run(r.output, feed, 'all');
      const plain = await run(r.output, feed, 'disabled');
      for (const name of Object.keys(fused)) assert.ok(sqnr(plain[name], fused[name]) > 60, `${name}: ${sqnr(plain[name], fused[name])} dB`);
    }
  });
});
