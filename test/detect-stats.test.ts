// The detector's statistics against trusted implementations: SciPy's mannwhitneyu and numpy
// brute force (test/fixtures/mannwhitney.py, the command in its header), statsmodels' Holm
// (test/fixtures/holm.py).
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { hodgesLehmann, kthDifference } from '../core/detect/hodges-lehmann.ts'
import { holm, weightedHolm } from '../core/detect/holm.ts'
import { mannWhitneyU } from '../core/detect/mann-whitney.ts'
import { normalQuantile, normalSf } from '../core/detect/normal.ts'
import { studentTQuantile, studentTSf } from '../core/detect/student-t.ts'
import { Rng } from '../core/rng.ts'

const load = (name: string) =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'))
const mw = load('mannwhitney.json') as {
  cases: {
    name: string
    x: number[]
    y: number[]
    u: number
    p: number
    hl: number
    hl_ci: [number, number]
  }[]
}

/** Relative closeness for p-values that span 1 to 1e-18. */
const closeRel = (a: number, b: number, rel = 1e-9) =>
  Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b), 1e-300)

describe('Mann-Whitney U matches scipy.stats.mannwhitneyu (two-sided, auto, continuity)', () => {
  for (const c of mw.cases) {
    it(c.name, () => {
      const r = mannWhitneyU(c.x, c.y)
      expect(r.u).toBe(c.u)
      expect(closeRel(r.p, c.p), `p ${r.p} vs ${c.p}`).toBe(true)
    })
  }

  it('uses the exact distribution only without ties and with a sample of at most 8', () => {
    expect(mannWhitneyU([1, 2, 3], [4, 5, 6]).method).toBe('exact')
    expect(mannWhitneyU([1, 2, 2], [4, 5, 6]).method).toBe('asymptotic')
    expect(mannWhitneyU([1, 2, 3, 4, 5, 6, 7, 8, 9], [10, 11, 12, 13, 14, 15, 16, 17, 18]).method).toBe(
      'asymptotic',
    )
  })

  it('calls identical samples no different', () => {
    expect(mannWhitneyU([5, 5, 5, 5, 5, 5, 5, 5, 5], [5, 5, 5, 5, 5, 5, 5, 5, 5]).p).toBe(1)
  })
})

describe('Hodges-Lehmann shift and its interval match brute force over all pairwise differences', () => {
  for (const c of mw.cases) {
    it(c.name, () => {
      const r = hodgesLehmann(c.x, c.y)
      expect(r.estimate).toBeCloseTo(c.hl, 9)
      expect(r.ci[0]).toBeCloseTo(c.hl_ci[0], 9)
      expect(r.ci[1]).toBeCloseTo(c.hl_ci[1], 9)
    })
  }

  it('finds every k-th pairwise difference without enumerating them', () => {
    const rng = new Rng(5)
    const a = Float64Array.from({ length: 37 }, () => Math.round(rng.normal() * 100) / 10).sort()
    const b = Float64Array.from({ length: 23 }, () => Math.round(rng.normal() * 100) / 10).sort()
    const all = [...a].flatMap((x) => [...b].map((y) => x - y)).sort((p, q) => p - q)
    for (const k of [1, 2, 100, 425, 426, 851]) expect(kthDifference(a, b, k)).toBeCloseTo(all[k - 1]!, 9)
  })

  it('exactly, also when it must bisect before picking (more pairs than it collects), with ties', () => {
    const rng = new Rng(8)
    const a = Float64Array.from({ length: 400 }, () => Math.round(rng.normal() * 1000) / 100).sort()
    const b = Float64Array.from({ length: 300 }, () => Math.round(rng.normal() * 1000) / 100 + 0.5).sort()
    const all = Float64Array.from([...a].flatMap((x) => [...b].map((y) => x - y))).sort()
    for (const k of [1, 7, 5000, 59_999, 60_000, 60_001, 119_000, 120_000]) {
      expect(kthDifference(a, b, k)).toBe(all[k - 1]!)
    }
  })
})

describe('Holm adjustment matches statsmodels', () => {
  const fx = load('holm.json') as { cases: { p: number[]; adjusted: number[] }[] }
  fx.cases.forEach((c, i) => {
    it(`case ${i + 1}`, () => {
      const adjusted = holm(c.p)
      for (let j = 0; j < adjusted.length; j++) expect(adjusted[j]).toBeCloseTo(c.adjusted[j]!, 12)
    })
  })
})

describe('weighted Holm is the closed test of weighted Bonferroni tests', () => {
  // The closed testing principle (Marcus, Peritz & Gabriel 1976): H_i is rejected at level a iff
  // every intersection S ∋ i is, and S's weighted Bonferroni test rejects when some j in S has
  // p_j ≤ a · w_j / W_S. So the adjusted p of i is the max over S ∋ i of min_{j∈S} p_j·W_S/w_j.
  const closed = (p: number[], w: number[]) =>
    p.map((_, i) => {
      let worst = 0
      for (let mask = 1; mask < 1 << p.length; mask++) {
        if (!(mask & (1 << i))) continue
        const S = p.map((_, j) => j).filter((j) => mask & (1 << j))
        const W = S.reduce((a, j) => a + w[j]!, 0)
        worst = Math.max(worst, Math.min(1, ...S.map((j) => (p[j]! * W) / w[j]!)))
      }
      return worst
    })
  it('on 300 random families of up to 6 tests, by enumerating every intersection', () => {
    const rng = new Rng(42)
    for (let c = 0; c < 300; c++) {
      const m = 1 + rng.int(6)
      const p = Array.from({ length: m }, () => (rng.next() < 0.3 ? rng.next() * 0.01 : rng.next()))
      const w = Array.from({ length: m }, () => [0.25, 0.5, 1, 2][rng.int(4)]!)
      const got = weightedHolm(p, w)
      const want = closed(p, w)
      for (let i = 0; i < m; i++) expect(got[i]!, `case ${c} test ${i}`).toBeCloseTo(want[i]!, 12)
    }
  })
  it('equal weights are Holm; a smaller weight makes a test need a smaller p', () => {
    expect(weightedHolm([0.01, 0.04, 0.03], [1, 1, 1])).toEqual(holm([0.01, 0.04, 0.03]))
    // p = 0.007 beside a null: called at 0.01 with a full weight (0.007 · 1.25), not with a quarter (0.007 · 5).
    const asMedian = weightedHolm([0.007, 0.5], [1, 0.25])
    const asTail = weightedHolm([0.007, 0.5], [0.25, 1])
    expect(asMedian[0]).toBeCloseTo(0.00875, 12)
    expect(asTail[0]).toBeCloseTo(0.035, 12)
    expect(asMedian[1]).toBe(0.5)
    expect(() => weightedHolm([0.1], [0])).toThrow(/positive weight/)
  })
})

describe('standard normal', () => {
  it('tail and quantile invert each other to ~1e-12, far into the tail', () => {
    for (const p of [0.5, 0.975, 0.995, 1e-3, 1e-8, 1e-15]) {
      expect(closeRel(normalSf(-normalQuantile(p)), p, 1e-9), String(p)).toBe(true)
    }
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 12)
    // scipy.stats.norm.sf
    expect(closeRel(normalSf(8), 6.22096057427174e-16, 1e-12)).toBe(true)
    expect(closeRel(normalSf(8.6), 3.985804962848151e-18, 1e-12)).toBe(true)
  })
})

describe("Student's t matches scipy.stats.t", () => {
  const fx = load('student-t.json') as { sf: [number, number, number][]; ppf: [number, number, number][] }
  for (const [t, df, want] of fx.sf) {
    it(`sf(${t}, ${df})`, () => expect(closeRel(studentTSf(t, df), want, 1e-9)).toBe(true))
  }
  for (const [p, df, want] of fx.ppf) {
    it(`ppf(${p}, ${df})`, () => expect(studentTQuantile(p, df)).toBeCloseTo(want, 7))
  }
})
