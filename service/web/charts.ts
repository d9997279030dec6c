// What the charts are drawn from, shaped on the server so that a page stays small whatever the
// run's size: a distribution of 10,000 requests is sent as points of its exact ECDF, not as
// 10,000 numbers. The client (client/dashboard.js) only draws.

/** Points of an ECDF kept: a step every 1/256 of the requests is finer than a chart's pixels. */
export const ECDF_POINTS = 256

export interface EcdfData {
  /** Values, ascending. */
  x: number[]
  /** The share of requests at or below x: exact ECDF values, not interpolated. */
  y: number[]
  n: number
}

/**
 * The ECDF of `values` at up to `points` of its own steps: all of them for small samples, else
 * the order statistics at evenly spaced ranks (first and last included), each with its exact
 * share. Every point drawn lies on the true ECDF, so the picture is the data's, only coarser.
 */
export function ecdf(values: ArrayLike<number>, points = ECDF_POINTS): EcdfData {
  const sorted = Float64Array.from(values).sort()
  const n = sorted.length
  const x: number[] = []
  const y: number[] = []
  if (n === 0) return { x, y, n }
  const keep = Math.min(n, points)
  let last = -1
  for (let k = 0; k < keep; k++) {
    const i = keep === 1 ? n - 1 : Math.round((k * (n - 1)) / (keep - 1))
    if (i === last) continue
    last = i
    // Ties: the ECDF at a value counts every request equal to it.
    let j = i
    while (j + 1 < n && sorted[j + 1] === sorted[i]) j++
    if (x.length && x[x.length - 1] === sorted[i]) continue
    x.push(round(sorted[i]!))
    y.push(round((j + 1) / n, 6))
  }
  return { x, y, n }
}

const round = (v: number, digits = 3) => {
  const f = 10 ** digits
  return Math.round(v * f) / f
}
