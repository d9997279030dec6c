// Holm's step-down adjustment of p-values for a family of tests (as R's p.adjust(method="holm")):
// controls the family-wise error rate without assuming independence.
export function holm(p: readonly number[]): number[] {
  return weightedHolm(
    p,
    p.map(() => 1),
  )
}

/**
 * Weighted Holm (Holm 1979, §4): a test of weight w gets the share w / Σw of each step's alpha.
 * Sorted by p/w; the adjusted p of the k-th is max over j ≤ k of min(1, p_j / w_j · Σ_{l ≥ j} w_l).
 * It is the closed test of weighted Bonferroni tests, so it controls the family-wise error rate
 * under any dependence, like Holm (equal weights give Holm exactly). Used so that a test that
 * needs little alpha (a p99 tail, whose regressions are large) costs the medians little power.
 */
export function weightedHolm(p: readonly number[], w: readonly number[]): number[] {
  const m = p.length
  if (w.length !== m || w.some((x) => !(x > 0)))
    throw new RangeError('weightedHolm: one positive weight per p-value')
  const order = p.map((_, i) => i).sort((a, b) => p[a]! / w[a]! - p[b]! / w[b]!)
  let remaining = w.reduce((a, b) => a + b, 0)
  const out = new Array<number>(m)
  let running = 0
  for (const idx of order) {
    running = Math.max(running, Math.min(1, (p[idx]! / w[idx]!) * remaining))
    out[idx] = running
    remaining -= w[idx]!
  }
  return out
}
