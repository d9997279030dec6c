// The comparison format: what the detector says about a run against its baseline. One
// definition, used by `infergate compare`, the service's API and the PR comment.
import { z } from 'zod'
import { parseWith } from '../validation.ts'

export const REQUEST_METRICS = ['ttft_ms', 'tpot_ms', 'itl_ms', 'e2el_ms'] as const
/** Per-trial quantiles: one value per trial, with their own run-to-run noise. */
export const TAIL_METRICS = [
  'p90_ttft_ms',
  'p99_ttft_ms',
  'p90_tpot_ms',
  'p99_tpot_ms',
  'p90_e2el_ms',
  'p99_e2el_ms',
] as const
export const TRIAL_METRICS = [
  'output_throughput',
  'request_throughput',
  'request_goodput',
  /** Share of requests meeting every SLO (null without SLOs). */
  'slo_attainment',
] as const
export const METRICS = [...REQUEST_METRICS, ...TAIL_METRICS, ...TRIAL_METRICS] as const
export type MetricName = (typeof METRICS)[number]
/** Latency metrics compare per-request samples; the others one value per trial. */
export function isRequestMetric(m: MetricName): m is (typeof REQUEST_METRICS)[number] {
  return (REQUEST_METRICS as readonly string[]).includes(m)
}
export function isTailMetric(m: MetricName): m is (typeof TAIL_METRICS)[number] {
  return (TAIL_METRICS as readonly string[]).includes(m)
}
/** Latencies (and their tails) are better lower; throughputs and attainment higher. */
export function lowerIsBetter(m: MetricName): boolean {
  return isRequestMetric(m) || isTailMetric(m)
}
/**
 * Medians, the p99 of E2E latency (a stall in a few requests moves only the tails, and a stall in
 * prefill or in decode both land in E2EL's) and SLO attainment (only when SLOs are set: otherwise
 * it has no values and no verdict). The other tails are reported, not gated: every gated metric
 * costs the rest power under Holm (bench:detector measured +10% TPOT called 40% → 32% of the time
 * with all three p99s gated).
 */
export const DEFAULT_GATED: readonly MetricName[] = [
  'ttft_ms',
  'tpot_ms',
  'e2el_ms',
  'output_throughput',
  'p99_e2el_ms',
  'slo_attainment',
]
/**
 * The share of alpha a gated test gets in Holm's steps (weighted Holm: core/detect/holm.ts). A
 * tail's regressions are large (a stall moves the p99 by tens of percent) and its noise is wide,
 * so it is tested at a quarter of a median's share: gating it then costs the medians little.
 */
export function holmWeight(m: MetricName): number {
  return isTailMetric(m) ? 0.25 : 1
}

/**
 * A p99 of a few hundred requests moves by several percent between identical trials: the change
 * worth calling is larger than a median's.
 */
export const DEFAULT_MIN_EFFECT_BY_METRIC: Partial<Record<MetricName, number>> = {
  p90_ttft_ms: 5,
  p90_tpot_ms: 5,
  p90_e2el_ms: 5,
  p99_ttft_ms: 10,
  p99_tpot_ms: 10,
  p99_e2el_ms: 10,
}

/**
 * unchanged: the interval of the change lies inside ± the minimum effect. inconclusive: neither
 * a change nor its absence shown (the resolution reached is above the minimum effect).
 */
export const Verdict = z.enum(['regression', 'improvement', 'unchanged', 'inconclusive', 'insufficient_data'])
export type Verdict = z.infer<typeof Verdict>

const num = z.number()
const nullableNum = num.nullable()

export const MetricComparison = z.object({
  scenario: z.string(),
  metric: z.enum(METRICS),
  direction: z.enum(['lower_is_better', 'higher_is_better']),
  gated: z.boolean(),
  baseline: z.object({
    runs: z.number().int().nonnegative(),
    n: z.number().int().nonnegative(),
    median: nullableNum,
  }),
  candidate: z.object({ n: z.number().int().nonnegative(), median: nullableNum }),
  /**
   * (candidate median / baseline median − 1) × 100 for request metrics; for trial-level ones
   * (tails, throughputs, attainment) the ratio of the trial values' geometric means; in paired
   * mode the geometric mean of the blocks' ratios.
   */
  delta_pct: nullableNum,
  /** Mann-Whitney U of the candidate's values, and its two-sided p-value. */
  u: nullableNum,
  p_value: nullableNum,
  /** Holm-adjusted over every metric × scenario of the comparison. */
  p_adjusted: nullableNum,
  /** Hodges-Lehmann shift (candidate − baseline, in the metric's unit) and its 95% interval. */
  /**
   * The noise test: candidate vs baseline log trial medians against the run-to-run spread;
   * Holm-adjusted over the gated metrics for gated ones. Absent in comparisons stored before it.
   */
  p_noise: nullableNum.default(null),
  hl_shift: nullableNum,
  hl_ci: z.tuple([num, num]).nullable(),
  /** Run-to-run noise (σ of log run medians) the verdict allowed for, and where it came from. */
  noise_pct: nullableNum,
  /**
   * history/prior: history mode. blocks: paired mode, from the blocks' ratios with the weak
   * default prior; blocks_learned: with the block noise of the project's earlier A/B runs.
   */
  noise_source: z.enum(['history', 'prior', 'blocks', 'blocks_learned']).nullable(),
  /** Smallest |delta_pct| this comparison could have called, and with 3 candidate trials. */
  mde_pct: nullableNum,
  mde_pct_3_trials: nullableNum,
  /**
   * The interval of the change in % (candidate vs baseline) at the level the verdict used:
   * unchanged needs it inside ± min_effect_pct. Absent in comparisons stored before it.
   */
  ci_pct: z.tuple([num, num]).nullable().default(null),
  /** The minimum effect this metric was judged with. */
  min_effect_pct: nullableNum.default(null),
  /**
   * Trials (history mode) or blocks (paired mode) estimated to bring the resolution down to the
   * minimum effect; null when reached or not estimable.
   */
  needed: z.number().int().positive().nullable().default(null),
  verdict: Verdict,
})
export type MetricComparison = z.infer<typeof MetricComparison>

export const Comparison = z.object({
  schema: z.literal('infergate.comparison/v1'),
  run_id: z.string().nullable(),
  benchmark: z.string(),
  status: z.enum([
    'regression',
    'improvement',
    'unchanged',
    'inconclusive',
    'insufficient_data',
    'no_baseline',
  ]),
  /**
   * history: against the base branch's earlier runs. paired: between the two arms of one A/B run,
   * measured interleaved on the same hardware.
   */
  mode: z.enum(['history', 'paired']).default('history'),
  /** Paired mode: how the sequential test went. */
  paired: z
    .object({
      blocks: z.number().int().nonnegative(),
      max_blocks: z.number().int().positive(),
      /** decided: every gated metric reached a verdict (or one regressed); budget / time: stopped undecided. */
      stopped: z.enum(['decided', 'budget', 'time', 'interrupted']),
      /** Which arm ran first in each block. */
      order: z.array(z.enum(['baseline', 'candidate'])),
      /** The earlier A/B runs whose block noise was the prior (core/detect/noise-prior.ts); none: the default. */
      prior_run_ids: z.array(z.string()).default([]),
    })
    .nullable()
    .default(null),
  baseline_run_ids: z.array(z.string()),
  environment_diff: z.array(z.object({ field: z.string(), baseline: z.unknown(), candidate: z.unknown() })),
  warnings: z.array(z.string()),
  settings: z.object({
    alpha: num,
    min_effect_pct: num,
    min_baseline_runs: z.number().int(),
    prior_noise_pct: num,
    /** Per-metric minimum effects overriding min_effect_pct. */
    min_effect_pct_by_metric: z.partialRecord(z.enum(METRICS), num).default({}),
    /** Whether an inconclusive comparison fails the gate (default: it passes, said plainly). */
    fail_on_inconclusive: z.boolean().default(false),
  }),
  metrics: z.array(MetricComparison),
})
export type Comparison = z.infer<typeof Comparison>

export function parseComparison(value: unknown): Comparison {
  return parseWith(Comparison, value, 'comparison')
}
