// The comparison format: what the detector says about a run against its baseline. One
// definition, used by `infergate compare`, the service's API and the PR comment.
import { z } from 'zod'
import { parseWith } from '../validation.ts'

export const REQUEST_METRICS = ['ttft_ms', 'tpot_ms', 'itl_ms', 'e2el_ms'] as const
export const TRIAL_METRICS = ['output_throughput', 'request_throughput', 'request_goodput'] as const
export const METRICS = [...REQUEST_METRICS, ...TRIAL_METRICS] as const
export type MetricName = (typeof METRICS)[number]
/** Latency metrics compare per-request samples; the others one value per trial. */
export function isRequestMetric(m: MetricName): m is (typeof REQUEST_METRICS)[number] {
  return (REQUEST_METRICS as readonly string[]).includes(m)
}
export const DEFAULT_GATED: readonly MetricName[] = ['ttft_ms', 'tpot_ms', 'e2el_ms', 'output_throughput']

export const Verdict = z.enum(['regression', 'improvement', 'unchanged', 'insufficient_data'])
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
  /** (candidate median / baseline median − 1) × 100. */
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
  noise_source: z.enum(['history', 'prior']).nullable(),
  /** Smallest |delta_pct| this comparison could have called, and with 3 candidate trials. */
  mde_pct: nullableNum,
  mde_pct_3_trials: nullableNum,
  verdict: Verdict,
})
export type MetricComparison = z.infer<typeof MetricComparison>

export const Comparison = z.object({
  schema: z.literal('infergate.comparison/v1'),
  run_id: z.string().nullable(),
  benchmark: z.string(),
  status: z.enum(['regression', 'improvement', 'unchanged', 'insufficient_data', 'no_baseline']),
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
  }),
  metrics: z.array(MetricComparison),
})
export type Comparison = z.infer<typeof Comparison>

export function parseComparison(value: unknown): Comparison {
  return parseWith(Comparison, value, 'comparison')
}
