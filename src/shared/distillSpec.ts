// The distillation run spec, `*.distill.json`: what a user writes (by hand or through the setup
// wizard) to distill a teacher into a student. Every field but teacher, student and data.train has
// a default (DISTILL_DEFAULTS); relative paths resolve against the spec's folder. The JSON Schema
// `schemas/distill.schema.json` describes the same format for the editor.

export const DISTILL_SPEC_FORMAT = 'onnx-compress/distill-spec';
export const DISTILL_SPEC_VERSION = 1;
/** File name ending that VS Code validates against the schema. */
export const DISTILL_SPEC_SUFFIX = '.distill.json';

export interface DistillSpec {
  format: typeof DISTILL_SPEC_FORMAT;
  version: 1;
  /** Free text shown in run lists. */
  description?: string;
  teacher: TeacherSpec;
  student: StudentSpec;
  data: DataSpec;
  knowledge?: KnowledgeSpec[];
  scheme?: SchemeSpec;
  optimizer?: OptimizerSpec;
  schedule?: ScheduleSpec;
  epochs?: number;
  batchSize?: number;
  /** Seed of the trainer (initial adapters, batch order). */
  seed?: number;
  device?: DeviceName;
  /** Torch CPU threads; null = the trainer's default (the machine's cores). */
  threads?: number | null;
  cache?: CacheSpec;
  export?: ExportSpec;
  evaluation?: EvaluationSpec;
}

export interface TeacherSpec {
  /** ONNX file of the trained teacher. */
  model: string;
  /** The teacher's logits tensor (default: its first output). */
  output?: string;
  /** onnxruntime execution provider that runs the teacher for the cache (default 'cpu'). */
  executionProvider?: string;
}

/** An ONNX student (made trainable by the engine, weights written back into the same graph). */
export interface OnnxStudentSpec {
  model: string;
  /** The student's logits tensor (default: its first output). */
  output?: string;
}

/** A PyTorch student: `path/to/file.py:function` returning a torch.nn.Module, exported with torch.onnx.export. */
export interface FactoryStudentSpec {
  factory: string;
  /** Names of the exported ONNX inputs (default: the teacher's input names). */
  inputNames?: string[];
  /** Name of the exported logits output (default 'logits'). */
  output?: string;
}

export type StudentSpec = OnnxStudentSpec | FactoryStudentSpec;

export function isFactoryStudent(s: StudentSpec): s is FactoryStudentSpec {
  return typeof (s as FactoryStudentSpec).factory === 'string';
}

/** How images become inputs (unset fields come from the teacher's input shape; see the data layer). */
export interface ImagePreprocessSpec {
  width?: number;
  height?: number;
  layout?: 'NCHW' | 'NHWC';
  channels?: 'RGB' | 'BGR' | 'GRAY';
  mean?: number[];
  std?: number[];
  scale?: number;
  resize?: 'bilinear' | 'nearest';
}

export type AugmentationName = 'none' | 'random';

export interface DataSplitSpec {
  /** A data source as the quantization data layer reads it: .npz, .npy, a folder, IDX, images. */
  source: string;
  /** Integer class labels, one per sample: a .npy file or IDX labels (…-idx1-ubyte[.gz]). */
  labels?: string | null;
  /** Use at most this many samples (null: all). */
  samples?: number | null;
  /** Pick the samples in a seeded random order (null: file order). */
  shuffleSeed?: number | null;
  imagePreprocess?: ImagePreprocessSpec;
  /** 'random' augmentation makes a cached teacher stale every epoch: refused with the offline scheme. */
  augmentation?: AugmentationName;
}

export interface DataSpec {
  train: DataSplitSpec;
  /** Held-out data for per-epoch evaluation and the final verification (default: none). */
  eval?: DataSplitSpec | null;
}

export type AdapterName = 'none' | 'conv1x1' | 'linear' | 'interpolate' | 'pool' | 'conv1x1+interpolate';

/** A teacher tensor matched with a student tensor. */
export interface TensorPairSpec {
  teacher: string;
  student: string;
  /** 'auto' (default): chosen from the two shapes and echoed by validation. */
  adapter?: AdapterName | 'auto';
}

export type KnowledgeType = 'response' | 'feature' | 'attention' | 'relation' | 'similarity';
export type ResponseTarget = 'soft' | 'logits' | 'hard';
export type FeatureSimilarity = 'mse' | 'l1' | 'cosine';

/** Hinton KD: a*CE(y, softmax(zS)) + (1-a)*T^2*KL(softmax(zT/T) || softmax(zS/T)), KL per sample. */
export interface ResponseKnowledge {
  type: 'response';
  weight?: number;
  temperature?: number;
  /** Weight of the hard-label CE term (needs labels when > 0). */
  alpha?: number;
  /** soft: KL on softened distributions; logits: MSE on logits; hard: CE with the teacher's argmax. */
  target?: ResponseTarget;
}

/** FitNets hint: ||Phi_t(f_t) - Phi_s(f_s)||^2 between intermediate tensors, adapters where shapes differ. */
export interface FeatureKnowledge {
  type: 'feature';
  weight?: number;
  similarity?: FeatureSimilarity;
  pairs: TensorPairSpec[];
}

/** Attention transfer: Q = normalize(vec(sum_c |A_c|^p)), loss on Q differences. */
export interface AttentionKnowledge {
  type: 'attention';
  weight?: number;
  p?: number;
  pairs: TensorPairSpec[];
}

/** RKD: Huber loss between distance and angle potentials of teacher and student embeddings. */
export interface RelationKnowledge {
  type: 'relation';
  weight?: number;
  /** lambda_D. */
  distance?: number;
  /** lambda_A (the angle term costs B^2 * D per batch). */
  angle?: number;
  /** The embeddings compared (default: both models' logits). */
  pair?: TensorPairSpec;
}

/** Similarity-preserving KD: the batch's Gram matrices of paired tensors. */
export interface SimilarityKnowledge {
  type: 'similarity';
  weight?: number;
  pairs: TensorPairSpec[];
}

export type KnowledgeSpec = ResponseKnowledge | FeatureKnowledge | AttentionKnowledge | RelationKnowledge | SimilarityKnowledge;

export type SchemeKind = 'offline' | 'online' | 'self' | 'assistant';

export interface AssistantSpec {
  /** ONNX file of an intermediate-size model, trained from the previous step's model before the student. */
  model: string;
  output?: string;
  /** Epochs of this step (default: the spec's epochs). */
  epochs?: number;
}

export interface SchemeSpec {
  kind: SchemeKind;
  /** self: 'snapshot' (an earlier copy teaches) or 'auxiliary' (deep tensors teach shallow ones). */
  mode?: 'snapshot' | 'auxiliary';
  /** self/snapshot: refresh the snapshot every this many epochs. */
  every?: number;
  /** self/auxiliary: (deep -> shallow) pairs within the student. */
  pairs?: TensorPairSpec[];
  /** assistant: the chain, teacher -> assistants[0] -> ... -> student. */
  assistants?: AssistantSpec[];
}

export type OptimizerName = 'adam' | 'adamw' | 'sgd';
export interface OptimizerSpec {
  name?: OptimizerName;
  lr?: number;
  weightDecay?: number;
  /** SGD only. */
  momentum?: number;
}

export type ScheduleName = 'constant' | 'cosine' | 'step';
export interface ScheduleSpec {
  name?: ScheduleName;
  warmupEpochs?: number;
  /** step: every this many epochs multiply lr by gamma. */
  stepSize?: number;
  gamma?: number;
}

export type DeviceName = 'cpu' | 'cuda' | 'auto';
export type CacheDtype = 'float32' | 'float16';

export interface CacheSpec {
  /** Where the teacher cache lives (default '.distill-cache' beside the spec). */
  dir?: string;
  /** Storage of the teacher's tensors (inputs and labels keep their own types). */
  dtype?: CacheDtype;
  /** Keep only the k largest teacher logits per sample (null: all). */
  topK?: number | null;
}

export interface ExportSpec {
  /** Opset of a PyTorch student's export (an ONNX student keeps its own). */
  opset?: number;
  /** A PyTorch student's export gets a symbolic batch axis. */
  dynamicBatch?: boolean;
}

export interface EvaluationSpec {
  /** Single-sample runs timed for the latency median of the final student (and the teacher). */
  latencyRuns?: number;
}

/** Every effective setting after defaults: what runs, and what the report echoes. */
export interface ResolvedDistillSpec {
  description: string;
  teacher: Required<TeacherSpec>;
  student: { kind: 'onnx'; model: string; output: string } | { kind: 'factory'; factory: string; inputNames: string[]; output: string };
  data: { train: ResolvedDataSplit; eval: ResolvedDataSplit | null };
  knowledge: ResolvedKnowledge[];
  scheme: Required<Pick<SchemeSpec, 'kind'>> & SchemeSpec;
  optimizer: Required<OptimizerSpec>;
  schedule: Required<ScheduleSpec>;
  epochs: number;
  batchSize: number;
  seed: number;
  device: DeviceName;
  threads: number | null;
  cache: { dir: string; dtype: CacheDtype; topK: number | null };
  export: Required<ExportSpec>;
  evaluation: Required<EvaluationSpec>;
}

export interface ResolvedDataSplit {
  source: string;
  labels: string | null;
  samples: number | null;
  shuffleSeed: number | null;
  imagePreprocess: ImagePreprocessSpec;
  augmentation: AugmentationName;
}

/** A tensor pair with both shapes and the adapter settled (as the job file carries it). */
export interface ResolvedPair {
  teacher: string;
  student: string;
  teacherShape: (number | null)[] | null;
  studentShape: (number | null)[] | null;
  adapter: AdapterName;
}

export type ResolvedKnowledge =
  | { type: 'response'; weight: number; temperature: number; alpha: number; target: ResponseTarget }
  | { type: 'feature'; weight: number; similarity: FeatureSimilarity; pairs: ResolvedPair[] }
  | { type: 'attention'; weight: number; p: number; pairs: ResolvedPair[] }
  | { type: 'relation'; weight: number; distance: number; angle: number; pair: ResolvedPair }
  | { type: 'similarity'; weight: number; pairs: ResolvedPair[] };

export const DISTILL_DEFAULTS = {
  teacherExecutionProvider: 'cpu',
  studentFactoryOutput: 'logits',
  knowledge: [{ type: 'response', weight: 1, temperature: 4, alpha: 0.5, target: 'soft' }] as KnowledgeSpec[],
  response: { weight: 1, temperature: 4, alpha: 0.5, target: 'soft' as ResponseTarget },
  feature: { weight: 1, similarity: 'mse' as FeatureSimilarity },
  attention: { weight: 1000, p: 2 },
  relation: { weight: 1, distance: 25, angle: 50 },
  similarity: { weight: 3000 },
  scheme: 'offline' as SchemeKind,
  snapshotEvery: 1,
  optimizer: { name: 'adam' as OptimizerName, lr: 0.001, weightDecay: 0, momentum: 0.9 },
  schedule: { name: 'cosine' as ScheduleName, warmupEpochs: 0, stepSize: 1, gamma: 0.1 },
  epochs: 2,
  batchSize: 64,
  seed: 0,
  device: 'auto' as DeviceName,
  threads: null as number | null,
  cacheDir: '.distill-cache',
  cacheDtype: 'float32' as CacheDtype,
  topK: null as number | null,
  opset: 13,
  dynamicBatch: true,
  latencyRuns: 50,
} as const;

/** The human text of each loss formula, keyed by knowledge type (shown in the wizard, the run view and reports). */
export const KNOWLEDGE_FORMULAS: Record<KnowledgeType, string> = {
  response: 'L = a * CE(y, softmax(zS)) + (1 - a) * T^2 * KL(softmax(zT/T) || softmax(zS/T)), KL averaged per sample (batchmean)',
  feature: 'L = ||Phi_t(f_t(x)) - Phi_s(f_s(x))||^2 (or L1 / 1 - cosine), Phi a trainable adapter where shapes differ',
  attention: 'L = || Q_t - Q_s ||_2, Q = normalize(vec(sum_c |A_c|^p))',
  relation: 'L = lD * Huber(psi_D(t), psi_D(s)) + lA * Huber(psi_A(t), psi_A(s)), psi_D = ||ti - tj|| / mu, psi_A = <e_ij, e_kj>',
  similarity: 'L = (1 / B^2) * || normalize(F_t F_t^T) - normalize(F_s F_s^T) ||_F^2',
};
