// Error metrics between a reference tensor x (float model) and y (quantized model).

const EPS = 1e-10;

/** SQNR in dB as the reference tool defines it: 20 log10(max(||x||, eps) / max(||x - y||, eps)). */
export function sqnr(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let signal = 0;
  let noise = 0;
  for (let i = 0; i < x.length; i++) {
    signal += x[i] * x[i];
    noise += (x[i] - y[i]) ** 2;
  }
  return 20 * Math.log10(Math.max(Math.sqrt(signal), EPS) / Math.max(Math.sqrt(noise), EPS));
}

export function maxAbsError(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}
