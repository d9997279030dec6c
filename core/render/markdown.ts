// The comparison as people read it on GitHub: the PR comment, the check run's summary and the
// Action's job summary all come from here, so they never disagree. GitHub-flavoured markdown
// that reads the same in light and dark themes (emoji, no colours), tables kept to six columns.
import {
  type Comparison,
  isRequestMetric,
  isTailMetric,
  type MetricComparison,
} from '../detect/comparison.ts'

export interface RenderOptions {
  /** Where the full comparison lives (the service's URL for it). */
  comparisonUrl?: string | null
  /** Commit SHAs of the baseline runs, by run id, to list them. */
  baselineShas?: Record<string, string | null>
  /** The commit measured: a sticky comment is rewritten on every push, so it says which one. */
  commit?: string | null
}

/** The hidden marker that identifies a benchmark's sticky comment. */
export const commentMarker = (benchmark: string) => `<!-- infergate:comment benchmark=${benchmark} -->`

const HEADLINE: Record<Comparison['status'], string> = {
  regression: '🔴 regression',
  improvement: '🟢 improvement',
  unchanged: '✅ no regression',
  inconclusive: '🟡 inconclusive',
  insufficient_data: '⚪ not enough data for a verdict',
  no_baseline: '⚪ no baseline yet',
}

const VERDICT: Record<MetricComparison['verdict'], string> = {
  regression: '🔴 regression',
  improvement: '🟢 improvement',
  unchanged: 'unchanged',
  inconclusive: '🟡 inconclusive',
  insufficient_data: '⚪ insufficient data',
}

export const LABEL: Record<MetricComparison['metric'], string> = {
  ttft_ms: 'TTFT (ms)',
  tpot_ms: 'TPOT (ms)',
  itl_ms: 'ITL (ms)',
  e2el_ms: 'E2E latency (ms)',
  p90_ttft_ms: 'TTFT p90 (ms)',
  p99_ttft_ms: 'TTFT p99 (ms)',
  p90_tpot_ms: 'TPOT p90 (ms)',
  p99_tpot_ms: 'TPOT p99 (ms)',
  p90_e2el_ms: 'E2E p90 (ms)',
  p99_e2el_ms: 'E2E p99 (ms)',
  output_throughput: 'output tok/s',
  request_throughput: 'requests/s',
  request_goodput: 'goodput req/s',
  slo_attainment: 'SLO attainment',
}

const num = (x: number | null) =>
  x === null ? '–' : Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2)
const signed = (x: number | null) => (x === null ? '–' : `${x > 0 ? '+' : ''}${x.toFixed(1)}%`)

/** The p-value a verdict turned on (see docs/detection.md). */
export function decisiveP(m: MetricComparison): number | null {
  // Paired (A/B) rows: the paired test, Holm-adjusted.
  if (m.noise_source === 'blocks' || m.noise_source === 'blocks_learned') return m.p_adjusted ?? m.p_value
  if (!isRequestMetric(m.metric)) return m.p_noise
  if (m.p_adjusted === null || m.p_noise === null) return m.p_adjusted ?? m.p_noise
  return Math.max(m.p_adjusted, m.p_noise)
}

const pText = (p: number | null) => (p === null ? '–' : p < 1e-4 ? '<0.0001' : p.toFixed(4))

/**
 * The change that matters most: the largest regression of a gated metric (a median or a
 * throughput before a tail), else the largest improvement, else the largest move.
 */
export function headlineMetric(c: Comparison): MetricComparison | null {
  const by = (rows: MetricComparison[]) =>
    rows.reduce<MetricComparison | null>(
      (best, m) => (best === null || Math.abs(m.delta_pct ?? 0) > Math.abs(best.delta_pct ?? 0) ? m : best),
      null,
    )
  const gated = c.metrics.filter((m) => m.gated && m.delta_pct !== null)
  // A median names the change better than a tail that moved with it: tails head only alone.
  const first = (verdict: MetricComparison['verdict']) => {
    const rows = gated.filter((m) => m.verdict === verdict)
    return by(rows.filter((m) => !isTailMetric(m.metric))) ?? by(rows)
  }
  return first('regression') ?? first('improvement') ?? by(gated)
}

/** A commit status description: at most 140 characters, the most important delta first. */
export function statusDescription(c: Comparison): string {
  const h = headlineMetric(c)
  const what = h ? `${LABEL[h.metric].replace(/ \(ms\)$/, '')} ${signed(h.delta_pct)} (${h.scenario})` : ''
  const text =
    c.status === 'regression'
      ? `Regression: ${what}`
      : c.status === 'improvement'
        ? `Improvement: ${what}`
        : c.status === 'unchanged'
          ? `No regression${h ? `; largest change ${what}` : ''}`
          : c.status === 'inconclusive'
            ? inconclusiveDescription(c)
            : c.status === 'no_baseline'
              ? 'No baseline yet: this run starts the history'
              : 'Not enough baseline runs for a verdict'
  return text.length <= 140 ? text : `${text.slice(0, 139)}…`
}

/** Trials (history) or blocks (A/B): what more of would sharpen the comparison. */
const unit = (c: Comparison) => (c.mode === 'paired' ? 'blocks' : 'trials per run')

export interface Resolution {
  /** The largest resolution among the gated metrics left undecided (%). */
  resolutionPct: number
  /** Those metrics. */
  undecided: MetricComparison[]
  /** Trials or blocks that would bring every one of them to its minimum effect; null: unknown. */
  needed: number | null
}

/** What an inconclusive comparison reached, and what would settle it. */
export function resolutionOf(c: Comparison): Resolution | null {
  const undecided = c.metrics.filter((m) => m.gated && m.verdict === 'inconclusive')
  if (!undecided.length) return null
  const resolutionPct = Math.max(...undecided.map((m) => m.mde_pct ?? 0))
  const needs = undecided.map((m) => m.needed)
  const needed = needs.every((n) => n !== null) ? Math.max(...(needs as number[])) : null
  return { resolutionPct, undecided, needed }
}

function inconclusiveDescription(c: Comparison): string {
  const r = resolutionOf(c)
  if (!r) return 'Inconclusive'
  return `Inconclusive: no change above ${r.resolutionPct.toFixed(0)}%; smaller cannot be excluded${
    r.needed ? ` (${r.needed} ${unit(c)} would settle it)` : ''
  }`
}

function resolutionLine(c: Comparison): string | null {
  if (c.status === 'unchanged') {
    return "Every gated metric's change lies within ± its minimum effect (the interval shown in the comparison's JSON as `ci_pct`)."
  }
  const r = resolutionOf(c)
  if (!r || c.status === 'regression') return null
  const names = [...new Set(r.undecided.map((m) => LABEL[m.metric].replace(/ \(ms\)$/, '')))]
  const more = r.needed
    ? ` About ${r.needed} ${unit(c)} would reach the minimum effect.`
    : c.mode === 'paired'
      ? ''
      : ' More baseline runs are needed before more trials would help.'
  const lead = c.status === 'inconclusive' ? '**Inconclusive:** no' : 'No'
  return `${lead} regression above ${r.resolutionPct.toFixed(0)}% (this comparison's resolution), but a smaller one cannot be excluded: ${names.join(', ')} did not show a change inside ± the minimum effect.${more}${
    c.settings.fail_on_inconclusive ? ' This project fails the check on an inconclusive comparison.' : ''
  }`
}

function pairedLine(c: Comparison): string | null {
  if (c.mode !== 'paired' || !c.paired) return null
  const p = c.paired
  const why =
    p.stopped === 'decided'
      ? 'stopped when the verdict was reached'
      : p.stopped === 'budget'
        ? 'stopped at the block budget'
        : p.stopped === 'time'
          ? 'stopped at the time budget'
          : 'interrupted'
  const learned = c.metrics.filter((m) => m.noise_source === 'blocks_learned').length
  const prior =
    p.prior_run_ids.length === 0
      ? ''
      : ` The block noise of ${p.prior_run_ids.length} earlier A/B run(s) was the prior${learned ? '' : ' offered, and set aside: this run scattered more than it allows'}.`
  return `A/B: the base and this PR ran interleaved on the same hardware, one trial of each per block, in ${p.blocks} of at most ${p.max_blocks} blocks (${why}); drift shared by both cancels in their ratio.${prior}`
}

function table(rows: MetricComparison[]): string[] {
  return [
    '| metric | baseline | this PR | change | p | verdict |',
    '|:--|--:|--:|--:|--:|:--|',
    ...rows.map(
      (m) =>
        `| ${LABEL[m.metric]} | ${num(m.baseline.median)} | ${num(m.candidate.median)} | ${signed(m.delta_pct)} | ${pText(decisiveP(m))} | ${VERDICT[m.verdict]} |`,
    ),
  ]
}

export function renderComparisonMarkdown(c: Comparison, o: RenderOptions = {}): string {
  const out: string[] = [
    commentMarker(c.benchmark),
    `### Infergate · \`${c.benchmark}\`: ${HEADLINE[c.status]}`,
    '',
  ]
  const h = headlineMetric(c)
  if (h && (c.status === 'regression' || c.status === 'improvement')) {
    const against =
      c.mode === 'paired'
        ? 'against the base, measured beside it'
        : `against ${c.baseline_run_ids.length} baseline runs`
    out.push(
      `**${LABEL[h.metric].replace(/ \(ms\)$/, '')} ${signed(h.delta_pct)}** at \`${h.scenario}\` (${num(h.baseline.median)} → ${num(h.candidate.median)}), ${against}.`,
      '',
    )
  }
  const paired = pairedLine(c)
  if (paired) out.push(paired, '')
  if (c.status === 'no_baseline') {
    out.push(
      'Nothing to compare with yet: runs on the base branch (pushes, nightly schedules) become the baseline of later pull requests.',
      '',
    )
  }
  const resolution = resolutionLine(c)
  if (resolution) out.push(resolution, '')
  for (const w of c.warnings) out.push(`> [!WARNING]\n> ${w}`, '')
  for (const scenario of [...new Set(c.metrics.map((m) => m.scenario))]) {
    // A metric nobody measured (goodput without SLOs) is left out, not shown as a row of dashes.
    const rows = c.metrics.filter(
      (m) => m.scenario === scenario && (m.baseline.median !== null || m.candidate.median !== null),
    )
    out.push(`**${scenario}**`, '', ...table(rows.filter((m) => m.gated)), '')
    const other = rows.filter((m) => !m.gated)
    if (other.length) {
      out.push('<details><summary>not gated</summary>', '', ...table(other), '', '</details>', '')
    }
  }
  if (c.environment_diff.length) {
    out.push('**Environment changes** (reported, not used to pick baselines)', '')
    for (const d of c.environment_diff) {
      out.push(`- \`${d.field}\`: \`${JSON.stringify(d.baseline)}\` → \`${JSON.stringify(d.candidate)}\``)
    }
    out.push('')
  }
  if (c.baseline_run_ids.length && c.mode !== 'paired') {
    const shas = c.baseline_run_ids.map((id) => o.baselineShas?.[id]?.slice(0, 7) ?? id.slice(0, 8))
    out.push(
      `Baseline: ${c.baseline_run_ids.length} run${c.baseline_run_ids.length === 1 ? '' : 's'} (${shas.map((s) => `\`${s}\``).join(', ')}).`,
      '',
    )
  }
  const footer = [
    o.commit ? `commit \`${o.commit.slice(0, 7)}\`` : null,
    `p: the p-value the verdict turned on; a change is called at p < ${c.settings.alpha} and at least the minimum effect (${c.settings.min_effect_pct}%, tails more), unchanged when its interval lies inside ± it`,
    o.comparisonUrl ? `[full comparison](${o.comparisonUrl})` : null,
  ].filter(Boolean)
  out.push(`<sub>${footer.join(' · ')}</sub>`, '')
  return out.join('\n')
}
