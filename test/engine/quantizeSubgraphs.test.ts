// Static quantization of the Silero VAD models whose compute sits inside If branches, on synthetic
// data and on audio-like windows (a sine sweep, noise, silence) saved as one .npz whose state holds
// the windows on its axis 1 and whose sr is one scalar; output SQNR against float on held-out
// windows; dynamic mode on the branches; and the lifted calibration equal to a direct run.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { sqnr } from '../../src/core/analysis/metrics';
import { createMessage } from '../../src/core/onnx/codec';
import { DataType } from '../../src/core/onnx/dataTypes';
import { makeTensor } from '../../src/core/onnx/tensor';
import { AttributeType, type AttributeProto, type GraphProto, type ModelProto, type NodeProto, type ValueInfoProto } from '../../src/core/onnx/types';
import { decodeModel } from '../../src/core/onnx/model';
import { encodeMessage } from '../../src/core/onnx/codec';
import { openDataSource } from '../../src/core/data';
import { calibrate } from '../../src/core/quant/calibrate';
import { quantizeModel } from '../../src/core/quant/pipeline';
import { resolveSettings } from '../../src/core/quant/settings';
import { calibrateWithSubgraphs, liftBranchValues } from '../../src/core/quant/subgraphCalibration';
import { ort } from '../../src/core/runtime/session';
import type { QuantResult } from '../../src/shared/quantResult';
import { realModel } from '../support/browser';
import { writeNpz } from '../support/npyWriter';
import { cli } from '../support/cliRun';
import { seededRandom } from '../../src/core/random';

const RATE = 16000;
const WINDOW = 512;

/** Window `k` of a signal that is, by turns, a 200-4000 Hz sweep, the sweep under noise, and near silence. */
function window(k: number, seed: number): Float32Array {
  const random = seededRandom(seed * 1000 + k);
  const out = new Float32Array(WINDOW);
  const kind = k % 3;
  for (let i = 0; i < WINDOW; i++) {
    const t = (k * WINDOW + i) / RATE;
    const f = 200 + 3800 * ((t * 0.7) % 1);
    const sweep = 0.4 * Math.sin(2 * Math.PI * f * t);
    const noise = random() * 2 - 1;
    out[i] = kind === 0 ? sweep : kind === 1 ? sweep + 0.02 * noise : 0.002 * noise;
  }
  return out;
}

/** Windows at `positions` in one .npz: input [n,512], state [2,n,128] zeros (windows on axis 1), sr [] 16000. */
function writeWindows(file: string, positions: number[], seed: number): Float32Array[] {
  const n = positions.length;
  const windows = positions.map((k) => window(k, seed));
  const input = new Float32Array(n * WINDOW);
  windows.forEach((w, k) => input.set(w, k * WINDOW));
  writeNpz(file, {
    input: { descr: '<f4', shape: [n, WINDOW], data: input },
    state: { descr: '<f4', shape: [2, n, 128], data: new Float32Array(2 * n * 128) },
    sr: { descr: '<i8', shape: [], data: BigInt64Array.of(BigInt(RATE)) },
  });
  return windows;
}

async function outputs(file: string, windows: Float32Array[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(file);
  try {
    const all: number[] = [];
    for (const w of windows) {
      const out = await session.run({
        input: new ort.Tensor('float32', w, [1, WINDOW]),
        state: new ort.Tensor('float32', new Float32Array(256), [2, 1, 128]),
        sr: new ort.Tensor('int64', BigInt64Array.of(BigInt(RATE)), []),
      });
      all.push(...(out.output.data as Float32Array));
    }
    return Float32Array.from(all);
  } finally {
    await session.release();
  }
}

const quantizedOutputs = new Map<string, Float32Array>();
const inBranches = (r: QuantResult) => r.nodes.filter((n) => n.quantized && n.reason.includes('(in main/'));

describe('quantization inside If branches (Silero VAD)', function () {
  this.timeout(600000);
  let dir: string;
  let calib: string;
  let heldOut: Float32Array[];
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'subgraphs-'));
    calib = path.join(dir, 'windows.npz');
    // The sweep repeats every 1.43 s (about 45 windows): calibration and held-out windows are
    // spread over one period, interleaved, with noise of their own seeds.
    writeWindows(
      calib,
      Array.from({ length: 12 }, (_, k) => 4 * k),
      1,
    );
    heldOut = Array.from({ length: 9 }, (_, k) => window(4 * k + 2, 2));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const file of ['silero_vad_16k_op15.onnx', 'silero_vad.onnx']) {
    for (const data of ['synthetic', 'windows'] as const) {
      it(`${file}, ${data} calibration: branch nodes quantized and fused, output SQNR on held-out windows`, async () => {
        const src = realModel(file);
        const settings = resolveSettings({
          calibration: data === 'synthetic' ? 'synthetic:16' : calib,
          batchSize: 4,
          // Per-tensor weights lose this model: its re-parameterised encoder Convs have channels of
          // very different scales (measured: 0.4 dB on the held-out windows, 20.9 dB per channel).
          perChannel: true,
          inputs: data === 'synthetic' ? { input: { shape: ['batch', WINDOW] } } : {},
        });
        const out = path.join(dir, `${file}.${data}.int8.onnx`);
        const r = await quantizeModel(src, settings, { output: out, resultFile: false });
        assert.ok(r.verification.ran, r.verification.note);
        const branch = inBranches(r);
        const [f32, q8] = [await outputs(src, heldOut), await outputs(out, heldOut)];
        const db = sqnr(f32, q8);
        quantizedOutputs.set(`${file} ${data}`, q8);
        console.log(
          `      ${file} ${data}: ${r.nodes.filter((n) => n.quantized).length} quantized, ${branch.length} inside If branches (${[...new Set(branch.map((n) => n.opType))].join(', ')}), fusion ${r.fusion!.fused}/${r.fusion!.candidates} ${JSON.stringify(r.fusion!.integerOps)}, output SQNR ${db.toFixed(1)} dB`,
        );
        assert.ok(branch.length > 0, 'nodes inside the If branches are quantized');
        // Measured (onnxruntime-node 1.30, CPU): 16.9 dB on these windows with their own
        // calibration, 0.4 dB with synthetic calibration (the waveform is fed speech-like audio,
        // but no synthetic signal moves the speech probability past 0.0022, so its range clips the
        // 0.03-0.06 of the sweep windows). The 20 dB target is not met by this model's int8 weights
        // (docs/quantization.md, section 5, "Silero VAD and the 20 dB target"); the branch handling
        // itself is exact: see the comparison with the main-graph export below.
        assert.ok(Number.isFinite(db), `output SQNR ${db} dB`);
        if (data === 'windows') assert.ok(db > 14, `output SQNR ${db} dB`);
        // Each data source batches: 12 windows in 3 batches of 4, or 16 synthetic samples in 4.
        assert.strictEqual(r.calibration!.samples, data === 'synthetic' ? 16 : 12);
        // The branch for the other sample rate is never taken: its nodes stay in float, saying why.
        const untaken = r.nodes.filter((n) => !n.quantized && n.reason.includes('no calibration batch took the branch'));
        assert.ok(untaken.length > 0);
        if (file === 'silero_vad.onnx') {
          // All of this export's compute is inside If_0's branches: its Convs are fused there.
          assert.ok(branch.filter((n) => n.opType === 'Conv').length >= 5, branch.map((n) => n.node).join(', '));
          assert.ok((r.fusion!.integerOps.QLinearConv ?? 0) >= 5, JSON.stringify(r.fusion));
        }
      });
    }
  }

  it('onnx-compress quantize --input: the spec reaches the data and the result; a bad spec is a usage error', async () => {
    const out = path.join(dir, 'cli.int8.onnx');
    const ok = await cli(
      'quantize',
      realModel('silero_vad.onnx'),
      '--calib',
      'synthetic:4',
      '--input',
      'input=shape:batch,512',
      '--input',
      'sr=value:16000',
      '-o',
      out,
    );
    assert.strictEqual(ok.code, 0, ok.stderr);
    const result = JSON.parse(fs.readFileSync(out.replace(/\.onnx$/, '.quant.json'), 'utf8')) as QuantResult;
    assert.deepStrictEqual(result.settings.inputs, { input: { shape: ['batch', 512] }, sr: { value: 16000 } });
    assert.match(result.calibration!.source, /input \[\?,\?\]: synthetic float32 \[N,512\]/);
    assert.match(result.calibration!.source, /state \[2,\?,128\]: synthetic float32 \[2,N,128\]/);
    const bad = await cli('quantize', realModel('silero_vad.onnx'), '--calib', 'synthetic:4', '--input', 'input=shape:batch,x');
    assert.strictEqual(bad.code, 2);
    assert.match(bad.stderr, /--input input spec 'input=shape:batch,x': each size is a whole number or the word batch/);
  });

  for (const file of ['silero_vad_16k_op15.onnx', 'silero_vad.onnx']) {
    // Windows only: with synthetic calibration 16 bits give the same 0.4 dB as 8 (measured), since
    // no synthetic signal moves the speech probability, and so its calibrated range, past 0.0022.
    for (const data of ['windows'] as const) {
      it(`${file}, ${data} calibration, 16-bit activations and weights: output SQNR >= 20 dB on held-out windows`, async () => {
        // The 8-bit grid cannot hold this model (above); uint16 activations with int16 weights can.
        // onnxruntime runs such Q/DQ in float between the pairs: the accuracy-first static mode.
        const src = realModel(file);
        const settings = resolveSettings({
          calibration: calib,
          batchSize: 4,
          perChannel: true,
          activationType: 'uint16',
          weightType: 'int16',
        });
        const out = path.join(dir, `${file}.${data}.int16.onnx`);
        const r = await quantizeModel(src, settings, { output: out, resultFile: false });
        assert.ok(r.verification.ran, r.verification.note);
        assert.ok(inBranches(r).length > 0, 'nodes inside the If branches are quantized');
        const db = sqnr(await outputs(src, heldOut), await outputs(out, heldOut));
        console.log(`      ${file} ${data}, 16-bit: output SQNR ${db.toFixed(1)} dB, ${(r.sizes?.ratio ?? NaN).toFixed(2)} of the float size`);
        assert.ok(db >= 20, `output SQNR ${db} dB`);
      });
    }
  }

  it('synthetic data without the window size: a 32 ms window (512 samples at 16 kHz) is chosen, and the result says so', async () => {
    const r = await quantizeModel(realModel('silero_vad_16k_op15.onnx'), resolveSettings({ calibration: 'synthetic:4' }), {
      output: path.join(dir, 'window.onnx'),
      resultFile: false,
    });
    assert.match(r.calibration!.source, /input \[batch,sequence\]: synthetic float32 \[N,512\], speech-like audio at 16000 Hz/);
    assert.match(
      r.calibration!.source,
      /input 'input': its length sequence is open; synthetic audio windows of 512 samples \(32 ms at 16000 Hz\); give another as --input input=shape:batch,N/,
    );
  });

  it('quantizes the export whose compute is inside If branches exactly as the export with it in the main graph', () => {
    // silero_vad.onnx holds in If_0's branches what silero_vad_16k_op15.onnx holds in its main
    // graph: the same calibration must give the same quantized outputs.
    for (const data of ['synthetic', 'windows']) {
      const a = quantizedOutputs.get(`silero_vad_16k_op15.onnx ${data}`)!;
      const b = quantizedOutputs.get(`silero_vad.onnx ${data}`)!;
      assert.ok(a && b, 'both quantized above');
      assert.ok(sqnr(a, b) > 100, `${data}: ${sqnr(a, b)} dB between the two exports`);
    }
  });

  it('dynamic mode on silero_vad.onnx: says why nothing is quantized by default, and quantizes the branch Convs when asked', async () => {
    const src = realModel('silero_vad.onnx');
    const plain = await quantizeModel(src, resolveSettings({ mode: 'dynamic', calibration: calib }), { output: path.join(dir, 'd0.onnx'), resultFile: false });
    assert.ok(
      plain.warnings.some((w) => /nothing was quantized \(the model has 12 Conv node\(s\), branches included: --op-types Conv/.test(w)),
      JSON.stringify(plain.warnings),
    );
    const out = path.join(dir, 'd1.onnx');
    const r = await quantizeModel(src, resolveSettings({ mode: 'dynamic', calibration: calib, opTypes: ['Conv', 'MatMul', 'Gemm'] }), {
      output: out,
      resultFile: false,
    });
    assert.ok(r.verification.ran, r.verification.note);
    const branch = r.nodes.filter((n) => n.quantized && n.reason.includes('(in main/If_0.'));
    assert.strictEqual(branch.length, 12, 'the six Convs of each branch');
    const db = sqnr(await outputs(src, heldOut), await outputs(out, heldOut));
    console.log(`      dynamic ConvInteger in both branches: output SQNR ${db.toFixed(1)} dB`);
    assert.ok(Number.isFinite(db), `${db} dB`);
  });
});

// ---- lifting equals a direct run ------------------------------------------------------------------

const vi = (name: string, elem = DataType.FLOAT, dims?: Array<number | string>) =>
  createMessage<ValueInfoProto>('ValueInfoProto', {
    name,
    type: {
      tensor_type: { elem_type: elem, ...(dims ? { shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } : {}) },
    },
  });
const node = (op: string, inputs: string[], outputs: string[], attribute: AttributeProto[] = []) =>
  createMessage<NodeProto>('NodeProto', { op_type: op, input: inputs, output: outputs, name: outputs[0], attribute });
const graphAttr = (name: string, g: GraphProto) => createMessage<AttributeProto>('AttributeProto', { name, type: AttributeType.GRAPH, g });

/** y = If(flag > 0) then Relu(MatMul(x, W) + b) * 2 else x * 3, W and b in the main graph. */
function ifModel(): ModelProto {
  const random = seededRandom(5);
  const w = Float32Array.from({ length: 16 }, () => random() * 2 - 1);
  const then = createMessage<GraphProto>('GraphProto', {
    name: 'then',
    node: [node('MatMul', ['x', 'W'], ['mm']), node('Add', ['mm', 'b'], ['pre']), node('Relu', ['pre'], ['act']), node('Mul', ['act', 'two'], ['t_out'])],
    initializer: [makeTensor({ name: 'two', dataType: DataType.FLOAT, dims: [], values: Float32Array.of(2) })],
    output: [vi('t_out')],
  });
  const other = createMessage<GraphProto>('GraphProto', {
    name: 'else',
    node: [node('Mul', ['x', 'three'], ['e_out'])],
    initializer: [makeTensor({ name: 'three', dataType: DataType.FLOAT, dims: [], values: Float32Array.of(3) })],
    output: [vi('e_out')],
  });
  const graph = createMessage<GraphProto>('GraphProto', {
    name: 'main',
    node: [node('Greater', ['flag', 'zero'], ['cond']), node('If', ['cond'], ['y'], [graphAttr('then_branch', then), graphAttr('else_branch', other)])],
    initializer: [
      makeTensor({ name: 'W', dataType: DataType.FLOAT, dims: [4, 4], values: w }),
      makeTensor({ name: 'b', dataType: DataType.FLOAT, dims: [4], values: Float32Array.of(0.1, -0.2, 0.3, 0) }),
      makeTensor({ name: 'zero', dataType: DataType.INT64, dims: [], values: BigInt64Array.of(0n) }),
    ],
    input: [vi('x', DataType.FLOAT, ['batch', 4]), vi('flag', DataType.INT64, [])],
    output: [vi('y', DataType.FLOAT, ['batch', 4])],
  });
  return createMessage<ModelProto>('ModelProto', { ir_version: 8, opset_import: [{ domain: '', version: 15 }], graph });
}

/** The then branch inlined: the values the lifted calibration should see, computed directly. */
function flatModel(): ModelProto {
  const m = ifModel();
  const then = m.graph!.node[1].attribute[0].g!;
  m.graph!.node = [...then.node];
  m.graph!.initializer.push(...then.initializer);
  m.graph!.input = [m.graph!.input[0]];
  m.graph!.output = [vi('t_out')];
  return m;
}

describe('calibration of values inside If branches', function () {
  this.timeout(120000);
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lift-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  function save(m: ModelProto, name: string): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, encodeMessage('ModelProto', m));
    return file;
  }

  it('lifts branch values through the If and measures exactly the ranges a direct run gives', async () => {
    const file = save(ifModel(), 'if.onnx');
    const model = decodeModel(fs.readFileSync(file), { file });
    const random = seededRandom(9);
    const x = Float32Array.from({ length: 32 }, () => random() * 4 - 2);
    writeNpz(path.join(dir, 'taken.npz'), { x: { descr: '<f4', shape: [8, 4], data: x }, flag: { descr: '<i8', shape: [], data: BigInt64Array.of(1n) } });
    const settings = resolveSettings({ calibration: path.join(dir, 'taken.npz'), batchSize: 3 });
    const lifted = liftBranchValues(model, ['mm', 'pre', 'act']);
    assert.deepStrictEqual([...lifted.lifted.keys()], ['mm', 'pre', 'act']);
    assert.ok([...lifted.lifted.values()].every((v) => v.endsWith('__lifted')));
    const data = await openDataSource(settings.calibration, model);
    const viaIf = await calibrateWithSubgraphs(model, ['mm', 'pre', 'act'], data, settings);
    const flatFile = save(flatModel(), 'flat.onnx');
    const flat = decodeModel(fs.readFileSync(flatFile), { file: flatFile });
    writeNpz(path.join(dir, 'flat.npz'), { x: { descr: '<f4', shape: [8, 4], data: x } });
    const direct = await calibrate(flat, ['mm', 'pre', 'act'], await openDataSource(path.join(dir, 'flat.npz'), flat), settings);
    for (const t of ['mm', 'pre', 'act']) assert.deepStrictEqual(viaIf.ranges.get(t), direct.ranges.get(t), t);
    assert.strictEqual(viaIf.unobserved.size, 0);
    // The original model is untouched: its If still has one output.
    assert.strictEqual(model.proto.graph!.node[1].output.length, 1);
  });

  it('reports the values of a branch no batch takes as unobserved, and keeps their nodes in float with the reason', async () => {
    const file = save(ifModel(), 'if2.onnx');
    const model = decodeModel(fs.readFileSync(file), { file });
    writeNpz(path.join(dir, 'other.npz'), {
      x: { descr: '<f4', shape: [4, 4], data: new Float32Array(16).fill(0.5) },
      flag: { descr: '<i8', shape: [], data: BigInt64Array.of(0n) },
    });
    const settings = resolveSettings({ calibration: path.join(dir, 'other.npz') });
    const viaIf = await calibrateWithSubgraphs(model, ['mm'], await openDataSource(settings.calibration, model), settings);
    assert.match(viaIf.unobserved.get('mm') ?? '', /no calibration batch took the branch/);
    const r = await quantizeModel(file, settings, { output: path.join(dir, 'if2.int8.onnx'), resultFile: false });
    const mm = r.nodes.find((n) => n.node === 'mm')!;
    assert.strictEqual(mm.quantized, false);
    assert.match(mm.reason, /range of 'x'|range of 'mm'/);
    assert.match(mm.reason, /no calibration batch took the branch/);
  });

  it('quantizes the branch MatMul with its outer-scope weight, fused by onnxruntime inside the branch', async () => {
    const file = save(ifModel(), 'if3.onnx');
    const random = seededRandom(3);
    writeNpz(path.join(dir, 'taken3.npz'), {
      x: { descr: '<f4', shape: [16, 4], data: Float32Array.from({ length: 64 }, () => random() * 2 - 1) },
      flag: { descr: '<i8', shape: [], data: BigInt64Array.of(1n) },
    });
    const out = path.join(dir, 'if3.int8.onnx');
    const r = await quantizeModel(file, resolveSettings({ calibration: path.join(dir, 'taken3.npz'), batchSize: 4 }), { output: out, resultFile: false });
    const mm = r.nodes.find((n) => n.node === 'mm')!;
    assert.ok(mm.quantized, mm.reason);
    assert.match(mm.reason, /\(in main\/y\.then_branch\)|\(in main\/.*then_branch\)/);
    assert.ok(r.tensors.some((t) => t.tensor === 'W' && t.kind === 'weight'));
    assert.strictEqual(r.fusion!.fused, r.fusion!.candidates, JSON.stringify(r.fusion));
    // The quantized model's branch holds the integer weight; the main graph no longer holds W.
    const q = decodeModel(fs.readFileSync(out), { file: out });
    const then = q.proto.graph!.node.find((n) => n.op_type === 'If')!.attribute.find((a) => a.name === 'then_branch')!.g!;
    assert.ok(then.initializer.some((t) => t.name === 'W_quantized'));
    assert.ok(!q.proto.graph!.initializer.some((t) => t.name === 'W'));
    // Against float on the taken branch.
    const s0 = await ort.InferenceSession.create(file);
    const s1 = await ort.InferenceSession.create(out);
    const feed = {
      x: new ort.Tensor(
        'float32',
        Float32Array.from({ length: 8 }, (_, i) => Math.sin(i)),
        [2, 4],
      ),
      flag: new ort.Tensor('int64', BigInt64Array.of(1n), []),
    };
    const [a, b] = [(await s0.run(feed)).y.data as Float32Array, (await s1.run(feed)).y.data as Float32Array];
    await s0.release();
    await s1.release();
    assert.ok(sqnr(a, b) > 25, `${sqnr(a, b)} dB`);
  });
});
