import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { cli } from '../support/cliRun';
import { DataType } from '../../src/core/onnx/dataTypes';
import { float32ToFloat16Bits } from '../../src/core/onnx/floatFormats';
import { MODEL_SUMMARY_FORMAT, type ModelSummary, type NodeList, type TensorStatsReport } from '../../src/shared/summary';
import { GraphBuilder, modelBytes, tensor } from '../fixtures/builder';
import { listFiles, ort, runOrt, TempDirs } from '../support/helpers';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const BUNDLE = path.join(ROOT, 'dist', 'cli.js');

const W = Float32Array.of(1, 2, 3, 4, -2, 0, 0.5, 1.5, 2.5, 3.5, 4.5, -1); // [4, 3]: min -2, max 4.5, mean 1.625, one zero

/** x [N, 4] -> MatMul w [4, 3] -> h (declared in value_info) -> Relu -> r -> Transpose -> t -> ReduceSum -> y. */
function cliModel(): GraphBuilder {
  return new GraphBuilder('cli_graph')
    .input('x', DataType.FLOAT, ['N', 4])
    .initializer('w', DataType.FLOAT, [4, 3], W)
    .initializer('half', DataType.FLOAT16, [2], float32ToFloat16Bits([1, -2]))
    .initializer('axes', DataType.INT64, [1], BigInt64Array.of(0n))
    .constant('bias', DataType.FLOAT, [3], Float32Array.of(10, 20, 30))
    .node('MatMul', ['x', 'w'], ['h'], {}, { name: 'proj' })
    .node('Add', ['h', 'bias'], ['hb'], {}, { name: 'add_bias' })
    .node('Relu', ['hb'], ['r'], {}, { name: 'act' })
    .node('Transpose', ['r'], ['t'], { perm: [1, 0] }, { name: 'flip' })
    .node('ReduceSum', ['t', 'axes'], ['y'], { keepdims: 0 }, { name: 'sum' })
    .valueInfo('h', DataType.FLOAT, ['N', 3])
    .output('y', DataType.FLOAT, ['N']);
}

describe('cli', function () {
  this.timeout(30_000);
  const temp = new TempDirs('onnx-compress-cli-');
  let dir: string;
  let model: string;
  beforeEach(() => {
    dir = temp.make();
    model = path.join(dir, 'cli.onnx');
    fs.writeFileSync(model, modelBytes(cliModel(), { opset: 13, producer: 'cli-tests' }));
  });
  afterEach(() => temp.cleanup());

  const x = () => ({ x: new ort.Tensor('float32', Float32Array.of(1, 0, -1, 2, 0.5, 0.5, 0.5, 0.5), [2, 4]) });

  describe('inspect', () => {
    it('prints the summary', async () => {
      const r = await cli('inspect', model);
      assert.strictEqual(r.code, 0, r.stderr);
      assert.strictEqual(r.stderr, '');
      const lines = r.stdout.split('\n');
      const line = (re: RegExp) =>
        assert.ok(
          lines.some((l) => re.test(l)),
          `no line matching ${re} in:\n${r.stdout}`,
        );
      line(new RegExp(`^Model\\s+${model.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+\\(\\d+ B\\)$`));
      line(/^IR\s+8\s+opsets: ai\.onnx 13$/);
      line(/^Producer\s+cli-tests\s+graph: cli_graph$/);
      line(/^Inputs$/);
      line(/^\s+x\s+float32\s+\[N, 4\]$/);
      line(/^\s+y\s+float32\s+\[N\]$/);
      line(/^Nodes\s+6$/);
      line(/^\s+MatMul\s+1$/);
      line(/^\s+Constant\s+1$/);
      line(/^Parameters 18 elements in 4 tensors, 72 B$/);
      line(/^\s+float32\s+15 elements\s+2 tensors\s+60 B$/);
      line(/^\s+float16\s+2 elements\s+1 tensors\s+4 B$/);
      line(/^\s+initializers\s+15 elements\s+3 tensors\s+60 B$/);
      line(/^\s+constants\s+3 elements\s+1 tensors\s+12 B$/);
      assert.ok(!/Warnings/.test(r.stdout));
    });

    it('--json: a versioned model summary', async () => {
      const r = await cli('inspect', model, '--json');
      assert.strictEqual(r.code, 0, r.stderr);
      const s = JSON.parse(r.stdout) as ModelSummary;
      assert.strictEqual(s.format, 'onnx-compress/model-summary');
      assert.strictEqual(s.format, MODEL_SUMMARY_FORMAT);
      assert.strictEqual(s.version, 1);
      assert.strictEqual(s.file, model);
      assert.strictEqual(s.fileBytes, fs.statSync(model).size);
      assert.strictEqual(s.irVersion, 8);
      assert.deepStrictEqual(s.opsets, [{ domain: '', version: 13 }]);
      assert.deepStrictEqual(s.inputs, [{ name: 'x', kind: 'tensor', elemType: 'float32', shape: ['N', 4] }]);
      assert.strictEqual(s.nodes.total, 6);
      assert.strictEqual(s.parameters.tensors, 4);
      assert.strictEqual(s.parameters.elements, 18);
      assert.deepStrictEqual(s.warnings, []);
    });

    it('--tensor NAME: statistics of the values put in', async () => {
      const r = await cli('inspect', model, '--tensor', 'w', '--json');
      assert.strictEqual(r.code, 0, r.stderr);
      const s = JSON.parse(r.stdout) as TensorStatsReport;
      assert.strictEqual(s.format, 'onnx-compress/tensor-stats');
      assert.deepStrictEqual([s.name, s.role, s.graph, s.dataType, s.storage], ['w', 'initializer', 'main', 'float32', 'raw']);
      assert.deepStrictEqual(s.shape, [4, 3]);
      const values = Array.from(W);
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
      assert.strictEqual(s.stats.count, 12);
      assert.strictEqual(s.stats.min, -2);
      assert.strictEqual(s.stats.max, 4.5);
      assert.ok(Math.abs(s.stats.mean! - mean) < 1e-12, `mean ${s.stats.mean} vs ${mean}`);
      assert.ok(Math.abs(s.stats.std! - std) < 1e-12, `std ${s.stats.std} vs ${std}`);
      assert.strictEqual(s.stats.zeros, 1);
      assert.strictEqual(
        s.stats.histogram.counts.reduce((a, b) => a + b, 0),
        12,
      );

      const text = await cli('inspect', model, '--tensor', 'w');
      assert.strictEqual(text.code, 0);
      assert.match(text.stdout, /^Tensor\s+w\s+\(initializer in main, raw data\)$/m);
      assert.match(text.stdout, /^Type\s+float32 \[4, 3\]\s+12 elements$/m);
      assert.match(text.stdout, /^Range\s+min -2\s+max 4\.5$/m);
      assert.match(text.stdout, new RegExp(`^Moments\\s+mean ${Number(mean.toPrecision(6))}\\s+std ${Number(std.toPrecision(6))}$`, 'm'));
      assert.match(text.stdout, /^Zeros\s+1 \(8\.33%\)$/m);
      assert.match(text.stdout, /^Histogram$/m);
    });

    it('--tensor works for float16 initializers and Constant values', async () => {
      const h = JSON.parse((await cli('inspect', model, '--tensor', 'half', '--json')).stdout) as TensorStatsReport;
      assert.deepStrictEqual([h.dataType, h.stats.min, h.stats.max, h.stats.mean], ['float16', -2, 1, -0.5]);
      const c = JSON.parse((await cli('inspect', model, '--tensor', 'bias', '--json')).stdout) as TensorStatsReport;
      assert.deepStrictEqual([c.role, c.stats.min, c.stats.max, c.stats.mean], ['constant', 10, 30, 20]);
      const missing = await cli('inspect', model, '--tensor', 'nope');
      assert.notStrictEqual(missing.code, 0);
      assert.match(missing.stderr, /tensor 'nope'/);
    });

    it('--nodes: shapes from value_info and from a probe run', async () => {
      const r = await cli('inspect', model, '--nodes', '--json');
      assert.strictEqual(r.code, 0, r.stderr);
      const list = JSON.parse(r.stdout) as NodeList;
      assert.strictEqual(list.format, 'onnx-compress/node-list');
      assert.strictEqual(list.shapeSource, 'value_info+probe');
      assert.match(list.probeNote!, /synthetic inputs x=\[1,4\]/);
      const out = (node: string) => list.nodes.find((n) => n.name === node)!.outputs[0];
      assert.deepStrictEqual(
        list.nodes.map((n) => n.name),
        ['const_bias', 'proj', 'add_bias', 'act', 'flip', 'sum'],
      );
      assert.deepStrictEqual(out('proj'), { name: 'h', elemType: 'float32', shape: ['N', 3] }, 'declared: symbolic dim kept');
      assert.deepStrictEqual(out('act'), { name: 'r', elemType: 'float32', shape: [1, 3] }, 'learnt');
      assert.deepStrictEqual(out('flip').shape, [3, 1]);
      assert.deepStrictEqual(out('sum').shape, ['N'], 'graph output: declared');
      assert.deepStrictEqual(list.nodes.find((n) => n.name === 'proj')!.parameters, 12);
      assert.deepStrictEqual(list.nodes.find((n) => n.name === 'flip')!.attributes, { perm: '[1, 0]' });

      const sized = JSON.parse((await cli('inspect', model, '--nodes', '--json', '--input-shape', 'x=5,4')).stdout) as NodeList;
      assert.deepStrictEqual(sized.nodes.find((n) => n.name === 'flip')!.outputs[0].shape, [3, 5]);
      assert.match(sized.probeNote!, /x=\[5,4\]/);

      const noProbe = JSON.parse((await cli('inspect', model, '--nodes', '--json', '--no-probe')).stdout) as NodeList;
      assert.strictEqual(noProbe.shapeSource, 'value_info');
      assert.strictEqual(noProbe.nodes.find((n) => n.name === 'act')!.outputs[0].shape, null);
      assert.match(noProbe.probeNote!, /probe run disabled/);

      const text = await cli('inspect', model, '--nodes');
      assert.match(text.stdout, /^Shapes from: value_info\+probe \(shapes not in value_info come from one run with synthetic inputs x=\[1,4\]\)$/m);
      assert.match(text.stdout, /^\s+1\s+proj\s+MatMul\s+h float32\[N, 3\]$/m);
      assert.match(text.stdout, /^\s+3\s+act\s+Relu\s+r float32\[1, 3\]$/m);
    });

    it('--nodes: a probe that fails says why, and the list still comes', async () => {
      const r = await cli('inspect', model, '--nodes', '--json', '--input-shape', 'x=2,7');
      assert.strictEqual(r.code, 0, r.stderr);
      const list = JSON.parse(r.stdout) as NodeList;
      assert.strictEqual(list.shapeSource, 'value_info');
      assert.match(list.probeNote!, /^no probe run: .*x=\[2,7\].*--input-shape/s);
      assert.strictEqual(list.nodes.length, 6);
    });

    it('--nodes: a bfloat16 intermediate does not stop the probe from learning the other shapes', async () => {
      const g = new GraphBuilder('bf')
        .input('x', DataType.FLOAT, [2, 3])
        .node('Cast', ['x'], ['xb'], { to: DataType.BFLOAT16 }, { name: 'to_bf16' })
        .node('Cast', ['xb'], ['xf'], { to: DataType.FLOAT }, { name: 'to_f32' })
        .node('Transpose', ['xf'], ['t'], { perm: [1, 0] }, { name: 'flip' })
        .node('Relu', ['t'], ['y'], {}, { name: 'act' })
        .output('y', DataType.FLOAT, [3, 2]);
      const file = path.join(dir, 'bf.onnx');
      fs.writeFileSync(file, modelBytes(g, { opset: 13 }));
      assert.deepStrictEqual((await runOrt(file, { x: new ort.Tensor('float32', Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]) })).y.dims, [3, 2]);
      const list = JSON.parse((await cli('inspect', file, '--nodes', '--json')).stdout) as NodeList;
      assert.strictEqual(list.shapeSource, 'value_info+probe', `probe note: ${list.probeNote}`);
      assert.deepStrictEqual(list.nodes.find((n) => n.name === 'flip')!.outputs[0].shape, [3, 2]);
      assert.strictEqual(list.nodes.find((n) => n.name === 'to_bf16')!.outputs[0].elemType, 'bfloat16');
    });
  });

  describe('exit codes', () => {
    it('2 for bad arguments, with the reason and the usage on stderr', async () => {
      const cases: string[][] = [
        [],
        ['frobnicate'],
        ['inspect'],
        ['inspect', model, 'second.onnx'],
        ['inspect', model, '--bogus'],
        ['inspect', model, '--tensor'],
        ['inspect', model, '--tensor', 'w', '--nodes'],
        ['inspect', model, '--bins', '3'],
        ['inspect', model, '--nodes', '--input-shape', 'x=1,a'],
        ['inspect', model, '--nodes', '--input-shape', 'x'],
        ['inspect', model, '--nodes', '--input-shape', 'x=1,,4'],
        ['inspect', model, '--nodes', '--input-shape', '=1,4'],
        ['save', model],
        ['save', model, path.join(dir, 'o.onnx'), '--threshold', '10'],
        ['save', model, path.join(dir, 'o.onnx'), '--external-data', '--threshold', '-1'],
        ['save', model, path.join(dir, 'o.onnx'), '--external-data', '--threshold', 'lots'],
        ['save', model, path.join(dir, 'o.onnx'), '--external-data', '--inline'],
        ['save', model, path.join(dir, 'o.onnx'), '--location', 'x.bin'],
        ['distill', 'a.distill.json', '--sweep-alphas', '0.5'],
        ['distill', 'a.distill.json', '--sweep', '--baseline'],
        ['distill', 'a.distill.json', '--sweep', '--resume', 'r'],
        ['distill', 'a.distill.json', '--sweep', '--sweep-alphas', '0.5,2'],
        ['distill', 'a.distill.json', '--sweep', '--sweep-temperatures', 'hot'],
      ];
      for (const argv of cases) {
        const r = await cli(...argv);
        assert.strictEqual(r.code, 2, `${JSON.stringify(argv)} -> ${r.code}: ${r.stderr}`);
        assert.match(r.stderr, /^onnx-compress: /, JSON.stringify(argv));
        assert.match(r.stderr, /usage:/, JSON.stringify(argv));
        assert.strictEqual(r.stdout, '', JSON.stringify(argv));
      }
      assert.deepStrictEqual(listFiles(dir), ['cli.onnx'], 'nothing written');
      assert.match((await cli('inspect', model, '--nodes', '--input-shape', 'x=1,a')).stderr, /--input-shape 'x=1,a'/);
      assert.match((await cli('inspect', model, '--bogus')).stderr, /--bogus/);
      assert.match((await cli('distill', 'a.distill.json', '--sweep-alphas', '0.5')).stderr, /--sweep-alphas sets the grid of --sweep: add --sweep/);
      assert.match((await cli('distill', 'a.distill.json', '--sweep', '--baseline')).stderr, /one of them labels-only.*drop --baseline/);
      assert.match((await cli('distill', 'a.distill.json', '--sweep', '--sweep-alphas', '0.5,2')).stderr, /--sweep-alphas takes numbers in \[0, 1\]/);
    });

    it('0 for --help and --version', async () => {
      const help = await cli('--help');
      assert.strictEqual(help.code, 0);
      assert.match(help.stdout, /usage:/);
      const version = await cli('--version');
      assert.strictEqual(version.code, 0);
      assert.ok(version.stdout.length > 0);
    });

    it('1 for a model that cannot be read, with the reason on stderr and no stack trace', async () => {
      const missing = path.join(dir, 'missing.onnx');
      const garbage = path.join(dir, 'garbage.onnx');
      fs.writeFileSync(garbage, Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x01]));
      const empty = path.join(dir, 'empty.onnx');
      fs.writeFileSync(empty, new Uint8Array(0));
      for (const [file, reason] of [
        [missing, /no such file/],
        [garbage, /not valid protobuf|truncated|not an ONNX model/],
        [empty, /empty/],
        [dir, /folder/],
      ] as Array<[string, RegExp]>) {
        for (const argv of [
          ['inspect', file],
          ['inspect', file, '--json'],
          ['inspect', file, '--nodes'],
          ['save', file, path.join(dir, 'out.onnx')],
        ]) {
          const r = await cli(...argv);
          assert.strictEqual(r.code, 1, `${JSON.stringify(argv)}: ${r.stderr}`);
          assert.ok(r.stderr.startsWith(`onnx-compress: ${file}: `), r.stderr);
          assert.match(r.stderr, reason);
          assert.ok(!/\n\s+at /.test(r.stderr), `no stack trace: ${r.stderr}`);
          assert.strictEqual(r.stdout, '');
        }
      }
    });
  });

  describe('save', () => {
    const reference = async () => runOrt(model, x());

    it('--external-data writes a data file beside OUT; the result runs identically', async () => {
      const outDir = temp.make();
      const out = path.join(outDir, 'ext.onnx');
      const r = await cli('save', model, out, '--external-data', '--threshold', '12'); // w (48 B) and the Constant bias (12 B)
      assert.strictEqual(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^wrote ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(\\d+ B\\)$`, 'm'));
      assert.match(r.stdout, /^wrote .*ext\.onnx\.data \(\d+ B, 2 tensors\)$/m);
      assert.deepStrictEqual(listFiles(outDir), ['ext.onnx', 'ext.onnx.data']);
      assert.deepStrictEqual(await runOrt(out, x()), await reference());
      const summary = JSON.parse((await cli('inspect', out, '--json')).stdout) as ModelSummary;
      assert.strictEqual(summary.parameters.external.tensors, 2);
      assert.deepStrictEqual(summary.parameters.external.files, ['ext.onnx.data']);
      const stats = JSON.parse((await cli('inspect', out, '--tensor', 'w', '--json')).stdout) as TensorStatsReport;
      assert.deepStrictEqual([stats.storage, stats.stats.min, stats.stats.max], ['external', -2, 4.5]);

      // --inline brings it back into one file.
      const inlineDir = temp.make();
      const back = path.join(inlineDir, 'inline.onnx');
      const i = await cli('save', out, back, '--inline');
      assert.strictEqual(i.code, 0, i.stderr);
      assert.deepStrictEqual(listFiles(inlineDir), ['inline.onnx']);
      assert.deepStrictEqual(await runOrt(fs.readFileSync(back), x()), await reference());
    });

    it('--location names the data file; the default threshold keeps small tensors inline', async () => {
      const big = new GraphBuilder('big')
        .input('x', DataType.FLOAT, [1, 512])
        .initializer(
          'w',
          DataType.FLOAT,
          [512, 4],
          Float32Array.from({ length: 2048 }, (_, i) => (i % 7) - 3),
        )
        .initializer('b', DataType.FLOAT, [4], Float32Array.of(1, 2, 3, 4))
        .node('MatMul', ['x', 'w'], ['h'])
        .node('Add', ['h', 'b'], ['y'])
        .output('y', DataType.FLOAT, [1, 4]);
      const src = path.join(dir, 'big.onnx');
      fs.writeFileSync(src, modelBytes(big));
      const outDir = temp.make();
      const out = path.join(outDir, 'big.onnx');
      const r = await cli('save', src, out, '--external-data', '--location', 'weights.bin');
      assert.strictEqual(r.code, 0, r.stderr);
      assert.match(r.stdout, /weights\.bin \(8\.00 KiB, 1 tensors\)/);
      assert.deepStrictEqual(listFiles(outDir), ['big.onnx', 'weights.bin']);
      const feeds = {
        x: new ort.Tensor(
          'float32',
          Float32Array.from({ length: 512 }, (_, i) => i / 512),
          [1, 512],
        ),
      };
      assert.deepStrictEqual(await runOrt(out, feeds), await runOrt(src, feeds));
    });

    it('--external-data --threshold 0 writes a model onnxruntime still loads (shape operands stay readable)', async () => {
      const g = new GraphBuilder('shapes')
        .input('x', DataType.FLOAT, [2, 6])
        .initializer('shape', DataType.INT64, [2], BigInt64Array.of(3n, 4n))
        .node('Reshape', ['x', 'shape'], ['r'])
        .node('ConstantOfShape', ['shape'], ['ones'], { value: tensor('', DataType.FLOAT, [1], Float32Array.of(1)) })
        .node('Add', ['r', 'ones'], ['y'])
        .output('y', DataType.FLOAT, [3, 4]);
      const src = path.join(dir, 'shapes.onnx');
      fs.writeFileSync(src, modelBytes(g));
      const out = path.join(temp.make(), 'shapes.onnx');
      const r = await cli('save', src, out, '--external-data', '--threshold', '0');
      assert.strictEqual(r.code, 0, r.stderr);
      const feeds = {
        x: new ort.Tensor(
          'float32',
          Float32Array.from({ length: 12 }, (_, i) => i),
          [2, 6],
        ),
      };
      assert.deepStrictEqual(await runOrt(out, feeds), await runOrt(src, feeds));
    });

    it('a plain save copies the model; saving over the source is refused with exit 1', async () => {
      const out = path.join(temp.make(), 'copy.onnx');
      const r = await cli('save', model, out);
      assert.strictEqual(r.code, 0, r.stderr);
      assert.deepStrictEqual(fs.readFileSync(out), fs.readFileSync(model));
      const before = fs.readFileSync(model);
      const same = await cli('save', model, model);
      assert.strictEqual(same.code, 1);
      assert.match(same.stderr, /refusing to write over the model being read/);
      assert.deepStrictEqual(fs.readFileSync(model), before);
      assert.deepStrictEqual(listFiles(dir), ['cli.onnx']);
    });
  });

  describe('the built bundle', () => {
    it('node dist/cli.js inspect MODEL --json works', function () {
      if (!fs.existsSync(BUNDLE)) {
        assert.fail(`${BUNDLE} is missing: run \`npm run build\` first (webpack builds dist/cli.js)`);
      }
      const r = spawnSync(process.execPath, [BUNDLE, 'inspect', model, '--json'], { encoding: 'utf8', timeout: 20_000 });
      assert.strictEqual(r.error, undefined, String(r.error));
      assert.strictEqual(r.status, 0, r.stderr);
      const s = JSON.parse(r.stdout) as ModelSummary;
      assert.strictEqual(s.format, 'onnx-compress/model-summary');
      assert.strictEqual(s.version, 1);
      assert.strictEqual(s.file, model);
      assert.strictEqual(s.nodes.total, 6);

      const bad = spawnSync(process.execPath, [BUNDLE, 'inspect'], { encoding: 'utf8', timeout: 20_000 });
      assert.strictEqual(bad.status, 2, bad.stderr);
      const version = spawnSync(process.execPath, [BUNDLE, '--version'], { encoding: 'utf8', timeout: 20_000 });
      assert.strictEqual(version.stdout.trim(), JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
    });
  });
});
