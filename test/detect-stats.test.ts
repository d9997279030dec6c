// The detector's statistics against trusted implementations: SciPy's mannwhitneyu and numpy
// brute force (test/fixtures/mannwhitney.py, the command in its header), statsmodels' Holm
// (test/fixtures/holm.py).
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { hodgesLehmann, kthDifference } from '../core/detect/hodges-lehmann.ts'
import { holm } from '../core/detect/holm.ts'
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
