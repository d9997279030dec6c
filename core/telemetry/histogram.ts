// A Prometheus histogram read twice (before and after a trial) says what happened in between:
// the delta of its cumulative buckets. Quantiles are estimated from it the way PromQL's
// histogram_quantile does (linear within the bucket; the +Inf bucket answers the highest finite
// bound), so figures here match what a user's Grafana shows for the same window.
// https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile

export interface Histogram {
  sum: number
  count: number
  /** Cumulative counts by upper bound, ascending, +Inf last when present. */
  buckets: { le: number; count: number }[]
}

/** after − before; null when the series restarted (a count went down: the server restarted). */
export function histogramDelta(before: Histogram, after: Histogram): Histogram | null {
  if (after.count < before.count) return null
  const prior = new Map(before.buckets.map((b) => [b.le, b.count]))
  const buckets: Histogram['buckets'] = []
  for (const b of after.buckets) {
    const d = b.count - (prior.get(b.le) ?? 0)
    if (d < 0) return null
    buckets.push({ le: b.le, count: d })
  }
  return { sum: after.sum - before.sum, count: after.count - before.count, buckets }
}

/** The q-quantile (0…1) of the observations, or null with none. */
export function histogramQuantile(h: Histogram, q: number): number | null {
  const bs = h.buckets
  if (bs.length === 0) return null
  const total = bs[bs.length - 1]!.count
  if (total === 0) return null
  const rank = q * total
  let i = bs.findIndex((b) => b.count >= rank)
  if (i < 0) i = bs.length - 1
  const upper = bs[i]!.le
  if (upper === Number.POSITIVE_INFINITY) return i > 0 ? bs[i - 1]!.le : null
  const lower = i > 0 ? bs[i - 1]!.le : 0
  const below = i > 0 ? bs[i - 1]!.count : 0
  const inBucket = bs[i]!.count - below
  if (inBucket === 0) return upper
  // PromQL treats the first bucket as starting at 0 when its bound is positive.
  return lower + (upper - lower) * ((rank - below) / inBucket)
}
