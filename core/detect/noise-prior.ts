// The block noise a project's earlier A/B runs measured, as the prior of its next one (issue 11).
// The paired test's default prior (σ0 2%, ν0 4) is a guess about hardware nobody has measured;
// with it, 2–6 blocks say too little about their own spread for the tiny per-look alpha, and a
// +5% change waits for 10 blocks where an oracle that knows the noise calls it in 6. History mode
// learns run-to-run noise from the base branch; A/B mode learns the noise of a block's ratio from
// earlier A/B runs of the same benchmark: each run's blocks around that run's own mean (so a real
// change in an earlier PR adds nothing), pooled. One definition, served by the service to the
// Action (for its stop rule) and used by the service's verdict, so both judge alike.
import { z } from 'zod'
import { text } from '../limits.ts'
import { type ArmsReport, blocksOf, trialValue } from './arms.ts'
import { METRICS, type MetricName } from './comparison.ts'
import type { NoisePrior } from './paired.ts'

/** The most recent earlier A/B runs a prior is learned from: recent enough to be this hardware's. */
export const PRIOR_RUNS = 5

export const NoisePriorEntry = z.object({
  scenario: text(100).min(1),
  metric: z.enum(METRICS),
  /** (exp(σ) − 1) × 100, σ the pooled SD of a block's log ratio candidate / baseline. */
  noise_pct: z.number().nonnegative(),
  /** Σ (blocks − 1) over the runs that had this series. */
  df: z.number().int().positive(),
  /** How many of the runs had it. */
  runs: z.number().int().positive(),
})
export type NoisePriorEntry = z.infer<typeof NoisePriorEntry>

export const NoisePriors = z.object({
  schema: z.literal('infergate.noise-priors/v1'),
  benchmark: z.string(),
  /** The earlier A/B runs it was learned from, newest first. */
  run_ids: z.array(z.string()),
  priors: z.array(NoisePriorEntry),
})
export type NoisePriors = z.infer<typeof NoisePriors>

/**
 * The pooled noise of a block's log ratio over runs: each run's ratios around its own mean,
 * Σ squares over Σ (blocks − 1). Runs with fewer than 2 blocks add nothing; null when nothing
 * varies (no runs, or every ratio equal: a prior of 0 would make any difference significant).
 */
export function pooledNoise(runs: readonly (readonly number[])[]): NoisePrior | null {
  let ss = 0
  let df = 0
  for (const d of runs) {
    if (d.length < 2) continue
    const mean = d.reduce((a, x) => a + x, 0) / d.length
    ss += d.reduce((a, x) => a + (x - mean) ** 2, 0)
    df += d.length - 1
  }
  return df > 0 && ss > 0 ? { sdLog: Math.sqrt(ss / df), df } : null
}

/** The pooled block noise of each scenario × metric over `runs` (newest first, at most PRIOR_RUNS used). */
export function learnPriors(
  benchmark: string,
  runs: readonly { id: string; report: ArmsReport }[],
): NoisePriors {
  const used = runs.slice(0, PRIOR_RUNS)
  const bySeries = new Map<string, { scenario: string; metric: MetricName; runs: number[][] }>()
  for (const run of used) {
    for (const scenario of run.report.scenarios) {
      const blocks = blocksOf(scenario.trials)
      for (const metric of METRICS) {
        const d: number[] = []
        for (const b of blocks) {
          const base = b.baseline ? trialValue(b.baseline, metric) : null
          const cand = b.candidate ? trialValue(b.candidate, metric) : null
          if (base && cand) d.push(Math.log(cand.value / base.value))
        }
        if (d.length < 2) continue
        const k = `${scenario.name}\u0000${metric}`
        const entry = bySeries.get(k) ?? { scenario: scenario.name, metric, runs: [] }
        entry.runs.push(d)
        bySeries.set(k, entry)
      }
    }
  }
  const priors: NoisePriorEntry[] = []
  for (const { scenario, metric, runs: d } of bySeries.values()) {
    const noise = pooledNoise(d)
    if (noise) {
      priors.push({
        scenario,
        metric,
        noise_pct: Math.expm1(noise.sdLog) * 100,
        df: noise.df,
        runs: d.length,
      })
    }
  }
  return { schema: 'infergate.noise-priors/v1', benchmark, run_ids: used.map((r) => r.id), priors }
}
