// Dynamic quantization: weights quantized offline, activations at run time.
//
//   x -> DynamicQuantizeLinear -> (x_q, x_scale, x_zp)
//   MatMulInteger(x_q, W_q, x_zp, W_zp) -> Cast(float) -> Mul(x_scale * W_scale) [-> Add(bias)]
//
// onnxruntime fuses this into DynamicQuantizeMatMul / MatMulIntegerToFloat. Gemm with a constant
// B is rewritten the same way (B transposed offline when transB = 1). Conv goes through
// ConvInteger only when asked, with a warning: on CPU it is slow, and static quantization is the
// better choice for CNNs.
import type { NodeDecision, QuantSettings, TensorQuantization } from '../../shared/quantResult';
import { createMessage } from '../onnx/codec';
import { DataType } from '../onnx/dataTypes';
import { GraphIndex } from '../onnx/graph';
import type { OnnxModel } from '../onnx/model';
import type { TensorSink } from '../onnx/tensorSink';
import { makeTensor, readTensor, tensorDims, toFloat32 } from '../onnx/tensor';
import { AttributeType, int64ToNumber, type AttributeProto, type NodeProto, type TensorProto } from '../onnx/types';
import { nodeLabel } from '../onnx/walk';
import { patternMatcher } from './plan';
import { perChannelParams, perTensorParams, quantizePerChannel, quantizeValues } from './scheme';

export interface DynamicResult {
  tensors: TensorQuantization[];
  decisions: NodeDecision[];
  unmatchedPatterns: string[];
  warnings: string[];
  /** Each integer initializer written, and the float tensor it holds. */
  quantizedNames: Record<string, string>;
}

function attr(n: NodeProto, name: string): AttributeProto | undefined {
  return n.attribute.find((a) => a.name === name);
}

function transpose(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c];
  return out;
}

/** With a `sink`, each new initializer goes to the output's data file as soon as it is made. */
export function quantizeDynamic(model: OnnxModel, settings: QuantSettings, sink?: TensorSink): DynamicResult {
  const graph = model.proto.graph!;
  const index = new GraphIndex(graph);
  // Every graph is rewritten: If branches and Loop/Scan bodies too (dynamic mode needs no
  // calibration), with outer-scope weights found by name (names are unique across scopes).
  const constants = new Map<string, TensorProto>();
  const names = new Set<string>();
  for (const g of index.allIndexes()) {
    for (const [k, t] of g.constantTensors()) if (!constants.has(k)) constants.set(k, t);
    for (const k of [...g.producer.keys(), ...g.initializers.keys(), ...g.inputs.keys()]) names.add(k);
  }
  /** The weight's integer copy is written in each graph that reads it, under a name new to the model. */
  let weightBase = (w: string) => w;
  const exclude = settings.exclude.map((p) => ({ p, match: patternMatcher(p), used: false }));
  const opTypes = new Set(settings.opTypes);
  const tensors: TensorQuantization[] = [];
  const quantizedNames: Record<string, string> = {};
  const decisions: NodeDecision[] = [];
  const warnings: string[] = [];
  let replaced = new Map<number, NodeProto[]>();
  let init: TensorProto[] = [];
  const add = (...made: TensorProto[]) => {
    if (sink) for (const t of made) sink.put(t);
    init.push(...made);
  };
  const node = (op: string, inputs: string[], outputs: string[], name: string, attrs: AttributeProto[] = []) =>
    createMessage<NodeProto>('NodeProto', { op_type: op, input: inputs, output: outputs, name, attribute: attrs });

  let convs = 0;
  /** DynamicQuantizeLinear -> ConvInteger -> Cast -> Mul(x_scale * w_scale) [-> Add(bias)]. */
  const convInteger = (n: NodeProto, name: string): NodeProto[] | undefined => {
    const W = constants.get(n.input[1]);
    if (!W || W.data_type !== DataType.FLOAT) return undefined;
    const dims = tensorDims(W);
    const w = toFloat32(readTensor(W, model.external));
    // onnxruntime's CPU ConvInteger takes uint8 weights: asymmetric, per tensor.
    const { scale, zeroPoint, range } = perTensorParams(w, 'uint8', { reduceRange: settings.reduceRange });
    const base = weightBase(n.input[1]);
    quantizedNames[`${base}_quantized`] = n.input[1];
    add(
      makeTensor({ name: `${base}_quantized`, dataType: DataType.UINT8, dims, values: Uint8Array.from(quantizeValues(w, scale, zeroPoint, 'uint8')) }),
      makeTensor({ name: `${base}_scale`, dataType: DataType.FLOAT, dims: [], values: Float32Array.of(scale) }),
      makeTensor({ name: `${base}_zero_point`, dataType: DataType.UINT8, dims: [], values: Uint8Array.of(zeroPoint) }),
    );
    tensors.push({
      tensor: n.input[1],
      kind: 'weight',
      type: 'uint8',
      range,
      rangeSource: 'min/max of the values',
      scale: [scale],
      zeroPoint: [zeroPoint],
      axis: null,
    });
    const p = `${name.replace(/[^A-Za-z0-9_.]/g, '_')}_dyn`;
    const y = n.output[0];
    const convAttrs = n.attribute.filter((a) => ['auto_pad', 'dilations', 'group', 'kernel_shape', 'pads', 'strides'].includes(a.name ?? ''));
    const nodes = [
      node('DynamicQuantizeLinear', [n.input[0]], [`${p}_x_q`, `${p}_x_scale`, `${p}_x_zp`], `${p}_DynamicQuantizeLinear`),
      node('ConvInteger', [`${p}_x_q`, `${base}_quantized`, `${p}_x_zp`, `${base}_zero_point`], [`${p}_int32`], `${p}_ConvInteger`, convAttrs),
      node('Cast', [`${p}_int32`], [`${p}_float`], `${p}_Cast`, [
        createMessage<AttributeProto>('AttributeProto', { name: 'to', type: AttributeType.INT, i: DataType.FLOAT }),
      ]),
      node('Mul', [`${p}_x_scale`, `${base}_scale`], [`${p}_scale`], `${p}_ScaleMul`),
    ];
    const bias = n.input[2];
    if (bias) {
      // The bias [M] broadcasts over [N, M, ...spatial] once shaped [M, 1, ...] (one 1 per spatial axis: 1-D convs too).
      const shape = BigInt64Array.from([-1n, ...dims.slice(2).map(() => 1n)]);
      add(makeTensor({ name: `${p}_bias_shape`, dataType: DataType.INT64, dims: [shape.length], values: shape }));
      nodes.push(
        node('Reshape', [bias, `${p}_bias_shape`], [`${p}_bias`], `${p}_BiasReshape`),
        node('Mul', [`${p}_float`, `${p}_scale`], [`${p}_conv`], `${p}_Mul`),
        node('Add', [`${p}_conv`, `${p}_bias`], [y], `${p}_Add`),
      );
    } else {
      nodes.push(node('Mul', [`${p}_float`, `${p}_scale`], [y], `${p}_Mul`));
    }
    return nodes;
  };

  for (const g of index.allIndexes()) {
    replaced = new Map();
    init = [];
    const taken = new Map<string, string>();
    weightBase = (w: string) => {
      let b = taken.get(w);
      if (b === undefined) {
        b = w;
        for (let k = 1; [`${b}_quantized`, `${b}_scale`, `${b}_zero_point`].some((x) => names.has(x)); k++) b = `${w}_${k}`;
        for (const x of [`${b}_quantized`, `${b}_scale`, `${b}_zero_point`]) names.add(x);
        taken.set(w, b);
      }
      return b;
    };
    const where = g === index ? '' : ` (in ${g.path})`;
    g.nodes.forEach((n, i) => {
      const op = n.op_type ?? '';
      if (!opTypes.has(op) || (n.domain ?? '') !== '') return;
      const name = nodeLabel(n, i);
      const ex = exclude.find((e) => e.match(name));
      if (ex) {
        ex.used = true;
        decisions.push({ node: name, opType: op, quantized: false, reason: `excluded by '${ex.p}'` });
        return;
      }
      if (op === 'Conv') {
        const done = convInteger(n, name);
        if (done) {
          replaced.set(i, done);
          decisions.push({
            node: name,
            opType: op,
            quantized: true,
            reason: `dynamic: ConvInteger with uint8 weights per tensor (slow on CPU: static quantization is the better choice for CNNs)${where}`,
          });
          convs++;
        } else {
          decisions.push({ node: name, opType: op, quantized: false, reason: 'needs a constant float32 weight' });
        }
        return;
      }
      const B = constants.get(n.input[1]);
      if ((op !== 'MatMul' && op !== 'Gemm') || !B || B.data_type !== DataType.FLOAT || tensorDims(B).length !== 2) {
        decisions.push({ node: name, opType: op, quantized: false, reason: 'needs a constant float32 2-D weight as its second input' });
        return;
      }
      const transA = attr(n, 'transA')?.i;
      const alpha = attr(n, 'alpha')?.f ?? 1;
      if (op === 'Gemm' && ((transA !== undefined && int64ToNumber(transA) !== 0) || alpha !== 1)) {
        decisions.push({ node: name, opType: op, quantized: false, reason: 'Gemm with transA or alpha != 1 is kept in float' });
        return;
      }
      let [K, N] = tensorDims(B);
      let w = toFloat32(readTensor(B, model.external));
      const transB = op === 'Gemm' && int64ToNumber(attr(n, 'transB')?.i ?? 0) === 1;
      if (transB) {
        w = transpose(w, K, N); // stored [N, K]: MatMulInteger wants [K, N]
        [K, N] = [N, K];
      }
      const type = settings.weightType;
      const opts = { symmetric: settings.symmetricWeights, reduceRange: settings.reduceRange };
      let scale: Float32Array;
      let zp: Int32Array;
      let q: ArrayLike<number>;
      if (settings.perChannel) {
        const p = perChannelParams(w, [K, N], 1, type, opts);
        scale = p.scales;
        zp = p.zeroPoints;
        q = quantizePerChannel(w, [K, N], 1, scale, zp, type);
      } else {
        const p = perTensorParams(w, type, opts);
        scale = Float32Array.of(p.scale);
        zp = Int32Array.of(p.zeroPoint);
        q = quantizeValues(w, p.scale, p.zeroPoint, type);
      }
      const base = weightBase(n.input[1]);
      const wType = type === 'int8' ? DataType.INT8 : DataType.UINT8;
      const arr = (v: ArrayLike<number>) => (type === 'int8' ? Int8Array.from(v) : Uint8Array.from(v));
      const perCh = scale.length > 1 ? [scale.length] : [];
      quantizedNames[`${base}_quantized`] = n.input[1];
      add(
        makeTensor({ name: `${base}_quantized`, dataType: wType, dims: [K, N], values: arr(q) }),
        makeTensor({ name: `${base}_scale`, dataType: DataType.FLOAT, dims: perCh, values: scale }),
        makeTensor({ name: `${base}_zero_point`, dataType: wType, dims: perCh, values: arr(zp) }),
      );
      tensors.push({
        tensor: n.input[1],
        kind: 'weight',
        type,
        range: null,
        rangeSource: 'min/max of the values',
        scale: Array.from(scale.subarray(0, 64)),
        zeroPoint: Array.from(zp.subarray(0, 64)),
        axis: perCh.length ? 1 : null,
      });
      const x = n.input[0];
      const y = n.output[0];
      const p = `${name.replace(/[^A-Za-z0-9_.]/g, '_')}_dyn`;
      const nodes = [
        node('DynamicQuantizeLinear', [x], [`${p}_x_q`, `${p}_x_scale`, `${p}_x_zp`], `${p}_DynamicQuantizeLinear`),
        node('MatMulInteger', [`${p}_x_q`, `${base}_quantized`, `${p}_x_zp`, `${base}_zero_point`], [`${p}_int32`], `${p}_MatMulInteger`),
        node('Cast', [`${p}_int32`], [`${p}_float`], `${p}_Cast`, [
          createMessage<AttributeProto>('AttributeProto', { name: 'to', type: AttributeType.INT, i: DataType.FLOAT }),
        ]),
        node('Mul', [`${p}_x_scale`, `${base}_scale`], [`${p}_scale`], `${p}_ScaleMul`),
      ];
      const bias = op === 'Gemm' ? n.input[2] : undefined;
      if (bias) {
        const beta = attr(n, 'beta')?.f ?? 1;
        let biasName = bias;
        if (beta !== 1) {
          add(makeTensor({ name: `${p}_beta`, dataType: DataType.FLOAT, dims: [], values: Float32Array.of(beta) }));
          nodes.push(node('Mul', [bias, `${p}_beta`], [`${p}_bias`], `${p}_BetaMul`));
          biasName = `${p}_bias`;
        }
        nodes.push(node('Mul', [`${p}_float`, `${p}_scale`], [`${p}_matmul`], `${p}_Mul`), node('Add', [`${p}_matmul`, biasName], [y], `${p}_Add`));
      } else {
        nodes.push(node('Mul', [`${p}_float`, `${p}_scale`], [y], `${p}_Mul`));
      }
      replaced.set(i, nodes);
      decisions.push({
        node: name,
        opType: op,
        quantized: true,
        reason: `dynamic: ${type} weights ${perCh.length ? 'per channel' : 'per tensor'}, uint8 activations at run time${where}`,
      });
    });

    const done = replaced;
    g.graph.node = g.graph.node.flatMap((n, i) => done.get(i) ?? [n]);
    g.graph.initializer.push(...init);
  }
  // Unused float weights out, innermost graphs first, so that outer graphs see what branches still read.
  for (const g of [...index.allIndexes()].reverse()) {
    const fresh = new GraphIndex(g.graph);
    const used = new Set(g.graph.node.flatMap((n) => n.input));
    for (const o of g.graph.output) used.add(o.name ?? '');
    for (const sub of fresh.subgraphs) for (const ref of sub.index.outerRefs) used.add(ref);
    g.graph.initializer = g.graph.initializer.filter((t) => used.has(t.name ?? ''));
    g.graph.node = g.graph.node.filter((n) => n.op_type !== 'Constant' || n.output.some((o) => used.has(o)));
  }
  if (convs)
    warnings.push(`${convs} Conv node(s) quantized dynamically (ConvInteger), as asked: it is slow on CPU; static quantization is the better choice for CNNs`);
  if (!decisions.some((d) => d.quantized)) {
    const convs = [...index.allIndexes()].reduce((k, g) => k + g.nodes.filter((n) => n.op_type === 'Conv').length, 0);
    warnings.push(
      `no MatMul or Gemm with a constant weight was found: nothing was quantized${convs && !opTypes.has('Conv') ? ` (the model has ${convs} Conv node(s), branches included: --op-types Conv quantizes them dynamically with ConvInteger, though static quantization suits convolutions better)` : ''}`,
    );
  }
  return { tensors, decisions, unmatchedPatterns: exclude.filter((e) => !e.used).map((e) => e.p), warnings, quantizedNames };
}
