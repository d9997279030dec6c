// An A/B report judged on its own arms: the paired detector on real reports, the drift both
// arms share cancelled, the verdict the same whether asked block by block or at the end.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { blocksOf, compareArms, decideArms } from '../core/detect/arms.ts'
import { compareRuns, type Run } from '../core/detect/compare.ts'
import { parseComparison } from '../core/detect/comparison.ts'
import { learnPriors, NoisePriors, PRIOR_RUNS } from '../core/detect/noise-prior.ts'
import { renderComparisonMarkdown, statusDescription } from '../core/render/markdown.ts'
import type { Report } from '../core/report.ts'
import { Rng } from '../core/rng.ts'
import { cli, tempDir } from './helpers.ts'
import { type BlockSpec, makePairedReport, makeReport } from './report-factory.ts'

/** Blocks whose two trials share the block's drift (a node phase), the candidate × `change` in TPOT. */
function drifting(n: number, change: number, seed: number, drift = 0.06): BlockSpec[] {
  const rng = new Rng(seed)
  return Array.from({ length: n }, () => {
    const f = Math.exp(drift * rng.normal())
    // Independent trial noise of ≈1% on top of what the block shares.
    const own = () => Math.exp(0.01 * rng.normal())
    return {
      baseline: { ttft: 50 * f * own(), tpot: 10 * f * own() },
      candidate: { ttft: 50 * f * own(), tpot: 10 * change * f * own() },
    }
  })
}

const row = (c: ReturnType<typeof compareArms>, metric: string) => c.metrics.find((m) => m.metric === metric)!

describe('paired comparison of the two arms', () => {
  it('a 20% slower TPOT is a regression, decided within 3 blocks, through drift of 6% per block', () => {
    const report = makePairedReport(1, drifting(10, 1.2, 1))
    const stopAt = [2, 3, 4, 5].find((k) => decideArms(truncated(report, k), { final: false }).stop)
    expect(stopAt).toBeDefined()
    expect(stopAt!).toBeLessThanOrEqual(3)
    // What the load generator writes when the test stops it.
    const stopped = {
      ...truncated(report, stopAt!),
      paired: { ...report.paired!, stopped: 'decided' as const },
    }
    const c = compareArms({ id: 'ab', report: stopped })
    expect(c.status).toBe('regression')
    expect(c.mode).toBe('paired')
    // The run stops at the first gated regression (here output throughput's, at block 2); the
    // metrics not yet decided then stay inconclusive.
    expect(c.metrics.filter((m) => m.gated && m.verdict === 'regression').length).toBeGreaterThan(0)
    expect(['regression', 'inconclusive']).toContain(row(c, 'tpot_ms').verdict)
    expect(row(c, 'ttft_ms').verdict).not.toBe('regression')
    expect(row(c, 'tpot_ms').noise_source).toBe('blocks')
    expect(row(c, 'tpot_ms').delta_pct!).toBeGreaterThan(15)
    expect(c.paired).toEqual({
      blocks: stopAt,
      max_blocks: 10,
      stopped: 'decided',
      order: ['baseline', 'candidate', 'baseline', 'candidate', 'baseline'].slice(0, stopAt),
      prior_run_ids: [],
    })
    expect(c.baseline_run_ids).toEqual([])
    expect(parseComparison(JSON.parse(JSON.stringify(c)))).toEqual(c)
  })

  it('the same server in both arms is no regression, however the node drifts; history mode, fooled by the drift, calls one', () => {
    const blocks = drifting(10, 1, 2, 0.08)
    // The PR run's blocks fall in a slow phase: both arms 15% slower.
    const slow = blocks.map((b) => ({
      baseline: { ttft: b.baseline.ttft! * 1.15, tpot: b.baseline.tpot! * 1.15 },
      candidate: { ttft: b.candidate.ttft! * 1.15, tpot: b.candidate.tpot! * 1.15 },
    }))
    const c = compareArms({ id: 'aa', report: makePairedReport(2, slow) })
    expect(c.metrics.filter((m) => m.verdict === 'regression')).toEqual([])
    expect(['unchanged', 'inconclusive']).toContain(c.status)
    // The candidate's first trial alone against a history measured on a fast node.
    const rng = new Rng(9)
    const history: Run[] = Array.from({ length: 20 }, (_, i) => {
      const f = Math.exp(0.01 * rng.normal())
      return { id: `h${i}`, report: makeReport(100 + i, [{ ttft: 50 * f, tpot: 10 * f }]) }
    })
    const alone = compareRuns(
      { id: 'pr', report: makeReport(3, [slow[0]!.candidate]) },
      history.slice(-5),
      history,
    )
    expect(alone.status).toBe('regression')
  })

  it('inconclusive at the budget says what it reached and how many blocks would settle it', () => {
    // Very noisy trials (σ 0.6 per request, 120 requests) and 2 blocks of budget.
    const noisy = Array.from({ length: 2 }, () => ({
      baseline: { requests: 120, sigma: 0.6 },
      candidate: { requests: 120, sigma: 0.6 },
    }))
    const c = compareArms({
      id: 'x',
      report: makePairedReport(4, noisy, { paired: { max_blocks: 2, stopped: 'budget' } }),
    })
    expect(c.status).toBe('inconclusive')
    expect(c.paired!.stopped).toBe('budget')
    const md = renderComparisonMarkdown(c)
    expect(md).toContain('A/B: the base and this PR ran interleaved on the same hardware')
    expect(md).toMatch(/\*\*Inconclusive:\*\* no regression above \d+%/)
    expect(md).toMatch(/About \d+ blocks would reach the minimum effect/)
    expect(statusDescription(c)).toMatch(/^Inconclusive: no change above \d+%; smaller cannot be excluded/)
  })

  it('blocks are paired by their block number, whatever order the trials are listed in', () => {
    const report = makePairedReport(5, drifting(4, 1.1, 5))
    const trials = report.scenarios[0]!.trials
    const shuffled = [...trials].reverse()
    expect(blocksOf(shuffled).map((b) => [b.baseline?.index, b.candidate?.index, b.first])).toEqual(
      blocksOf(trials).map((b) => [b.baseline?.index, b.candidate?.index, b.first]),
    )
    expect(blocksOf(trials).map((b) => b.first)).toEqual(['baseline', 'candidate', 'baseline', 'candidate'])
  })

  it('infergate compare takes an A/B report alone, and refuses baselines beside it', async () => {
    const dir = tempDir()
    const path = join(dir, 'ab.json')
    writeFileSync(path, JSON.stringify(makePairedReport(6, drifting(4, 1.25, 6))))
    const r = await cli(['compare', '--candidate', path])
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(
      /^bench: regression \(A\/B: the two arms interleaved in \d+ blocks on the same hardware\)/,
    )
    const both = await cli(['compare', '--candidate', path, '--baseline', path])
    expect(both.code).toBe(2)
    expect(both.stderr).toMatch(/is an A\/B report \(it has arms\)/)
  })
})

/** The report as it stood after its first k blocks (what the load generator has then). */
function truncated(r: Report, k: number): Report {
  return {
    ...r,
    scenarios: r.scenarios.map((s) => ({ ...s, trials: s.trials.filter((t) => (t.block ?? 0) < k) })),
  }
}

describe("the prior learned from the project's earlier A/B runs", () => {
  it('pools each run’s block ratios around that run’s own mean (a change in an earlier PR adds nothing)', () => {
    // Two earlier runs: one A/A, one with a +15% TPOT change; the pooled noise must not see the 15%.
    const earlier = [
      { id: 'r2', report: makePairedReport(21, drifting(6, 1.15, 21)) },
      { id: 'r1', report: makePairedReport(22, drifting(4, 1.0, 22)) },
    ]
    const priors = learnPriors('demo', earlier)
    expect(priors.run_ids).toEqual(['r2', 'r1'])
    const tpot = priors.priors.find((p) => p.metric === 'tpot_ms')!
    // By hand: per run, log(candidate / baseline) of the trials' median TPOT per block.
    const ratios = (r: Report) => {
      const t = r.scenarios[0]!.trials
      const blocks = [...new Set(t.map((x) => x.block!))]
      return blocks.map((b) => {
        const v = (arm: string) => t.find((x) => x.block === b && x.arm === arm)!.summary.median_tpot_ms!
        return Math.log(v('candidate') / v('baseline'))
      })
    }
    let ss = 0
    let df = 0
    for (const { report } of earlier) {
      const d = ratios(report)
      const m = d.reduce((a, x) => a + x, 0) / d.length
      ss += d.reduce((a, x) => a + (x - m) ** 2, 0)
      df += d.length - 1
    }
    expect(tpot.df).toBe(8)
    expect(tpot.df).toBe(df)
    expect(tpot.runs).toBe(2)
    expect(tpot.noise_pct).toBeCloseTo(Math.expm1(Math.sqrt(ss / df)) * 100, 10)
    // Around one mean for both runs, the first run's 15% would count as noise.
    const all = earlier.flatMap(({ report }) => ratios(report))
    const grand = all.reduce((a, x) => a + x, 0) / all.length
    const naive =
      Math.expm1(Math.sqrt(all.reduce((a, x) => a + (x - grand) ** 2, 0) / (all.length - 1))) * 100
    expect(tpot.noise_pct).toBeLessThan(naive / 1.5)
    expect(NoisePriors.parse(JSON.parse(JSON.stringify(priors)))).toEqual(priors)
    // The most recent PRIOR_RUNS only.
    const many = Array.from({ length: PRIOR_RUNS + 2 }, (_, i) => ({
      id: `m${i}`,
      report: makePairedReport(30 + i, drifting(3, 1, 30 + i)),
    }))
    expect(learnPriors('demo', many).run_ids).toEqual(many.slice(0, PRIOR_RUNS).map((r) => r.id))
  })

  it('calls a +5% TPOT change in fewer blocks than the weak default, and says where its noise came from', () => {
    const earlier = Array.from({ length: 5 }, (_, i) => ({
      id: `e${i}`,
      report: makePairedReport(40 + i, drifting(10, 1, 40 + i)),
    }))
    const priors = learnPriors('demo', earlier)
    const report = makePairedReport(50, drifting(10, 1.05, 50))
    const firstCall = (o: Parameters<typeof decideArms>[1]) =>
      [2, 3, 4, 5, 6, 7, 8, 9, 10].find((k) =>
        decideArms(truncated(report, k), { ...o, final: false }).series.some(
          (s) => s.verdict === 'regression',
        ),
      ) ?? Infinity
    const learned = firstCall({ priors })
    const weak = firstCall({})
    expect(learned).toBeLessThan(weak)
    const c = compareArms({ id: 'ab', report: truncated(report, learned) }, { priors })
    expect(c.status).toBe('regression')
    expect(row(c, 'tpot_ms').noise_source).toBe('blocks_learned')
    expect(c.paired!.prior_run_ids).toEqual(earlier.map((r) => r.id))
    expect(renderComparisonMarkdown(c)).toMatch(/The block noise of 5 earlier A\/B run\(s\) was the prior/)
    expect(parseComparison(JSON.parse(JSON.stringify(c)))).toEqual(c)
  })

  it('is set aside when this run scatters more than it allows: a noisier node today is not judged with yesterday’s quiet', () => {
    const earlier = Array.from({ length: 5 }, (_, i) => ({
      id: `q${i}`,
      report: makePairedReport(60 + i, drifting(10, 1, 60 + i)),
    }))
    const priors = learnPriors('demo', earlier)
    // Today each trial scatters by 8%, not 1%.
    const rng = new Rng(70)
    const noisy: BlockSpec[] = Array.from({ length: 10 }, () => {
      const own = () => Math.exp(0.08 * rng.normal())
      return {
        baseline: { ttft: 50 * own(), tpot: 10 * own() },
        candidate: { ttft: 50 * own(), tpot: 10 * own() },
      }
    })
    const c = compareArms({ id: 'ab', report: makePairedReport(70, noisy) }, { priors })
    expect(row(c, 'tpot_ms').noise_source).toBe('blocks')
    expect(c.metrics.filter((m) => m.gated && /regression|improvement/.test(m.verdict))).toEqual([])
  })
})
