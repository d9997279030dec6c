// The detector on reports with known truth.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { compareRuns, DEFAULT_SETTINGS, estimateNoise, type Run } from '../core/detect/compare.ts'
import { parseComparison } from '../core/detect/comparison.ts'
import { mannWhitneyU } from '../core/detect/mann-whitney.ts'
import { decisiveP, resolutionOf } from '../core/render/markdown.ts'
import type { Report } from '../core/report.ts'
import { Rng } from '../core/rng.ts'
import { cli, tempDir } from './helpers.ts'
import { makeReport, type TrialSpec } from './report-factory.ts'

const run = (id: string, seed: number, trials: TrialSpec[], opts = {}): Run => ({
  id,
  report: makeReport(seed, trials, opts),
})
const row = (c: ReturnType<typeof compareRuns>, metric: string) => c.metrics.find((m) => m.metric === metric)!

/** Base-branch history whose trial medians wander by `noise` (relative σ) from run to run. */
function history(count: number, noise: number, seed = 100, spec: TrialSpec = {}): Run[] {
  const rng = new Rng(seed)
  return Array.from({ length: count }, (_, i) => {
    const f = Math.exp(noise * rng.normal())
    return run(`h${i}`, seed + i + 1, [{ ...spec, ttft: 50 * f, tpot: 10 * f }])
  })
}

describe('verdicts', () => {
  it('a 20% slower TTFT is a regression, the status says so, the rest is not called', () => {
    const h = history(20, 0.01)
    const c = compareRuns(run('pr', 1, [{ ttft: 60 }]), h.slice(-5), h)
    expect(c.status).toBe('regression')
    expect(row(c, 'ttft_ms').verdict).toBe('regression')
    expect(row(c, 'ttft_ms').delta_pct!).toBeGreaterThan(15)
    expect(['unchanged', 'inconclusive']).toContain(row(c, 'tpot_ms').verdict)
    expect(row(c, 'ttft_ms').noise_source).toBe('history')
    expect(parseComparison(JSON.parse(JSON.stringify(c)))).toEqual(c)
  })

  it('the same code measured again: inconclusive from one trial, unchanged once enough trials show it', () => {
    const precise = { requests: 2000, sigma: 0.1 }
    const h = history(20, 0.01, 100, precise)
    const one = compareRuns(run('pr', 7, [{ ...precise, ttft: 50, tpot: 10 }]), h.slice(-5), h)
    expect(one.status).toBe('inconclusive')
    expect(one.metrics.filter((m) => m.verdict === 'regression')).toEqual([])
    // Inconclusive says what it reached and what would do: the interval is wider than ± the
    // minimum effect, and more trials are named.
    const tpot = row(one, 'tpot_ms')
    expect(tpot.verdict).toBe('inconclusive')
    expect(tpot.ci_pct![1] - tpot.ci_pct![0]).toBeGreaterThan(2 * tpot.min_effect_pct!)
    const r = resolutionOf(one)!
    expect(r.resolutionPct).toBeGreaterThan(DEFAULT_SETTINGS.minEffectPct)
    expect(r.undecided.map((m) => m.metric)).toContain('tpot_ms')
    expect(tpot.needed).toBeGreaterThan(1)
    // `needed` is an estimate from this noise; the baseline's own uncertainty stays, so go past it.
    const trials = Array.from({ length: 40 }, () => ({ ...precise, ttft: 50, tpot: 10 }))
    const enough = compareRuns(run('pr', 7, trials), h.slice(-5), h)
    expect(row(enough, 'tpot_ms').verdict).toBe('unchanged')
    const within = row(enough, 'tpot_ms').ci_pct!
    expect(Math.max(Math.abs(within[0]), Math.abs(within[1]))).toBeLessThan(DEFAULT_SETTINGS.minEffectPct)
  })

  it('run-to-run noise is not a regression, even when Mann-Whitney alone calls it significant', () => {
    // Baselines at the low end of a 2%-noise history, the candidate 4% above them: with 300
    // requests a side the pooled test is sure, but the history shows shifts like that are noise.
    const h = history(20, 0.02)
    const base = [0, 1, 2, 3, 4].map((i) => run(`b${i}`, 200 + i, [{ ttft: 49, tpot: 10, sigma: 0.1 }]))
    const c = compareRuns(run('pr', 9, [{ ttft: 51, tpot: 10, sigma: 0.1 }]), base, [...h, ...base])
    const ttft = row(c, 'ttft_ms')
    expect(ttft.p_adjusted!).toBeLessThan(0.01)
    expect(ttft.p_noise!).toBeGreaterThan(0.01)
    expect(decisiveP(ttft)).toBe(ttft.p_noise)
    expect(['unchanged', 'inconclusive']).toContain(ttft.verdict)
    expect(ttft.mde_pct!).toBeGreaterThan(4)
  })

  it('a change below the minimum effect is not called, however certain', () => {
    const precise = { requests: 3000, sigma: 0.05, outputTokens: 4 }
    const h = history(20, 0.001, 100, precise)
    const c = compareRuns(run('pr', 3, [{ ...precise, ttft: 50.4, tpot: 10 }]), h.slice(-5), h)
    expect(row(c, 'ttft_ms').p_adjusted!).toBeLessThan(0.01)
    expect(row(c, 'ttft_ms').verdict).toBe('unchanged')
  })

  it('faster but with failures grown: no improvement is called, and a warning says why', () => {
    const h = history(20, 0.01)
    const c = compareRuns(run('pr', 4, [{ ttft: 35, failed: 30 }]), h.slice(-5), h)
    expect(row(c, 'ttft_ms').verdict).toBe('inconclusive')
    expect(c.warnings.join()).toMatch(/error rate grew from 0.0% to 9.1%/)
  })

  it('faster with shorter answers is no improvement either', () => {
    const h = history(20, 0.01)
    const c = compareRuns(run('pr', 4, [{ ttft: 35, outputTokens: 32 }]), h.slice(-5), h)
    expect(row(c, 'ttft_ms').verdict).toBe('inconclusive')
    expect(c.warnings.join()).toMatch(/answers got shorter/)
  })

  it("a tail regression is caught: 5% of requests stalling 400 ms moves p99, not the medians (issue 11's case)", () => {
    // Requests as alike as a fixed-length workload makes them (σ 5%): the stalls stand out of the tail.
    const h = history(20, 0.02, 100, { sigma: 0.05 })
    const stalled = [{ sigma: 0.05, stall: { share: 0.05, ms: 400 } }]
    const c = compareRuns(run('pr', 11, stalled), h.slice(-5), h)
    expect(c.status).toBe('regression')
    expect(row(c, 'p99_e2el_ms').verdict).toBe('regression')
    expect(row(c, 'p99_tpot_ms').verdict).toBe('regression')
    expect(row(c, 'p99_e2el_ms').delta_pct!).toBeGreaterThan(30)
    for (const m of ['ttft_ms', 'tpot_ms', 'e2el_ms'] as const)
      expect(row(c, m).verdict).not.toBe('regression')
    // Judged by medians alone (the gated set before tails), the same run passes.
    const medians = compareRuns(run('pr', 11, stalled), h.slice(-5), h, {
      ...DEFAULT_SETTINGS,
      gated: ['ttft_ms', 'tpot_ms', 'e2el_ms', 'output_throughput'],
    })
    expect(medians.status).not.toBe('regression')
  })

  it('a real improvement with the same workload is called', () => {
    const h = history(20, 0.01)
    const c = compareRuns(run('pr', 4, [{ ttft: 35 }]), h.slice(-5), h)
    expect(row(c, 'ttft_ms').verdict).toBe('improvement')
    expect(c.status).toBe('improvement')
  })
})

describe('too little to judge', () => {
  it('no baseline', () => {
    expect(compareRuns(run('pr', 1, [{}]), []).status).toBe('no_baseline')
  })

  it('fewer baseline runs than needed: insufficient data, but the statistics are still reported', () => {
    const c = compareRuns(run('pr', 1, [{ ttft: 80 }]), history(2, 0.01))
    expect(c.status).toBe('insufficient_data')
    expect(row(c, 'ttft_ms').verdict).toBe('insufficient_data')
    expect(row(c, 'ttft_ms').p_value).not.toBeNull()
    expect(c.warnings.join()).toMatch(/only 2 baseline run/)
  })

  it('short history falls back to the prior noise', () => {
    const c = compareRuns(run('pr', 1, [{}]), history(3, 0.01))
    expect(row(c, 'ttft_ms').noise_source).toBe('prior')
    expect(row(c, 'ttft_ms').noise_pct).toBeCloseTo(DEFAULT_SETTINGS.priorNoisePct, 6)
  })
})

describe('what is reported', () => {
  it('p_value is Mann-Whitney on the pooled samples; Holm never lowers it', () => {
    const base = history(5, 0.01)
    const cand = run('pr', 5, [{ ttft: 55 }, { ttft: 54 }])
    const c = compareRuns(cand, base)
    const pooledC = cand.report.scenarios[0]!.trials.flatMap((t) => t.samples!.ttft_ms)
    const pooledB = base.flatMap((b) => b.report.scenarios[0]!.trials[0]!.samples!.ttft_ms)
    expect(row(c, 'ttft_ms').p_value).toBe(mannWhitneyU(pooledC, pooledB).p)
    expect(row(c, 'ttft_ms').candidate.n).toBe(600)
    expect(row(c, 'ttft_ms').baseline).toMatchObject({ runs: 5, n: 1500 })
    for (const m of c.metrics) if (m.p_value !== null) expect(m.p_adjusted!).toBeGreaterThanOrEqual(m.p_value)
  })

  it('more candidate trials give a finer resolution', () => {
    const h = history(20, 0.02)
    const one = row(compareRuns(run('pr', 1, [{}]), h.slice(-5), h), 'tpot_ms')
    const three = row(compareRuns(run('pr', 1, [{}, {}, {}]), h.slice(-5), h), 'tpot_ms')
    expect(three.mde_pct!).toBeLessThan(one.mde_pct!)
    expect(one.mde_pct_3_trials).toBeCloseTo(three.mde_pct!, 6)
  })

  it('environment differences are listed, not used to split baselines', () => {
    const base = history(5, 0.01)
    const c = compareRuns(run('pr', 1, [{}], { engineVersion: '0.12.0' }), base)
    expect(c.environment_diff).toEqual([{ field: 'engine.version', baseline: '0.11.0', candidate: '0.12.0' }])
    expect(c.baseline_run_ids).toEqual(['h0', 'h1', 'h2', 'h3', 'h4'])
  })

  it('noise from history survives a step change in it', () => {
    const steady = Array.from({ length: 20 }, (_, i) => Math.log(50) + 0.02 * Math.sin(i * 12.9898))
    const stepped = steady.map((x, i) => (i >= 10 ? x + Math.log(1.3) : x))
    const a = estimateNoise(steady, DEFAULT_SETTINGS).sigma
    const b = estimateNoise(stepped, DEFAULT_SETTINGS).sigma
    expect(b / a).toBeLessThan(1.3)
  })
})

describe('infergate compare', () => {
  const write = (dir: string, name: string, r: Run) => {
    const p = join(dir, name)
    writeFileSync(p, JSON.stringify(r.report))
    return p
  }

  it('exit 1 and a table on regression, the JSON with --json, exit 0 when inconclusive unless --fail-on-inconclusive', async () => {
    const dir = tempDir()
    const base = history(5, 0.01).flatMap((r, i) => ['--baseline', write(dir, `b${i}.json`, r)])
    const slow = write(dir, 'slow.json', run('pr', 1, [{ ttft: 70 }]))
    const same = write(dir, 'same.json', run('pr', 2, [{}]))
    const r1 = await cli(['compare', ...base, '--candidate', slow])
    expect(r1.code).toBe(1)
    expect(r1.stdout).toMatch(/^bench: regression \(against 5 baseline runs\)/)
    expect(r1.stdout).toMatch(/ttft_ms .* ✖ regression/)
    const r2 = await cli(['compare', ...base, '--candidate', same, '--json'])
    expect(r2.code).toBe(0)
    expect(parseComparison(JSON.parse(r2.stdout)).status).toBe('inconclusive')
    const r3 = await cli(['compare', ...base, '--candidate', same])
    expect(r3.stdout).toMatch(
      /^bench: inconclusive \(against 5 baseline runs\)\ninconclusive: no change above \d+\.\d% \(the resolution reached\); a smaller regression cannot be excluded/,
    )
    expect((await cli(['compare', ...base, '--candidate', same, '--fail-on-inconclusive'])).code).toBe(3)
  })

  it('exit 2 naming the file and the field of a bad report', async () => {
    const dir = tempDir()
    const good = write(dir, 'good.json', run('b', 1, [{}]))
    const bad = join(dir, 'bad.json')
    writeFileSync(bad, JSON.stringify({ ...run('c', 2, [{}]).report, schema: 'nope' }))
    const r = await cli(['compare', '--baseline', good, '--candidate', bad])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`--candidate ${bad}: invalid report: schema:`)
    const r2 = await cli(['compare', '--candidate', good])
    expect(r2.code).toBe(2)
    expect(r2.stderr).toMatch(/give at least one --baseline/)
  })

  /** A report of another workload: the fields a user changes by mistake, not on purpose. */
  const other = (r: Run, change: (report: Report) => void): Run => {
    // Every run here is made whole by makeReport; the detector's type reads less of it.
    const report = structuredClone(r.report) as Report
    change(report)
    return { id: r.id, report }
  }

  it("refuses reports that do not measure the same workload, naming each difference (issue 10's case)", async () => {
    const dir = tempDir()
    // Baselines of benchmark aa (completions, 128 in / 64 out), a candidate default (chat, 512 in / 32 out).
    const base = history(5, 0.01).map((r, i) =>
      write(
        dir,
        `aa${i}.json`,
        other(r, (x) => Object.assign(x, { benchmark: 'aa' })),
      ),
    )
    const cand = other(run('pr', 1, [{ outputTokens: 32 }]), (x) => {
      x.benchmark = 'default'
      x.environment.endpoint.api = 'chat'
      x.workload.input_tokens = { mean: 512, stddev: 0, min: 1, max: 32768 }
      x.workload.output_tokens = { mean: 32, stddev: 0, min: 1, max: 2048 }
    })
    const candidate = write(dir, 'default.json', cand)
    const args = ['compare', ...base.flatMap((b) => ['--baseline', b]), '--candidate', candidate]
    const r = await cli(args)
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    const line = r.stderr.trim()
    expect(line.split('\n')).toHaveLength(1)
    expect(line).toMatch(/^infergate compare: error: the reports do not measure the same workload: /)
    expect(line).toContain('benchmark: baseline "aa", candidate "default"')
    expect(line).toContain('environment.endpoint.api: baseline "completions", candidate "chat"')
    expect(line).toContain(
      'workload.input_tokens: baseline {"mean":128,"stddev":0,"min":1,"max":1000}, candidate {"mean":512,"stddev":0,"min":1,"max":32768}',
    )
    expect(line).toContain('workload.output_tokens: baseline {"mean":64')
    expect(line).toMatch(/\(--allow-mismatch compares them anyway\)$/)

    // Asked for explicitly: compared, with the differences as warnings on stderr and in the comparison.
    const allowed = await cli([...args, '--allow-mismatch', '--json'])
    expect(allowed.code).toBe(0)
    expect(allowed.stderr).toContain('infergate compare: warning: compared despite: benchmark: baseline "aa"')
    const c = parseComparison(JSON.parse(allowed.stdout))
    expect(c.warnings).toContain('compared despite a mismatch: benchmark: baseline "aa", candidate "default"')
  })

  it('names the one baseline that differs, and dataset, ignore_eos, hardware and scenario load count', async () => {
    const dir = tempDir()
    const h = history(3, 0.01)
    const files = [
      write(dir, 'b0.json', h[0]!),
      write(
        dir,
        'b1.json',
        other(h[1]!, (x) => {
          x.workload.ignore_eos = false
          x.workload.source = 'dataset'
          x.workload.dataset = 'sharegpt.jsonl'
          x.environment.gpu = { model: 'NVIDIA-H100-80GB-HBM3', count: 2 }
          x.scenarios[0]!.load = { mode: 'closed', concurrency: 16 }
        }),
      ),
      write(dir, 'b2.json', h[2]!),
    ]
    const candidate = write(dir, 'c.json', run('pr', 1, [{}]))
    const r = await cli(['compare', ...files.flatMap((b) => ['--baseline', b]), '--candidate', candidate])
    expect(r.code).toBe(2)
    const named = (field: string, b: unknown, c: unknown) =>
      `${field}: baseline ${JSON.stringify(b)} (--baseline ${files[1]}), candidate ${JSON.stringify(c)}`
    expect(r.stderr).toContain(named('workload.ignore_eos', false, true))
    expect(r.stderr).toContain(named('workload.source', 'dataset', 'synthetic'))
    expect(r.stderr).toContain(named('workload.dataset', 'sharegpt.jsonl', null))
    expect(r.stderr).toContain(named('environment.gpu.model', 'NVIDIA-H100-80GB-HBM3', 'NVIDIA-L4'))
    expect(r.stderr).toContain(named('environment.gpu.count', 2, 1))
    expect(r.stderr).toContain(
      named(
        'scenarios.concurrency-8.load',
        { mode: 'closed', concurrency: 16 },
        { mode: 'closed', concurrency: 8 },
      ),
    )
    // History reports are checked too: their noise must be this workload's.
    const hist = write(
      dir,
      'h.json',
      other(h[0]!, (x) => Object.assign(x, { benchmark: 'aa' })),
    )
    const good = [files[0]!, files[2]!, files[0]!].flatMap((b) => ['--baseline', b])
    const r2 = await cli(['compare', ...good, '--history', hist, '--candidate', candidate])
    expect(r2.code).toBe(2)
    expect(r2.stderr).toContain(`benchmark: history "aa" (--history ${hist}), candidate "bench"`)
  })

  it('what users change on purpose (model, engine, seed, URL, config, warmup) is no mismatch', async () => {
    const dir = tempDir()
    const base = history(5, 0.01).flatMap((r, i) => ['--baseline', write(dir, `b${i}.json`, r)])
    const cand = other(run('pr', 2, [{}], { engineVersion: '0.12.0' }), (x) => {
      x.environment.model = 'llama-3.1-8b-instruct-awq'
      x.environment.endpoint.url = 'http://10.0.0.7:8080/openai/v1'
      x.environment.config = { quantization: 'awq' }
      x.workload.seed = 918273 // drawn per run
      x.workload.warmup_requests = 10
    })
    const r = await cli(['compare', ...base, '--candidate', write(dir, 'c.json', cand)])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^bench: (unchanged|inconclusive)/)
    expect(r.stdout).toContain('environment: engine.version "0.11.0" → "0.12.0"')
  })

  it('no scenario in common is no pass: exit 2 naming the scenarios of each side, even with --allow-mismatch', async () => {
    const dir = tempDir()
    const base = history(3, 0.01).flatMap((r, i) => ['--baseline', write(dir, `b${i}.json`, r)])
    const cand = makeReport(2, [{}, {}], { scenario: 'rate-10' })
    const candidate = join(dir, 'c.json')
    writeFileSync(candidate, JSON.stringify(cand))
    for (const extra of [[], ['--allow-mismatch']]) {
      const r = await cli(['compare', ...base, '--candidate', candidate, ...extra])
      expect(r.code).toBe(2)
      expect(r.stderr.trim()).toBe(
        'infergate compare: error: no scenario in common: the candidate has rate-10, the baselines have concurrency-8',
      )
    }
  })

  it('a scenario on one side only is compared without it, and a warning says which', async () => {
    const dir = tempDir()
    const base = history(3, 0.01).flatMap((r, i) => ['--baseline', write(dir, `b${i}.json`, r)])
    const two = makeReport(2, [{}])
    const extra = makeReport(3, [{}], { scenario: 'concurrency-16' }).scenarios[0]!
    two.scenarios.push({ ...extra, load: { mode: 'closed', concurrency: 16 } })
    const r = await cli([
      'compare',
      ...base,
      '--candidate',
      write(dir, 'c.json', { id: 'pr', report: two }),
      '--json',
    ])
    expect(r.code).toBe(0)
    const c = parseComparison(JSON.parse(r.stdout))
    expect(c.warnings).toContain('scenario concurrency-16: in no baseline report, not compared')
  })

  it('--help says what each exit code means', async () => {
    const r = await cli(['compare', '--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('--allow-mismatch')
    expect(r.stdout).toMatch(
      /Exit codes:\n {2}0 {2}no gated metric regressed.*\n {2}1 {2}a gated metric regressed\n {2}2 {2}/,
    )
    expect(r.stdout).toContain('no scenario in common')
  })
})
