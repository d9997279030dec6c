// The regression detector: one candidate run against its baseline runs, per scenario and metric.
//
// Per-request statistics alone over-call: with hundreds of requests per run, Mann-Whitney finds
// the run-to-run differences of identical code "significant". So a regression is called only
// when all three hold (docs/detection.md):
//   1. Mann-Whitney U on the pooled samples, Holm-adjusted over the comparison: p < alpha;
//   2. the shift of the candidate's log trial medians stands out against the run-to-run noise
//      seen in the base branch's history (a t-test with that noise), Holm-adjusted: p < alpha;
//   3. |delta_pct| is at least the minimum effect.
// A metric is unchanged only when the noise test's interval lies inside ± the minimum effect;
// neither shown is inconclusive, with the resolution reached and the trials that would do better.
// A run without per-request samples (an aggregates-only import) has latencies only as trial
// medians: then they are judged like the trial-level metrics, on condition 2 and 3 alone.
import type { Report, Trial } from '../report.ts'
import { mean, median, quantileSorted, sorted } from '../stats.ts'
import { canonical } from './comparable.ts'
import {
  type Comparison,
  DEFAULT_GATED,
  DEFAULT_MIN_EFFECT_BY_METRIC,
  holmWeight,
  lowerIsBetter as isLowerBetter,
  isRequestMetric,
  METRICS,
  type MetricComparison,
  type MetricName,
  type Verdict,
} from './comparison.ts'
import { hodgesLehmann } from './hodges-lehmann.ts'
import { weightedHolm } from './holm.ts'
import { mannWhitneyU } from './mann-whitney.ts'
import { normalQuantile, normalSf } from './normal.ts'
import { studentTQuantile, studentTSf } from './student-t.ts'

export interface DetectorSettings {
  alpha: number
  minEffectPct: number
  minEffectByMetric: Partial<Record<MetricName, number>>
  minBaselineRuns: number
  /** Run-to-run noise (σ of log trial medians, in %) assumed while history is short. */
  priorNoisePct: number
  /** History trials needed before their spread replaces the prior. */
  minHistoryTrials: number
  gated: readonly MetricName[]
  /** Whether an inconclusive comparison fails the gate. */
  failOnInconclusive: boolean
}

export const DEFAULT_SETTINGS: DetectorSettings = {
  alpha: 0.01,
  minEffectPct: 2,
  minEffectByMetric: DEFAULT_MIN_EFFECT_BY_METRIC,
  minBaselineRuns: 3,
  priorNoisePct: 3,
  minHistoryTrials: 8,
  gated: DEFAULT_GATED,
  failOnInconclusive: false,
}

/** The minimum effect a metric is judged with: its own, else the comparison's. */
export function minEffectOf(s: Pick<DetectorSettings, 'minEffectPct' | 'minEffectByMetric'>, m: MetricName) {
  return s.minEffectByMetric[m] ?? s.minEffectPct
}

/**
 * A trial's value of a metric that has one value per trial: its summary's, or for SLO
 * attainment in reports written before it was recorded, goodput × duration / requests sent.
 */
export function summaryValue(
  summary: Trial['summary'],
  m: Exclude<MetricName, 'ttft_ms' | 'tpot_ms' | 'itl_ms' | 'e2el_ms'>,
): number | null {
  if (m !== 'slo_attainment') return summary[m]
  if (summary.slo_attainment !== undefined) return summary.slo_attainment
  const sent = summary.completed + summary.failed
  if (summary.request_goodput === null || sent === 0) return null
  return Math.min(1, (summary.request_goodput * summary.duration_s) / sent)
}

/** What the detector reads of a trial: its summary and the samples it compares. */
export interface ComparableTrial {
  summary: Trial['summary']
  /** Absent for history-only runs: the noise estimate reads summaries. */
  samples?: Pick<Trial['samples'], 'ttft_ms' | 'tpot_ms' | 'e2el_ms' | 'itl_ms'>
}

/** A report as the detector reads it; a whole Report is one. */
export interface ComparableReport extends Omit<Report, 'scenarios'> {
  scenarios: { name: string; trials: ComparableTrial[] }[]
}

export interface Run {
  id: string
  report: ComparableReport
}

const MIN_REQUEST_SAMPLES = 10

/**
 * Inter-token gaps compared per trial: at most this many, taken evenly through the run. A run of
 * 1,000 requests × 128 tokens has 127,000 gaps, but gaps of one stream move together (same batch,
 * same step), so their count inflates Mann-Whitney's confidence more than it adds information,
 * and sorting millions of them per comparison would make it slow.
 */
export const ITL_SAMPLE = 2000

const itlSamples = new WeakMap<object, number[]>()

/** Every k-th gap (k = total / ITL_SAMPLE, fractional) over the requests in order; all if few. */
export function itlSample(samples: { itl_ms: number[][] }): number[] {
  let out = itlSamples.get(samples)
  if (out) return out
  const total = samples.itl_ms.reduce((n, gaps) => n + gaps.length, 0)
  if (total <= ITL_SAMPLE) {
    out = samples.itl_ms.flat()
  } else {
    out = []
    const step = total / ITL_SAMPLE
    let next = step / 2
    let at = 0
    for (const gaps of samples.itl_ms) {
      while (next < at + gaps.length && out.length < ITL_SAMPLE) {
        out.push(gaps[Math.floor(next - at)]!)
        next += step
      }
      at += gaps.length
    }
  }
  itlSamples.set(samples, out)
  return out
}

/**
 * Whether a run holds no per-request samples: an aggregates-only import (another tool's result
 * file without its requests, docs/import.md). Its latencies exist only as trial statistics.
 */
export function aggregatesOnly(run: Run): boolean {
  return run.report.source?.samples === 'aggregate'
}

/**
 * The values of one trial for a metric: its samples, or its one summary value. `trialLevel`:
 * a request metric read as one value per trial (its median), for comparisons where a side has
 * no per-request samples.
 */
function trialValues(t: ComparableTrial, m: MetricName, trialLevel = false): number[] {
  const samples = t.samples
  if (isRequestMetric(m) && trialLevel) {
    const v = t.summary[`median_${m}`]
    return v === null ? [] : [v]
  }
  if (isRequestMetric(m) && !samples) return []
  switch (m) {
    case 'ttft_ms':
      return samples!.ttft_ms
    case 'e2el_ms':
      return samples!.e2el_ms
    case 'tpot_ms':
      return samples!.tpot_ms.filter((x): x is number => x !== null)
    case 'itl_ms':
      return itlSample(samples!)
    default: {
      const v = summaryValue(t.summary, m)
      return v === null ? [] : [v]
    }
  }
}

/**
 * One number per trial, on the log scale: the median of its samples as its summary states it
 * (so history runs are read without their samples), or its summary value.
 */
function trialLevel(t: ComparableTrial, m: MetricName): number | null {
  const v = isRequestMetric(m) ? t.summary[`median_${m}`] : summaryValue(t.summary, m)
  return v !== null && v > 0 ? Math.log(v) : null
}

function trialsOf(run: Run, scenario: string): ComparableTrial[] {
  return run.report.scenarios.find((s) => s.name === scenario)?.trials ?? []
}

export interface Noise {
  sigma: number
  /** Degrees of freedom of the estimate (Infinity for the prior). */
  df: number
  source: 'history' | 'prior'
}

/**
 * Run-to-run noise from the base branch's history: σ of log trial medians, from successive
 * differences (a step change in the history spoils one difference, not the estimate). Differences
 * far out (beyond 3.5 robust σ: a step, an outlier run) are set aside, the rest give the mean
 * squared successive difference, σ² = Σd²/2(n−1), whose efficiency (~2/3 of the plain variance
 * estimate's) sets the degrees of freedom. Short history: the prior.
 */
export function estimateNoise(series: number[], s: DetectorSettings): Noise {
  const prior: Noise = {
    sigma: Math.log(1 + s.priorNoisePct / 100),
    df: Number.POSITIVE_INFINITY,
    source: 'prior',
  }
  if (series.length < s.minHistoryTrials) return prior
  const diffs = series.slice(1).map((x, i) => x - series[i]!)
  const robust = 1.4826 * median(diffs.map(Math.abs))
  const kept = robust > 0 ? diffs.filter((d) => Math.abs(d) <= 3.5 * robust) : diffs
  const sigma = Math.sqrt(kept.reduce((a, d) => a + d * d, 0) / (2 * kept.length))
  // A history of identical values would claim no noise at all; never trust less than a tenth
  // of the prior.
  const floor = prior.sigma / 10
  return {
    sigma: Math.max(sigma, floor),
    df: Math.max(1, Math.round((2 / 3) * kept.length)),
    source: 'history',
  }
}

const tailP = (z: number, df: number) =>
  2 * (Number.isFinite(df) ? studentTSf(Math.abs(z), df) : normalSf(Math.abs(z)))
const critical = (p: number, df: number) =>
  Number.isFinite(df) ? studentTQuantile(p, df) : normalQuantile(p)

const pct = (ratio: number) => (ratio - 1) * 100

interface Draft {
  row: MetricComparison
  pNoise: number | null
  worse: boolean
  enough: boolean
  /** One value per trial a side: the verdict rests on the noise test alone. */
  trialLevel: boolean
}

export function compareRuns(
  candidate: Run,
  baselines: Run[],
  history: Run[] = baselines,
  settings: DetectorSettings = DEFAULT_SETTINGS,
): Comparison {
  const warnings: string[] = []
  const drafts: Draft[] = []
  for (const scenario of candidate.report.scenarios) {
    const cTrials = scenario.trials
    const bRuns = baselines.filter((b) => trialsOf(b, scenario.name).length > 0)
    const bTrials = bRuns.flatMap((b) => trialsOf(b, scenario.name))
    const hTrials = history.flatMap((h) => trialsOf(h, scenario.name))
    // A side without per-request samples (an aggregates-only import) has one median per trial:
    // its latencies are compared at trial level on both sides, as the tails and throughputs
    // are, and Mann-Whitney is not run on samples it does not have.
    const withoutSamples = [candidate, ...bRuns].filter(aggregatesOnly).map((r) => r.id)
    if (withoutSamples.length) {
      warnings.push(
        `scenario ${scenario.name}: no per-request samples in ${withoutSamples.join(', ')} (aggregates only): latencies compared on trial medians against the run-to-run noise alone, no Mann-Whitney`,
      )
    }
    for (const metric of METRICS) {
      const lowerIsBetter = isLowerBetter(metric)
      const trialLevelOnly = withoutSamples.length > 0 && isRequestMetric(metric)
      // Sorted once: the medians, Mann-Whitney and Hodges-Lehmann all start from sorted data.
      const c = sorted(cTrials.flatMap((t) => trialValues(t, metric, trialLevelOnly)))
      const b = sorted(bTrials.flatMap((t) => trialValues(t, metric, trialLevelOnly)))
      const cLog = cTrials.map((t) => trialLevel(t, metric)).filter((x): x is number => x !== null)
      const bLog = bTrials.map((t) => trialLevel(t, metric)).filter((x): x is number => x !== null)
      const hLog = hTrials.map((t) => trialLevel(t, metric)).filter((x): x is number => x !== null)
      const cMed = c.length ? quantileSorted(c, 50) : null
      const bMed = b.length ? quantileSorted(b, 50) : null
      // Request metrics: the pooled medians' ratio. Trial-level ones (a few values a side): the
      // ratio of geometric means, the quantity the noise test and its interval are about, so
      // the change shown always lies inside the interval shown.
      const delta =
        !isRequestMetric(metric) || trialLevelOnly
          ? cLog.length && bLog.length
            ? pct(Math.exp(mean(cLog) - mean(bLog)))
            : null
          : cMed !== null && bMed !== null && bMed > 0
            ? pct(cMed / bMed)
            : null
      const pooled = c.length > 0 && b.length > 0 && !trialLevelOnly
      const mw = pooled ? mannWhitneyU(c, b) : null
      const hl = pooled ? hodgesLehmann(c, b) : null
      const noise = estimateNoise(hLog, settings)
      let pNoise: number | null = null
      let mde: number | null = null
      let mde3: number | null = null
      let ci: [number, number] | null = null
      let needed: number | null = null
      const minEffect = minEffectOf(settings, metric)
      if (cLog.length && bLog.length) {
        const se = (n: number) => noise.sigma * Math.sqrt(1 / n + 1 / bLog.length)
        const shift = mean(cLog) - mean(bLog)
        pNoise = tailP(shift / se(cLog.length), noise.df)
        // The Holm step-down starts at alpha · w / W (w this metric's weight, W the gated
        // tests' total; alpha / m with equal weights): the bar a lone shift must clear.
        const total =
          candidate.report.scenarios.length *
          Math.max(
            1,
            settings.gated.reduce((a, g) => a + holmWeight(g), 0),
          )
        const crit = critical(1 - (settings.alpha * holmWeight(metric)) / (2 * total), noise.df)
        mde = Math.max(minEffect, pct(Math.exp(crit * se(cLog.length))))
        mde3 = Math.max(minEffect, pct(Math.exp(crit * se(3))))
        // Equivalence by two one-sided tests at alpha: the (1 − 2·alpha) interval of the shift.
        const eq = critical(1 - settings.alpha, noise.df)
        ci = [pct(Math.exp(shift - eq * se(cLog.length))), pct(Math.exp(shift + eq * se(cLog.length)))]
        needed = trialsNeeded(eq, noise.sigma, bLog.length, cLog.length, minEffect)
      }
      const minSamples = isRequestMetric(metric) && !trialLevelOnly ? MIN_REQUEST_SAMPLES : 1
      const enough =
        bRuns.length >= settings.minBaselineRuns && c.length >= minSamples && b.length >= minSamples
      drafts.push({
        row: {
          scenario: scenario.name,
          metric,
          direction: lowerIsBetter ? 'lower_is_better' : 'higher_is_better',
          gated: settings.gated.includes(metric),
          baseline: { runs: bRuns.length, n: b.length, median: bMed },
          candidate: { n: c.length, median: cMed },
          delta_pct: delta,
          u: mw?.u ?? null,
          p_value: mw?.p ?? null,
          p_adjusted: null,
          p_noise: null,
          hl_shift: hl?.estimate ?? null,
          hl_ci: hl?.ci ?? null,
          noise_pct: cLog.length && bLog.length ? pct(Math.exp(noise.sigma)) : null,
          noise_source: cLog.length && bLog.length ? noise.source : null,
          mde_pct: mde,
          mde_pct_3_trials: mde3,
          ci_pct: ci,
          min_effect_pct: minEffect,
          needed,
          verdict: 'insufficient_data',
        },
        pNoise,
        worse: delta !== null && (lowerIsBetter ? delta > 0 : delta < 0),
        enough,
        trialLevel: trialLevelOnly || !isRequestMetric(metric),
      })
    }
  }

  // Holm over the whole comparison, separately for each test.
  // Weighted: a tail gets a smaller share of each step than a median (holmWeight).
  const adjust = (get: (d: Draft) => number | null) => {
    const idx = drafts.flatMap((d, i) => (get(d) === null ? [] : [i]))
    const adj = weightedHolm(
      idx.map((i) => get(drafts[i]!)!),
      idx.map((i) => holmWeight(drafts[i]!.row.metric)),
    )
    return new Map(idx.map((i, k) => [i, adj[k]!]))
  }
  const pAdj = adjust((d) => d.row.p_value)
  // The noise test decides alarms, so its family is the gated metrics (the others only report).
  const noiseAdj = adjust((d) => (d.row.gated ? d.pNoise : null))

  const validity = workloadValidity(candidate, baselines)
  warnings.push(...validity.warnings)
  drafts.forEach((d, i) => {
    d.row.p_adjusted = pAdj.get(i) ?? null
    const pNoise = d.row.gated ? noiseAdj.get(i) : d.pNoise
    d.row.p_noise = pNoise ?? null
    if (!d.enough) return
    const minEffect = minEffectOf(settings, d.row.metric)
    // Trial-level metrics have a handful of values a side: Mann-Whitney cannot reach alpha with
    // them (1 vs 5 values: p ≥ 0.33), so their verdict rests on the noise test alone.
    const significant =
      (d.trialLevel || (pAdj.get(i) ?? 1) < settings.alpha) &&
      (pNoise ?? 1) < settings.alpha &&
      Math.abs(d.row.delta_pct ?? 0) >= minEffect
    let verdict: Verdict = withinEffect(d.row.ci_pct, minEffect) ? 'unchanged' : 'inconclusive'
    if (significant && d.worse) verdict = 'regression'
    else if (significant && !validity.suspect) verdict = 'improvement'
    d.row.verdict = verdict
  })

  const metrics = drafts.map((d) => d.row)
  const status = baselines.length === 0 ? 'no_baseline' : overallStatus(metrics)
  if (baselines.length > 0 && baselines.length < settings.minBaselineRuns) {
    warnings.push(
      `only ${baselines.length} baseline run(s): verdicts need ${settings.minBaselineRuns} (the base branch's history fills up with nightly runs)`,
    )
  }

  return {
    schema: 'infergate.comparison/v1',
    run_id: candidate.id,
    benchmark: candidate.report.benchmark,
    status,
    baseline_run_ids: baselines.map((b) => b.id),
    environment_diff: environmentDiff(candidate.report, baselines.at(-1)?.report),
    warnings,
    settings: {
      alpha: settings.alpha,
      min_effect_pct: settings.minEffectPct,
      min_baseline_runs: settings.minBaselineRuns,
      prior_noise_pct: settings.priorNoisePct,
      min_effect_pct_by_metric: settings.minEffectByMetric,
      fail_on_inconclusive: settings.failOnInconclusive,
    },
    mode: 'history',
    paired: null,
    metrics,
  }
}

/** Whether an interval of the change (in %) lies inside ± the minimum effect (on the log scale). */
export function withinEffect(ci: [number, number] | null, minEffectPct: number): boolean {
  if (!ci) return false
  const bound = Math.log(1 + minEffectPct / 100)
  return Math.log(1 + ci[0] / 100) > -bound && Math.log(1 + ci[1] / 100) < bound
}

/**
 * Candidate trials that would bring the equivalence interval's half-width under the minimum
 * effect with this noise and baseline; null when already there, or when no number of candidate
 * trials would (the baseline's own share of the uncertainty is too large: more baseline runs).
 */
function trialsNeeded(
  crit: number,
  sigma: number,
  nb: number,
  nc: number,
  minEffectPct: number,
): number | null {
  const room = (Math.log(1 + minEffectPct / 100) / (crit * sigma)) ** 2 - 1 / nb
  if (room <= 0) return null
  const n = Math.ceil(1 / room)
  return n > nc ? n : null
}

/**
 * The comparison's status from its gated metrics that had data: any regression fails it; else
 * any improvement (the comment still names the metrics left inconclusive); else any inconclusive
 * one makes it inconclusive (a regression below the resolution cannot be excluded); else unchanged.
 */
export function overallStatus(metrics: MetricComparison[]): Comparison['status'] {
  const gated = metrics.filter((m) => m.gated && m.verdict !== 'insufficient_data')
  if (gated.some((m) => m.verdict === 'regression')) return 'regression'
  if (gated.length === 0) return 'insufficient_data'
  if (gated.some((m) => m.verdict === 'improvement')) return 'improvement'
  if (gated.some((m) => m.verdict === 'inconclusive')) return 'inconclusive'
  return 'unchanged'
}

/** Error rates and answer lengths: a "faster" run that failed more or answered less is no improvement. */
export function workloadValidity(candidate: Run, baselines: Run[]): { suspect: boolean; warnings: string[] } {
  const warnings: string[] = []
  let suspect = false
  const totals = (runs: Run[]) => {
    let ok = 0
    let failed = 0
    let tokens = 0
    for (const r of runs) {
      for (const s of r.report.scenarios) {
        for (const t of s.trials) {
          ok += t.summary.completed
          failed += t.summary.failed
          tokens += t.summary.total_output_tokens
        }
      }
    }
    return { errorRate: failed / Math.max(1, ok + failed), tokensPerRequest: tokens / Math.max(1, ok) }
  }
  if (baselines.length === 0) return { suspect, warnings }
  const c = totals([candidate])
  const b = totals(baselines)
  if (c.errorRate > b.errorRate + 0.005) {
    suspect = true
    warnings.push(
      `error rate grew from ${(b.errorRate * 100).toFixed(1)}% to ${(c.errorRate * 100).toFixed(1)}%: improvements are not called`,
    )
  } else if (c.errorRate < b.errorRate - 0.005) {
    warnings.push(
      `error rate fell from ${(b.errorRate * 100).toFixed(1)}% to ${(c.errorRate * 100).toFixed(1)}%`,
    )
  }
  if (c.tokensPerRequest < b.tokensPerRequest * 0.99) {
    suspect = true
    warnings.push(
      `answers got shorter (${c.tokensPerRequest.toFixed(1)} output tokens per request, baseline ${b.tokensPerRequest.toFixed(1)}): improvements are not called`,
    )
  }
  return { suspect, warnings }
}

/** What differs between the candidate's environment and workload and the latest baseline's. */
export function environmentDiff(
  c: ComparableReport,
  b: ComparableReport | undefined,
): Comparison['environment_diff'] {
  if (!b) return []
  const fields: [string, (r: ComparableReport) => unknown][] = [
    ['model', (r) => r.environment.model],
    ['engine.name', (r) => r.environment.engine.name],
    ['engine.version', (r) => r.environment.engine.version],
    ['gpu.model', (r) => r.environment.gpu.model],
    ['gpu.count', (r) => r.environment.gpu.count],
    ['endpoint.api', (r) => r.environment.endpoint.api],
    ['workload.input_tokens', (r) => r.workload.input_tokens],
    ['workload.output_tokens', (r) => r.workload.output_tokens],
    ['workload.ignore_eos', (r) => r.workload.ignore_eos],
    ['workload.dataset', (r) => r.workload.dataset],
  ]
  const keys = new Set([...Object.keys(c.environment.config), ...Object.keys(b.environment.config)])
  for (const k of keys) fields.push([`config.${k}`, (r) => r.environment.config[k] ?? null])
  return fields.flatMap(([field, get]) => {
    const cv = get(c)
    const bv = get(b)
    return canonical(cv) === canonical(bv) ? [] : [{ field, baseline: bv ?? null, candidate: cv ?? null }]
  })
}
