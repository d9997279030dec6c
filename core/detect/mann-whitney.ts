// Two-sided Mann-Whitney U test, matching SciPy's
// scipy.stats.mannwhitneyu(x, y, alternative="two-sided", method="auto", use_continuity=True):
// exact when either sample has at most 8 values and there are no ties, otherwise the normal
// approximation with tie correction and continuity correction. U is reported for x.
import { sorted } from '../stats.ts'
import { normalSf } from './normal.ts'

export interface MannWhitney {
  /** U statistic of the first sample (SciPy's U1). */
  u: number
  /** Two-sided p-value. */
  p: number
  method: 'exact' | 'asymptotic'
}

export const EXACT_MAX_N = 8

interface Ranked {
  r1: number
  /** Σ (t³ − t) over tie groups. */
  tieTerm: number
}

/** Rank sum of x in the pooled sample (mid-ranks for ties), from both samples sorted: O(n log n). */
function rankSum(xs: Float64Array, ys: Float64Array): Ranked {
  let i = 0
  let j = 0
  let rank = 1
  let r1 = 0
  let tieTerm = 0
  while (i < xs.length || j < ys.length) {
    const v = j >= ys.length || (i < xs.length && xs[i]! <= ys[j]!) ? xs[i]! : ys[j]!
    let cx = 0
    let cy = 0
    while (i < xs.length && xs[i] === v) {
      cx++
      i++
    }
    while (j < ys.length && ys[j] === v) {
      cy++
      j++
    }
    const t = cx + cy
    r1 += cx * (rank + (t - 1) / 2)
    if (t > 1) tieTerm += t * t * t - t
    rank += t
  }
  return { r1, tieTerm }
}

/**
 * Null distribution of U for samples of sizes m and n without ties: the coefficients of the
 * Gaussian binomial [m+n choose m]_q = Π_{i=1..m} (1 − q^{n+i}) / (1 − q^i), built one factor
 * at a time (each intermediate is itself a Gaussian binomial, so nothing grows past C(m+n, m)).
 */
function uDistribution(m: number, n: number): Float64Array {
  if (m > n) return uDistribution(n, m)
  const degree = m * n
  const c = new Float64Array(degree + 1)
  c[0] = 1
  let top = 0
  for (let i = 1; i <= m; i++) {
    const a = n + i
    top += n
    for (let k = top; k >= a; k--) c[k]! -= c[k - a]!
    for (let k = i; k <= top; k++) c[k]! += c[k - i]!
  }
  return c
}

/** P(U ≥ u) under the null, for integer u. */
export function exactSf(u: number, m: number, n: number): number {
  const c = uDistribution(m, n)
  let total = 0
  let tail = 0
  for (let k = 0; k < c.length; k++) {
    total += c[k]!
    if (k >= u) tail += c[k]!
  }
  return tail / total
}

/** P(U ≤ k) under the null for every k = 0 … m·n. */
export function exactCdf(m: number, n: number): Float64Array {
  const c = uDistribution(m, n)
  let total = 0
  for (let k = 0; k < c.length; k++) total += c[k]!
  let running = 0
  for (let k = 0; k < c.length; k++) {
    running += c[k]!
    c[k] = running / total
  }
  return c
}

export function mannWhitneyU(x: ArrayLike<number>, y: ArrayLike<number>): MannWhitney {
  const n1 = x.length
  const n2 = y.length
  if (n1 === 0 || n2 === 0) throw new RangeError('mannWhitneyU needs at least one value in each sample')
  const { r1, tieTerm } = rankSum(sorted(x), sorted(y))
  const u1 = r1 - (n1 * (n1 + 1)) / 2
  const u2 = n1 * n2 - u1
  const u = Math.max(u1, u2)
  if (Math.min(n1, n2) <= EXACT_MAX_N && tieTerm === 0) {
    return { u: u1, p: Math.min(1, 2 * exactSf(u, n1, n2)), method: 'exact' }
  }
  const n = n1 + n2
  const s = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1))))
  const z = (u - (n1 * n2) / 2 - 0.5) / s
  // All values equal: no information, SciPy returns NaN; report no difference instead.
  const p = s > 0 ? Math.min(1, 2 * normalSf(z)) : 1
  return { u: u1, p, method: 'asymptotic' }
}
