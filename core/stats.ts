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

/** Sorted ascending copy as a Float64Array (numeric sort, no comparator overhead). */
export function sorted(xs: ArrayLike<number>): Float64Array {
  return Float64Array.from(xs).sort()
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

export function median(xs: ArrayLike<number>): number {
  return quantileSorted(sorted(xs), 50)
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
