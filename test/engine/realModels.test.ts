// Real models (fetched by `npm run fetch-models` into .models/) and a selection of the ONNX
// backend test models, checked three ways:
//   (a) summarizeModel agrees field by field with an independent reader built on the official
//       python onnx package (test/tools/independent_summary.py);
//   (b) writeModel round trip: the written file re-reads to the same protobuf (and, for these
//       models, to the very bytes of the original file) and runs in onnxruntime-node with
//       outputs identical to the original's on a synthetic input;
//   (c) `save --external-data`: placement 'external' moves every tensor of >= 1024 bytes to
//       OUT.data (Constant values and tensors inside If branches included), the result runs
//       with identical outputs, and placement 'inline' brings back the original's encoding.
// Nothing is skipped: a missing .models folder, python or python3-onnx fails with what to do.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createMessage, encodeMessage } from '../../src/core/onnx/codec';
import { DataType } from '../../src/core/onnx/dataTypes';
import { isExternal } from '../../src/core/onnx/externalData';
import { type OnnxModel } from '../../src/core/onnx/model';
import { readModelSync } from '../support/helpers';
import { summarizeModel, shapeDims } from '../../src/core/onnx/summary';
import { tensorByteSize } from '../../src/core/onnx/tensor';
import {
  AttributeType,
  DATA_LOCATION_EXTERNAL,
  type AttributeProto,
  type FunctionProto,
  type ModelProto,
  type NodeProto,
  type SparseTensorProto,
  type TensorProto,
  type TrainingInfoProto,
  type ValueInfoProto,
} from '../../src/core/onnx/types';
import { allTensors } from '../../src/core/onnx/walk';
import { writeModel } from '../../src/core/onnx/write';
import { syntheticInput } from '../../src/core/runtime/probe';
import { createSession, ort } from '../../src/core/runtime/session';
import { buildModel, GraphBuilder, tensor } from '../fixtures/builder';
import { assertSameSummary, independentSummaries, REPO_ROOT, type IndependentSummary } from '../support/independentSummary';

const MODELS_DIR = path.join(REPO_ROOT, '.models');
const FETCH_HINT = 'run `npm run fetch-models` (node scripts/fetch-models.js) to download them';
const THRESHOLD = 1024;

/** The models scripts/fetch-models.js promises, as paths under .models/. */
function expectedModels(): string[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const fetch = require(path.join(REPO_ROOT, 'scripts', 'fetch-models.js')) as { PACKAGES: Record<string, string[]>; folderOf(spec: string): string };
  return Object.entries(fetch.PACKAGES)
    .flatMap(([spec, files]) => files.filter((f) => f.endsWith('.onnx')).map((f) => path.join(MODELS_DIR, fetch.folderOf(spec), path.basename(f))))
    .sort();
}

function onnxFilesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) return e.name.startsWith('.') ? [] : onnxFilesUnder(p);
      return e.isFile() && e.name.endsWith('.onnx') ? [p] : [];
    })
    .sort();
}

// ---------------------------------------------------------------------------------------------
// How to feed each model. Inputs keep their declared shapes; `dims` gives the full shape where
// the declared one has symbolic or unknown dims (fixed dims must agree with the declaration);
// `int64` gives values for integer inputs whose zeros would not be valid (Silero's sample rate).
// Inputs not named here get syntheticInput's defaults (symbolic dims = 1).
interface RunSpec {
  dims?: Record<string, number[]>;
  int64?: Record<string, bigint>;
  /** Intermediate values also compared (where the declared outputs saturate). */
  expose?: string[];
}

const SILERO_STATE: RunSpec = { dims: { input: [1, 512], state: [2, 1, 128] }, int64: { sr: 16000n } };

const RUN_SPECS: Record<string, RunSpec> = {
  // Silero v3/v4: separate LSTM states h and c; 512 samples at 16 kHz.
  'silero_vad_legacy.onnx': { dims: { input: [1, 512], h: [2, 1, 64], c: [2, 1, 64] }, int64: { sr: 16000n } },
  // Silero v5/v6 check the sample rate (If on sr) and want 512 samples per 16 kHz chunk.
  'silero_vad_v5.onnx': SILERO_STATE,
  'silero_vad.onnx': SILERO_STATE,
  'silero_vad_16k_op15.onnx': SILERO_STATE,
  'silero_vad_op18_ifless.onnx': SILERO_STATE,
  'silero_vad_half.onnx': { dims: { input: [1, 512], state: [2, 1, 128] } },
  // PP-OCR: the detector's FPN needs H and W multiples of 32; the recognizer's height is 48.
  // On noise its probability map is ~0 everywhere, so the logits before the Sigmoid are compared too.
  'ch_PP-OCRv4_det_infer.onnx': { dims: { x: [1, 3, 96, 64] }, expose: ['p2o.Add.281'] },
  'ch_PP-OCRv4_rec_infer.onnx': { dims: { x: [1, 3, 48, 64] } },
  'ch_ppocr_mobile_v2.0_cls_infer.onnx': { dims: { x: [1, 3, 48, 64] } },
  // openWakeWord: the embedding model takes 76 mel frames x 32 bins; melspectrogram raw audio.
  'embedding_model.onnx': { dims: { input_1: [1, 76, 32, 1] } },
  'melspectrogram.onnx': { dims: { input: [1, 1280] } },
};

function feedsFor(model: OnnxModel, spec: RunSpec = {}): Record<string, ort.Tensor> {
  const graph = model.proto.graph!;
  const initializers = new Set(graph.initializer.map((t) => t.name));
  const feeds: Record<string, ort.Tensor> = {};
  for (const v of graph.input) {
    const name = v.name ?? '';
    if (initializers.has(name)) continue;
    const value = spec.int64?.[name];
    if (value !== undefined) {
      const declared = shapeDims(v.type?.tensor_type?.shape) ?? [];
      assert.deepStrictEqual(declared, [], `input '${name}' was expected to be a scalar`);
      feeds[name] = new ort.Tensor('int64', BigInt64Array.of(value), []);
      continue;
    }
    const dims = spec.dims?.[name];
    if (dims) {
      const declared = shapeDims(v.type?.tensor_type?.shape);
      assert.ok(declared && declared.length === dims.length, `input '${name}': sizes ${dims} do not match the declared rank of ${JSON.stringify(declared)}`);
      declared.forEach((d, i) => {
        if (typeof d === 'number' && d > 0) assert.strictEqual(dims[i], d, `input '${name}' dim ${i} is declared ${d}`);
      });
    }
    feeds[name] = syntheticInput(v, dims);
  }
  return feeds;
}

interface Output {
  type: string;
  dims: number[];
  bytes: Buffer | string[];
}

function snapshot(results: ort.InferenceSession.ReturnType): Record<string, Output> {
  const out: Record<string, Output> = {};
  for (const [name, t] of Object.entries(results)) {
    const data = t.data;
    out[name] = {
      type: t.type,
      dims: [...t.dims],
      bytes: Array.isArray(data) ? [...data] : Buffer.from(data.buffer, data.byteOffset, data.byteLength),
    };
  }
  return out;
}

async function runSession(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>): Promise<Record<string, Output>> {
  try {
    return snapshot(await session.run(feeds));
  } finally {
    await session.release();
  }
}

/** Runs a model as the engine does: encoded from memory, external data from its folder;
 *  `expose`d intermediate values are added to the outputs for this run only. */
async function runModel(model: OnnxModel, feeds: Record<string, ort.Tensor>, expose: string[] = []): Promise<Record<string, Output>> {
  const outputs = model.proto.graph!.output;
  const declared = outputs.length;
  outputs.push(...expose.map((name) => createMessage<ValueInfoProto>('ValueInfoProto', { name })));
  let session: ort.InferenceSession;
  try {
    session = await createSession(model);
  } finally {
    outputs.length = declared;
  }
  return runSession(session, feeds);
}

/** Runs a model file as onnxruntime opens it from disk (external data beside it). */
async function runFile(file: string, feeds: Record<string, ort.Tensor>): Promise<Record<string, Output>> {
  const session = await ort.InferenceSession.create(file, { executionProviders: ['cpu'], logSeverityLevel: 3, graphOptimizationLevel: 'all' });
  return runSession(session, feeds);
}

/** Every value `actual` has (the declared outputs at least) equals the original's. */
function assertSameOutputs(actual: Record<string, Output>, expected: Record<string, Output>, model: OnnxModel, what: string): void {
  const declared = model.proto.graph!.output.map((o) => o.name ?? '');
  assert.ok(
    declared.every((n) => n in actual),
    `${what}: every declared output is computed`,
  );
  assert.ok(
    Object.keys(actual).every((n) => n in expected),
    `${what}: output names`,
  );
  for (const [name, a] of Object.entries(actual)) {
    const e = expected[name];
    assert.strictEqual(a.type, e.type, `${what}: element type of output '${name}'`);
    assert.deepStrictEqual(a.dims, e.dims, `${what}: shape of output '${name}'`);
    if (Array.isArray(e.bytes)) assert.deepStrictEqual(a.bytes, e.bytes, `${what}: values of output '${name}'`);
    else assert.ok((a.bytes as Buffer).equals(e.bytes), `${what}: values of output '${name}' differ from the original's`);
  }
}

const encoded = (m: OnnxModel) => Buffer.from(encodeMessage('ModelProto', m.proto));

// ---------------------------------------------------------------------------------------------

describe('real models', function () {
  this.timeout(300_000);

  if (!fs.existsSync(MODELS_DIR)) {
    it('are present in .models/', () => assert.fail(`${MODELS_DIR} is missing: ${FETCH_HINT}`));
    return;
  }
  const files = onnxFilesUnder(MODELS_DIR);

  it('are all present in .models/ (as scripts/fetch-models.js lists them)', () => {
    const missing = expectedModels().filter((f) => !fs.existsSync(f));
    assert.deepStrictEqual(missing, [], `models missing from .models/: ${FETCH_HINT}`);
    assert.ok(files.length > 0, `no .onnx file under ${MODELS_DIR}: ${FETCH_HINT}`);
  });

  let tmp: string;
  let python: Map<string, IndependentSummary> | Error;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-compress-real-'));
    // One python run for all the models; a failure is reported by each comparison test.
    try {
      python = independentSummaries(files);
    } catch (e) {
      python = e as Error;
    }
  });
  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const independent = (file: string): IndependentSummary => {
    if (python instanceof Error) throw python;
    return python.get(file)!;
  };

  for (const file of files) {
    const rel = path.relative(MODELS_DIR, file);
    const base = path.basename(file);
    describe(rel, () => {
      let model: OnnxModel;
      let feeds: Record<string, ort.Tensor>;
      let expected: Record<string, Output> | undefined;
      before(() => {
        model = readModelSync(file);
        feeds = feedsFor(model, RUN_SPECS[base]);
      });
      const expose = RUN_SPECS[base]?.expose ?? [];
      /** The original's outputs, computed once; a comparison of all-zero outputs would prove little. */
      const original = async () => {
        if (!expected) {
          expected = await runModel(model, feeds, expose);
          assert.ok(
            Object.values(expected).some((o) => Array.isArray(o.bytes) || o.bytes.some((b) => b !== 0)),
            'the synthetic input gives all-zero outputs; choose other input sizes or expose intermediate values',
          );
        }
        return expected;
      };
      const outDir = (kind: string) => fs.mkdtempSync(path.join(tmp, `${base.replace(/\W/g, '_')}-${kind}-`));

      it('(a) summary agrees with the python onnx reader', () => {
        assertSameSummary(summarizeModel(model), independent(file), rel);
      });

      it('(b) round trip: same protobuf, same bytes, same outputs', async () => {
        const unchanged = encoded(model);
        const out = path.join(outDir('rt'), base);
        const result = await writeModel(model, out);
        assert.strictEqual(result.dataFile, undefined, 'no tensor is external, so no data file');
        assert.ok(!fs.existsSync(`${out}.data`), 'no data file is written');
        assert.ok(encoded(model).equals(unchanged), 'writing left the model in memory unchanged');
        const again = readModelSync(out);
        assert.ok(encoded(again).equals(unchanged), 'the written model re-reads to the same protobuf');
        // These exporters write canonical protobuf, so the written file is the original file.
        assert.ok(fs.readFileSync(out).equals(fs.readFileSync(file)), 'the written file equals the original byte for byte');
        assertSameOutputs(await runModel(again, feeds, expose), await original(), again, 'written model (from memory)');
        assertSameOutputs(await runFile(out, feeds), await original(), again, 'written model (from its file)');
      });

      it('(c) external data: tensors >= 1 KiB move to OUT.data, run alike, and come back inline', async () => {
        const unchanged = encoded(model);
        const dir = outDir('ext');
        const out = path.join(dir, base);
        const result = await writeModel(model, out, { placement: 'external', threshold: THRESHOLD });
        assert.ok(encoded(model).equals(unchanged), 'writing left the model in memory unchanged');

        // Which tensors should have moved: every non-string tensor of >= THRESHOLD bytes.
        const origTensors = [...allTensors(model.proto)];
        const shouldMove = origTensors.map((v) => v.tensor.data_type !== DataType.STRING && tensorByteSize(v.tensor) >= THRESHOLD);
        const moving = shouldMove.filter(Boolean).length;
        assert.ok(moving > 0, 'every real model here has tensors of at least 1 KiB');
        assert.strictEqual(result.externalTensors, moving, 'tensors written to the data file');
        assert.strictEqual(result.dataFile, `${out}.data`);
        assert.ok(fs.existsSync(out) && fs.existsSync(`${out}.data`), 'OUT and OUT.data exist');
        assert.deepStrictEqual(fs.readdirSync(dir).sort(), [base, `${base}.data`], 'no temporary file is left behind');

        const ext = readModelSync(out);
        const extTensors = [...allTensors(ext.proto)];
        assert.strictEqual(extTensors.length, origTensors.length, 'same tensors in the same places');
        extTensors.forEach((v, i) => {
          const o = origTensors[i];
          assert.strictEqual(v.name, o.name);
          assert.strictEqual(v.role, o.role);
          assert.strictEqual(v.graphPath, o.graphPath);
          assert.strictEqual(isExternal(v.tensor), shouldMove[i], `${o.role} '${o.name}' in ${o.graphPath} (${tensorByteSize(o.tensor)} bytes): external`);
        });

        // The summary shows them in the data file, and the python reader agrees.
        const summary = summarizeModel(ext);
        assert.strictEqual(summary.parameters.external.tensors, moving);
        assert.deepStrictEqual(summary.parameters.external.files, [`${base}.data`]);
        const origSummary = summarizeModel(model);
        assert.deepStrictEqual(
          { tensors: summary.parameters.tensors, elements: summary.parameters.elements, bytes: summary.parameters.bytes, byRole: summary.parameters.byRole },
          {
            tensors: origSummary.parameters.tensors,
            elements: origSummary.parameters.elements,
            bytes: origSummary.parameters.bytes,
            byRole: origSummary.parameters.byRole,
          },
          'moving tensors out changes no count',
        );
        assertSameSummary(summary, independentSummaries([out]).get(out)!, `${rel} with external data`);

        // Weights kept in Constant nodes (PP-OCR) and inside If branches (Silero v5/v6) move too.
        const movedConstants = extTensors.filter((v) => v.role === 'constant' && isExternal(v.tensor)).length;
        const movedSubgraphConstants = extTensors.filter((v) => v.role === 'constant' && v.graphPath !== 'main' && isExternal(v.tensor)).length;
        if (/PP-OCR|ppocr/.test(base)) assert.ok(movedConstants > 0, 'PP-OCR Constant values moved to the data file');
        if (/^silero_vad(_v5)?\.onnx$/.test(base)) {
          assert.ok(movedSubgraphConstants > 0, 'Silero v5/v6 Constant values inside If branches moved to the data file');
        }

        // It runs, from memory (our session, external data from its folder) and from its file.
        assertSameOutputs(await runModel(ext, feeds, expose), await original(), ext, 'external-data model (from memory)');
        assertSameOutputs(await runFile(out, feeds), await original(), ext, 'external-data model (from its file)');

        // Back inline: the original's encoding, and no data file.
        const inlineOut = path.join(outDir('inline'), base);
        const back = await writeModel(ext, inlineOut, { placement: 'inline' });
        assert.strictEqual(back.externalTensors, 0);
        assert.ok(!fs.existsSync(`${inlineOut}.data`), 'no data file for an inline model');
        const inline = readModelSync(inlineOut);
        assert.ok(encoded(inline).equals(unchanged), 'inline again: the same protobuf as the original');
        assert.ok(fs.readFileSync(inlineOut).equals(unchanged), 'inline again: the file is the original encoding');
      });
    });
  }
});

// A selection of the ONNX backend test models (Debian's python3-onnx ships them): small, but with
// sequences, optionals, strings, If/Loop/Scan subgraphs, Constant nodes and tensor attributes.
const ONNX_TEST_DATA = '/usr/lib/python3/dist-packages/onnx/backend/test/data';
const ONNX_TEST_MODELS = [
  'simple/test_expand_shape_model1',
  'simple/test_gradient_of_add_and_mul',
  'simple/test_sequence_model1',
  'simple/test_sequence_model3',
  'simple/test_sequence_model8',
  'simple/test_shrink',
  'simple/test_sign_model',
  'simple/test_single_relu_model',
  'simple/test_strnorm_model_monday_casesensintive_upper',
  'pytorch-converted/test_AvgPool2d',
  'pytorch-converted/test_BatchNorm2d_eval',
  'pytorch-converted/test_Conv2d',
  'pytorch-converted/test_Conv3d_groups',
  'pytorch-converted/test_ConvTranspose2d',
  'pytorch-converted/test_Embedding',
  'pytorch-converted/test_Embedding_sparse',
  'pytorch-converted/test_GLU',
  'pytorch-converted/test_Linear_no_bias',
  'pytorch-converted/test_PReLU_2d_multiparam',
  'pytorch-converted/test_PixelShuffle',
  'pytorch-converted/test_ReflectionPad2d',
  'pytorch-converted/test_log_softmax_dim3',
  // Subgraphs, optional and sequence types, Constant values, tensor attributes.
  'node/test_if',
  'node/test_if_seq',
  'node/test_if_opt',
  'node/test_loop11',
  'node/test_loop13_seq',
  'node/test_scan_sum',
  'node/test_sequence_map_add_1_sequence_1_tensor',
  'node/test_optional_get_element_sequence',
  'node/test_constant',
  'node/test_constantofshape_int_zeros',
  'node/test_layer_normalization_3d_axis0_epsilon_expanded',
  'node/test_strnormalizer_export_monday_casesensintive_upper',
  'node/test_cast_FLOAT_to_STRING',
].map((d) => path.join(ONNX_TEST_DATA, d, 'model.onnx'));

describe('ONNX backend test models: summary agrees with the python onnx reader', function () {
  this.timeout(120_000);
  let python: Map<string, IndependentSummary> | Error;
  before(() => {
    try {
      python = independentSummaries(ONNX_TEST_MODELS.filter((f) => fs.existsSync(f)));
    } catch (e) {
      python = e as Error;
    }
  });
  for (const file of ONNX_TEST_MODELS) {
    const rel = path.relative(ONNX_TEST_DATA, path.dirname(file));
    it(rel, () => {
      assert.ok(fs.existsSync(file), `${file} is missing: install Debian's python3-onnx, which ships the ONNX backend test data`);
      if (python instanceof Error) throw python;
      assertSameSummary(summarizeModel(readModelSync(file)), python.get(file)!, rel);
    });
  }
});

// Constructs the real models above do not use, built here and read by both sides: sparse
// initializers and sparse Constant values, string tensors, a tensors-list attribute, inputs
// without a type or element type, unknown dims, function bodies holding If subgraphs, 4-bit and
// float8 types, typed-field storage, an unknown element type, external data with and without a
// 'length' entry, a training graph, and a Constant in the 'ai.onnx' domain.
describe('constructed edge cases: summary agrees with the python onnx reader', function () {
  this.timeout(60_000);
  const tensorOf = (fields: Partial<TensorProto>) => createMessage<TensorProto>('TensorProto', fields);
  const sparse = (values: TensorProto, indices: TensorProto, dims: number[]) =>
    createMessage<SparseTensorProto>('SparseTensorProto', { values, indices, dims });
  const attr = (fields: Partial<AttributeProto>) => createMessage<AttributeProto>('AttributeProto', fields);
  const nodeOf = (fields: Partial<NodeProto>) => createMessage<NodeProto>('NodeProto', fields);
  const f32 = (name: string, n: number) => tensor(name, DataType.FLOAT, [n], new Float32Array(n).fill(1));

  function sparseAndStrings(): ModelProto {
    const g = new GraphBuilder('edge_sparse')
      .input('x', DataType.FLOAT, ['N', null, 3])
      .input('scalar', DataType.INT64, [])
      .node('Custom', ['x'], ['y'], {}, { domain: 'my.domain' })
      .output('y', DataType.FLOAT, null);
    const graph = g.build();
    graph.input.push(createMessage<ValueInfoProto>('ValueInfoProto', { name: 'no_type' }));
    graph.input.push(createMessage<ValueInfoProto>('ValueInfoProto', { name: 'no_elem', type: { tensor_type: {} } }));
    graph.sparse_initializer.push(sparse(f32('sp', 3), tensor('sp_idx', DataType.INT64, [3], BigInt64Array.of(0n, 5n, 7n)), [10]));
    graph.node.push(
      nodeOf({
        op_type: 'Constant',
        output: ['c_sparse'],
        attribute: [
          attr({
            name: 'sparse_value',
            type: AttributeType.SPARSE_TENSOR,
            sparse_tensor: sparse(f32('', 2), tensor('', DataType.INT64, [2, 2], BigInt64Array.of(0n, 1n, 1n, 1n)), [2, 2]),
          }),
        ],
      }),
    );
    graph.node.push(
      nodeOf({
        op_type: 'Constant',
        output: ['c_str'],
        attribute: [attr({ name: 'value', type: AttributeType.TENSOR, t: tensor('', DataType.STRING, [3], ['a', 'bcd', '\u00e9']) })],
      }),
    );
    graph.node[0].attribute.push(attr({ name: 'ts', type: AttributeType.TENSORS, tensors: [tensor('tz', DataType.DOUBLE, [2, 3], new Float64Array(6))] }));
    return buildModel(g, { opset: 18, opsets: { 'my.domain': 1 } });
  }

  function functionsWithSubgraphs(): ModelProto {
    const branch = (out: string, v: number) =>
      new GraphBuilder(`branch_${out}`).constant(out, DataType.FLOAT, [300], new Float32Array(300).fill(v)).output(out, DataType.FLOAT, [300]);
    const g = new GraphBuilder('edge_functions')
      .input('c', DataType.BOOL, [])
      .initializer('w', DataType.FLOAT, [4, 4], new Float32Array(16))
      .node('Sel', ['c'], ['o'], {}, { domain: 'my.fn' })
      .output('o', DataType.FLOAT, [300]);
    const body = new GraphBuilder('body')
      .node('If', ['c'], ['o'], { then_branch: branch('t', 1), else_branch: branch('e', 0) })
      .constant('k', DataType.INT32, [5], new Int32Array(5));
    const model = buildModel(g, { opset: 18, opsets: { 'my.fn': 1 } });
    model.functions.push(
      createMessage<FunctionProto>('FunctionProto', {
        name: 'Sel',
        domain: 'my.fn',
        input: ['c'],
        output: ['o'],
        node: body.build().node,
        opset_import: [{ domain: '', version: 18 }],
      }),
    );
    model.metadata_props.push({ key: 'a', value: '1' }, { key: 'b', value: '2' });
    return model;
  }

  function dataTypesAndExternal(): ModelProto {
    const ext = (name: string, n: number, entries: Record<string, string>) =>
      tensorOf({
        name,
        data_type: DataType.FLOAT,
        dims: [n],
        data_location: DATA_LOCATION_EXTERNAL,
        external_data: Object.entries(entries).map(([key, value]) => ({ key, value })),
      });
    const g = new GraphBuilder('edge_types')
      .input('i', DataType.FLOAT, [5])
      .initializer('i4', DataType.INT4, [5], Int8Array.of(1, -2, 3, -4, 5))
      .initializer('u4', DataType.UINT4, [3], Uint8Array.of(1, 2, 3))
      .initializer('f4', DataType.FLOAT4E2M1, [7], new Uint8Array(7))
      .initializer('f8', DataType.FLOAT8E4M3FN, [3, 3], new Uint8Array(9))
      .initializer('f8m0', DataType.FLOAT8E8M0, [2], new Uint8Array(2))
      .initializer('c64', DataType.COMPLEX64, [2], new Float32Array(4))
      .initializerProto(tensorOf({ name: 'bf_typed', data_type: DataType.BFLOAT16, dims: [2], int32_data: [0x3f80, 0] }))
      .initializerProto(tensorOf({ name: 'i64_typed', data_type: DataType.INT64, dims: [3], int64_data: [1, 2, 3] }))
      .initializerProto(tensorOf({ name: 'unknown_type', data_type: 99, dims: [2], raw_data: new Uint8Array(2) }))
      .initializerProto(ext('ext_len', 4, { location: 'edge.bin', offset: '0', length: '16' }))
      .initializerProto(ext('ext_nolen', 2, { location: 'edge.bin', offset: '16' }))
      .output('i', DataType.FLOAT, [5]);
    return buildModel(g, { opset: 21, irVersion: 10 });
  }

  /** A training graph is not a subgraph of the main graph: its nodes are not the model's. */
  function trainingGraph(): ModelProto {
    const g = new GraphBuilder('edge_training')
      .input('x', DataType.FLOAT, [4])
      .initializer('w', DataType.FLOAT, [4], new Float32Array(4))
      .node('Add', ['x', 'w'], ['y'])
      .output('y', DataType.FLOAT, [4]);
    const model = buildModel(g, { opset: 18 });
    const algorithm = new GraphBuilder('algorithm')
      .initializer('lr', DataType.FLOAT, [1], Float32Array.of(0.1))
      .node('Mul', ['w', 'lr'], ['w_new'])
      .output('w_new', DataType.FLOAT, [4])
      .build();
    model.training_info.push(createMessage<TrainingInfoProto>('TrainingInfoProto', { algorithm, update_binding: [{ key: 'w', value: 'w_new' }] }));
    return model;
  }

  /** 'ai.onnx' names the default domain: a Constant there holds a weight like any Constant. */
  function constantInAiOnnxDomain(): ModelProto {
    const g = new GraphBuilder('edge_ai_onnx')
      .node('Constant', [], ['k'], { value: tensor('', DataType.FLOAT, [8], new Float32Array(8)) }, { domain: 'ai.onnx' })
      .output('k', DataType.FLOAT, [8]);
    return buildModel(g, { opset: 18 });
  }

  const cases: Record<string, () => ModelProto> = {
    'sparse tensors, strings, tensors attribute, untyped inputs': sparseAndStrings,
    'function bodies with If subgraphs, metadata': functionsWithSubgraphs,
    '4-bit, float8, typed fields, unknown type, external data': dataTypesAndExternal,
    'a training graph': trainingGraph,
    'a Constant in the ai.onnx domain': constantInAiOnnxDomain,
  };

  let dir: string;
  let files: Record<string, string>;
  let python: Map<string, IndependentSummary> | Error;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-compress-edge-'));
    fs.writeFileSync(path.join(dir, 'edge.bin'), new Uint8Array(24));
    files = Object.fromEntries(
      Object.entries(cases).map(([label, make], i) => {
        const file = path.join(dir, `edge${i}.onnx`);
        fs.writeFileSync(file, encodeMessage('ModelProto', make()));
        return [label, file];
      }),
    );
    try {
      python = independentSummaries(Object.values(files));
    } catch (e) {
      python = e as Error;
    }
  });
  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });
  for (const label of Object.keys(cases)) {
    it(label, () => {
      if (python instanceof Error) throw python;
      assertSameSummary(summarizeModel(readModelSync(files[label])), python.get(files[label])!, label);
    });
  }
});
