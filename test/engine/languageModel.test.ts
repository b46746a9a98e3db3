// The character-level language-model fixture (test/fixtures/lm) with the real onnxruntime-node:
// its graph and held-out cross-entropy match what its README and lm.json say (so the fixture cannot
// rot unnoticed), and `analyze` of its dynamic int8 quantization reports next-token agreement,
// cross-entropy and perplexity; an embedding or a regression output gets no agreement at all.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { analyzeQuantization } from '../../src/core/analysis/analyze';
import { readLabels } from '../../src/core/analysis/labels';
import { OutputComparison } from '../../src/core/analysis/outputs';
import { modelInputs, openDataSource } from '../../src/core/data';
import { createMessage } from '../../src/core/onnx/codec';
import { DataType } from '../../src/core/onnx/dataTypes';
import { readModel } from '../../src/core/onnx/model';
import { writeModel } from '../../src/core/onnx/write';
import { quantizeModel } from '../../src/core/quant/pipeline';
import { resolveSettings } from '../../src/core/quant/settings';
import type { NodeProto } from '../../src/core/onnx/types';
import type { ort } from '../../src/core/runtime/session';
import { formatReport } from '../../src/cli/analyze';
import { parseQuantReport, type QuantReport } from '../../src/shared/quantReport';
import { valueInfo } from '../fixtures/builder';
import { writeNpy } from '../support/npyWriter';
import {
  LM_CALIB,
  LM_CALIB_LABELS,
  LM_DIR,
  LM_HELDOUT,
  LM_HELDOUT_LABELS,
  LM_MODEL,
  languageModelFixture,
  languageModelScores,
} from '../support/languageModel';

describe('language-model fixture and next-token analysis', function () {
  this.timeout(300000);
  const info = languageModelFixture();
  let dir: string;
  let int8: string;
  let withLabels: QuantReport;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-'));
    int8 = path.join(dir, 'char_lm.int8.onnx');
    await quantizeModel(LM_MODEL, resolveSettings({ mode: 'dynamic' }), { output: int8, resultFile: false });
    // Batch 16 as languageModelScores: dynamic quantization scales activations over the whole batch.
    withLabels = await analyzeQuantization(LM_MODEL, int8, {
      data: LM_HELDOUT,
      labels: LM_HELDOUT_LABELS,
      samples: null,
      batchSize: 16,
      latencyRuns: 0,
      reportFile: false,
    });
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is the small token-id transformer its README describes', async () => {
    const model = await readModel(LM_MODEL);
    const g = model.proto.graph!;
    assert.ok(fs.statSync(LM_MODEL).size < 12 * 1024 * 1024);
    assert.strictEqual(fs.statSync(LM_MODEL).size, info.model.bytes);
    const [input] = modelInputs(model);
    assert.deepStrictEqual([input.name, input.elemType, input.dims], ['input_ids', DataType.INT64, ['batch', 'seq']]);
    const weights = new Map(g.initializer.map((t) => [t.name, t.dims.map(Number)]));
    const matmuls = g.node.filter((n) => n.op_type === 'MatMul' && weights.has(n.input[1]));
    // Per block q, k, v, proj, fc1, fc2, then the head: K is d_model or 4 d_model (whole 128-blocks).
    assert.strictEqual(matmuls.length, 6 * info.model.layers + 1);
    assert.deepStrictEqual(
      matmuls.map((n) => ({ node: n.name, weight: weights.get(n.input[1]) })),
      info.model.constantMatMuls,
    );
    for (const n of matmuls) assert.strictEqual(weights.get(n.input[1])![0] % 128, 0, n.name);
    assert.ok(!g.node.some((n) => n.op_type === 'Gemm'));
    const gather = g.node.find((n) => n.op_type === 'Gather' && weights.has(n.input[0]));
    assert.deepStrictEqual(weights.get(gather!.input[0]), [info.model.vocab, info.model.dModel]);
    for (const [data, labels] of [
      [LM_HELDOUT, LM_HELDOUT_LABELS],
      [LM_CALIB, LM_CALIB_LABELS],
    ]) {
      const source = await openDataSource(data, model);
      const l = await readLabels(labels);
      assert.strictEqual(l.perSample, info.model.context);
      assert.strictEqual(source.samples, l.values.length / l.perSample);
    }
  });

  it('has the held-out cross-entropy its README records, well below the unigram baseline', async () => {
    const s = await languageModelScores(LM_MODEL, LM_MODEL);
    assert.strictEqual(s.agreement, 1);
    assert.strictEqual(s.tokens, info.heldout.tokens);
    assert.ok(Math.abs(s.ceFloat - info.heldout.crossEntropy) < 1e-4, `${s.ceFloat} vs lm.json ${info.heldout.crossEntropy}`);
    const readme = fs.readFileSync(path.join(LM_DIR, 'README.md'), 'utf8');
    const recorded = /held-out cross-entropy \*\*([\d.]+) nats\/token\*\* \(perplexity \*\*([\d.]+)\*\*\)/.exec(readme);
    assert.ok(recorded, 'the README states the held-out cross-entropy and perplexity');
    assert.ok(Math.abs(s.ceFloat - Number(recorded[1])) < 1e-3, `${s.ceFloat} vs README ${recorded[1]}`);
    assert.ok(Math.abs(Math.exp(s.ceFloat) - Number(recorded[2])) < 1e-2, `${Math.exp(s.ceFloat)} vs README ${recorded[2]}`);
    assert.ok(s.ceFloat < info.heldout.unigramCrossEntropy - 0.5, `${s.ceFloat} vs unigram ${info.heldout.unigramCrossEntropy}`);
  });

  it('analyze reports next-token agreement, cross-entropy and perplexity of dynamic int8 with labels', async () => {
    const m = withLabels.model;
    const lm = m.languageModel!;
    assert.ok(lm, 'the logits are recognised as next-token scores');
    assert.strictEqual(m.top1Agreement, null, 'no per-sample top-1 for a sequence output');
    assert.strictEqual(m.accuracy, null);
    assert.strictEqual(lm.output, 'logits');
    assert.strictEqual(lm.vocabulary, info.model.vocab);
    assert.strictEqual(lm.tokens, info.heldout.tokens);
    assert.strictEqual(lm.labelledTokens, info.heldout.tokens);
    assert.ok(Math.abs(lm.crossEntropy!.float - info.heldout.crossEntropy) < 1e-4);
    const helper = await languageModelScores(LM_MODEL, int8);
    assert.ok(Math.abs(helper.ceQuant - lm.crossEntropy!.quantized) < 1e-9 && helper.agreement === lm.nextTokenAgreement);
    console.log(
      `      dynamic int8: next-token agreement ${(lm.nextTokenAgreement * 100).toFixed(2)}%, cross-entropy ${lm.crossEntropy!.float.toFixed(4)} -> ${lm.crossEntropy!.quantized.toFixed(4)} nats/token, perplexity ${lm.perplexity!.float.toFixed(3)} -> ${lm.perplexity!.quantized.toFixed(3)}`,
    );
    assert.ok(lm.nextTokenAgreement > 0.9 && lm.nextTokenAgreement < 1, String(lm.nextTokenAgreement));
    assert.ok(Math.abs(lm.crossEntropyIncrease!) < 0.05, String(lm.crossEntropyIncrease));
    assert.ok(Math.abs(lm.crossEntropyIncrease! - (lm.crossEntropy!.quantized - lm.crossEntropy!.float)) < 1e-12);
    assert.ok(Math.abs(lm.perplexity!.quantized - Math.exp(lm.crossEntropy!.quantized)) < 1e-9);
    assert.ok(Math.abs(lm.perplexityIncrease! - (lm.perplexity!.quantized / lm.perplexity!.float - 1)) < 1e-9);
    assert.ok(!withLabels.warnings.some((w) => /label/.test(w)), JSON.stringify(withLabels.warnings));
    assert.deepStrictEqual(parseQuantReport(JSON.parse(JSON.stringify(withLabels))), withLabels);
    // A report written before language models were recognised still reads; a bad share does not.
    const old = JSON.parse(JSON.stringify(withLabels));
    delete old.model.languageModel;
    assert.strictEqual(parseQuantReport(old).model.languageModel, null);
    old.model.languageModel = { ...lm, nextTokenAgreement: 1.5 };
    assert.throws(() => parseQuantReport(old), /model\.languageModel\.nextTokenAgreement must be between 0 and 1/);
    old.model.languageModel = { ...lm, perplexity: { float: 0, quantized: 1 } };
    assert.throws(() => parseQuantReport(old), /model\.languageModel\.perplexity\.float must be above 0/);
    const text = formatReport(withLabels, 'local', 5);
    assert.match(text, /next-token agreement \d+\.\d\d% of 7\d{3} positions/);
    assert.match(text, /cross-entropy \d\.\d{4} -> \d\.\d{4} nats\/token \([+-]\d\.\d{4}\)/);
    assert.match(text, /perplexity \d+\.\d{3} -> \d+\.\d{3} \([+-]\d+\.\d\d%\)/);
  });

  it('analyze without labels still reports next-token agreement, and no cross-entropy', async () => {
    const r = await analyzeQuantization(LM_MODEL, int8, { data: LM_HELDOUT, samples: 16, batchSize: 8, latencyRuns: 0, reportFile: false });
    const lm = r.model.languageModel!;
    assert.strictEqual(lm.tokens, 16 * info.model.context);
    assert.ok(lm.nextTokenAgreement > 0.9, String(lm.nextTokenAgreement));
    assert.deepStrictEqual([lm.crossEntropy, lm.perplexity, lm.crossEntropyIncrease, lm.perplexityIncrease, lm.labelledTokens], [null, null, null, null, 0]);
    assert.strictEqual(r.model.top1Agreement, null);
    assert.doesNotMatch(formatReport(r, 'local', 5), /cross-entropy|perplexity/);
  });

  it('refuses next-token labels of another sequence length, and says when one label per sample cannot serve', async () => {
    const short = path.join(dir, 'short.labels.npy');
    // 64 labels per sample for 128 positions.
    writeNpy(short, '<i8', [4, 64], new BigInt64Array(4 * 64));
    await assert.rejects(
      analyzeQuantization(LM_MODEL, int8, { data: LM_HELDOUT, labels: short, samples: 4, latencyRuns: 0, reportFile: false }),
      /the labels hold 64 next-token labels per sample but output 'logits' has 128 positions/,
    );
    const vector = path.join(dir, 'vector.labels.npy');
    writeNpy(vector, '<i8', [4], new BigInt64Array(4));
    const r = await analyzeQuantization(LM_MODEL, int8, { data: LM_HELDOUT, labels: vector, samples: 4, latencyRuns: 0, reportFile: false });
    assert.strictEqual(r.model.languageModel!.crossEntropy, null);
    assert.ok(
      r.warnings.some((w) => /one label per sample, but 'logits' scores the next token at every position/.test(w)),
      JSON.stringify(r.warnings),
    );
  });

  it('gives a hidden-state output of the same token model no agreement, no cross-entropy and no accuracy', async () => {
    // The fixture cut after its final LayerNorm: [batch, seq, d_model] hidden states, named as such.
    const model = await readModel(LM_MODEL);
    const g = model.proto.graph!;
    const norm = g.node.filter((n) => n.op_type === 'LayerNormalization').pop()!;
    const cut = g.node.findIndex((n) => n.input.includes(norm.output[0]) && n.op_type === 'MatMul');
    g.node.splice(cut);
    g.node.push(
      createMessage<NodeProto>('NodeProto', { name: 'hidden_identity', op_type: 'Identity', input: [norm.output[0]], output: ['last_hidden_state'] }),
    );
    g.output.splice(0, g.output.length, valueInfo('last_hidden_state', DataType.FLOAT, ['batch', 'seq', info.model.dModel]));
    const encoder = path.join(dir, 'encoder.onnx');
    await writeModel(model, encoder);
    const q = path.join(dir, 'encoder.int8.onnx');
    await quantizeModel(encoder, resolveSettings({ mode: 'dynamic' }), { output: q, resultFile: false });
    const r = await analyzeQuantization(encoder, q, { data: LM_HELDOUT, labels: LM_HELDOUT_LABELS, samples: 8, latencyRuns: 0, reportFile: false });
    assert.deepStrictEqual([r.model.top1Agreement, r.model.languageModel, r.model.accuracy], [null, null, null]);
    assert.ok(r.model.outputs[0].error.sqnr! > 20, 'the hidden states are still compared by SQNR');
    assert.ok(
      r.warnings.some((w) => /neither class scores .* nor next-token scores/.test(w)),
      JSON.stringify(r.warnings),
    );
  });

  it('decides next-token scores by name, input type and shape; embeddings and regression outputs have no argmax', () => {
    const tensor = (dims: number[], data: Float32Array) => ({ dims, type: 'float32', data }) as unknown as ort.Tensor;
    const values = (n: number, f: (i: number) => number) => Float32Array.from({ length: n }, (_, i) => f(i));
    const compare = (name: string, dims: number[], tokenInput: boolean, labels?: Int32Array, perSample = 1) => {
      const size = dims.reduce((a, b) => a * b, 1);
      const a = values(size, (i) => Math.sin(i * 0.7) * 3);
      const b = values(size, (i) => Math.sin(i * 0.7) * 3 + 0.01 * Math.cos(i));
      const o = new OutputComparison([name], labels && { values: labels, perSample }, { tokenInput });
      o.add({ [name]: tensor(dims, a) }, { [name]: tensor(dims, b) }, 0);
      return o;
    };
    // Logits of a token model: next-token scores, with or without a telling name.
    for (const [name, tokenInput] of [
      ['logits', false],
      ['output', true],
    ] as const) {
      const o = compare(name, [2, 3, 5], tokenInput, Int32Array.from([0, 1, 2, 3, 4, -100]), 3);
      const lm = o.languageModel()!;
      assert.ok(lm, name);
      assert.deepStrictEqual([lm.tokens, lm.labelledTokens, lm.vocabulary, o.top1Agreement()], [6, 5, 5, null]);
      assert.strictEqual(lm.nextTokenAgreement, 1);
    }
    // A neutral name on a float-input model: a sequence of features, not a vocabulary.
    assert.strictEqual(compare('output', [2, 3, 5], false).languageModel(), null);
    // Embeddings and hidden states, whatever the input.
    for (const name of ['last_hidden_state', 'token_embeddings', 'encoder_hidden', 'pooled_output'])
      for (const dims of [
        [2, 3, 5],
        [2, 5],
      ]) {
        const o = compare(name, dims, true, Int32Array.from([1, 2]));
        assert.deepStrictEqual([o.languageModel(), o.top1Agreement(), o.accuracy()], [null, null, null], `${name} ${dims}`);
      }
    // Regression outputs: boxes, keypoints, depth, a mel spectrogram.
    for (const [name, dims] of [
      ['boxes', [2, 4]],
      ['pred_keypoints', [2, 34]],
      ['depth', [2, 3, 5]],
      ['mel_output', [2, 3, 80]],
    ] as const) {
      const o = compare(name, [...dims], true, Int32Array.from([1, 0]));
      assert.deepStrictEqual([o.languageModel(), o.top1Agreement(), o.accuracy()], [null, null, null], name);
    }
    // Class scores keep their top-1, and get no next-token report.
    const cls = compare('logits', [2, 5], false, Int32Array.from([1, 0]));
    assert.strictEqual(cls.top1Agreement(), 1);
    assert.strictEqual(cls.languageModel(), null);
  });
});
