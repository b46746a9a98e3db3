// The distillation engine's public face, used by the CLI (`onnx-compress distill`) and the
// extension (wizard, run command, run view, Runs tree). Everything here takes plain arguments,
// an AbortSignal and callbacks; nothing imports vscode.
export { readSpecFile, resolveSpec, SpecError } from './spec';
export { validateSpec, type SpecProblem, type SpecValidation, type ProposedPair, type PlannedAdapter } from './validate';
export { listTensors, proposePairs, chooseAdapter, type TensorInfo } from './tensors';
export { estimateCacheBytes, buildTeacherCache, type CacheEstimate, type CacheBuildOptions, type CacheResult } from './cache';
export { exportTrainableGraph, writeTrainedWeights } from './trainableGraph';
export { probePython, resolvePython, type PythonProbe } from './python';
export { startRun, type StartRunOptions } from './run';
export { listRuns } from './runs';
