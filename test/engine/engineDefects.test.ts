// Defects found in real use of the engine and the CLI, each pinned by the case that showed it:
// old exporters' graphs, failures after the model is written, temporary files, output folders,
// quantized models given again to quantize.
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { failureLine } from '../../src/cli/main';
import { analyzeQuantization } from '../../src/core/analysis/analyze';
import { sqnr } from '../../src/core/analysis/metrics';
import { DataType } from '../../src/core/onnx/dataTypes';
import { writeFileAtomic, writeFileAtomicSync } from '../../src/core/files';
import { readModelSync } from '../support/helpers';
import { describeQuantizedOps, isQuantizedModel, quantizedOpsIn } from '../../src/core/quant/detect';
import { quantizeModel } from '../../src/core/quant/pipeline';
import { resolveSettings } from '../../src/core/quant/settings';
import { seededRandom } from '../../src/core/random';
import { float, GraphBuilder, modelBytes, tensor } from '../fixtures/builder';
import { listFiles, ort, runOrt, TempDirs } from '../support/helpers';
import { writeNpy } from '../support/npyWriter';
import { cli } from '../support/cliRun';

const ROOT = path.resolve(__dirname, '..', '..', '..');

function values(n: number, seed: number, scale = 0.5): Float32Array {
  const r = seededRandom(seed);
  return Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale);
}

/**
 * What PyTorch 1.2 wrote for `x.view(x.size(0), -1)` followed by a Gemm trunk and nine Gemm heads:
 * opset 9, IR version 3 (every initializer is also listed as a graph input), unnamed nodes, and
 * the size computed in the graph from Constant nodes (Shape -> Gather(Constant 0) -> Unsqueeze,
 * Constant -1 -> Unsqueeze, Concat -> Reshape).
 */
export function torch12Export(heads = 9): GraphBuilder {
  const b = new GraphBuilder('torch-jit-export');
  const weight = (name: string, dims: number[], seed: number) => {
    b.input(name, DataType.FLOAT, dims);
    b.initializer(
      name,
      DataType.FLOAT,
      dims,
      values(
        dims.reduce((a, d) => a * d, 1),
        seed,
      ),
    );
  };
  b.input('input.1', DataType.FLOAT, [1, 1, 4, 4]);
  weight('fc.weight', [8, 16], 1);
  weight('fc.bias', [8], 2);
  for (let k = 0; k < heads; k++) {
    weight(`head${k}.weight`, [3, 8], 10 + k);
    weight(`head${k}.bias`, [3], 30 + k);
  }
  const unnamed = { name: '' };
  b.node('Constant', [], ['7'], { value: tensor('', DataType.INT64, [], BigInt64Array.of(0n)) }, unnamed);
  b.node('Shape', ['input.1'], ['8'], {}, unnamed);
  b.node('Gather', ['8', '7'], ['9'], { axis: 0 }, unnamed);
  b.node('Constant', [], ['10'], { value: tensor('', DataType.INT64, [], BigInt64Array.of(-1n)) }, unnamed);
  b.node('Unsqueeze', ['9'], ['11'], { axes: [0] }, unnamed);
  b.node('Unsqueeze', ['10'], ['12'], { axes: [0] }, unnamed);
  b.node('Concat', ['11', '12'], ['13'], { axis: 0 }, unnamed);
  b.node('Reshape', ['input.1', '13'], ['14'], {}, unnamed);
  b.node('Gemm', ['14', 'fc.weight', 'fc.bias'], ['15'], { alpha: float(1), beta: float(1), transB: 1 }, unnamed);
  b.node('Relu', ['15'], ['16'], {}, unnamed);
  for (let k = 0; k < heads; k++) {
    b.node('Gemm', ['16', `head${k}.weight`, `head${k}.bias`], [`${17 + k}`], { alpha: float(1), beta: float(1), transB: 1 }, unnamed);
    b.output(`${17 + k}`, DataType.FLOAT, [1, 3]);
  }
  return b;
}

const TORCH12 = { opset: 9, irVersion: 3, producer: 'pytorch' };

describe('engine defects', function () {
  this.timeout(60_000);
  const temp = new TempDirs('onnx-compress-defects-');
  let dir: string;
  beforeEach(() => {
    dir = temp.make();
  });
  afterEach(() => temp.cleanup());

  describe('an old PyTorch export (opset 9, weights also listed as graph inputs)', () => {
    let model: string;
    let before: Buffer;
    beforeEach(() => {
      model = path.join(dir, 'torch12.onnx');
      fs.writeFileSync(model, modelBytes(torch12Export(), TORCH12));
      before = fs.readFileSync(model);
    });

    it('quantizeModel calibrates (synthetic) and quantizes every Gemm; the result runs on the real input alone', async () => {
      const r = await quantizeModel(model, resolveSettings({ calibration: 'synthetic:16' }));
      assert.deepStrictEqual(r.verification, { loads: true, ran: true, note: 'loads and runs on a calibration batch' });
      assert.strictEqual(r.tensors.filter((t) => t.kind === 'weight').length, 10, 'the trunk and the nine heads have quantized weights');
      assert.ok(
        r.warnings.some((w) => /graph inputs/.test(w)),
        r.warnings.join('\n'),
      );
      const q = readModelSync(r.output).proto.graph!;
      assert.deepStrictEqual(
        q.input.map((v) => v.name),
        ['input.1'],
        'weights are constants of the quantized model, not inputs',
      );
      assert.deepStrictEqual(fs.readFileSync(model), before, 'the original model is untouched');
      const x = { 'input.1': new ort.Tensor('float32', values(16, 99, 1), [1, 1, 4, 4]) };
      const [f, y] = [await runOrt(model, x), await runOrt(r.output, x)];
      assert.strictEqual(Object.keys(y).length, 9);
      for (const k of Object.keys(f)) {
        const s = sqnr(Float32Array.from(f[k].data as number[]), Float32Array.from(y[k].data as number[]));
        assert.ok(s > 20, `output ${k}: ${s.toFixed(1)} dB`);
      }
    });

    it('the CLI quantizes it (exit 0, no stack trace)', async () => {
      const r = await cli('quantize', model, '--calib', 'synthetic:16');
      assert.strictEqual(r.code, 0, r.stderr);
      assert.ok(!/\n\s+at /.test(r.stderr), r.stderr);
      assert.ok(fs.existsSync(path.join(dir, 'torch12.int8.onnx')));
    });

    it('dynamic quantization takes its weights as constants too', async () => {
      // Dynamic quantization needs opset 11 (DynamicQuantizeLinear); the graph is the same.
      const up = path.join(dir, 'torch12_opset11.onnx');
      fs.writeFileSync(up, modelBytes(torch12Export(), { ...TORCH12, opset: 11 }));
      const r = await quantizeModel(up, resolveSettings({ mode: 'dynamic', calibration: 'synthetic:4' }));
      assert.ok(r.verification.ran, r.verification.note);
      assert.strictEqual(r.nodes.filter((n) => n.quantized).length, 10, JSON.stringify(r.nodes));
      assert.deepStrictEqual(
        readModelSync(r.output).proto.graph!.input.map((v) => v.name),
        ['input.1'],
      );
    });
  });

  describe('the CLI reports every failure as one line', () => {
    it("an error that is not one of the engine's own (empty calibration data) is one line naming the model, no stack trace", async () => {
      const model = path.join(dir, 'torch12.onnx');
      fs.writeFileSync(model, modelBytes(torch12Export(1), TORCH12));
      const empty = path.join(dir, 'empty.npy');
      writeNpy(empty, '<f4', [0, 1, 4, 4], new Float32Array(0));
      const r = await cli('quantize', model, '--calib', empty);
      assert.strictEqual(r.code, 1, r.stderr);
      const lines = r.stderr.split('\n').filter((l) => !/^(reading|calibrating|rewriting)/.test(l));
      assert.strictEqual(lines.length, 1, r.stderr);
      assert.match(lines[0], /^onnx-compress: /);
      assert.ok(lines[0].includes(model) || lines[0].includes(empty), lines[0]);
      assert.deepStrictEqual(listFiles(dir), ['empty.npy', 'torch12.onnx']);
    });

    it('a defect (a TypeError) is one line with the subject and where in the code it was raised', () => {
      let error: unknown;
      try {
        (JSON.parse('null') as { data: number }).data.toFixed();
      } catch (e) {
        error = e;
      }
      const line = failureLine(error, 'model.onnx');
      assert.ok(!line.includes('\n'), line);
      assert.match(
        line,
        /^model\.onnx: Cannot read properties of null \(reading 'data'\) \(an internal error in .*engineDefects\.test\.js:\d+\)?; please report it/,
      );
    });

    it('bin: a failure is one line and exit 1; ONNX_COMPRESS_DEBUG=1 adds the stack', () => {
      const bin = path.join(ROOT, 'out', 'src', 'cli', 'bin.js');
      const model = path.join(dir, 'torch12.onnx');
      fs.writeFileSync(model, modelBytes(torch12Export(1), TORCH12));
      const empty = path.join(dir, 'empty.npy');
      writeNpy(empty, '<f4', [0, 1, 4, 4], new Float32Array(0));
      const env = { ...process.env, ONNX_COMPRESS_DEBUG: '' };
      const r = spawnSync(process.execPath, [bin, 'quantize', model, '--calib', empty], { encoding: 'utf8', timeout: 30_000, env });
      assert.strictEqual(r.status, 1, r.stderr);
      const last = r.stderr.trim().split('\n').pop()!;
      assert.match(last, /^onnx-compress: /);
      assert.ok(!/\n\s+at /.test(r.stderr), r.stderr);
      const debug = spawnSync(process.execPath, [bin, 'quantize', model, '--calib', empty], {
        encoding: 'utf8',
        timeout: 30_000,
        env: { ...env, ONNX_COMPRESS_DEBUG: '1' },
      });
      assert.strictEqual(debug.status, 1, debug.stderr);
      assert.match(debug.stderr, /\n\s+at /);
    });
  });

  describe('the written model is verified before it takes its name', () => {
    /** x -> MatMul -> an op of a custom domain onnxruntime has no kernel for. */
    function customOpModel(): string {
      const file = path.join(dir, 'custom.onnx');
      const b = new GraphBuilder('custom')
        .input('x', DataType.FLOAT, ['N', 16])
        .initializer('w', DataType.FLOAT, [16, 16], values(256, 5))
        .node('MatMul', ['x', 'w'], ['h'], {}, { name: 'proj' })
        .node('Mystery', ['h'], ['y'], {}, { name: 'custom', domain: 'com.example.custom' })
        .output('y', DataType.FLOAT, ['N', 16]);
      fs.writeFileSync(file, modelBytes(b, { opset: 13, opsets: { 'com.example.custom': 1 } }));
      return file;
    }

    it('quantizeModel fails when onnxruntime cannot load the result, and leaves no file', async () => {
      const model = customOpModel();
      await assert.rejects(quantizeModel(model, resolveSettings({ mode: 'dynamic' })), (e: Error) => {
        assert.match(e.message, /custom\.dynamic\.int8\.onnx: the quantized model does not load in onnxruntime.*Mystery/);
        assert.ok(!e.message.includes('.tmp'), e.message);
        return true;
      });
      assert.deepStrictEqual(listFiles(dir), ['custom.onnx']);
    });

    it('the CLI: exit 1, one line, no output file', async () => {
      const model = customOpModel();
      const r = await cli('quantize', model, '--mode', 'dynamic');
      assert.strictEqual(r.code, 1, r.stderr);
      const last = r.stderr.split('\n').filter((l) => l.startsWith('onnx-compress:'));
      assert.strictEqual(last.length, 1, r.stderr);
      assert.match(last[0], /does not load in onnxruntime/);
      assert.ok(!/\n\s+at /.test(r.stderr), r.stderr);
      assert.deepStrictEqual(listFiles(dir), ['custom.onnx']);
    });

    it('a verification that cannot run (no temporary folder for the optimized dump) leaves nothing behind', async () => {
      const model = path.join(dir, 'torch12.onnx');
      fs.writeFileSync(model, modelBytes(torch12Export(2), TORCH12));
      const tmpdir = process.env.TMPDIR;
      process.env.TMPDIR = path.join(dir, 'missing');
      try {
        await assert.rejects(quantizeModel(model, resolveSettings({ calibration: 'synthetic:4' })), (e: Error) => {
          assert.match(e.message, /torch12\.int8\.onnx: .*verif.*ENOENT/);
          return true;
        });
      } finally {
        if (tmpdir === undefined) delete process.env.TMPDIR;
        else process.env.TMPDIR = tmpdir;
      }
      assert.deepStrictEqual(listFiles(dir), ['torch12.onnx']);
    });

    it('a result file that cannot be written fails the run, and the model is not kept', async () => {
      const model = path.join(dir, 'torch12.onnx');
      fs.writeFileSync(model, modelBytes(torch12Export(1), TORCH12));
      const r = await cli('quantize', model, '--calib', 'synthetic:4', '--result', dir);
      assert.strictEqual(r.code, 1, r.stderr);
      const lines = r.stderr.split('\n').filter((l) => l.startsWith('onnx-compress:'));
      assert.deepStrictEqual(lines, [
        `onnx-compress: ${dir}: cannot write the file: a folder of that name is in the way; the quantized model was not kept either (choose another result path)`,
      ]);
      assert.deepStrictEqual(listFiles(dir), ['torch12.onnx']);
    });

    it('a model with external data is verified with its data file, and both arrive', async () => {
      const inline = path.join(dir, 'inline.onnx');
      fs.writeFileSync(inline, modelBytes(torch12Export(2), { ...TORCH12, irVersion: 8 }));
      const model = path.join(dir, 'ext.onnx');
      assert.strictEqual((await cli('save', inline, model, '--external-data', '--threshold', '0')).code, 0);
      // The head kept in float keeps its weights in the data file.
      const r = await quantizeModel(model, resolveSettings({ calibration: 'synthetic:4', exclude: ['Gemm_11'] }));
      assert.ok(r.verification.ran, r.verification.note);
      assert.ok(r.nodes.some((n) => n.node === 'Gemm_11' && !n.quantized));
      assert.deepStrictEqual(listFiles(dir), ['ext.int8.onnx', 'ext.int8.onnx.data', 'ext.int8.quant.json', 'ext.onnx', 'ext.onnx.data', 'inline.onnx']);
    });
  });

  describe('quantized types the analysis has no integer range for', () => {
    it('a float8 Q/DQ pair is refused with its tensor and type named, not measured as uint8', async () => {
      const float = path.join(dir, 'f.onnx');
      const quant = path.join(dir, 'f.fp8.onnx');
      const graph = (q: boolean) => {
        const b = new GraphBuilder('g').input('x', DataType.FLOAT, [2, 8]);
        if (q) {
          b.initializer('x_scale', DataType.FLOAT, [], Float32Array.of(0.01))
            .initializer('x_zero_point', DataType.FLOAT8E4M3FN, [], Uint8Array.of(0))
            .node('QuantizeLinear', ['x', 'x_scale', 'x_zero_point'], ['x_q'], {}, { name: 'x_QuantizeLinear' })
            .node('DequantizeLinear', ['x_q', 'x_scale', 'x_zero_point'], ['x_dq'], {}, { name: 'x_DequantizeLinear' });
        }
        return b.node('Relu', [q ? 'x_dq' : 'x'], ['y'], {}, { name: 'act' }).output('y', DataType.FLOAT, [2, 8]);
      };
      fs.writeFileSync(float, modelBytes(graph(false), { opset: 19, irVersion: 9 }));
      fs.writeFileSync(quant, modelBytes(graph(true), { opset: 19, irVersion: 9 }));
      await assert.rejects(analyzeQuantization(float, quant, { data: 'synthetic:4', reportFile: false, latencyRuns: 0 }), (e: Error) => {
        assert.match(e.message, /'x'.*float8e4m3fn/);
        assert.match(e.message, /uint8, int8/);
        return true;
      });
    });
  });

  describe('temporary files', () => {
    it('two writes of one file at once both complete, and the file holds one of them whole', async () => {
      const file = path.join(dir, 'r.json');
      const [a, b] = ['a'.repeat(1 << 20), 'b'.repeat(1 << 20)];
      await Promise.all([writeFileAtomic(file, a), writeFileAtomic(file, b), writeFileAtomic(file, a)]);
      const text = fs.readFileSync(file, 'utf8');
      assert.ok(text === a || text === b);
      assert.deepStrictEqual(listFiles(dir), ['r.json']);
    });

    it('a write that fails leaves no temporary file, and says which file it could not write', async () => {
      const target = path.join(dir, 'taken');
      fs.mkdirSync(target);
      fs.writeFileSync(path.join(target, 'inside'), 'x');
      assert.throws(
        () => writeFileAtomicSync(target, 'text'),
        (e: Error) => e.message.startsWith(`${target}: `) && !e.message.includes('.tmp'),
      );
      await assert.rejects(writeFileAtomic(target, 'text'), (e: Error) => e.message.startsWith(`${target}: `) && !e.message.includes('.tmp'));
      assert.deepStrictEqual(listFiles(dir), ['taken/inside']);
    });

    it('a model write that fails (the target is a folder) leaves nothing beside it', async () => {
      const model = path.join(dir, 'torch12.onnx');
      fs.writeFileSync(model, modelBytes(torch12Export(1), TORCH12));
      const target = path.join(dir, 'out.onnx');
      fs.mkdirSync(target);
      fs.writeFileSync(path.join(target, 'inside'), 'x');
      const r = await cli('save', model, target, '--external-data', '--threshold', '0');
      assert.strictEqual(r.code, 1, r.stderr);
      assert.deepStrictEqual(listFiles(dir), ['out.onnx/inside', 'torch12.onnx']);
    });
  });

  describe('outputs into folders that do not exist yet', () => {
    let model: string;
    beforeEach(() => {
      model = path.join(dir, 'torch12.onnx');
      fs.writeFileSync(model, modelBytes(torch12Export(1), TORCH12));
    });

    it("save MODEL OUT makes OUT's folder (also with a data file)", async () => {
      const out = path.join(dir, 'new', 'sub', 'copy.onnx');
      const r = await cli('save', model, out, '--external-data', '--threshold', '0');
      assert.strictEqual(r.code, 0, r.stderr);
      assert.deepStrictEqual(listFiles(path.join(dir, 'new')), ['sub/copy.onnx', 'sub/copy.onnx.data']);
      const x = { 'input.1': new ort.Tensor('float32', values(16, 7, 1), [1, 1, 4, 4]) };
      assert.deepStrictEqual(await runOrt(out, x), await runOrt(model, x));
    });

    it('quantize -o and --result into new folders', async () => {
      const out = path.join(dir, 'q', 'model.onnx');
      const result = path.join(dir, 'results', 'run.json');
      const r = await cli('quantize', model, '--calib', 'synthetic:4', '-o', out, '--result', result);
      assert.strictEqual(r.code, 0, r.stderr);
      assert.ok(fs.existsSync(out) && fs.existsSync(result));
    });

    it('a write into new folders that fails removes the folders it made', async () => {
      const custom = path.join(dir, 'custom.onnx');
      fs.writeFileSync(
        custom,
        modelBytes(
          new GraphBuilder('custom')
            .input('x', DataType.FLOAT, ['N', 16])
            .initializer('w', DataType.FLOAT, [16, 16], values(256, 5))
            .node('MatMul', ['x', 'w'], ['h'], {}, { name: 'proj' })
            .node('Mystery', ['h'], ['y'], {}, { name: 'custom', domain: 'com.example.custom' })
            .output('y', DataType.FLOAT, ['N', 16]),
          { opset: 13, opsets: { 'com.example.custom': 1 } },
        ),
      );
      const r = await cli('quantize', custom, '--mode', 'dynamic', '-o', path.join(dir, 'new', 'sub', 'q.onnx'));
      assert.strictEqual(r.code, 1, r.stderr);
      assert.deepStrictEqual(fs.readdirSync(dir).sort(), ['custom.onnx', 'torch12.onnx']);
      assert.throws(
        () => writeFileAtomicSync(path.join(dir, 'torch12.onnx', 'r.json'), '{}'),
        /torch12\.onnx.r\.json: cannot write the file: a file is in the way of its folder/,
      );
    });
  });

  describe('a model that is already quantized', () => {
    const fixture = path.join(ROOT, 'test', 'fixtures', 'models', 'fashion_cnn.onnx');
    let float: string;
    beforeEach(() => {
      float = path.join(dir, 'fashion_cnn.onnx');
      fs.copyFileSync(fixture, float);
    });

    for (const [label, settings, counted] of [
      ['QDQ', { calibration: 'synthetic:4' }, /^\d+ QuantizeLinear\/DequantizeLinear nodes$/],
      ['QOperator', { calibration: 'synthetic:4', format: 'qoperator' as const }, /QLinearConv/],
      ['dynamic', { mode: 'dynamic' as const, calibration: 'synthetic:4' }, /DynamicQuantizeLinear/],
    ] as const) {
      it(`is refused by quantizeModel with one message naming the float model (${label})`, async () => {
        const first = await quantizeModel(float, resolveSettings(settings), { resultFile: false });
        const listed = listFiles(dir);
        const ops = quantizedOpsIn(readModelSync(first.output));
        assert.ok(isQuantizedModel(readModelSync(first.output)));
        assert.match(describeQuantizedOps(ops), counted as RegExp);
        await assert.rejects(quantizeModel(first.output, resolveSettings(settings)), (e: Error) => {
          const name = path.basename(first.output);
          assert.ok(e.message.startsWith(`${first.output}: already quantized (`), e.message);
          assert.ok(e.message.endsWith('): quantize the float model it came from (fashion_cnn.onnx)'), e.message);
          assert.ok(!e.message.includes('\n'), e.message);
          assert.ok(!e.message.includes(name.replace('.onnx', '.int8.onnx')));
          return true;
        });
        assert.deepStrictEqual(listFiles(dir), listed, 'nothing written');
      });
    }

    it('the CLI: exit 1, one line, no NAME.int8.int8.onnx', async () => {
      assert.strictEqual((await cli('quantize', float, '--calib', 'synthetic:4', '--format', 'qoperator')).code, 0);
      const r = await cli('quantize', path.join(dir, 'fashion_cnn.int8.onnx'), '--calib', 'synthetic:4');
      assert.strictEqual(r.code, 1, r.stderr);
      const lines = r.stderr.split('\n').filter((l) => l.startsWith('onnx-compress:'));
      assert.strictEqual(lines.length, 1, r.stderr);
      assert.match(
        lines[0],
        /fashion_cnn\.int8\.onnx: already quantized \(\d+ QuantizeLinear\/DequantizeLinear nodes?, \d+ QLinearConv.*\): quantize the float model it came from \(fashion_cnn\.onnx\)$/,
      );
      assert.ok(!fs.existsSync(path.join(dir, 'fashion_cnn.int8.int8.onnx')));
    });

    it('quantizedOpsIn finds nothing in a float model, and counts ops inside subgraphs', () => {
      assert.deepStrictEqual(quantizedOpsIn(readModelSync(float)), {});
      assert.strictEqual(isQuantizedModel(readModelSync(float)), false);
      const branch = (q: boolean) => {
        const g = new GraphBuilder(q ? 'then' : 'else');
        if (q) {
          g.initializer('s', DataType.FLOAT, [], Float32Array.of(0.1))
            .node('QuantizeLinear', ['x', 's'], ['xq'], {}, { name: 'q' })
            .node('DequantizeLinear', ['xq', 's'], ['y'], {}, { name: 'dq' });
        } else g.node('Identity', ['x'], ['y'], {}, { name: 'id' });
        return g.output('y', DataType.FLOAT, [4]);
      };
      const b = new GraphBuilder('g')
        .input('x', DataType.FLOAT, [4])
        .input('c', DataType.BOOL, [])
        .node('If', ['c'], ['y'], { then_branch: branch(true), else_branch: branch(false) }, { name: 'if' })
        .output('y', DataType.FLOAT, [4]);
      const model = { proto: readModelSync(float).proto };
      model.proto.graph = b.build();
      assert.deepStrictEqual(quantizedOpsIn(model), { QuantizeLinear: 1, DequantizeLinear: 1 });
      assert.strictEqual(describeQuantizedOps(quantizedOpsIn(model)), '2 QuantizeLinear/DequantizeLinear nodes');
    });
  });
});
