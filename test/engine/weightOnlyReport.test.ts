// The analysis of weight-only models (char_lm.onnx, quantized for real): every block-quantized
// weight, MatMulNBits, GatherBlockQuantized and blocked DequantizeLinear, is read back and gets a
// report whose block errors are the ones the quantizer recorded in its result.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { analyzeQuantization } from '../../src/core/analysis/analyze';
import { DataType } from '../../src/core/onnx/dataTypes';
import { readModel } from '../../src/core/onnx/model';
import { seededRandom } from '../../src/core/random';
import { int64ToNumber, type NodeProto } from '../../src/core/onnx/types';
import { quantizeModel } from '../../src/core/quant/pipeline';
import { resolveSettings } from '../../src/core/quant/settings';
import { formatReport } from '../../src/cli/analyze';
import { parseQuantReport, type QuantReport } from '../../src/shared/quantReport';
import type { QuantResult } from '../../src/shared/quantResult';
import { GraphBuilder, float, modelBytes } from '../fixtures/builder';
import { LM_CALIB, LM_HELDOUT, LM_MODEL } from '../support/languageModel';

const attr = (n: NodeProto, name: string) => int64ToNumber(n.attribute.find((a) => a.name === name)!.i!);

describe('analysis of weight-only quantized models', function () {
  this.timeout(600000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wo-report-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const analyze = (file: string, quantResult?: QuantResult) =>
    analyzeQuantization(LM_MODEL, file, {
      data: LM_HELDOUT,
      samples: 4,
      batchSize: 4,
      latencyRuns: 0,
      reportFile: false,
      ...(quantResult ? { quantResult } : {}),
    });

  function byTensor(report: QuantReport) {
    return new Map(report.weights.map((w) => [w.tensor, w]));
  }

  it('MatMulNBits and GatherBlockQuantized: blocks of 32, N * ceil(K / 32) of them, the mean error the quantizer recorded', async () => {
    const file = path.join(dir, 'rtn.onnx');
    const result = await quantizeModel(LM_MODEL, resolveSettings({ calibration: LM_CALIB, mode: 'weight-only', bits: 4, blockSize: 32 }), {
      output: file,
      resultFile: false,
    });
    const quant = await readModel(file);
    const nodes = quant.proto.graph!.node;
    const matmuls = nodes.filter((n) => n.op_type === 'MatMulNBits');
    const gathers = nodes.filter((n) => n.op_type === 'GatherBlockQuantized');
    assert.ok(matmuls.length >= 12 && gathers.length === 1, `${matmuls.length} MatMulNBits, ${gathers.length} GatherBlockQuantized`);
    const errors = new Map(result.weightErrors!.map((e) => [e.tensor, e]));

    // With the result's record of names, and without it (the names the writers give).
    for (const [how, report] of [
      ['with the QuantResult', await analyze(file, result)],
      ['by name', await analyze(file)],
    ] as const) {
      const reports = byTensor(report);
      assert.strictEqual(report.weights.length, matmuls.length + gathers.length, `${how}: ${report.weights.map((w) => w.tensor).join(', ')}`);
      for (const n of matmuls) {
        const tensor = result.quantizedNames![n.input[1]];
        const w = reports.get(tensor);
        assert.ok(w?.blocks, `${how}: no block report for ${tensor}`);
        const [K, N] = [attr(n, 'K'), attr(n, 'N')];
        assert.strictEqual(w.blocks.size, 32);
        assert.strictEqual(w.blocks.count, N * Math.ceil(K / 32), tensor);
        assert.strictEqual(w.blocks.meanRelative, errors.get(tensor)!.meanRelative, `${how}: ${tensor}`);
        assert.strictEqual(w.blocks.maxRelative, errors.get(tensor)!.maxRelative, `${how}: ${tensor}`);
        // Per column, not per block; the error is rounding at 4 bits.
        assert.strictEqual(w.scales.length, N);
        assert.strictEqual(w.elements, K * N);
        assert.strictEqual(w.type, 'uint4');
        assert.ok(w.blocks.meanRelative > 0.03 && w.blocks.meanRelative < 0.15, String(w.blocks.meanRelative));
        assert.ok(Math.abs(w.rmseOverStep! - 0.289) < 0.03, String(w.rmseOverStep));
        assert.ok(Math.abs(w.error.sqnr! - errors.get(tensor)!.sqnrDb) < 1e-6, `${w.error.sqnr} vs ${errors.get(tensor)!.sqnrDb}`);
      }
      const table = result.quantizedNames![gathers[0].input[0]];
      const g = reports.get(table)!;
      const [vocab, packed] = quant.proto.graph!.initializer.find((t) => t.name === gathers[0].input[0])!.dims.map(Number);
      assert.strictEqual(g.blocks!.count, (vocab * packed * 2) / 32);
      assert.strictEqual(g.blocks!.meanRelative, errors.get(table)!.meanRelative);
      assert.deepStrictEqual(report.unmatched, []);
      assert.ok(
        report.warnings.some((x) => x.includes('weight-only quantization keeps activations in float')),
        JSON.stringify(report.warnings),
      );
    }

    // The report as written and read back keeps the blocks; the CLI summary names the worst.
    const report = await analyze(file, result);
    const back = parseQuantReport(JSON.parse(JSON.stringify(report)));
    assert.deepStrictEqual(
      back.weights.map((w) => w.blocks),
      report.weights.map((w) => w.blocks),
    );
    const summary = formatReport(report, 'local', 5);
    assert.match(summary, /\n {11}(\d+) in blocks; highest block error \d+\.\d+% mean, \d+\.\d+% worst block \(.+: uint4, blocks of 32 \(\d+ blocks\)\)/);
    assert.strictEqual(Number(/(\d+) in blocks/.exec(summary)![1]), matmuls.length + gathers.length);
  });

  it('blocked DequantizeLinear, symmetric: read back as int4 with the recorded error', async () => {
    const file = path.join(dir, 'dq.onnx');
    const result = await quantizeModel(
      LM_MODEL,
      resolveSettings({ calibration: LM_CALIB, mode: 'weight-only', bits: 4, blockSize: 32, symmetricWeights: true, weightOnlyFormat: 'dequantize-linear' }),
      { output: file, resultFile: false },
    );
    const report = await analyze(file, result);
    const reports = byTensor(report);
    assert.strictEqual(report.weights.length, result.weightErrors!.length);
    for (const e of result.weightErrors!) {
      const w = reports.get(e.tensor);
      assert.ok(w?.blocks, e.tensor);
      assert.strictEqual(w.type, 'int4');
      assert.strictEqual(w.blocks.count, e.blocks);
      assert.strictEqual(w.blocks.meanRelative, e.meanRelative, e.tensor);
    }
  });

  it("AWQ: the input's Mul by 1/s is undone, so the blocks are measured against W * s as the quantizer did", async () => {
    const file = path.join(dir, 'awq.onnx');
    const result = await quantizeModel(
      LM_MODEL,
      resolveSettings({ calibration: LM_CALIB, mode: 'weight-only', bits: 4, blockSize: 32, algorithm: 'awq', samples: 8 }),
      {
        output: file,
        resultFile: false,
      },
    );
    const report = await analyze(file, result);
    const reports = byTensor(report);
    assert.strictEqual(report.weights.length, result.weightErrors!.length);
    for (const e of result.weightErrors!) {
      const w = reports.get(e.tensor)!;
      // s is recovered as 1 / fround(1 / s): equal to float32 rounding, not bit for bit.
      assert.ok(Math.abs(w.blocks!.meanRelative - e.meanRelative) < 1e-6 * e.meanRelative, `${e.tensor}: ${w.blocks!.meanRelative} vs ${e.meanRelative}`);
      assert.ok(w.error.sqnr! > 15, `${e.tensor}: SQNR ${w.error.sqnr} of the weight the node multiplies by`);
    }
  });

  it('Gemm: a transposed B with alpha folded into the scales, and a square B read by its transB', async () => {
    const rnd = seededRandom(11);
    const values = (n: number) => Float32Array.from({ length: n }, () => rnd() * 2 - 1);
    const [M, K, N] = [2, 80, 24];
    const g = new GraphBuilder('gemm')
      .input('x', DataType.FLOAT, [M, K])
      .initializer('Bt', DataType.FLOAT, [N, K], values(N * K))
      .initializer('Sq', DataType.FLOAT, [N, N], values(N * N))
      .node('Gemm', ['x', 'Bt'], ['h'], { transB: 1, alpha: float(0.5) }, { name: 'g1' })
      .node('Gemm', ['h', 'Sq'], ['y'], { transB: 1 }, { name: 'g2' })
      .output('y', DataType.FLOAT, [M, N]);
    const float32 = path.join(dir, 'gemm.onnx');
    fs.writeFileSync(float32, modelBytes(g, { opset: 13 }));
    const file = path.join(dir, 'gemm.int4.onnx');
    const result = await quantizeModel(float32, resolveSettings({ calibration: 'synthetic:2', mode: 'weight-only', bits: 4, blockSize: 32 }), {
      output: file,
      resultFile: false,
    });
    const report = await analyzeQuantization(float32, file, { data: 'synthetic:2', batchSize: 2, latencyRuns: 0, reportFile: false, quantResult: result });
    assert.deepStrictEqual(report.unmatched, []);
    const reports = byTensor(report);
    for (const [tensor, k, n] of [
      ['Bt', K, N],
      ['Sq', N, N],
    ] as const) {
      const w = reports.get(tensor)!;
      const e = result.weightErrors!.find((x) => x.tensor === tensor)!;
      assert.strictEqual(w.blocks!.count, n * Math.ceil(k / 32), tensor);
      // alpha = 0.5 scales exactly: the analysis undoes it to the quantizer's own numbers.
      assert.strictEqual(w.blocks!.meanRelative, e.meanRelative, tensor);
      assert.ok(Math.abs(w.error.sqnr! - e.sqnrDb) < 1e-6, `${tensor}: ${w.error.sqnr} vs ${e.sqnrDb}`);
      assert.strictEqual(w.axis, 0, 'B is stored [N, K]: columns along axis 0');
      assert.strictEqual(w.scales.length, n);
    }
    // Replacements are recognised by the names they are given after the float node, not by any name.
    const other = new GraphBuilder('other')
      .input('x', DataType.FLOAT, [M, K])
      .initializer('Bt', DataType.FLOAT, [N, K], values(N * K))
      .initializer('Sq', DataType.FLOAT, [N, N], values(N * N))
      .node('Gemm', ['x', 'Bt'], ['h'], { transB: 1, alpha: float(0.5) }, { name: 'a1' })
      .node('Gemm', ['h', 'Sq'], ['y'], { transB: 1 }, { name: 'a2' })
      .output('y', DataType.FLOAT, [M, N]);
    const otherFile = path.join(dir, 'other.onnx');
    fs.writeFileSync(otherFile, modelBytes(other, { opset: 13 }));
    await assert.rejects(
      analyzeQuantization(otherFile, file, { data: 'synthetic:2', latencyRuns: 0, reportFile: false }),
      /not made from this float model: only 0 of the float model's 2 nodes/,
    );
  });
});
