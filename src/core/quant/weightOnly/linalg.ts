// The dense float64 linear algebra GPTQ needs, for K up to a few thousand: the upper-triangular
// factor U of H^-1 = U^T U. Matrices are row-major Float64Array [K, K].

/**
 * U (upper triangular) with H^-1 = U^T U, for H symmetric positive definite; undefined when H is
 * not (a pivot is not positive), so that the caller can damp more and retry.
 *
 * Two steps of K^3/6 multiply-adds each, both reading rows only: first H = V V^T with V upper
 * triangular (Cholesky run from the last row up), then U = V^-1, since H^-1 = V^-T V^-1. This is
 * the same U as chol(inverse(H)) taken upper, without forming the inverse.
 */
export function upperCholeskyOfInverse(H: Float64Array, K: number): Float64Array | undefined {
  const V = new Float64Array(K * K);
  for (let j = K - 1; j >= 0; j--) {
    const rj = j * K;
    let d = H[rj + j];
    for (let k = j + 1; k < K; k++) d -= V[rj + k] * V[rj + k];
    if (!(d > 0)) return undefined;
    const vjj = Math.sqrt(d);
    V[rj + j] = vjj;
    for (let i = 0; i < j; i++) {
      const ri = i * K;
      let s = H[ri + j];
      for (let k = j + 1; k < K; k++) s -= V[ri + k] * V[rj + k];
      V[ri + j] = s / vjj;
    }
  }
  // Row i of U from U V = I, left to right: U[i][k] = (delta_ik - r[k]) / V[k][k], where r
  // accumulates sum over m < k of U[i][m] V[m][k] as rows of V are added in.
  const U = new Float64Array(K * K);
  const r = new Float64Array(K);
  for (let i = 0; i < K; i++) {
    r.fill(0, i);
    const ui = i * K;
    for (let k = i; k < K; k++) {
      const rk = k * K;
      const u = ((k === i ? 1 : 0) - r[k]) / V[rk + k];
      U[ui + k] = u;
      if (u !== 0) for (let m = k + 1; m < K; m++) r[m] += u * V[rk + m];
    }
  }
  return U;
}
