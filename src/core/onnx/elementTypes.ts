// Element-type propagation: the element type of every value in a graph, from the declared types
// (inputs, initializers, value_info, Constant values) through per-op rules. onnxruntime-node only
// returns graph outputs, and a value can be exposed as one only with its element type; this is
// how calibration and debugging get at intermediate tensors.
import { DataType } from './dataTypes';
import type { GraphIndex } from './graph';
import { int64ToNumber, type AttributeProto, type NodeProto, type TypeProto } from './types';

export interface ElementTypes {
  /** Value name -> TensorProto.DataType. */
  types: Map<string, number>;
  /** Values no rule could type, with the reason (an op without a rule, an untyped input). */
  unresolved: Map<string, string>;
}

type Rule = (
  inputs: Array<number | undefined>,
  attr: (name: string) => AttributeProto | undefined,
  node: NodeProto,
  sub: SubgraphTypes,
) => Array<number | undefined>;
/** Output types of a node's subgraph attribute, resolved on demand; `seeds` type the subgraph's
 *  inputs that declare no type (by position). */
type SubgraphTypes = (attribute: string, seeds?: Array<number | undefined>) => Array<number | undefined>;

const all =
  (t: number | undefined): Rule =>
  (_i, _a, node) =>
    node.output.map(() => t);
const sameAs =
  (k: number): Rule =>
  (inputs, _a, node) =>
    node.output.map(() => inputs[k]);
const first =
  (...rest: Array<number | 'in0'>): Rule =>
  (inputs) =>
    rest.map((t) => (t === 'in0' ? inputs[0] : t));
const attrInt = (a: AttributeProto | undefined) => (a?.i !== undefined ? int64ToNumber(a.i) : undefined);
const dtypeAttr =
  (name: string, fallback: (inputs: Array<number | undefined>) => number | undefined): Rule =>
  (inputs, attr, node) =>
    node.output.map(() => attrInt(attr(name)) || fallback(inputs));

const INT64 = DataType.INT64;
const BOOL = DataType.BOOL;
const FLOAT = DataType.FLOAT;

function constantType(attr: (name: string) => AttributeProto | undefined): number | undefined {
  const v = attr('value') ?? attr('sparse_value');
  if (v?.t) return v.t.data_type;
  if (v?.sparse_tensor) return v.sparse_tensor.values?.data_type;
  if (attr('value_float') || attr('value_floats')) return FLOAT;
  if (attr('value_int') || attr('value_ints')) return INT64;
  if (attr('value_string') || attr('value_strings')) return DataType.STRING;
  return undefined;
}

const classifierOutputs: Rule = (_i, attr) => [attr('classlabels_strings') ? DataType.STRING : INT64, FLOAT];

/** Rules by `domain::op` ('' is the default ONNX domain); anything else keeps input 0's type. */
const RULES: Record<string, Rule> = {
  '::Cast': (_i, attr) => [attrInt(attr('to'))],
  '::CastLike': sameAs(1),
  '::Constant': (_i, attr) => [constantType(attr)],
  '::ConstantOfShape': (_i, attr) => [attr('value')?.t?.data_type ?? FLOAT],
  '::Shape': all(INT64),
  '::Size': all(INT64),
  '::NonZero': all(INT64),
  '::ArgMax': all(INT64),
  '::ArgMin': all(INT64),
  '::NonMaxSuppression': all(INT64),
  '::Equal': all(BOOL),
  '::Less': all(BOOL),
  '::LessOrEqual': all(BOOL),
  '::Greater': all(BOOL),
  '::GreaterOrEqual': all(BOOL),
  '::Not': all(BOOL),
  '::And': all(BOOL),
  '::Or': all(BOOL),
  '::Xor': all(BOOL),
  '::IsNaN': all(BOOL),
  '::IsInf': all(BOOL),
  '::RegexFullMatch': all(BOOL),
  '::TopK': first('in0', INT64),
  '::MaxPool': first('in0', INT64),
  '::Unique': first('in0', INT64, INT64, INT64),
  '::Dropout': first('in0', BOOL),
  '::Where': sameAs(1),
  '::OneHot': sameAs(2),
  '::EyeLike': dtypeAttr('dtype', (i) => i[0]),
  '::RandomNormal': dtypeAttr('dtype', () => FLOAT),
  '::RandomUniform': dtypeAttr('dtype', () => FLOAT),
  '::RandomNormalLike': dtypeAttr('dtype', (i) => i[0]),
  '::RandomUniformLike': dtypeAttr('dtype', (i) => i[0]),
  '::Bernoulli': dtypeAttr('dtype', (i) => i[0]),
  '::Multinomial': dtypeAttr('dtype', () => DataType.INT32),
  '::HannWindow': dtypeAttr('output_datatype', () => FLOAT),
  '::HammingWindow': dtypeAttr('output_datatype', () => FLOAT),
  '::BlackmanWindow': dtypeAttr('output_datatype', () => FLOAT),
  '::MelWeightMatrix': dtypeAttr('output_datatype', () => FLOAT),
  '::QuantizeLinear': (inputs, attr) => [attrInt(attr('output_dtype')) || inputs[2] || DataType.UINT8],
  '::DequantizeLinear': (inputs) => [inputs[1] ?? FLOAT],
  '::DynamicQuantizeLinear': first(DataType.UINT8, FLOAT, DataType.UINT8),
  '::MatMulInteger': all(DataType.INT32),
  '::ConvInteger': all(DataType.INT32),
  '::QLinearConv': sameAs(7),
  '::QLinearMatMul': sameAs(7),
  '::LayerNormalization': (inputs, attr, node) => node.output.map((_, k) => (k === 0 ? inputs[0] : (attrInt(attr('stash_type')) ?? FLOAT))),
  '::StringConcat': all(DataType.STRING),
  '::StringSplit': first(DataType.STRING, INT64),
  '::StringNormalizer': all(DataType.STRING),
  '::ImageDecoder': all(DataType.UINT8),
  '::TfIdfVectorizer': all(FLOAT),
  '::If': (_i, _a, _n, sub) => sub('then_branch'),
  // Scan's body inputs are typed like the node's inputs (state, then one slice of each scan
  // input, opset 9 on).
  '::Scan': (inputs, _a, _n, sub) => sub('body', inputs),
  // Loop's body reads (iteration, cond, carried...) and returns (cond, carried..., scan
  // outputs...); the node reads (trip count, cond, carried...) and returns all but cond.
  '::Loop': (inputs, _a, _n, sub) => sub('body', [INT64, BOOL, ...inputs.slice(2)]).slice(1),
  'com.microsoft::QuantizeLinear': (inputs) => [inputs[2] ?? DataType.UINT8],
  'com.microsoft::DequantizeLinear': (inputs) => [inputs[1] ?? FLOAT],
  'com.microsoft::DynamicQuantizeMatMul': all(FLOAT),
  'com.microsoft::MatMulIntegerToFloat': sameAs(2),
  'com.microsoft::QAttention': first(FLOAT, FLOAT),
  'com.microsoft::QGemm': (inputs) => [inputs[8] ?? FLOAT],
  'com.microsoft::GatherBlockQuantized': sameAs(2),
  'ai.onnx.ml::LinearClassifier': classifierOutputs,
  'ai.onnx.ml::SVMClassifier': classifierOutputs,
  'ai.onnx.ml::TreeEnsembleClassifier': classifierOutputs,
  'ai.onnx.ml::LinearRegressor': all(FLOAT),
  'ai.onnx.ml::SVMRegressor': all(FLOAT),
  'ai.onnx.ml::TreeEnsembleRegressor': all(FLOAT),
  'ai.onnx.ml::Normalizer': all(FLOAT),
  'ai.onnx.ml::Scaler': all(FLOAT),
  'ai.onnx.ml::OneHotEncoder': all(FLOAT),
};

/** Ops of other domains whose outputs are not simply typed like their first input. */
function ruleFor(node: NodeProto): Rule | undefined {
  const domain = node.domain === 'ai.onnx' ? '' : (node.domain ?? '');
  const rule = RULES[`${domain}::${node.op_type}`];
  if (rule) return rule;
  // Ops of the default and Microsoft domains not listed keep their first input's type (unary,
  // binary, Conv, pooling, reshapes, normalizations, fused kernels...).
  return domain === '' || domain === 'com.microsoft' ? sameAs(0) : undefined;
}

export function tensorElemType(t: TypeProto | undefined): number | undefined {
  return t?.tensor_type?.elem_type || t?.sparse_tensor_type?.elem_type || undefined;
}

/** Element types of every value of `index` (and, under their own names, of its subgraphs). */
export function inferElementTypes(index: GraphIndex, outer?: Map<string, number>): ElementTypes {
  const types = new Map<string, number>(outer);
  const unresolved = new Map<string, string>();
  for (const [name, t] of index.initializers) if (t.data_type) types.set(name, t.data_type);
  for (const [name, v] of [...index.inputs, ...index.valueInfos, ...index.outputs]) {
    const t = tensorElemType(v.type);
    if (t) types.set(name, t);
  }
  const typed = new Map<GraphIndex, Map<string, number>>();
  const subgraphTypes = (g: GraphIndex, seeds: Array<number | undefined> = []): Map<string, number> => {
    let inner = typed.get(g);
    if (!inner) {
      // ONNX lets subgraph inputs leave their type out (Range's expansion does); the owner knows it.
      const outerAndSeeds = new Map(types);
      g.graph.input.forEach((v, k) => {
        if (v.name && seeds[k] && !tensorElemType(v.type)) outerAndSeeds.set(v.name, seeds[k]);
      });
      const result = inferElementTypes(g, outerAndSeeds);
      inner = result.types;
      typed.set(g, inner);
      for (const [k, v] of inner) if (!types.has(k)) types.set(k, v);
      for (const [k, v] of result.unresolved) unresolved.set(k, v);
    }
    return inner;
  };
  for (const i of index.topologicalOrder()) {
    const node = index.nodes[i];
    const rule = ruleFor(node);
    const inputTypes = node.input.map((n) => (n ? types.get(n) : undefined));
    const attr = (name: string) => node.attribute.find((a) => a.name === name);
    const sub: SubgraphTypes = (attribute, seeds) => {
      const ref = index.subgraphs.find((s) => s.node === i && s.attribute === attribute);
      if (!ref) return [];
      const inner = subgraphTypes(ref.index, seeds);
      return ref.index.graph.output.map((o) => inner.get(o.name ?? ''));
    };
    const computed = rule ? rule(inputTypes, attr, node, sub) : [];
    node.output.forEach((out, k) => {
      if (!out || types.has(out)) return;
      const t = computed[k];
      if (t) types.set(out, t);
      else
        unresolved.set(
          out,
          rule
            ? `node '${node.name || node.op_type}' (${node.op_type}): an input's type is unknown`
            : `no type rule for op ${node.domain ? `${node.domain}::` : ''}${node.op_type}`,
        );
    });
  }
  // Every subgraph is typed, so that its values can be exposed too.
  for (const s of index.subgraphs) subgraphTypes(s.index);
  for (const k of types.keys()) unresolved.delete(k);
  return { types, unresolved };
}
