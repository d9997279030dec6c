// The paired, sequential A/B detector (core/detect/paired.ts): its statistics against SciPy and
// brute force, its decisions against an independent re-implementation of the method in Python
// (test/fixtures/paired-reference.py: `python3 test/fixtures/paired-reference.py >
// test/fixtures/paired-reference.json`), and its behaviour on seeded simulated runs.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { holm } from '../core/detect/holm.ts'
import {
  DEFAULT_PAIRED_SETTINGS,
  decidePaired,
  fSf,
  type PairedBlock,
  type PairedDecision,
  type PairedSeries,
  type PairedSettings,
  quantileSeLog,
  shouldStop,
  signFlipP,
  tUpper,
} from '../core/detect/paired.ts'
import { studentTSf } from '../core/detect/student-t.ts'
import { Rng } from '../core/rng.ts'

interface RefSeries {
  name: string
  blocks: ([number, number] | null)[][]
  gated: boolean
  direction: 'lower_is_better' | 'higher_is_better'
  min: number
  /** A learned prior: [σ of a block's log ratio, its df]. */
  prior?: [number, number]
}
const ref = JSON.parse(
  readFileSync(new URL('./fixtures/paired-reference.json', import.meta.url), 'utf8'),
) as {
  settings: PairedSettings
  isf: [number, number, number][]
  sf: [number, number, number][]
  holm: [number[], number[]][]
  signflip: [number[], number][]
  fsf: [number, number, number, number][]
  cases: { name: string; series: RefSeries[]; final: boolean; want: PairedDecision }[]
}

const closeRel = (a: number, b: number, rel = 1e-9) =>
  Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b), 1e-300)

const toSeries = (r: RefSeries): PairedSeries => ({
  blocks: r.blocks.map(([b, c]) => ({
    baseline: b ? { value: b[0], seLog: b[1] } : null,
    candidate: c ? { value: c[0], seLog: c[1] } : null,
  })),
  gated: r.gated,
  direction: r.direction,
  minEffectPct: r.min,
  prior: r.prior ? { sdLog: r.prior[0], df: r.prior[1] } : null,
})

describe('paired statistics match SciPy and brute force', () => {
  it('uses the defaults the reference was computed with', () => {
    expect(ref.settings).toEqual(DEFAULT_PAIRED_SETTINGS)
  })
  for (const [tail, df, want] of ref.isf) {
    it(`t upper quantile: isf(${tail.toExponential(3)}, ${df}) = ${want.toFixed(4)}`, () =>
      expect(closeRel(tUpper(tail, df), want, 1e-9), `${tUpper(tail, df)}`).toBe(true))
  }
  for (const [t, df, want] of ref.sf) {
    it(`t tail: sf(${t}, ${df}) = ${want.toExponential(4)}`, () =>
      expect(closeRel(studentTSf(t, df), want, 1e-9), `${studentTSf(t, df)}`).toBe(true))
  }
  for (const [p, want] of ref.holm) {
    it(`Holm of ${p.join(', ')}`, () =>
      holm(p).forEach((x, i) => {
        expect(closeRel(x, want[i]!, 1e-12), `${x} vs ${want[i]}`).toBe(true)
      }))
  }
  for (const [d, want] of ref.signflip) {
    it(`sign-flip p over ${d.length} blocks = ${want}`, () => expect(signFlipP(d)).toBe(want))
  }
  it("F's upper tail, for the learned prior's conflict test", () => {
    for (const [f, d1, d2, want] of ref.fsf) {
      expect(closeRel(fSf(f, d1, d2), want, 1e-9), `F(${d1}, ${d2}) > ${f}`).toBe(true)
    }
  })

  it('sign-flip p: nothing for no blocks or more than 16', () => {
    expect(signFlipP([])).toBeNull()
    expect(signFlipP(new Array(17).fill(0.01))).toBeNull()
    // The smallest p n blocks can give: both all-same-sign patterns of 2^n.
    expect(signFlipP([0.1, 0.2, 0.3])).toBe(0.25)
  })
})

describe('decisions match the reference implementation', () => {
  for (const c of ref.cases) {
    it(c.name, () => {
      const got = decidePaired(c.series.map(toSeries), DEFAULT_PAIRED_SETTINGS, { final: c.final })
      expect({ stop: got.stop, stopped: got.stopped, blocks: got.blocks }).toEqual({
        stop: c.want.stop,
        stopped: c.want.stopped,
        blocks: c.want.blocks,
      })
      got.series.forEach((g, i) => {
        const w = c.want.series[i]!
        const name = c.series[i]!.name
        expect([g.verdict, g.decidedAtBlock, g.blocks, g.needed, g.pSignflip, g.prior], name).toEqual([
          w.verdict,
          w.decidedAtBlock,
          w.blocks,
          w.needed,
          w.pSignflip,
          w.prior,
        ])
        for (const k of ['deltaPct', 'p', 'pAdjusted', 'noisePct', 'mdePct'] as const) {
          const a = g[k]
          const b = w[k]
          if (b === null) expect(a, `${name} ${k}`).toBeNull()
          else expect(closeRel(a!, b, 1e-8), `${name} ${k}: ${a} vs ${b}`).toBe(true)
        }
        expect(
          closeRel(g.ciPct![0], w.ciPct![0], 1e-8) && closeRel(g.ciPct![1], w.ciPct![1], 1e-8),
          name,
        ).toBe(true)
      })
    })
  }
})

/** Blocks of several series: a shared drift per block (same factor on both arms), independent per-trial noise. */
function simulate(
  rng: Rng,
  opts: {
    shift: number[]
    noise: number
    drift: number
    seLog?: number
    minEffect?: number
    gated?: boolean[]
  },
  settings: PairedSettings = DEFAULT_PAIRED_SETTINGS,
): { decision: PairedDecision; history: PairedDecision[] } {
  const series: (PairedSeries & { blocks: PairedBlock[] })[] = opts.shift.map((_, i) => ({
    blocks: [],
    direction: 'lower_is_better',
    gated: opts.gated?.[i] ?? true,
    minEffectPct: opts.minEffect ?? 2,
  }))
  let drift = 0
  const history: PairedDecision[] = []
  for (let k = 1; k <= settings.maxBlocks; k++) {
    drift += opts.drift * rng.normal()
    opts.shift.forEach((shift, i) => {
      const seLog = opts.seLog ?? 0
      const b = 100 * Math.exp(drift + opts.noise * rng.normal())
      const c = 100 * shift * Math.exp(drift + opts.noise * rng.normal())
      series[i]!.blocks.push({ baseline: { value: b, seLog }, candidate: { value: c, seLog } })
    })
    const decision = decidePaired(series, settings)
    history.push(decision)
    if (decision.stop) return { decision, history }
  }
  throw new Error('the budget did not stop the run')
}

describe('seeded simulated runs', () => {
  it('calls a +20% shift with 1% noise a regression at block 2 or 3', () => {
    const rng = new Rng(20)
    const at: number[] = []
    for (let r = 0; r < 50; r++) {
      const { decision } = simulate(rng, { shift: [1.2, 1, 1, 1], noise: 0.01, drift: 0.05 })
      expect(decision.stopped).toBe('decided')
      expect(decision.series[0]!.verdict).toBe('regression')
      at.push(decision.series[0]!.decidedAtBlock!)
      for (const other of decision.series.slice(1)) expect(other.verdict).not.toBe('regression')
    }
    expect(Math.max(...at)).toBeLessThanOrEqual(3)
  })

  it('A/A with 5% shared drift per block and 1% noise: no alarm in 200 runs, unchanged or inconclusive', () => {
    const rng = new Rng(7)
    const final = new Map<string, number>()
    let unchanged = 0
    for (let r = 0; r < 200; r++) {
      // minimum effect 3% so that "unchanged" is reachable within the budget; 2% for half the series.
      const { decision, history } = simulate(rng, {
        shift: [1, 1, 1, 1, 1, 1],
        noise: 0.01,
        drift: 0.05,
        minEffect: r % 2 ? 3 : 2,
      })
      for (const d of history) {
        for (const s of d.series) expect(['continue', 'unchanged', 'inconclusive']).toContain(s.verdict)
      }
      for (const s of decision.series) {
        final.set(s.verdict, (final.get(s.verdict) ?? 0) + 1)
        expect(['unchanged', 'inconclusive']).toContain(s.verdict)
      }
      if (decision.series.every((s) => s.verdict === 'unchanged')) unchanged++
    }
    // Equivalence is shown on some runs (3% bounds), not only given up on.
    expect(unchanged).toBeGreaterThan(20)
  })

  it('does not call a noisy p99-like series early: its sampling SE widens the prior', () => {
    // The same consistent +15% on two blocks: decided with no sampling noise, not with seLog 8%.
    const blocks = (seLog: number): PairedBlock[] => [
      { baseline: { value: 100, seLog }, candidate: { value: 115, seLog } },
      { baseline: { value: 104, seLog }, candidate: { value: 120, seLog } },
    ]
    const one = (seLog: number) =>
      decidePaired([{ blocks: blocks(seLog), direction: 'lower_is_better', gated: true, minEffectPct: 10 }])
        .series[0]!
    expect(one(0).verdict).toBe('regression')
    expect(one(0.08).verdict).toBe('continue')
    expect(one(0.08).noisePct!).toBeGreaterThan(5)
    // And an A/A p99 that really scatters by 8% a trial never alarms.
    const rng = new Rng(99)
    for (let r = 0; r < 200; r++) {
      const { history } = simulate(rng, {
        shift: [1, 1, 1],
        noise: 0.08,
        drift: 0.03,
        seLog: 0.08,
        minEffect: 10,
      })
      for (const d of history)
        for (const s of d.series) expect(s.verdict).not.toMatch(/regression|improvement/)
    }
  })

  it('stops only on what the rule says', () => {
    const block = (b: number, c: number): PairedBlock => ({
      baseline: { value: b, seLog: 0 },
      candidate: { value: c, seLog: 0 },
    })
    const regressed = (n: number) => Array.from({ length: n }, (_, j) => block(100 + j, 130 + 1.3 * j))
    const flat = (n: number) =>
      Array.from({ length: n }, (_, j) => block(100 + j, 100 + j + (j % 2 ? 0.5 : -0.5)))
    const noisy = (n: number) => Array.from({ length: n }, (_, j) => block(100, j % 2 ? 108 : 93))
    const s = (blocks: PairedBlock[], gated = true): PairedSeries => ({
      blocks,
      gated,
      direction: 'lower_is_better',
      minEffectPct: 2,
    })
    // Before minBlocks: no look, whatever the data.
    expect(decidePaired([s(regressed(1))]).stop).toBe(false)
    expect(decidePaired([s(regressed(1))]).series[0]!.verdict).toBe('continue')
    // A gated regression stops the run though another gated series is undecided, which is then inconclusive.
    const d = decidePaired([s(regressed(3)), s(noisy(3))])
    expect([d.stop, d.stopped, d.series[0]!.verdict, d.series[1]!.verdict]).toEqual([
      true,
      'decided',
      'regression',
      'inconclusive',
    ])
    expect(shouldStop([s(regressed(3)), s(noisy(3))])).toBe(true)
    // A regression of a series that is not gated is reported, and does not stop the run.
    const ng = decidePaired([s(regressed(3), false), s(noisy(3))])
    expect([ng.stop, ng.series[0]!.verdict, ng.series[1]!.verdict]).toEqual([false, 'regression', 'continue'])
    expect(shouldStop([s(regressed(3), false), s(noisy(3))])).toBe(false)
    // Every gated series decided (here unchanged) stops, as decided.
    const un = decidePaired([s(flat(8)), s(flat(8))])
    expect(un.series.map((x) => x.verdict)).toEqual(['unchanged', 'unchanged'])
    expect(un.stopped).toBe('decided')
    // The budget: undecided at K blocks is inconclusive; blocks beyond K are not looked at.
    const budget = decidePaired([s(noisy(10))])
    expect([budget.stopped, budget.series[0]!.verdict, budget.blocks]).toEqual(['budget', 'inconclusive', 10])
    expect(decidePaired([s(noisy(9))]).stop).toBe(false)
    expect(decidePaired([s([...noisy(10), ...regressed(5)])]).series[0]!.verdict).toBe('inconclusive')
    // final: an answer on fewer blocks, the run not stopped by the rule.
    const fin = decidePaired([s(noisy(4))], DEFAULT_PAIRED_SETTINGS, { final: true })
    expect([fin.stop, fin.stopped, fin.series[0]!.verdict]).toEqual([false, null, 'inconclusive'])
  })

  it('keeps the verdict and the figures of the first decisive look', () => {
    const blocks: PairedBlock[] = [110, 112, 111, 100, 99, 101].map((c) => ({
      baseline: { value: 100, seLog: 0 },
      candidate: { value: c, seLog: 0 },
    }))
    const series = (n: number): PairedSeries[] => [
      { blocks: blocks.slice(0, n), gated: false, direction: 'lower_is_better', minEffectPct: 2 },
      {
        blocks: blocks.slice(0, n).map(() => blocks[0]!),
        gated: true,
        direction: 'lower_is_better',
        minEffectPct: 50,
      },
    ]
    const at3 = decidePaired(series(3)).series[0]!
    const at6 = decidePaired(series(6)).series[0]!
    expect(at3.verdict).toBe('regression')
    expect(at6).toEqual(at3)
    expect(at6.decidedAtBlock).toBe(at3.decidedAtBlock)
    expect(at6.blocks).toBeLessThanOrEqual(3)
  })

  it('insufficient data: a series with fewer usable blocks than minBlocks, at the end', () => {
    const some: PairedBlock[] = Array.from({ length: 10 }, (_, j) => ({
      baseline: j === 4 ? { value: 100, seLog: 0 } : null,
      candidate: { value: 101, seLog: 0 },
    }))
    const none: PairedBlock[] = Array.from({ length: 10 }, () => ({ baseline: null, candidate: null }))
    const bad: PairedBlock[] = Array.from({ length: 10 }, () => ({
      baseline: { value: 0, seLog: 0 },
      candidate: { value: Number.NaN, seLog: 0 },
    }))
    const d = decidePaired(
      [some, none, bad].map((blocks) => ({
        blocks,
        gated: true,
        direction: 'lower_is_better',
        minEffectPct: 2,
      })),
    )
    expect(d.series.map((x) => [x.verdict, x.blocks])).toEqual([
      ['insufficient_data', 1],
      ['insufficient_data', 0],
      ['insufficient_data', 0],
    ])
    expect(d.series[1]!.deltaPct).toBeNull()
    // A gated series with no data at all does not hold up the stop rule.
    const flat: PairedBlock[] = Array.from({ length: 6 }, (_, j) => ({
      baseline: { value: 100 + j, seLog: 0 },
      candidate: { value: 100 + j, seLog: 0 },
    }))
    const mixed = decidePaired([
      { blocks: flat, gated: true, direction: 'lower_is_better', minEffectPct: 3 },
      { blocks: none.slice(0, 6), gated: true, direction: 'lower_is_better', minEffectPct: 3 },
    ])
    expect([mixed.stopped, mixed.series[0]!.verdict, mixed.series[1]!.verdict]).toEqual([
      'decided',
      'unchanged',
      'insufficient_data',
    ])
  })

  it('refuses settings that cannot work', () => {
    expect(() => decidePaired([], { ...DEFAULT_PAIRED_SETTINGS, minBlocks: 11 })).toThrow(RangeError)
    expect(() => decidePaired([], { ...DEFAULT_PAIRED_SETTINGS, alpha: 0 })).toThrow(RangeError)
  })
})

describe('quantileSeLog', () => {
  it('reads the order statistics at nq ∓ √(nq(1−q))', () => {
    // log x_(i) = i/100: ranks 45 and 55 around the median of 100 (√(100·0.25) = 5).
    const xs = Array.from({ length: 100 }, (_, i) => Math.exp((i + 1) / 100))
    expect(quantileSeLog(xs, 0.5)).toBeCloseTo(0.05, 12)
    // p90: nq = 90, √9 = 3: ranks 87 and 93.
    expect(quantileSeLog(xs, 0.9)).toBeCloseTo(0.03, 12)
    expect(quantileSeLog([5], 0.5)).toBe(0)
    expect(() => quantileSeLog(xs, 99)).toThrow(RangeError)
  })

  it("estimates the spread of a trial's log median and log p99 across trials", () => {
    const rng = new Rng(5)
    const n = 1000
    for (const [q, tol] of [
      [0.5, 0.1],
      [0.99, 0.2],
    ] as const) {
      const logs: number[] = []
      const ses: number[] = []
      for (let t = 0; t < 400; t++) {
        const xs = Float64Array.from({ length: n }, () => 10 * Math.exp(0.25 * rng.normal())).sort()
        const h = (n - 1) * q
        logs.push(
          Math.log(xs[Math.floor(h)]! + (h - Math.floor(h)) * (xs[Math.ceil(h)]! - xs[Math.floor(h)]!)),
        )
        ses.push(quantileSeLog(xs, q))
      }
      const m = logs.reduce((a, x) => a + x, 0) / logs.length
      const sd = Math.sqrt(logs.reduce((a, x) => a + (x - m) ** 2, 0) / (logs.length - 1))
      const meanSe = ses.reduce((a, x) => a + x, 0) / ses.length
      expect(Math.abs(meanSe / sd - 1), `q ${q}: se ${meanSe} vs sd ${sd}`).toBeLessThan(tol)
    }
  })
})
