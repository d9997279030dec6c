// Holm's step-down adjustment of p-values for a family of tests (as R's p.adjust(method="holm")):
// controls the family-wise error rate without assuming independence.
export function holm(p: readonly number[]): number[] {
  const m = p.length
  const order = p.map((_, i) => i).sort((a, b) => p[a]! - p[b]!)
  const out = new Array<number>(m)
  let running = 0
  order.forEach((idx, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * p[idx]!))
    out[idx] = running
  })
  return out
}
