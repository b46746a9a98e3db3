// The distillation run spec, `*.distill.json`: what a user writes (by hand or through the setup
// wizard) to distill a teacher into a student. Every field but teacher, student and data.train has
// a default (DISTILL_DEFAULTS); relative paths resolve against the spec's folder. The types of the
// spec come from its schema (distillSpecSchema.ts); the resolved forms below are the engine's own.
import type { Static } from '@sinclair/typebox';
import type {
  DataSplitSchema,
  DistillSpecSchema,
  EvaluationSchema,
  ExportSchema,
  FactoryStudentSchema,
  ImagePreprocessSchema,
  KnowledgeSchema,
  OnnxStudentSchema,
  OptimizerSchema,
  ScheduleSchema,
  SchemeSchema,
  TensorPairSchema,
} from './distillSpecSchema';

export { DISTILL_DEFAULTS, DISTILL_SPEC_FORMAT, DISTILL_SPEC_VERSION } from './distillSpecSchema';
/** File name ending that VS Code validates against the schema. */
export const DISTILL_SPEC_SUFFIX = '.distill.json';

export type DistillSpec = Static<typeof DistillSpecSchema>;
export type TeacherSpec = DistillSpec['teacher'];
/** An ONNX student (made trainable by the engine, weights written back into the same graph). */
export type OnnxStudentSpec = Static<typeof OnnxStudentSchema>;
/** A PyTorch student: `path/to/file.py:function` returning a torch.nn.Module, exported with torch.onnx.export. */
export type FactoryStudentSpec = Static<typeof FactoryStudentSchema>;
export type StudentSpec = OnnxStudentSpec | FactoryStudentSpec;

export function isFactoryStudent(s: StudentSpec): s is FactoryStudentSpec {
  return typeof (s as FactoryStudentSpec).factory === 'string';
}

export type ImagePreprocessSpec = Static<typeof ImagePreprocessSchema>;
export type DataSplitSpec = Static<typeof DataSplitSchema>;
export type AugmentationName = NonNullable<DataSplitSpec['augmentation']>;
/** A teacher tensor matched with a student tensor. */
export type TensorPairSpec = Static<typeof TensorPairSchema>;
export type AdapterName = Exclude<NonNullable<TensorPairSpec['adapter']>, 'auto'>;

export type KnowledgeSpec = Static<typeof KnowledgeSchema>;
export type KnowledgeType = KnowledgeSpec['type'];
export type ResponseTarget = NonNullable<Extract<KnowledgeSpec, { type: 'response' }>['target']>;
export type FeatureSimilarity = NonNullable<Extract<KnowledgeSpec, { type: 'feature' }>['similarity']>;

export type SchemeSpec = Static<typeof SchemeSchema>;
export type OptimizerSpec = Static<typeof OptimizerSchema>;
export type ScheduleSpec = Static<typeof ScheduleSchema>;
export type DeviceName = NonNullable<DistillSpec['device']>;
export type CacheDtype = NonNullable<NonNullable<DistillSpec['cache']>['dtype']>;
export type ExportSpec = Static<typeof ExportSchema>;
export type EvaluationSpec = Static<typeof EvaluationSchema>;

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
  /** Also train a labels-only baseline of the same student (the spec's `baseline`, or `--baseline`). */
  baseline: boolean;
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

/** The human text of each loss formula, keyed by knowledge type (shown in the wizard, the run view and reports). */
export const KNOWLEDGE_FORMULAS: Record<KnowledgeType, string> = {
  response: 'L = a * CE(y, softmax(zS)) + (1 - a) * T^2 * KL(softmax(zT/T) || softmax(zS/T)), KL averaged per sample (batchmean)',
  feature: 'L = ||Phi_t(f_t(x)) - Phi_s(f_s(x))||^2 (or L1 / 1 - cosine), Phi a trainable adapter where shapes differ',
  attention: 'L = || Q_t - Q_s ||_2, Q = normalize(vec(sum_c |A_c|^p))',
  relation: 'L = lD * Huber(psi_D(t), psi_D(s)) + lA * Huber(psi_A(t), psi_A(s)), psi_D = ||ti - tj|| / mu, psi_A = <e_ij, e_kj>',
  similarity: 'L = (1 / B^2) * || normalize(F_t F_t^T) - normalize(F_s F_s^T) ||_F^2',
};
