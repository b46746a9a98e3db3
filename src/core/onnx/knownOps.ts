// Operator names of the standard ONNX domains (every opset up to 24), used to tell a user when
// a model uses an op that neither ONNX nor onnxruntime's own domains define.

const DEFAULT_DOMAIN = new Set([
  'Abs', 'Acos', 'Acosh', 'Add', 'AffineGrid', 'And', 'ArgMax', 'ArgMin', 'Asin', 'Asinh', 'Atan',
  'Atanh', 'Attention', 'AveragePool', 'BatchNormalization', 'Bernoulli', 'BitShift', 'BitwiseAnd',
  'BitwiseNot', 'BitwiseOr', 'BitwiseXor', 'BlackmanWindow', 'Cast', 'CastLike', 'Ceil', 'Celu',
  'CenterCropPad', 'Clip', 'Col2Im', 'Compress', 'Concat', 'ConcatFromSequence', 'Constant',
  'ConstantOfShape', 'Conv', 'ConvInteger', 'ConvTranspose', 'Cos', 'Cosh', 'CumSum', 'DFT',
  'DeformConv', 'DepthToSpace', 'DequantizeLinear', 'Det', 'Div', 'Dropout',
  'DynamicQuantizeLinear', 'Einsum', 'Elu', 'Equal', 'Erf', 'Exp', 'Expand', 'EyeLike', 'Flatten',
  'Floor', 'GRU', 'Gather', 'GatherElements', 'GatherND', 'Gelu', 'Gemm', 'GlobalAveragePool',
  'GlobalLpPool', 'GlobalMaxPool', 'Greater', 'GreaterOrEqual', 'GridSample', 'GroupNormalization',
  'HammingWindow', 'HannWindow', 'HardSigmoid', 'HardSwish', 'Hardmax', 'Identity', 'If',
  'ImageDecoder', 'InstanceNormalization', 'IsInf', 'IsNaN', 'LRN', 'LSTM', 'LayerNormalization',
  'LeakyRelu', 'Less', 'LessOrEqual', 'Log', 'LogSoftmax', 'Loop', 'LpNormalization', 'LpPool',
  'MatMul', 'MatMulInteger', 'Max', 'MaxPool', 'MaxRoiPool', 'MaxUnpool', 'Mean',
  'MeanVarianceNormalization', 'MelWeightMatrix', 'Min', 'Mish', 'Mod', 'Mul', 'Multinomial',
  'Neg', 'NegativeLogLikelihoodLoss', 'NonMaxSuppression', 'NonZero', 'Not', 'OneHot', 'Optional',
  'OptionalGetElement', 'OptionalHasElement', 'Or', 'PRelu', 'Pad', 'Pow', 'QLinearConv',
  'QLinearMatMul', 'QuantizeLinear', 'RMSNormalization', 'RNN', 'RandomNormal', 'RandomNormalLike',
  'RandomUniform', 'RandomUniformLike', 'Range', 'Reciprocal', 'ReduceL1', 'ReduceL2',
  'ReduceLogSum', 'ReduceLogSumExp', 'ReduceMax', 'ReduceMean', 'ReduceMin', 'ReduceProd',
  'ReduceSum', 'ReduceSumSquare', 'RegexFullMatch', 'Relu', 'Reshape', 'Resize', 'ReverseSequence',
  'RoiAlign', 'RotaryEmbedding', 'Round', 'STFT', 'Scan', 'Scatter', 'ScatterElements',
  'ScatterND', 'Selu', 'SequenceAt', 'SequenceConstruct', 'SequenceEmpty', 'SequenceErase',
  'SequenceInsert', 'SequenceLength', 'SequenceMap', 'Shape', 'Shrink', 'Sigmoid', 'Sign', 'Sin',
  'Sinh', 'Size', 'Slice', 'Softmax', 'SoftmaxCrossEntropyLoss', 'Softplus', 'Softsign',
  'SpaceToDepth', 'Split', 'SplitToSequence', 'Sqrt', 'Squeeze', 'StringConcat',
  'StringNormalizer', 'StringSplit', 'Sub', 'Sum', 'Swish', 'Tan', 'Tanh', 'TensorScatter',
  'TfIdfVectorizer', 'ThresholdedRelu', 'Tile', 'TopK', 'Transpose', 'Trilu', 'Unique',
  'Unsqueeze', 'Upsample', 'Where', 'Xor',
  // experimental ops of early opsets, still found in old exports
  'Affine', 'ConstantFill', 'Crop', 'DynamicSlice', 'GRUUnit', 'GivenTensorFill', 'ImageScaler',
  'ParametricSoftplus', 'ScaledTanh',
]);

const ML_DOMAIN = new Set([
  'ArrayFeatureExtractor', 'Binarizer', 'CastMap', 'CategoryMapper', 'DictVectorizer',
  'FeatureVectorizer', 'Imputer', 'LabelEncoder', 'LinearClassifier', 'LinearRegressor',
  'Normalizer', 'OneHotEncoder', 'SVMClassifier', 'SVMRegressor', 'Scaler',
  'TreeEnsembleClassifier', 'TreeEnsembleRegressor', 'ZipMap',
]);

const TRAINING_DOMAIN = new Set(['Adagrad', 'Adam', 'Gradient', 'Momentum']);

/** false: the op is not defined in its (standard) domain; undefined: the domain is not a standard one. */
export function isKnownOp(domain: string | undefined, opType: string): boolean | undefined {
  const d = domain === 'ai.onnx' ? '' : domain ?? '';
  if (d === '') return DEFAULT_DOMAIN.has(opType);
  if (d === 'ai.onnx.ml') return ML_DOMAIN.has(opType);
  if (d === 'ai.onnx.preview.training') return TRAINING_DOMAIN.has(opType);
  return undefined;
}
