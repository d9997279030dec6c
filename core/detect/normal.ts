// The standard normal distribution's tail and quantile, to double precision, so that small
// p-values keep their digits (a plain erf approximation loses them below ~1e-7).

/** P(Z > x) for the standard normal (Hart 1968, as given by West 2005). */
export function normalSf(x: number): number {
  const ax = Math.abs(x)
  let tail: number
  if (ax > 37) tail = 0
  else {
    const e = Math.exp((-ax * ax) / 2)
    if (ax < 7.07106781186547) {
      let n = 3.52624965998911e-2 * ax + 0.700383064443688
      n = n * ax + 6.37396220353165
      n = n * ax + 33.912866078383
      n = n * ax + 112.079291497871
      n = n * ax + 221.213596169931
      n = n * ax + 220.206867912376
      let d = 8.83883476483184e-2 * ax + 1.75566716318264
      d = d * ax + 16.064177579207
      d = d * ax + 86.7807322029461
      d = d * ax + 296.564248779674
      d = d * ax + 637.333633378831
      d = d * ax + 793.826512519948
      d = d * ax + 440.413735824752
      tail = (e * n) / d
    } else {
      // Mills' ratio as a continued fraction x + 1/(x + 2/(x + 3/(x + …))), evaluated from depth
      // 40 upwards: relative precision near 1e-15 for x ≥ 7 (Hart's 5 terms give only ~1e-8).
      let b = ax
      for (let k = 40; k >= 1; k--) b = ax + k / b
      tail = e / b / 2.5066282746310002
    }
  }
  return x >= 0 ? tail : 1 - tail
}

/** The p-quantile of the standard normal (Acklam's algorithm, refined by one Halley step). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) {
    if (p === 0) return Number.NEGATIVE_INFINITY
    if (p === 1) return Number.POSITIVE_INFINITY
    return Number.NaN
  }
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
    2.506628277459239,
  ]
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572]
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ]
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416]
  const lo = 0.02425
  let x: number
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p))
    x =
      (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
      ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1)
  } else if (p <= 1 - lo) {
    const q = p - 0.5
    const r = q * q
    x =
      ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
      (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p))
    x =
      -(((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
      ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1)
  }
  // One Halley step against the precise tail brings the error to ~1e-15.
  const e = normalSf(-x) - p
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2)
  return x - u / (1 + (x * u) / 2)
}
