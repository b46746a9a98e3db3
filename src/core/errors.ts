// Errors the engine reports to users. Each names what it concerns (a file, a tensor, a node)
// and, where there is one, the next step; the faces print `message` as it is.

export class OnnxCompressError extends Error {
  constructor(
    message: string,
    readonly subject?: string,
  ) {
    super(subject ? `${subject}: ${message}` : message);
    this.name = new.target.name;
  }
}

/** A model file that cannot be read or trusted: corrupt, truncated, hostile, unsupported. */
export class ModelReadError extends OnnxCompressError {}

/** Writing a model failed or was refused; nothing was left half-written. */
export class ModelWriteError extends OnnxCompressError {}

/** Tensor bytes that do not match the tensor's declared type and shape, or cannot be located. */
export class TensorDataError extends OnnxCompressError {}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
