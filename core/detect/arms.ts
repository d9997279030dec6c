// An A/B run judged on its own: the candidate arm against the baseline arm, block by block
// (core/detect/paired.ts decides). The load generator calls it after every block to know when
// to stop, and the service and `infergate compare` call it on the finished report; the looks
// are replayed from the blocks, so all three reach the same verdict.
import type { ArmName } from '../report.ts'
import { quantileSorted, sorted } from '../stats.ts'
import {
  type ComparableReport,
  type ComparableTrial,
  DEFAULT_SETTINGS,
  type DetectorSettings,
  environmentDiff,
  itlSample,
  minEffectOf,
  overallStatus,
  summaryValue,
  workloadValidity,
} from './compare.ts'
import {
  type Comparison,
  holmWeight,
  isRequestMetric,
  isTailMetric,
  lowerIsBetter,
  METRICS,
  type MetricComparison,
  type MetricName,
} from './comparison.ts'
import type { NoisePriors } from './noise-prior.ts'
import {
  DEFAULT_PAIRED_SETTINGS,
  decidePaired,
  type NoisePrior,
  type PairedDecision,
  type PairedSeries,
  type PairedSettings,
  quantileSeLog,
  type TrialValue,
} from './paired.ts'

/** A trial of an A/B run as the detector reads it: its arm and block besides the rest. */
export interface ArmTrial extends ComparableTrial {
  arm?: ArmName
  block?: number
  index?: number
}

/** An A/B report as the detector reads it. */
export interface ArmsReport extends Omit<ComparableReport, 'scenarios'> {
  scenarios: { name: string; trials: ArmTrial[] }[]
}

export function isPairedReport(r: { arms?: unknown }): boolean {
  return Array.isArray(r.arms) && r.arms.length === 2
}

type SampleKey = 'ttft_ms' | 'tpot_ms' | 'e2el_ms'

/** The per-request values a metric's trial value is a statistic of, sorted once per trial. */
const sortedCache = new WeakMap<object, Map<string, Float64Array>>()
function sortedSamples(t: ArmTrial, key: SampleKey | 'itl_ms'): Float64Array | null {
  const s = t.samples
  if (!s) return null
  let byKey = sortedCache.get(s)
  if (!byKey) {
    byKey = new Map()
    sortedCache.set(s, byKey)
  }
  let out = byKey.get(key)
  if (!out) {
    const raw =
      key === 'itl_ms'
        ? itlSample(s)
        : key === 'tpot_ms'
          ? s.tpot_ms.filter((x): x is number => x !== null)
          : s[key]
    out = sorted(raw)
    byKey.set(key, out)
  }
  return out
}

/**
 * One trial's value of a metric, with the sampling SE of its log from the trial's own requests:
 * medians and tails by their order statistics, SLO attainment as a binomial share. Throughputs
 * have no within-trial estimate (0: the prior alone).
 */
export function trialValue(t: ArmTrial, m: MetricName): TrialValue | null {
  if (isRequestMetric(m) || isTailMetric(m)) {
    const [stat, key] = isRequestMetric(m)
      ? (['median', m.replace(/_ms$/, '')] as const)
      : (m.split('_', 2) as [string, string])
    const value = t.summary[`${stat}_${key}_ms` as keyof ComparableTrial['summary']] as number | null
    if (value === null || !(value > 0)) return null
    const q = stat === 'median' ? 0.5 : Number(stat.slice(1)) / 100
    const samples = sortedSamples(t, `${key}_ms` as SampleKey | 'itl_ms')
    return { value, seLog: samples ? quantileSeLog(samples, q) : 0 }
  }
  const value = summaryValue(t.summary, m)
  if (value === null || !(value > 0)) return null
  if (m === 'slo_attainment' || m === 'request_goodput') {
    // The share meeting the SLOs, p of n requests: SE(log p) = √((1 − p) / (p·n)).
    const p = summaryValue(t.summary, 'slo_attainment')
    const n = t.summary.completed + t.summary.failed
    return { value, seLog: p !== null && p > 0 && n > 0 ? Math.sqrt((1 - p) / (p * n)) : 0 }
  }
  return { value, seLog: 0 }
}

interface Block {
  baseline: ArmTrial | null
  candidate: ArmTrial | null
  /** The arm that ran first (the lower trial index). */
  first: ArmName | null
}

/** A scenario's trials as blocks, in block order; the arm with the lower trial index ran first. */
export function blocksOf(trials: readonly ArmTrial[]): Block[] {
  const byBlock = new Map<number, Block>()
  const position = new Map<ArmTrial, number>()
  trials.forEach((t, i) => {
    if (t.block === undefined || t.arm === undefined) return
    position.set(t, t.index ?? i)
    let b = byBlock.get(t.block)
    if (!b) {
      b = { baseline: null, candidate: null, first: null }
      byBlock.set(t.block, b)
    }
    b[t.arm] = t
  })
  const blocks = [...byBlock.entries()].sort((a, b) => a[0] - b[0]).map(([, b]) => b)
  for (const b of blocks) {
    if (b.baseline && b.candidate) {
      b.first = position.get(b.baseline)! < position.get(b.candidate)! ? 'baseline' : 'candidate'
    } else b.first = b.baseline ? 'baseline' : 'candidate'
  }
  return blocks
}

export interface ArmsOptions {
  settings?: DetectorSettings
  paired?: PairedSettings
  /** The run has ended: undecided metrics are inconclusive. Default: true. */
  final?: boolean
  /** The block noise of the project's earlier A/B runs (core/detect/noise-prior.ts); none: the weak default. */
  priors?: NoisePriors | null
}

/** A series' learned prior, by scenario and metric. */
function priorLookup(priors: NoisePriors | null | undefined) {
  const byKey = new Map<string, NoisePrior>()
  for (const p of priors?.priors ?? []) {
    byKey.set(`${p.scenario}\u0000${p.metric}`, { sdLog: Math.log1p(p.noise_pct / 100), df: p.df })
  }
  return (scenario: string, metric: MetricName) => byKey.get(`${scenario}\u0000${metric}`) ?? null
}

interface Row {
  scenario: string
  metric: MetricName
  gated: boolean
  series: PairedSeries
  baselineValues: number[]
  candidateValues: number[]
}

/** The series the paired detector judges: every scenario × metric, blocks in order. */
function seriesOf(r: ArmsReport, s: DetectorSettings, o: ArmsOptions, withPooled: boolean): Row[] {
  const rows: Row[] = []
  const priorOf = priorLookup(o.priors)
  for (const scenario of r.scenarios) {
    const blocks = blocksOf(scenario.trials)
    for (const metric of METRICS) {
      // The arms' pooled values, for the comparison's medians; the stop rule needs none.
      const pooled = (arm: ArmName) =>
        !withPooled
          ? []
          : blocks.flatMap((b) => {
              const t = b[arm]
              if (!t) return []
              if (isRequestMetric(metric)) return Array.from(sortedSamples(t, metric) ?? [])
              const v = trialValue(t, metric)
              return v ? [v.value] : []
            })
      rows.push({
        scenario: scenario.name,
        metric,
        gated: s.gated.includes(metric),
        series: {
          blocks: blocks.map((b) => ({
            baseline: b.baseline ? trialValue(b.baseline, metric) : null,
            candidate: b.candidate ? trialValue(b.candidate, metric) : null,
          })),
          prior: priorOf(scenario.name, metric),
          direction: lowerIsBetter(metric) ? 'lower_is_better' : 'higher_is_better',
          gated: s.gated.includes(metric),
          minEffectPct: minEffectOf(s, metric),
          weight: holmWeight(metric),
        },
        baselineValues: pooled('baseline'),
        candidateValues: pooled('candidate'),
      })
    }
  }
  return rows
}

/** The paired settings of a run: its own block budget, the rest the defaults'. */
function pairedSettingsOf(r: ArmsReport, o: ArmsOptions): PairedSettings {
  const base = o.paired ?? DEFAULT_PAIRED_SETTINGS
  const maxBlocks = r.paired?.max_blocks ?? base.maxBlocks
  return {
    ...base,
    alpha: (o.settings ?? DEFAULT_SETTINGS).alpha,
    maxBlocks: Math.max(maxBlocks, base.minBlocks),
  }
}

/** The sequential decision so far: what the load generator asks after each block. */
export function decideArms(r: ArmsReport, o: ArmsOptions = {}): PairedDecision {
  const s = o.settings ?? DEFAULT_SETTINGS
  return decidePaired(
    seriesOf(r, s, o, false).map((x) => x.series),
    pairedSettingsOf(r, o),
    { final: o.final ?? true },
  )
}

const median = (xs: number[]) => (xs.length ? quantileSorted(sorted(xs), 50) : null)

/** Arm-only views of the report, for the workload checks and the environment diff. */
function armView(r: ArmsReport, arm: ArmName): ComparableReport {
  const env = r.arms?.find((a) => a.name === arm)?.environment ?? r.environment
  return {
    ...r,
    environment: env,
    scenarios: r.scenarios.map((sc) => ({ name: sc.name, trials: sc.trials.filter((t) => t.arm === arm) })),
  }
}

export function compareArms(run: { id: string | null; report: ArmsReport }, o: ArmsOptions = {}): Comparison {
  const r = run.report
  const s = o.settings ?? DEFAULT_SETTINGS
  const rows = seriesOf(r, s, o, true)
  const ps = pairedSettingsOf(r, o)
  const decision = decidePaired(
    rows.map((x) => x.series),
    ps,
    { final: o.final ?? true },
  )
  const baseline = { id: 'baseline', report: armView(r, 'baseline') }
  const candidate = { id: 'candidate', report: armView(r, 'candidate') }
  const validity = workloadValidity(candidate, [baseline])
  const metrics: MetricComparison[] = rows.map((row, i) => {
    const d = decision.series[i]!
    let verdict: MetricComparison['verdict'] = d.verdict === 'continue' ? 'inconclusive' : d.verdict
    // A "faster" arm that failed more or answered less is no improvement.
    if (verdict === 'improvement' && validity.suspect) verdict = 'inconclusive'
    return {
      scenario: row.scenario,
      metric: row.metric,
      direction: row.series.direction,
      gated: row.gated,
      baseline: { runs: 1, n: row.baselineValues.length, median: median(row.baselineValues) },
      candidate: { n: row.candidateValues.length, median: median(row.candidateValues) },
      delta_pct: d.deltaPct,
      u: null,
      p_value: d.p,
      p_adjusted: d.pAdjusted,
      p_noise: null,
      hl_shift: null,
      hl_ci: null,
      noise_pct: d.noisePct,
      noise_source: d.blocks > 0 ? (d.prior === 'learned' ? 'blocks_learned' : 'blocks') : null,
      mde_pct: d.mdePct,
      mde_pct_3_trials: null,
      ci_pct: d.ciPct,
      min_effect_pct: row.series.minEffectPct,
      needed: d.needed,
      verdict,
    }
  })
  const order = (r.scenarios[0] ? blocksOf(r.scenarios[0].trials) : []).map((b) => b.first ?? 'baseline')
  const stopped: NonNullable<Comparison['paired']>['stopped'] =
    r.paired?.stopped ?? decision.stopped ?? 'budget'
  return {
    schema: 'infergate.comparison/v1',
    run_id: run.id,
    benchmark: r.benchmark,
    status: overallStatus(metrics),
    baseline_run_ids: [],
    environment_diff: environmentDiff(candidate.report, baseline.report),
    warnings: validity.warnings,
    settings: {
      alpha: s.alpha,
      min_effect_pct: s.minEffectPct,
      min_baseline_runs: s.minBaselineRuns,
      prior_noise_pct: ps.priorNoisePct,
      min_effect_pct_by_metric: s.minEffectByMetric,
      fail_on_inconclusive: s.failOnInconclusive,
    },
    mode: 'paired',
    paired: {
      blocks: decision.blocks,
      max_blocks: ps.maxBlocks,
      stopped,
      order,
      prior_run_ids: o.priors?.run_ids ?? [],
    },
    metrics,
  }
}
