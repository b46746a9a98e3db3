// The dense float64 linear algebra GPTQ needs, for K up to a few thousand: the upper-triangular
// factor U of H^-1 = U^T U. Matrices are row-major Float64Array [K, K]. Both steps work on panels
// of four rows or columns, so that each row read from memory serves four dot products or updates:
// at K in the thousands the matrices do not fit in cache and reading them is what costs.

/**
 * U (upper triangular) with H^-1 = U^T U, for H symmetric positive definite; undefined when H is
 * not (a pivot is not positive), so that the caller can damp more and retry.
 *
 * With J the reversal of the order (J H J flips H end for end): J H J = L L^T (Cholesky, L lower)
 * gives H = V V^T with V = J L J upper, hence H^-1 = V^-T V^-1 and U = V^-1 = J L^-1 J. This is
 * the same U as the upper Cholesky factor of inverse(H), without forming the inverse.
 */
export function upperCholeskyOfInverse(H: Float64Array, K: number): Float64Array | undefined {
  const A = new Float64Array(K * K);
  for (let i = 0; i < K; i++) for (let j = 0; j <= i; j++) A[i * K + j] = H[(K - 1 - i) * K + (K - 1 - j)];
  if (!choleskyLowerInPlace(A, K)) return undefined;
  const M = invertLower(A, K);
  // U = J M J, written over A.
  A.fill(0);
  for (let i = 0; i < K; i++) for (let j = 0; j <= i; j++) A[(K - 1 - i) * K + (K - 1 - j)] = M[i * K + j];
  return A;
}

/** Overwrites the lower triangle of A with L, A = L L^T; false if A is not positive definite. */
export function choleskyLowerInPlace(A: Float64Array, K: number): boolean {
  const dots = new Float64Array(4);
  for (let j0 = 0; j0 < K; j0 += 4) {
    const jb = Math.min(4, K - j0);
    const r0 = j0 * K;
    const r1 = r0 + K;
    const r2 = r1 + K;
    const r3 = r2 + K;
    // Rows in order: the panel's own rows come first, and every later row needs their entries.
    for (let i = j0; i < K; i++) {
      const ri = i * K;
      // dots[c] = sum over the columns before the panel of L[i][k] L[j0 + c][k].
      if (jb === 4 && i >= j0 + 4) {
        let d0 = 0;
        let d1 = 0;
        let d2 = 0;
        let d3 = 0;
        for (let k = 0; k < j0; k++) {
          const v = A[ri + k];
          d0 += v * A[r0 + k];
          d1 += v * A[r1 + k];
          d2 += v * A[r2 + k];
          d3 += v * A[r3 + k];
        }
        dots[0] = d0;
        dots[1] = d1;
        dots[2] = d2;
        dots[3] = d3;
      } else {
        for (let c = 0; c < jb && j0 + c <= i; c++) {
          const rc = (j0 + c) * K;
          let d = 0;
          for (let k = 0; k < j0; k++) d += A[ri + k] * A[rc + k];
          dots[c] = d;
        }
      }
      for (let c = 0; c < jb && j0 + c <= i; c++) {
        const j = j0 + c;
        const rj = j * K;
        let v = A[ri + j] - dots[c];
        for (let c2 = 0; c2 < c; c2++) v -= A[ri + j0 + c2] * A[rj + j0 + c2];
        if (i === j) {
          if (!(v > 0)) return false;
          A[ri + j] = Math.sqrt(v);
        } else {
          A[ri + j] = v / A[rj + j];
        }
      }
    }
  }
  return true;
}

/** M = L^-1 for L lower triangular (its upper triangle is not read), four rows of M at a time. */
export function invertLower(L: Float64Array, K: number): Float64Array {
  const M = new Float64Array(K * K);
  const r = [new Float64Array(K), new Float64Array(K), new Float64Array(K), new Float64Array(K)];
  const u = [0, 0, 0, 0];
  for (let i0 = 0; i0 < K; i0 += 4) {
    const ib = Math.min(4, K - i0);
    for (let c = 0; c < ib; c++) r[c].fill(0, 0, i0 + c + 1);
    // Row i of M from M L = I, right to left: M[i][m] = (delta_im - r[m]) / L[m][m], where r
    // accumulates sum over m' > m of M[i][m'] L[m'][m] as rows of L are added in.
    for (let m = i0 + ib - 1; m >= 0; m--) {
      const rm = m * K;
      const lmm = L[rm + m];
      for (let c = 0; c < ib; c++) {
        const i = i0 + c;
        u[c] = i >= m ? ((i === m ? 1 : 0) - r[c][m]) / lmm : 0;
        if (i >= m) M[i * K + m] = u[c];
      }
      if (ib === 4 && m < i0) {
        const [x0, x1, x2, x3] = r;
        const [u0, u1, u2, u3] = u;
        for (let k = 0; k < m; k++) {
          const l = L[rm + k];
          x0[k] += u0 * l;
          x1[k] += u1 * l;
          x2[k] += u2 * l;
          x3[k] += u3 * l;
        }
      } else {
        for (let c = 0; c < ib; c++) {
          const uc = u[c];
          if (uc === 0) continue;
          const x = r[c];
          for (let k = 0; k < m; k++) x[k] += uc * L[rm + k];
        }
      }
    }
  }
  return M;
}
