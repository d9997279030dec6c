// Hodges-Lehmann shift between two samples: the median of all pairwise differences
// (candidate − baseline), with the distribution-free confidence interval from the
// Mann-Whitney null distribution (Lehmann 1975): the k-th smallest and k-th largest
// differences. Pairwise differences are never enumerated (10^5 × 10^5 would not fit): the
// k-th smallest is found by bisection on its value, counting pairs below a value in O(n + m).

import { select, sorted } from '../stats.ts'
import { EXACT_MAX_N, exactCdf } from './mann-whitney.ts'
import { normalQuantile } from './normal.ts'

export interface Shift {
  estimate: number
  /** [lower, upper] at the given confidence. */
  ci: [number, number]
}

// Every comparison below is on the computed difference a[i] − b[j] itself. Floating-point
// subtraction is monotone in each operand, so those differences keep the order two pointers
// rely on, and counts, snaps and the final collection agree exactly, ties included.

interface Count {
  /** Pairs with a[i] − b[j] ≤ t. */
  count: number
  /** The largest difference ≤ t (−∞ if none), and the smallest one > t (+∞ if none). */
  below: number
  above: number
}

/** Counts the pairs at most t; a and b sorted ascending. O(n + m): one pointer walks b once. */
function countAtMost(a: Float64Array, b: Float64Array, t: number): Count {
  let j = 0
  let count = 0
  let below = Number.NEGATIVE_INFINITY
  let above = Number.POSITIVE_INFINITY
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!
    while (j < b.length && x - b[j]! > t) j++
    count += b.length - j
    if (j < b.length && x - b[j]! > below) below = x - b[j]!
    if (j > 0 && x - b[j - 1]! < above) above = x - b[j - 1]!
  }
  return { count, below, above }
}

/** The k-th smallest (1-based) of the pairwise differences a[i] − b[j]. */
export function kthDifference(a: Float64Array, b: Float64Array, k: number): number {
  let lo = a[0]! - b[b.length - 1]! // the smallest difference
  const first = countAtMost(a, b, lo)
  if (first.count >= k) return lo
  let cLo = first.count
  let hi = a[a.length - 1]! - b[0]! // the largest: count(hi) = n·m
  let cHi = a.length * b.length
  // Invariant: count(lo) < k ≤ count(hi), hi a difference. Narrow until few differences lie in
  // (lo, hi], then pick the answer among them.
  const few = 2048
  // When a step finds no new difference (near-ties: 0.026 and 0.0259999999999998), the next
  // probe is the next difference up, so every step makes progress.
  let probe: number | null = null
  for (let iter = 0; iter < 200 && cHi - cLo > few; iter++) {
    // Interpolate on the counts (locally near-linear), kept off the ends so every step cuts at
    // least 3% of the bracket; every third step bisects to bound the worst case.
    const f = iter % 3 === 2 ? 0.5 : Math.min(0.97, Math.max(0.03, (k - cLo) / (cHi - cLo)))
    const mid = probe ?? lo + (hi - lo) * f
    probe = null
    if (mid <= lo || mid >= hi) return hi
    const c = countAtMost(a, b, mid)
    if (c.count >= k) {
      hi = c.below // no difference in (below, mid]: same count
      cHi = c.count
    } else {
      if (c.count === cLo) probe = c.above
      lo = mid
      cLo = c.count
      // Ties: when the next difference up is hi, every difference in (lo, hi] is hi.
      if (c.above >= hi) return hi
    }
  }
  const between = new Float64Array(cHi - cLo)
  let n = 0
  let from = 0
  let to = 0
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!
    while (from < b.length && x - b[from]! > hi) from++
    while (to < b.length && x - b[to]! > lo) to++
    for (let j = from; j < to; j++) between[n++] = x - b[j]!
  }
  return select(between, k - cLo - 1)
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
  const a = sorted(candidate)
  const b = sorted(baseline)
  const mn = a.length * b.length
  const estimate =
    mn % 2 === 1
      ? kthDifference(a, b, (mn + 1) / 2)
      : (kthDifference(a, b, mn / 2) + kthDifference(a, b, mn / 2 + 1)) / 2
  const k = ciRank(a.length, b.length, confidence)
  return { estimate, ci: [kthDifference(a, b, k), kthDifference(a, b, mn - k + 1)] }
}
