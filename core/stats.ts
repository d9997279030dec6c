// Descriptive statistics with the conventions of vLLM's benchmark (numpy): percentiles by
// linear interpolation between closest ranks, standard deviation of the population (ddof = 0).

export function mean(xs: ArrayLike<number>): number {
  let s = 0
  for (let i = 0; i < xs.length; i++) s += xs[i]!
  return xs.length ? s / xs.length : Number.NaN
}

export function std(xs: ArrayLike<number>): number {
  const n = xs.length
  if (n === 0) return Number.NaN
  const m = mean(xs)
  let s = 0
  for (let i = 0; i < n; i++) {
    const d = xs[i]! - m
    s += d * d
  }
  return Math.sqrt(s / n)
}

// Arrays this module sorted (and nobody may change): sorted() hands them back without a copy.
const known = new WeakSet<Float64Array>()

/**
 * Sorted ascending as a Float64Array (numeric sort, no comparator overhead): a copy, or xs itself
 * when it came from here. Never modify the result.
 */
export function sorted(xs: ArrayLike<number>): Float64Array {
  if (xs instanceof Float64Array && known.has(xs)) return xs
  const out = Float64Array.from(xs).sort()
  known.add(out)
  return out
}

/**
 * xs sorted where it is, then known to sorted(): for a caller's own scratch array too large to
 * copy again (a trial's millions of inter-token gaps). xs must not be modified afterwards.
 */
export function sortInPlace(xs: Float64Array): Float64Array {
  xs.sort()
  known.add(xs)
  return xs
}

/** The value of rank r (0-based) in xs, rearranging xs: Hoare's quickselect, O(n) on average. */
export function select(xs: Float64Array, r: number): number {
  let lo = 0
  let hi = xs.length - 1
  while (lo < hi) {
    const pivot = xs[(lo + hi) >> 1]!
    let i = lo
    let j = hi
    while (i <= j) {
      while (xs[i]! < pivot) i++
      while (xs[j]! > pivot) j--
      if (i <= j) {
        const t = xs[i]!
        xs[i++] = xs[j]!
        xs[j--] = t
      }
    }
    if (r <= j) hi = j
    else if (r >= i) lo = i
    else return xs[r]!
  }
  return xs[r]!
}

/** numpy.percentile(xs, q) with the default 'linear' method, on already sorted data. */
export function quantileSorted(s: ArrayLike<number>, q: number): number {
  const n = s.length
  if (n === 0) return Number.NaN
  const h = (n - 1) * (q / 100)
  const lo = Math.floor(h)
  const hi = Math.min(lo + 1, n - 1)
  return s[lo]! + (h - lo) * (s[hi]! - s[lo]!)
}

/** numpy.median: the middle value, or the mean of the two middle ones; by selection, not a sort. */
export function median(xs: ArrayLike<number>): number {
  const n = xs.length
  if (n === 0) return Number.NaN
  if (xs instanceof Float64Array && known.has(xs)) return quantileSorted(xs, 50)
  const copy = Float64Array.from(xs)
  const upper = select(copy, n >> 1)
  if (n % 2 === 1) return upper
  // After selection everything left of n/2 is ≤ upper: the lower middle is their maximum.
  let lower = copy[0]!
  for (let i = 1; i < n >> 1; i++) if (copy[i]! > lower) lower = copy[i]!
  return (lower + upper) / 2
}

export function percentile(xs: ArrayLike<number>, q: number): number {
  return quantileSorted(sorted(xs), q)
}

export interface Distribution {
  mean: number
  median: number
  std: number
  p90: number
  p95: number
  p99: number
}

export function describe(xs: ArrayLike<number>): Distribution {
  const s = sorted(xs)
  return {
    mean: mean(s),
    median: quantileSorted(s, 50),
    std: std(s),
    p90: quantileSorted(s, 90),
    p95: quantileSorted(s, 95),
    p99: quantileSorted(s, 99),
  }
}
