// A project's detector settings as the API takes and stores them (snake_case JSON), over the
// defaults. One definition, validated at the boundary, turned into the detector's settings.
import { z } from 'zod'
import { DEFAULT_SETTINGS, type DetectorSettings } from './compare.ts'
import { METRICS, type MetricName } from './comparison.ts'

const pct = z.number().min(0).max(100)
const Metric = z.enum(METRICS)

export const ProjectSettings = z.strictObject({
  /** Family-wise significance level of a comparison. */
  alpha: z.number().gt(0).max(0.2).optional(),
  /** Smallest |delta_pct| called, for every metric… */
  min_effect_pct: pct.optional(),
  /** …or per metric, e.g. {"ttft_ms": 5}. */
  min_effect_pct_by_metric: z.partialRecord(Metric, pct).optional(),
  /** Run-to-run noise assumed while the base branch's history is short. */
  prior_noise_pct: z.number().gt(0).max(100).optional(),
  min_baseline_runs: z.number().int().min(1).max(50).optional(),
  /** Metrics whose regression fails the comparison. */
  gated_metrics: z
    .array(Metric)
    .min(1)
    .refine((xs) => new Set(xs).size === xs.length, 'lists a metric twice')
    .optional(),
  /** Whether an inconclusive comparison fails the commit status / check run (default: it passes). */
  fail_on_inconclusive: z.boolean().optional(),
  /**
   * A/B runs: the block noise the paired test assumes. default: a weak prior, robust when a node
   * is noisier than usual. learned: the noise of the project's 5 latest A/B runs of the benchmark
   * (docs/detection.md), which calls small changes in far fewer blocks on hardware whose noise
   * is stable, and raises false alarms when a run's node is much noisier than theirs.
   */
  paired_noise_prior: z.enum(['default', 'learned']).optional(),
})
export type ProjectSettings = z.infer<typeof ProjectSettings>

export function detectorSettings(s: ProjectSettings): DetectorSettings {
  return {
    ...DEFAULT_SETTINGS,
    alpha: s.alpha ?? DEFAULT_SETTINGS.alpha,
    minEffectPct: s.min_effect_pct ?? DEFAULT_SETTINGS.minEffectPct,
    // The tails' own defaults stay unless the project names those metrics.
    minEffectByMetric: {
      ...DEFAULT_SETTINGS.minEffectByMetric,
      ...((s.min_effect_pct_by_metric ?? {}) as Partial<Record<MetricName, number>>),
    },
    priorNoisePct: s.prior_noise_pct ?? DEFAULT_SETTINGS.priorNoisePct,
    minBaselineRuns: s.min_baseline_runs ?? DEFAULT_SETTINGS.minBaselineRuns,
    gated: s.gated_metrics ?? DEFAULT_SETTINGS.gated,
    failOnInconclusive: s.fail_on_inconclusive ?? DEFAULT_SETTINGS.failOnInconclusive,
  }
}

/** Every setting with its value in force, for the API's answer. */
export function effectiveSettings(s: ProjectSettings): Required<ProjectSettings> {
  const d = detectorSettings(s)
  return {
    alpha: d.alpha,
    min_effect_pct: d.minEffectPct,
    min_effect_pct_by_metric: d.minEffectByMetric,
    prior_noise_pct: d.priorNoisePct,
    min_baseline_runs: d.minBaselineRuns,
    gated_metrics: [...d.gated],
    fail_on_inconclusive: d.failOnInconclusive,
    paired_noise_prior: s.paired_noise_prior ?? 'default',
  }
}
