// The distillation engine's public face, used by the CLI (`onnx-compress distill`) and the
// extension (wizard, run command, run view, Runs tree). Everything here takes plain arguments,
// an AbortSignal and callbacks; nothing imports vscode.
export { readSpecFile, resolveSpec, SpecError } from './spec';
export {
  validateSpec,
  problemLines,
  assertValid,
  type SpecProblem,
  type SpecValidation,
  type ProposedPair,
  type PlannedAdapter,
  type SplitCheck,
} from './validate';
export { listTensors, proposePairs, chooseAdapter, type TensorInfo } from './tensors';
export {
  estimateCacheBytes,
  buildTeacherCache,
  teacherTensorsOf,
  type CacheEstimate,
  type CacheBuildOptions,
  type CacheResult,
  type CacheManifest,
} from './cache';
export { exportTrainableGraph, writeTrainedWeights } from './trainableGraph';
export { probePython, resolvePython, PYTHON_ENV, type PythonProbe } from './python';
export { lastCheckpoint, newRunDir } from './runFolder';
export { listRuns } from './runs';
