// A benchmark's history: per scenario, one metric over time on the base branch, with its pull
// requests' runs apart, verdict markers, the pinned baseline and the baseline window, and the
// band of run-to-run noise the detector allowed for. The view's choices live in the URL.
import type { Kysely } from 'kysely'
import { z } from 'zod'
import { median } from '../../../core/stats.ts'
import type { Database } from '../../db/database.ts'
import type { ServiceConfig } from '../../env.ts'
import type { Project } from '../../projects/repository.ts'
import { benchmarkSeries, benchmarks, recentRuns, type SeriesPoint } from '../../runs/history.ts'
import { pinnedRuns } from '../../runs/pins.ts'
import { PageError } from '../access.ts'
import { html, jsonBlock } from '../html.ts'
import { type Html, page } from '../layout.ts'
import { benchmarkPath, projectPath } from '../paths.ts'

const LATENCY = ['ttft', 'tpot', 'itl', 'e2el'] as const
export const HISTORY_METRICS = [
  ...LATENCY,
  'output_throughput',
  'request_throughput',
  'total_token_throughput',
  'request_goodput',
  'slo_attainment',
] as const
const STATS = ['median', 'p90', 'p99', 'mean'] as const

// The form sends an empty field for a date left blank: no bound, not a bad date.
const optionalDate = z.preprocess((v) => (v === '' ? undefined : v), z.iso.date().optional())

export const HistoryQuery = z.object({
  metric: z.enum(HISTORY_METRICS).default('ttft'),
  stat: z.enum(STATS).default('median'),
  branch: z.string().min(1).max(255).optional(),
  limit: z.coerce.number().int().min(2).max(1000).default(365),
  /** Dates (UTC days): runs reported from `from` through `to`. */
  from: optionalDate,
  to: optionalDate,
})
export type HistoryQuery = z.infer<typeof HistoryQuery>

const METRIC_LABEL: Record<(typeof HISTORY_METRICS)[number], string> = {
  ttft: 'TTFT (ms)',
  tpot: 'TPOT (ms)',
  itl: 'ITL (ms)',
  e2el: 'E2E latency (ms)',
  output_throughput: 'Output tokens/s',
  request_throughput: 'Requests/s',
  total_token_throughput: 'Total tokens/s',
  request_goodput: 'Goodput (req/s)',
  slo_attainment: 'SLO attainment',
}

/** A run of the history, once per page (every scenario's chart refers to it by its place). */
export interface HistoryRun {
  id: string
  sha: string | null
  branch: string | null
  pr: number | null
  time: string
}

/** A point: the run's place in `runs`, its value, and the verdict on this scenario and metric. */
export type HistoryPoint = [run: number, value: number | null, verdict: string | null]

export interface HistoryChart {
  scenario: string
  label: string
  /** Base-branch runs, oldest first. */
  base: HistoryPoint[]
  /** Pull-request runs in the same span. */
  prs: HistoryPoint[]
  /** Pinned runs (their places in `runs`), and the baseline window's first and last run. */
  pinned: number[]
  window: [number, number] | null
  /** ± the latest base-branch verdict's run-to-run noise, around the window's median. */
  band: { center: number; noise_pct: number } | null
}

export async function historyCharts(
  db: Kysely<Database>,
  project: Project,
  benchmark: string,
  q: HistoryQuery,
  config: Pick<ServiceConfig, 'baselineRuns'>,
): Promise<{ runs: HistoryRun[]; charts: HistoryChart[]; branch: string | null; branches: string[] } | null> {
  const overview = (await benchmarks(db, project.id)).find((b) => b.benchmark === benchmark)
  if (!overview) return null
  const latency = (LATENCY as readonly string[]).includes(q.metric)
  const key = latency ? `${q.stat}_${q.metric}_ms` : q.metric
  // The comparison's metric of the verdict markers: medians and tails are compared, means never.
  const metric = !latency
    ? q.metric
    : q.stat === 'median'
      ? `${q.metric}_ms`
      : q.stat === 'mean'
        ? 'none'
        : `${q.stat}_${q.metric}_ms`
  const [pinned, branchRuns] = await Promise.all([
    pinnedRuns(db, project.id, benchmark),
    recentRuns(db, project.id, 2000, benchmark),
  ])
  // The base branch: asked for, else the branch of the latest run that was not a PR's.
  const baseRuns = branchRuns.filter((r) => r.pr_number === null && !r.paired)
  const branches = [...new Set(baseRuns.flatMap((r) => (r.branch ? [r.branch] : [])))]
  const branch = q.branch ?? baseRuns[0]?.branch ?? null
  const day = (d: string | undefined, plus = 0) => (d ? new Date(Date.parse(`${d}T00:00:00Z`) + plus) : null)
  const all = await benchmarkSeries(db, project.id, {
    benchmark,
    key,
    metric,
    branch,
    limit: q.limit,
    from: day(q.from),
    to: day(q.to, 86_400_000),
  })
  const runs: HistoryRun[] = []
  const place = new Map<string, number>()
  const at = (p: SeriesPoint) => {
    let i = place.get(p.run_id)
    if (i === undefined) {
      i = runs.push({ id: p.run_id, sha: p.sha, branch: p.branch, pr: p.pr_number, time: p.time }) - 1
      place.set(p.run_id, i)
    }
    return i
  }
  const point = (p: SeriesPoint): HistoryPoint => [at(p), p.value, p.verdict]
  const charts = overview.scenarios.map((s): HistoryChart => {
    const points = all.get(s.name) ?? []
    const values = points.filter((p) => p.pr_number === null)
    const from = values[0]?.time ?? ''
    const prs = points.filter((p) => p.pr_number !== null && p.time >= from)
    // The baseline the next comparison uses: the pinned runs, else the latest base-branch ones.
    const win = pinned.length
      ? values.filter((p) => pinned.includes(p.run_id))
      : values.slice(-config.baselineRuns)
    const latestNoise = values.findLast((p) => p.noise_pct !== null)?.noise_pct ?? null
    const winValues = win.flatMap((p) => (p.value === null ? [] : [p.value]))
    return {
      scenario: s.name,
      label: latency ? `${q.stat} ${METRIC_LABEL[q.metric]}` : METRIC_LABEL[q.metric],
      base: values.map(point),
      prs: prs.map(point),
      pinned: values.filter((p) => pinned.includes(p.run_id)).map(at),
      window: win.length ? [at(win[0]!), at(win[win.length - 1]!)] : null,
      band:
        latestNoise !== null && winValues.length
          ? { center: median(winValues), noise_pct: latestNoise }
          : null,
    }
  })
  return { runs, charts, branch, branches }
}

export async function historyPage(
  db: Kysely<Database>,
  project: Project,
  benchmark: string,
  q: HistoryQuery,
  config: Pick<ServiceConfig, 'baselineRuns'>,
): Promise<Html> {
  const found = await historyCharts(db, project, benchmark, q, config)
  if (!found) throw new PageError(404, 'Not found', `There is no benchmark ${benchmark} in this project.`)
  const { runs, charts, branch, branches } = found
  const name = `${project.owner}/${project.repo}`
  const option = (value: string, label: string, selected: boolean) =>
    html`<option value="${value}"${selected ? html` selected` : ''}>${label}</option>`
  const body = html`<form method="get" class="filters">
<label>Metric <select name="metric">${HISTORY_METRICS.map((m) => option(m, METRIC_LABEL[m], m === q.metric))}</select></label>
<label>Statistic <select name="stat">${STATS.map((s) => option(s, s, s === q.stat))}</select></label>
<label>Branch <select name="branch">${branches.map((b) => option(b, b, b === branch))}</select></label>
<label>Runs <input name="limit" type="number" min="2" max="1000" value="${q.limit}"></label>
<label>From <input name="from" type="date" value="${q.from ?? ''}"></label>
<label>To <input name="to" type="date" value="${q.to ?? ''}"></label>
<button type="submit">Show</button>
</form>
<p class="muted">Base branch ${branch ?? '–'}: a line; pull-request runs: hollow points. Red and green markers: regression and improvement verdicts. The band spans the baseline window: ± the run-to-run noise the latest verdict allowed for${charts[0]?.pinned.length ? '; pinned baseline runs are ringed' : ''}. Click a point to open its run.</p>
<p><a href="${benchmarkPath(project, benchmark)}/baselines">Baselines</a></p>
${jsonBlock('history-runs', runs)}
${charts.map(
  (ch, i) => html`<section class="history"><h2>${ch.scenario}</h2>
<figure class="chart wide" data-chart="history" data-source="history-${i}" aria-label="${ch.scenario}: ${ch.label}"></figure>
<div class="tooltip" hidden></div>
${jsonBlock(`history-${i}`, ch)}</section>`,
)}`
  return page(
    {
      title: benchmark,
      crumbs: [{ label: name, href: projectPath(project) }, { label: benchmark }],
      charts: true,
      signedIn: true,
    },
    body,
  )
}
