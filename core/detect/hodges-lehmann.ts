// Hodges-Lehmann shift between two samples: the median of all pairwise differences
// (candidate − baseline), with the distribution-free confidence interval from the
// Mann-Whitney null distribution (Lehmann 1975): the k-th smallest and k-th largest
// differences. Pairwise differences are never enumerated (10^5 × 10^5 would not fit): the
// k-th smallest is found by bisection on its value, counting pairs below a value in O(n + m).
import { EXACT_MAX_N, exactCdf } from './mann-whitney.ts'
import { normalQuantile } from './normal.ts'

export interface Shift {
  estimate: number
  /** [lower, upper] at the given confidence. */
  ci: [number, number]
}

/** Number of pairs (i, j) with a[i] − b[j] ≤ t; a and b sorted ascending. */
function countAtMost(a: Float64Array, b: Float64Array, t: number): number {
  // For rising a[i], the b[j] ≥ a[i] − t start later: one pointer walks b once.
  let j = 0
  let count = 0
  for (let i = 0; i < a.length; i++) {
    const bound = a[i]! - t
    while (j < b.length && b[j]! < bound) j++
    count += b.length - j
  }
  return count
}

/** The k-th smallest (1-based) of the pairwise differences a[i] − b[j]. */
export function kthDifference(a: Float64Array, b: Float64Array, k: number): number {
  let lo = a[0]! - b[b.length - 1]! // count(lo) ≥ 1
  let hi = a[a.length - 1]! - b[0]! // count(hi) = all
  if (countAtMost(a, b, lo) >= k) return lo
  // Invariant: count(lo) < k ≤ count(hi). Bisection down to adjacent doubles.
  for (let iter = 0; iter < 200; iter++) {
    const mid = lo + (hi - lo) / 2
    if (mid <= lo || mid >= hi) break
    if (countAtMost(a, b, mid) >= k) hi = mid
    else lo = mid
  }
  return hi
}

/** The rank k of the lower CI bound: the largest k with P(U ≤ k − 1) ≤ α/2. */
function ciRank(n1: number, n2: number, confidence: number): number {
  const alpha = 1 - confidence
  const mn = n1 * n2
  if (Math.min(n1, n2) <= EXACT_MAX_N) {
    const cdf = exactCdf(n1, n2)
    let k = 0
    while (k + 1 <= mn && cdf[k]! <= alpha / 2) k++
    return Math.max(1, k)
  }
  const z = normalQuantile(1 - alpha / 2)
  const k = Math.floor(mn / 2 - z * Math.sqrt((mn * (n1 + n2 + 1)) / 12))
  return Math.max(1, k)
}

export function hodgesLehmann(
  candidate: ArrayLike<number>,
  baseline: ArrayLike<number>,
  confidence = 0.95,
): Shift {
  if (candidate.length === 0 || baseline.length === 0)
    throw new RangeError('hodgesLehmann needs two non-empty samples')
  const a = Float64Array.from(candidate).sort()
  const b = Float64Array.from(baseline).sort()
  const mn = a.length * b.length
  const estimate =
    mn % 2 === 1
      ? kthDifference(a, b, (mn + 1) / 2)
      : (kthDifference(a, b, mn / 2) + kthDifference(a, b, mn / 2 + 1)) / 2
  const k = ciRank(a.length, b.length, confidence)
  return { estimate, ci: [kthDifference(a, b, k), kthDifference(a, b, mn - k + 1)] }
}
