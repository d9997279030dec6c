// The comparison as people read it on GitHub: the PR comment, the check run's summary and the
// Action's job summary all come from here, so they never disagree. GitHub-flavoured markdown
// that reads the same in light and dark themes (emoji, no colours), tables kept to six columns.
import { type Comparison, isRequestMetric, type MetricComparison } from '../detect/comparison.ts'

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
  insufficient_data: '⚪ not enough data for a verdict',
  no_baseline: '⚪ no baseline yet',
}

const VERDICT: Record<MetricComparison['verdict'], string> = {
  regression: '🔴 regression',
  improvement: '🟢 improvement',
  unchanged: 'unchanged',
  insufficient_data: '⚪ insufficient data',
}

const LABEL: Record<MetricComparison['metric'], string> = {
  ttft_ms: 'TTFT (ms)',
  tpot_ms: 'TPOT (ms)',
  itl_ms: 'ITL (ms)',
  e2el_ms: 'E2E latency (ms)',
  output_throughput: 'output tok/s',
  request_throughput: 'requests/s',
  request_goodput: 'goodput req/s',
}

const num = (x: number | null) =>
  x === null ? '–' : Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2)
const signed = (x: number | null) => (x === null ? '–' : `${x > 0 ? '+' : ''}${x.toFixed(1)}%`)

/** The p-value a verdict turned on (see docs/detection.md). */
export function decisiveP(m: MetricComparison): number | null {
  if (!isRequestMetric(m.metric)) return m.p_noise
  if (m.p_adjusted === null || m.p_noise === null) return m.p_adjusted ?? m.p_noise
  return Math.max(m.p_adjusted, m.p_noise)
}

const pText = (p: number | null) => (p === null ? '–' : p < 1e-4 ? '<0.0001' : p.toFixed(4))

/** The change that matters most: the largest regression of a gated metric, else the largest move. */
export function headlineMetric(c: Comparison): MetricComparison | null {
  const by = (rows: MetricComparison[]) =>
    rows.reduce<MetricComparison | null>(
      (best, m) => (best === null || Math.abs(m.delta_pct ?? 0) > Math.abs(best.delta_pct ?? 0) ? m : best),
      null,
    )
  const gated = c.metrics.filter((m) => m.gated && m.delta_pct !== null)
  return (
    by(gated.filter((m) => m.verdict === 'regression')) ??
    by(gated.filter((m) => m.verdict === 'improvement')) ??
    by(gated)
  )
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
          : c.status === 'no_baseline'
            ? 'No baseline yet: this run starts the history'
            : 'Not enough baseline runs for a verdict'
  return text.length <= 140 ? text : `${text.slice(0, 139)}…`
}

function resolutionLine(c: Comparison): string | null {
  const gated = c.metrics.filter((m) => m.gated && m.mde_pct !== null)
  if (!gated.length || c.status === 'regression') return null
  const worst = Math.max(...gated.map((m) => m.mde_pct!))
  const three = Math.max(...gated.map((m) => m.mde_pct_3_trials ?? m.mde_pct!))
  return `No regression above ${worst.toFixed(0)}% — smaller ones are below this benchmark's resolution${
    three < worst - 0.5 ? `; 3 trials per run would reach ${three.toFixed(0)}%` : ''
  }.`
}

function table(rows: MetricComparison[]): string[] {
  return [
    '| metric | baseline p50 | this PR p50 | change | p | verdict |',
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
    out.push(
      `**${LABEL[h.metric].replace(/ \(ms\)$/, '')} ${signed(h.delta_pct)}** at \`${h.scenario}\` (${num(h.baseline.median)} → ${num(h.candidate.median)}), against ${c.baseline_run_ids.length} baseline runs.`,
      '',
    )
  }
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
  if (c.baseline_run_ids.length) {
    const shas = c.baseline_run_ids.map((id) => o.baselineShas?.[id]?.slice(0, 7) ?? id.slice(0, 8))
    out.push(`Baseline: ${c.baseline_run_ids.length} runs (${shas.map((s) => `\`${s}\``).join(', ')}).`, '')
  }
  const footer = [
    o.commit ? `commit \`${o.commit.slice(0, 7)}\`` : null,
    `p: the p-value the verdict turned on; a verdict needs p < ${c.settings.alpha} and a change of at least ${c.settings.min_effect_pct}%`,
    o.comparisonUrl ? `[full comparison](${o.comparisonUrl})` : null,
  ].filter(Boolean)
  out.push(`<sub>${footer.join(' · ')}</sub>`, '')
  return out.join('\n')
}
