// One run and its comparison: what the PR comment says, and what a comment cannot show: the
// per-request distributions against the baseline's, each trial's values, the load curve across
// the run's scenarios, the environment diff, warnings and errors.
import { ciRunUrl } from '../../../core/ci-context.ts'
import type { ComparableReport, ComparableTrial } from '../../../core/detect/compare.ts'
import type { Comparison } from '../../../core/detect/comparison.ts'
import { decisiveP, LABEL, statusDescription } from '../../../core/render/markdown.ts'
import type { PageReport, PageTrial } from '../../runs/repository.ts'
import type { RunAccess } from '../access.ts'
import { ecdf } from '../charts.ts'
import { html, jsonBlock } from '../html.ts'
import { fmt, type Html, page, pct, shortSha, verdictBadge, when } from '../layout.ts'
import { benchmarkPath, projectPath, runPath } from '../paths.ts'

export interface RunView {
  id: string
  report: PageReport
  comparison: Comparison | null
  /** The baseline runs as the detector read them (their samples), for their distributions. */
  baselines: ComparableReport[]
}

/** The per-request metrics whose distributions are drawn. */
const DISTRIBUTIONS = [
  ['ttft_ms', 'TTFT (ms)'],
  ['tpot_ms', 'TPOT (ms)'],
  ['e2el_ms', 'E2E latency (ms)'],
] as const

type SampleKey = (typeof DISTRIBUTIONS)[number][0]

function pooled(trials: readonly (PageTrial | ComparableTrial)[], key: SampleKey): number[] {
  const out: number[] = []
  for (const t of trials) for (const v of t.samples?.[key] ?? []) if (v !== null && v > 0) out.push(v)
  return out
}

type Scenario = PageReport['scenarios'][number]
const candidateTrials = (s: Scenario) => s.trials.filter((t) => t.arm !== 'baseline')
const baselineArmTrials = (s: Scenario) => s.trials.filter((t) => t.arm === 'baseline')

/** The chart data of one scenario: candidate vs baseline ECDFs of each per-request metric. */
function distributions(v: RunView, scenario: string) {
  const own = v.report.scenarios.find((s) => s.name === scenario)!
  const paired = v.report.arms !== undefined
  // A/B: the baseline is the run's own other arm; history: the baseline runs' same scenario.
  const base = paired
    ? baselineArmTrials(own)
    : v.baselines.flatMap((r) => r.scenarios.find((s) => s.name === scenario)?.trials ?? [])
  return Object.fromEntries(
    DISTRIBUTIONS.map(([key, label]) => [
      key,
      {
        label,
        candidate: ecdf(pooled(candidateTrials(own), key)),
        baseline: base.length ? ecdf(pooled(base, key)) : null,
      },
    ]),
  )
}

/** Throughput against latency, one point per scenario, in the order of their load. */
function loadCurve(r: PageReport) {
  const points = r.scenarios.map((s) => {
    const t = candidateTrials(s)
    const med = (f: (t: PageTrial) => number | null) => {
      const xs = t.map(f).filter((x): x is number => x !== null)
      xs.sort((a, b) => a - b)
      return xs.length ? xs[Math.floor((xs.length - 1) / 2)]! : null
    }
    return {
      scenario: s.name,
      load: s.load.mode === 'closed' ? s.load.concurrency : s.load.rate,
      output_throughput: med((t) => t.summary.output_throughput),
      median_ttft_ms: med((t) => t.summary.median_ttft_ms),
      p99_ttft_ms: med((t) => t.summary.p99_ttft_ms),
      median_tpot_ms: med((t) => t.summary.median_tpot_ms),
    }
  })
  const mode = r.scenarios[0]!.load.mode
  return {
    loadLabel: mode === 'closed' ? 'concurrency' : 'rate (req/s)',
    points: points.filter((p) => p.output_throughput !== null),
  }
}

function comparisonTable(c: Comparison): Html {
  return html`<table class="comparison">
<thead><tr><th>Scenario</th><th>Metric</th><th class="num">Baseline</th><th class="num">Candidate</th><th class="num">Change</th><th class="num">Interval</th><th class="num">p</th><th class="num">Noise</th><th>Verdict</th></tr></thead>
<tbody>${c.metrics.map(
    (
      m,
    ) => html`<tr class="${m.gated ? 'gated' : 'info'}"><td>${m.scenario}</td><td>${LABEL[m.metric]}${m.gated ? '' : html` <span class="muted">(not gated)</span>`}</td>
<td class="num">${fmt(m.baseline.median)}</td><td class="num">${fmt(m.candidate.median)}</td><td class="num">${pct(m.delta_pct)}</td>
<td class="num">${m.ci_pct ? `${pct(m.ci_pct[0])} … ${pct(m.ci_pct[1])}` : '–'}</td><td class="num">${fmt(decisiveP(m), 3)}</td>
<td class="num">${m.noise_pct === null ? '–' : `±${m.noise_pct.toFixed(1)}%`}</td><td>${verdictBadge(m.verdict)}</td></tr>`,
  )}</tbody></table>`
}

/** The trial values a table shows, with their format. */
const TRIAL_COLUMNS: [keyof PageTrial['summary'], string, number][] = [
  ['median_ttft_ms', 'TTFT p50', 2],
  ['p99_ttft_ms', 'TTFT p99', 2],
  ['median_tpot_ms', 'TPOT p50', 2],
  ['median_e2el_ms', 'E2EL p50', 2],
  ['output_throughput', 'Output tok/s', 1],
  ['request_throughput', 'Req/s', 2],
]

const value = (t: PageTrial, k: keyof PageTrial['summary']) => {
  const v = t.summary[k]
  return typeof v === 'number' ? v : null
}

/** max / min − 1 of the trials' values: how far apart repeated trials of one load came out. */
function spread(trials: readonly PageTrial[], k: keyof PageTrial['summary']): string {
  const xs = trials.flatMap((t) => {
    const v = value(t, k)
    return v !== null && v > 0 ? [v] : []
  })
  return xs.length < 2 ? '–' : `${((Math.max(...xs) / Math.min(...xs) - 1) * 100).toFixed(1)}%`
}

function trialsTable(s: Scenario): Html {
  const arms = s.trials.some((t) => t.arm !== undefined)
  const groups = arms
    ? (['baseline', 'candidate'] as const).map((a) => [a, s.trials.filter((t) => t.arm === a)] as const)
    : ([['', s.trials]] as const)
  return html`<table class="trials">
<thead><tr><th>Trial</th>${arms ? html`<th>Arm</th><th>Block</th>` : ''}<th class="num">Completed</th><th class="num">Failed</th>${TRIAL_COLUMNS.map(([, label]) => html`<th class="num">${label}</th>`)}</tr></thead>
<tbody>${s.trials.map(
    (t) => html`<tr><td>${t.index}</td>${arms ? html`<td>${t.arm ?? ''}</td><td>${t.block ?? ''}</td>` : ''}
<td class="num">${t.summary.completed}</td><td class="num">${t.summary.failed}</td>${TRIAL_COLUMNS.map(([k, , d]) => html`<td class="num">${fmt(value(t, k), d)}</td>`)}</tr>`,
  )}
${groups.map(
  ([arm, trials]) =>
    html`<tr class="spread"><td>spread${arm ? ` (${arm})` : ''}</td>${arms ? html`<td></td><td></td>` : ''}<td></td><td></td>${TRIAL_COLUMNS.map(([k]) => html`<td class="num">${spread(trials, k)}</td>`)}</tr>`,
)}</tbody></table>`
}

/**
 * An A/B run's blocks: per block, the candidate trial's value over the baseline trial's, the
 * ratios the paired verdict is made from (in the order the block ran them).
 */
function blocksTable(s: Scenario, order: readonly string[]): Html {
  const blocks = new Map<number, { baseline?: PageTrial; candidate?: PageTrial }>()
  for (const t of s.trials) {
    if (t.block === undefined || t.arm === undefined) continue
    const b = blocks.get(t.block) ?? {}
    b[t.arm] = t
    blocks.set(t.block, b)
  }
  const ratio = (b: { baseline?: PageTrial; candidate?: PageTrial }, k: keyof PageTrial['summary']) => {
    const x = b.candidate && value(b.candidate, k)
    const y = b.baseline && value(b.baseline, k)
    return x && y ? `${(x / y).toFixed(3)}` : '–'
  }
  return html`<table class="blocks"><thead><tr><th>Block</th><th>First</th>${TRIAL_COLUMNS.map(([, label]) => html`<th class="num">${label}</th>`)}</tr></thead>
<tbody>${[...blocks].map(
    ([n, b]) =>
      html`<tr><td>${n}</td><td>${order[n] ?? '–'}</td>${TRIAL_COLUMNS.map(([k]) => html`<td class="num">${ratio(b, k)}</td>`)}</tr>`,
  )}</tbody></table>`
}

export function runPage(v: RunView, access: RunAccess): Html {
  const { report: r, comparison: c } = v
  const project = access.project
  const git = r.git
  const repoUrl = git.repository ? `https://github.com/${git.repository}` : null
  const ci = ciRunUrl(r.ci, git.repository)
  const charts = r.scenarios.map((s, i) => ({
    id: `dist-${i}`,
    scenario: s.name,
    data: distributions(v, s.name),
  }))
  const curve = loadCurve(r)
  const warnings = [
    ...(c?.warnings ?? []),
    ...r.scenarios.flatMap((s) =>
      s.trials.flatMap((t) => t.warnings.map((w) => `${s.name} trial ${t.index}: ${w}`)),
    ),
  ]
  const errors = r.scenarios.flatMap((s) =>
    s.trials.flatMap((t) =>
      Object.entries(t.errors).map(([kind, n]) => ({ scenario: s.name, trial: t.index, kind, n })),
    ),
  )
  const crumbs = access.viaLink
    ? [{ label: `${project.owner}/${project.repo}` }, { label: r.benchmark }, { label: shortSha(git.sha) }]
    : [
        { label: `${project.owner}/${project.repo}`, href: projectPath(project) },
        { label: r.benchmark, href: benchmarkPath(project, r.benchmark) },
        { label: shortSha(git.sha) },
      ]
  const body = html`<section class="run-head">
<p class="status">${verdictBadge(c?.status ?? null)} ${c ? statusDescription(c) : 'No comparison stored for this run.'}</p>
<dl class="facts">
<dt>Commit</dt><dd>${git.sha ? (repoUrl ? html`<a href="${repoUrl}/commit/${git.sha}">${shortSha(git.sha)}</a>` : shortSha(git.sha)) : '–'}</dd>
<dt>Branch</dt><dd>${git.branch ?? '–'}</dd>
<dt>Pull request</dt><dd>${git.pr_number !== null ? (repoUrl ? html`<a href="${repoUrl}/pull/${git.pr_number}">#${git.pr_number}</a>` : `#${git.pr_number}`) : '–'}</dd>
<dt>CI run</dt><dd>${ci ? html`<a href="${ci}">${r.ci!.run_id}</a>` : '–'}</dd>
<dt>Reported</dt><dd>${when(r.created_at)}</dd>
<dt>Model</dt><dd>${r.environment.model}</dd>
<dt>Engine</dt><dd>${[r.environment.engine.name, r.environment.engine.version].filter(Boolean).join(' ') || '–'}</dd>
<dt>GPU</dt><dd>${r.environment.gpu.model ? `${r.environment.gpu.count ?? 1} × ${r.environment.gpu.model}` : '–'}</dd>
<dt>Baseline</dt><dd>${c?.mode === 'paired' ? `the run's own baseline arm, ${c.paired?.blocks ?? 0} blocks` : c?.baseline_run_ids.length ? c.baseline_run_ids.map((id, i) => html`${i ? ', ' : ''}${access.viaLink ? id.slice(0, 8) : html`<a href="${runPath(id)}">${id.slice(0, 8)}</a>`}`) : 'none'}</dd>
</dl>
</section>
${c ? html`<section><h2>Comparison</h2>${comparisonTable(c)}</section>` : ''}
<section><h2>Distributions</h2>
<p class="muted">Empirical CDFs of every completed request, candidate against ${r.arms ? 'the baseline arm' : 'the baseline runs pooled'}; log axis.</p>
${charts.map(
  (ch) => html`<div class="scenario-charts"><h3>${ch.scenario}</h3>
<div class="charts">${DISTRIBUTIONS.map(([key, label]) => html`<figure class="chart" data-chart="ecdf" data-source="${ch.id}" data-metric="${key}" aria-label="${ch.scenario}: ${label}"></figure>`)}</div>
${jsonBlock(ch.id, ch.data)}</div>`,
)}
</section>
${
  curve.points.length > 1
    ? html`<section><h2>Load curve</h2>
<p class="muted">Each scenario's median trial: output throughput against latency; the ${curve.loadLabel} of each point shows on hover.</p>
<figure class="chart wide" data-chart="curve" data-source="load-curve" aria-label="load curve"></figure>${jsonBlock('load-curve', curve)}</section>`
    : ''
}
<section><h2>Trials</h2>
${r.scenarios.map((s) => html`<h3>${s.name}</h3>${trialsTable(s)}`)}
</section>
${
  r.arms
    ? html`<section><h2>Blocks</h2>
<p class="muted">Each block ran one trial of each arm on the same hardware: candidate ÷ baseline, per block. The paired verdict is made from these ratios.</p>
${r.scenarios.map((s) => html`<h3>${s.name}</h3>${blocksTable(s, c?.paired?.order ?? [])}`)}</section>`
    : ''
}
${
  c?.environment_diff.length
    ? html`<section><h2>Environment diff</h2><table><thead><tr><th>Field</th><th>Baseline</th><th>This run</th></tr></thead>
<tbody>${c.environment_diff.map((d) => html`<tr><td>${d.field}</td><td><code>${JSON.stringify(d.baseline)}</code></td><td><code>${JSON.stringify(d.candidate)}</code></td></tr>`)}</tbody></table></section>`
    : ''
}
${warnings.length ? html`<section><h2>Warnings</h2><ul class="warnings">${warnings.map((w) => html`<li>${w}</li>`)}</ul></section>` : ''}
${
  errors.length
    ? html`<section><h2>Errors</h2><table><thead><tr><th>Scenario</th><th>Trial</th><th>Kind</th><th class="num">Requests</th></tr></thead>
<tbody>${errors.map((e) => html`<tr><td>${e.scenario}</td><td>${e.trial}</td><td>${e.kind}</td><td class="num">${e.n}</td></tr>`)}</tbody></table></section>`
    : ''
}`
  return page(
    {
      title: `${r.benchmark} @ ${shortSha(git.sha)}`,
      crumbs,
      charts: true,
      signedIn: !access.viaLink,
      notice: access.viaLink ? 'Read-only link to this run.' : undefined,
    },
    body,
  )
}
