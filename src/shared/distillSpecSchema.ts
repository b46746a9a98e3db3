// The one description of `*.distill.json`. From it come the TypeScript types (distillSpec.ts), the
// editor's JSON Schema (schemas/distill.schema.json, written by scripts/distill-schema.ts and kept
// byte-equal by a test) and the engine's structure check (core/distill/structure.ts). Descriptions,
// defaults and `enumDescriptions` are what VS Code shows on hover and in completion.
import { Type, type TSchema, type TUnsafe } from '@sinclair/typebox';

export const DISTILL_SPEC_FORMAT = 'onnx-compress/distill-spec';
export const DISTILL_SPEC_VERSION = 1;

export const DISTILL_DEFAULTS = {
  teacherExecutionProvider: 'cpu',
  studentFactoryOutput: 'logits',
  knowledge: [{ type: 'response', weight: 1, temperature: 4, alpha: 0.5, target: 'soft' }] as const,
  response: { weight: 1, temperature: 4, alpha: 0.5, target: 'soft' },
  feature: { weight: 1, similarity: 'mse' },
  attention: { weight: 1000, p: 2 },
  relation: { weight: 1, distance: 25, angle: 50 },
  similarity: { weight: 3000 },
  scheme: 'offline',
  snapshotEvery: 1,
  optimizer: { name: 'adam', lr: 0.001, weightDecay: 0, momentum: 0.9 },
  schedule: { name: 'cosine', warmupEpochs: 0, stepSize: 1, gamma: 0.1 },
  epochs: 2,
  batchSize: 64,
  seed: 0,
  device: 'auto',
  threads: null as number | null,
  cacheDir: '.distill-cache',
  cacheDtype: 'float32',
  topK: null as number | null,
  opset: 13,
  dynamicBatch: true,
  latencyRuns: 50,
} as const;
const D = DISTILL_DEFAULTS;

type Options = Record<string, unknown>;

/** A string out of a fixed list: `enum` (not TypeBox's union of literals) so the editor completes it. */
function Enum<const T extends string>(values: readonly T[], options: Options = {}): TUnsafe<T> {
  return Type.Unsafe<T>({ type: 'string', enum: [...values], ...options });
}

/** The value or null; a scalar says so with a type list, as hand-written schemas do. */
function Nullable<T extends TSchema>(schema: T, options: Options = {}): TUnsafe<T['static'] | null> {
  const { type } = schema as { type?: unknown };
  if (typeof type === 'string' && type !== 'object') return Type.Unsafe({ ...schema, type: [type, 'null'], ...options });
  return Type.Unsafe({ oneOf: [schema, Type.Null()], ...options });
}

/** A name, a path: the engine refuses empty strings. */
const Name = (options: Options = {}) => Type.String({ minLength: 1, ...options });
const Whole = (minimum: number, options: Options = {}) => Type.Integer({ minimum, ...options });
const Positive = (options: Options = {}) => Type.Number({ exclusiveMinimum: 0, ...options });
const Fields = <T extends Parameters<typeof Type.Object>[0]>(properties: T, options: Options = {}) =>
  Type.Object(properties, { additionalProperties: false, ...options });

const ADAPTERS = ['auto', 'none', 'conv1x1', 'linear', 'interpolate', 'pool', 'conv1x1+interpolate'] as const;

export const TensorPairSchema = Fields(
  {
    teacher: Name({ description: 'Tensor name in the teacher graph.' }),
    student: Name({ description: 'Tensor name in the student graph (a submodule name for a PyTorch student).' }),
    adapter: Type.Optional(
      Enum(ADAPTERS, {
        default: 'auto',
        description: "Trainable map from the student's shape to the teacher's. auto: chosen from the shapes (validation says which).",
        enumDescriptions: [
          'Chosen from the two shapes',
          'Shapes already match',
          '1x1 convolution for a different channel count',
          'Linear layer for a different hidden size',
          'Bilinear resize for a different H x W',
          'Adaptive average pooling for a larger H x W',
          '1x1 convolution, then resize',
        ],
      }),
    ),
  },
  {
    description:
      'A teacher tensor matched with a student tensor (names as in the graphs; list them with `onnx-compress distill SPEC --validate-only` or the setup wizard).',
  },
);

const TEACHER = Fields(
  {
    model: Name({ description: 'ONNX file of the teacher (relative to this file).' }),
    output: Type.Optional(Name({ description: "The teacher's logits tensor (default: its first output)." })),
    executionProvider: Type.Optional(
      Name({
        examples: ['cpu', 'cuda', 'dml', 'coreml', 'webgpu'],
        default: D.teacherExecutionProvider,
        description: 'onnxruntime execution provider that runs the teacher for the cache and the verification.',
      }),
    ),
  },
  { description: 'The trained model whose knowledge is distilled.' },
);

export const OnnxStudentSchema = Fields(
  {
    model: Name({ description: 'ONNX file of the student (its current weights are the starting point).' }),
    output: Type.Optional(Name({ description: "The student's logits tensor (default: its first output)." })),
  },
  { title: 'an ONNX student' },
);

export const FactoryStudentSchema = Fields(
  {
    factory: Name({
      pattern: '^.+\\.py:[A-Za-z_]\\w*$',
      patternErrorMessage: "must be 'path/to/file.py:function'",
      description: 'path/to/file.py:function returning a torch.nn.Module; exported with torch.onnx.export.',
    }),
    inputNames: Type.Optional(Type.Array(Name(), { minItems: 1, description: "Names of the exported inputs (default: the teacher's)." })),
    output: Type.Optional(Name({ default: D.studentFactoryOutput, description: 'Name of the exported logits output.' })),
  },
  { title: 'file.py:function' },
);

const STUDENT = Type.Union([OnnxStudentSchema, FactoryStudentSchema], {
  description: 'The model trained: an ONNX file (made trainable; trained weights written back into the same graph) or a PyTorch factory.',
});

export const ImagePreprocessSchema = Fields(
  {
    width: Type.Optional(Whole(1)),
    height: Type.Optional(Whole(1)),
    layout: Type.Optional(Enum(['NCHW', 'NHWC'])),
    channels: Type.Optional(Enum(['RGB', 'BGR', 'GRAY'])),
    mean: Type.Optional(Type.Array(Type.Number(), { description: 'Per channel, subtracted after scaling.' })),
    std: Type.Optional(Type.Array(Positive(), { description: 'Per channel divisor.' })),
    scale: Type.Optional(Type.Number({ description: 'Multiplies pixel values (0..255) first, e.g. 0.00392156862745098 (1/255).' })),
    resize: Type.Optional(Enum(['bilinear', 'nearest'])),
  },
  { description: "How images become inputs; unset fields come from the teacher's input shape." },
);

export const DataSplitSchema = Fields({
  source: Name({
    description:
      'Data as the quantization data layer reads it: .npz (one array per input name), .npy, a folder of them, IDX (…-idx3-ubyte[.gz]), PNG/JPEG images or a folder of them, ONNX test_data_set folders. Relative to this file.',
  }),
  labels: Type.Optional(
    Nullable(Name(), { description: "Integer class labels, one per sample in the data's order: .npy ([N] int) or IDX labels (…-idx1-ubyte[.gz])." }),
  ),
  samples: Type.Optional(Nullable(Whole(1), { description: 'Use at most this many samples (null: all).' })),
  shuffleSeed: Type.Optional(Nullable(Whole(0), { description: 'Pick samples in a seeded random order (with samples: a random subset); null: file order.' })),
  imagePreprocess: Type.Optional(ImagePreprocessSchema),
  augmentation: Type.Optional(
    Enum(['none', 'random'], {
      default: 'none',
      description: 'random: refused with the offline scheme (cached teacher knowledge would not match augmented samples).',
    }),
  ),
});

const DATA = Fields({
  train: { ...DataSplitSchema, description: "Training data (cached with the teacher's knowledge)." } as typeof DataSplitSchema,
  eval: Type.Optional(Nullable(DataSplitSchema, { description: 'Held-out data for per-epoch evaluation and the final verification.' })),
});

const weight = () => Type.Optional(Type.Number({ minimum: 0, description: 'Weight of this term in the total loss.' }));
const pairs = () => Type.Array(TensorPairSchema, { minItems: 1 });
/** A knowledge term: `type` names it, and its description is the loss it adds. */
const Term = <K extends string, P extends Parameters<typeof Type.Object>[0]>(type: K, description: string, properties: P) =>
  Fields({ type: Type.Literal(type, { description }), weight: weight(), ...properties }, { description });

export const ResponseKnowledgeSchema = Term(
  'response',
  'Hinton KD: L = a * CE(y, softmax(zS)) + (1 - a) * T^2 * KL(softmax(zT/T) || softmax(zS/T)), KL averaged per sample (batchmean).',
  {
    temperature: Type.Optional(
      Positive({ default: D.response.temperature, description: 'T: softens both distributions; the T^2 factor keeps gradients independent of T.' }),
    ),
    alpha: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 1,
        default: D.response.alpha,
        description: 'a: weight of the hard-label CE term (needs data.train.labels when > 0); 0 = pure distillation.',
      }),
    ),
    target: Type.Optional(
      Enum(['soft', 'logits', 'hard'], {
        default: D.response.target,
        description: "soft: KL on softened distributions; logits: MSE on logits; hard: CE with the teacher's argmax.",
        enumDescriptions: [
          'KL(softmax(zT/T) || softmax(zS/T)) * T^2',
          'MSE between logits (needs every logit: no topK)',
          "CE with the teacher's argmax as label",
        ],
      }),
    ),
  },
);
export const FeatureKnowledgeSchema = Term(
  'feature',
  'FitNets hint: L = ||Phi_t(f_t(x)) - Phi_s(f_s(x))||^2 between intermediate tensors, a trainable adapter where shapes differ.',
  {
    similarity: Type.Optional(Enum(['mse', 'l1', 'cosine'], { default: D.feature.similarity, description: 'Distance between the adapted tensors.' })),
    pairs: pairs(),
  },
);
export const AttentionKnowledgeSchema = Term(
  'attention',
  'Attention transfer: Q = normalize(vec(sum_c |A_c|^p)), loss on Q differences; channels may differ, H x W is resized when it differs.',
  {
    p: Type.Optional(Type.Number({ minimum: 1, default: D.attention.p, description: 'Power of the channel-summed activation map.' })),
    pairs: pairs(),
  },
);
export const RelationKnowledgeSchema = Term(
  'relation',
  "RKD: lD * Huber(psi_D) + lA * Huber(psi_A): distance (||ti - tj|| / mu) and angle potentials of the batch's embeddings.",
  {
    distance: Type.Optional(Type.Number({ minimum: 0, default: D.relation.distance, description: 'lambda_D, weight of the distance potential.' })),
    angle: Type.Optional(
      Type.Number({ minimum: 0, default: D.relation.angle, description: 'lambda_A, weight of the angle potential (costs B^2 x D per batch).' }),
    ),
    pair: Type.Optional({ ...TensorPairSchema, description: "The embeddings compared (default: both models' logits)." } as typeof TensorPairSchema),
  },
);
export const SimilarityKnowledgeSchema = Term('similarity', "Similarity-preserving KD: the batch's normalized Gram matrices of paired tensors.", {
  pairs: pairs(),
});

/** Told apart by `type` (the JSON Schema file spells this as if/then, which the editor reports best). */
export const KnowledgeSchema = Type.Union(
  [ResponseKnowledgeSchema, FeatureKnowledgeSchema, AttentionKnowledgeSchema, RelationKnowledgeSchema, SimilarityKnowledgeSchema],
  { discriminator: 'type' },
);

export const AssistantSchema = Fields({
  model: Name(),
  output: Type.Optional(Name()),
  epochs: Type.Optional(Whole(1)),
});

export const SchemeSchema = Fields({
  kind: Enum(['offline', 'online', 'self', 'assistant'], {
    default: D.scheme,
    enumDescriptions: [
      'Frozen teacher, knowledge cached once',
      'Teacher and student train together (mutual learning)',
      'One network teaches itself (snapshot or auxiliary heads)',
      'Chain teacher -> assistant(s) -> student, run as consecutive steps',
    ],
  }),
  mode: Type.Optional(Enum(['snapshot', 'auxiliary'], { description: 'self: an earlier snapshot teaches, or deep tensors teach shallow ones.' })),
  every: Type.Optional(Whole(1, { description: 'self/snapshot: refresh every this many epochs.' })),
  pairs: Type.Optional(Type.Array(TensorPairSchema, { minItems: 1, description: 'self/auxiliary: (deep -> shallow) student tensor pairs.' })),
  assistants: Type.Optional(Type.Array(AssistantSchema, { minItems: 1, description: 'assistant: the intermediate models, in order.' })),
});

export const OptimizerSchema = Fields({
  name: Type.Optional(Enum(['adam', 'adamw', 'sgd'], { default: D.optimizer.name })),
  lr: Type.Optional(Positive({ default: D.optimizer.lr })),
  weightDecay: Type.Optional(Type.Number({ minimum: 0, default: D.optimizer.weightDecay })),
  momentum: Type.Optional(Type.Number({ minimum: 0, maximum: 1, default: D.optimizer.momentum, description: 'SGD only.' })),
});

export const ScheduleSchema = Fields({
  name: Type.Optional(Enum(['constant', 'cosine', 'step'], { default: D.schedule.name })),
  warmupEpochs: Type.Optional(Whole(0, { default: D.schedule.warmupEpochs })),
  stepSize: Type.Optional(Whole(1, { default: D.schedule.stepSize, description: 'step: every this many epochs lr *= gamma.' })),
  gamma: Type.Optional(Positive({ default: D.schedule.gamma })),
});

export const CacheSchema = Fields(
  {
    dir: Type.Optional(Name({ default: D.cacheDir, description: 'Folder of the cache (relative to this file).' })),
    dtype: Type.Optional(Enum(['float32', 'float16'], { default: D.cacheDtype, description: "Storage of the teacher's tensors; float16 halves the size." })),
    topK: Type.Optional(
      Nullable(Whole(1), { default: D.topK, description: 'Keep only the k largest teacher logits per sample (soft targets renormalized over them).' }),
    ),
  },
  { description: 'The teacher knowledge cache; its size is shown before it is written.' },
);

export const ExportSchema = Fields({
  opset: Type.Optional(Type.Integer({ minimum: 7, maximum: 30, default: D.opset, description: "Opset of a PyTorch student's export." })),
  dynamicBatch: Type.Optional(Type.Boolean({ default: D.dynamicBatch, description: "A PyTorch student's export gets a symbolic batch axis." })),
});

export const EvaluationSchema = Fields(
  {
    latencyRuns: Type.Optional(Whole(1, { default: D.latencyRuns, description: 'Single-sample runs timed for the latency median.' })),
  },
  { description: 'How the returned student is verified in onnxruntime-node (on data.eval; per-epoch evaluation runs whenever data.eval is given).' },
);

export const DistillSpecSchema = Fields(
  {
    $schema: Type.Optional(Name()),
    format: Type.Literal(DISTILL_SPEC_FORMAT, { description: 'Always onnx-compress/distill-spec.' }),
    version: Type.Literal(DISTILL_SPEC_VERSION, { description: 'Spec format version.' }),
    description: Type.Optional(Type.String({ description: 'Free text shown in run lists.' })),
    teacher: TEACHER,
    student: STUDENT,
    data: DATA,
    knowledge: Type.Optional(Type.Array(KnowledgeSchema, { description: 'Loss terms; default [{"type": "response"}].' })),
    scheme: Type.Optional(SchemeSchema),
    optimizer: Type.Optional(OptimizerSchema),
    schedule: Type.Optional(ScheduleSchema),
    epochs: Type.Optional(Whole(1, { default: D.epochs })),
    batchSize: Type.Optional(Whole(1, { default: D.batchSize })),
    seed: Type.Optional(Whole(0, { default: D.seed, description: "Seed of adapters' initialization and batch order." })),
    device: Type.Optional(Enum(['cpu', 'cuda', 'auto'], { default: D.device, description: 'auto: CUDA when torch sees it.' })),
    threads: Type.Optional(Nullable(Whole(1), { default: D.threads, description: "Torch CPU threads (null: torch's default)." })),
    cache: Type.Optional(CacheSchema),
    export: Type.Optional(ExportSchema),
    evaluation: Type.Optional(EvaluationSchema),
    baseline: Type.Optional(
      Type.Boolean({
        default: false,
        description:
          "Also train the same student on the labels alone (same data, schedule, epochs and seed) in the run's baseline/ folder, and report what distillation gained or lost against it, per epoch and verified. Needs data.train.labels.",
      }),
    ),
  },
  {
    title: 'ONNX Compress distillation run spec (*.distill.json)',
    description:
      'A teacher distilled into a student: models, data, knowledge terms, scheme, training, cache and export. Check it against the real models with `onnx-compress distill SPEC --validate-only`.',
  },
);
