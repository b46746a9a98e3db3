// Which ops take part in a half-precision conversion, and how (docs/quantization.md, section 9).
// The list of ops left in float32 follows what float16 converters in practice leave alone
// (onnxconverter-common's block list, onnxruntime's transformers tooling): ops with no half
// meaning (classical ML, string maps), ops whose float inputs are index or coordinate
// computations (Range, NonMaxSuppression, RoiAlign, TopK, Resize/Upsample scales), generators
// whose type is an attribute, and reductions whose half kernels are missing or unsafe on some
// providers (CumSum, Min, Max).

/** Ops kept in float32, with the reason given in the node decision. */
export const KEEP_FLOAT32: Record<string, string> = {
  ArrayFeatureExtractor: 'classical ML op (ai.onnx.ml): no half-precision form',
  Binarizer: 'classical ML op (ai.onnx.ml): no half-precision form',
  CastMap: 'classical ML op (ai.onnx.ml): no half-precision form',
  CategoryMapper: 'classical ML op (ai.onnx.ml): no half-precision form',
  DictVectorizer: 'classical ML op (ai.onnx.ml): no half-precision form',
  FeatureVectorizer: 'classical ML op (ai.onnx.ml): no half-precision form',
  Imputer: 'classical ML op (ai.onnx.ml): no half-precision form',
  LabelEncoder: 'classical ML op (ai.onnx.ml): no half-precision form',
  LinearClassifier: 'classical ML op (ai.onnx.ml): no half-precision form',
  LinearRegressor: 'classical ML op (ai.onnx.ml): no half-precision form',
  Normalizer: 'classical ML op (ai.onnx.ml): no half-precision form',
  OneHotEncoder: 'classical ML op (ai.onnx.ml): no half-precision form',
  SVMClassifier: 'classical ML op (ai.onnx.ml): no half-precision form',
  SVMRegressor: 'classical ML op (ai.onnx.ml): no half-precision form',
  Scaler: 'classical ML op (ai.onnx.ml): no half-precision form',
  TreeEnsembleClassifier: 'classical ML op (ai.onnx.ml): no half-precision form',
  TreeEnsembleRegressor: 'classical ML op (ai.onnx.ml): no half-precision form',
  ZipMap: 'classical ML op (ai.onnx.ml): no half-precision form',
  NonMaxSuppression: 'box coordinates and score thresholds: ONNX allows float32 only',
  RoiAlign: 'region coordinates: half precision shifts the sampled positions',
  TopK: 'ranking: ties and near-ties reorder in half precision',
  Resize: 'its scales input must be float32 (ONNX), and the roi coordinates lose precision in half',
  Upsample: 'its scales input must be float32 (ONNX)',
  Range: 'an index computation: ONNX Range has no half-precision form',
  CumSum: 'a running sum: it overflows and loses precision in half',
  Min: 'kept like float16 converters keep it (mixed-type comparisons with float32 limits)',
  Max: 'kept like float16 converters keep it (mixed-type comparisons with float32 limits)',
  RandomNormal: 'a generator whose type is an attribute',
  RandomUniform: 'a generator whose type is an attribute',
  RandomNormalLike: 'a generator whose type is an attribute',
  RandomUniformLike: 'a generator whose type is an attribute',
  Bernoulli: 'a generator whose type is an attribute',
  Multinomial: 'a generator whose type is an attribute',
  EyeLike: 'its output type is an attribute',
  HannWindow: 'its output type is an attribute',
  HammingWindow: 'its output type is an attribute',
  BlackmanWindow: 'its output type is an attribute',
  MelWeightMatrix: 'its output type is an attribute',
  STFT: 'a signal transform whose frame computations need float32 precision',
  DFT: 'a signal transform whose frame computations need float32 precision',
};

/** Domains whose ops are converted; any other domain's op (a custom kernel) stays float32. */
export const CONVERTED_DOMAINS = new Set(['', 'ai.onnx', 'com.microsoft']);

/** Ops whose float input is read for its shape or converted by the op itself: they accept
 *  either precision, so no Cast is put in front of them. */
export const ANY_PRECISION_INPUT = new Set(['Shape', 'Size', 'Cast']);

/** Outputs that stay float32 when the op computes in half: LayerNormalization's saved mean and
 *  inverse deviation are of its stash type (float32). */
export const FLOAT32_OUTPUTS: Record<string, number[]> = { LayerNormalization: [1, 2] };

/** Microsoft-domain inputs that must stay float32 whatever the op computes in. */
export const FLOAT32_INPUTS: Record<string, number[]> = { GroupNorm: [1, 2], SkipGroupNorm: [1, 2] };

/** Ops that own subgraphs: converted, their bodies follow them. */
export const CONTROL_FLOW = new Set(['If', 'Loop', 'Scan']);
