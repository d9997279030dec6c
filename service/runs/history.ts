// What dashboards read: the benchmarks of a project with their latest values, and one metric
// over time.
import { type Kysely, sql } from 'kysely'
import { median } from '../../core/stats.ts'
import type { Database } from '../db/database.ts'

export interface SeriesQuery {
  benchmark: string
  scenario: string
  /** A summary key: `median_ttft_ms`, `p99_tpot_ms`, `output_throughput`, … */
  key: string
  /** The comparison metric the verdict is read from (`ttft_ms`, `output_throughput`, …). */
  metric: string
  branch: string | null
  limit: number
}

export interface SeriesPoint {
  run_id: string
  sha: string | null
  branch: string | null
  pr_number: number | null
  time: string
  value: number | null
  verdict: string | null
  /** The run-to-run noise (σ of log run medians, %) its verdict allowed for; null without one. */
  noise_pct: number | null
}

export async function series(
  db: Kysely<Database>,
  projectId: string,
  q: SeriesQuery,
): Promise<SeriesPoint[]> {
  // Only the number asked for and the verdict leave the database, not whole summaries and
  // comparisons (a year of runs would be megabytes of JSON to parse).
  let query = db
    .selectFrom('runs')
    .innerJoin('trials', 'trials.run_id', 'runs.id')
    .select([
      'runs.id',
      'runs.sha',
      'runs.branch',
      'runs.pr_number',
      'runs.reported_at',
      sql<number | null>`(trials.summary ->> ${q.key})::double precision`.as('value'),
      sql<string | null>`jsonb_path_query_first(
        runs.comparison,
        '$.metrics[*] ? (@.scenario == $s && @.metric == $m).verdict',
        jsonb_build_object('s', ${q.scenario}::text, 'm', ${q.metric}::text)
      ) #>> '{}'`.as('verdict'),
      sql<number | null>`(jsonb_path_query_first(
        runs.comparison,
        '$.metrics[*] ? (@.scenario == $s && @.metric == $m).noise_pct',
        jsonb_build_object('s', ${q.scenario}::text, 'm', ${q.metric}::text)
      ) #>> '{}')::double precision`.as('noise_pct'),
    ])
    .where('runs.project_id', '=', projectId)
    .where('runs.benchmark', '=', q.benchmark)
    .where('trials.scenario', '=', q.scenario)
  if (q.branch !== null) query = query.where('runs.branch', '=', q.branch)
  const latest = db
    .selectFrom('runs')
    .select('id')
    .where('project_id', '=', projectId)
    .where('benchmark', '=', q.benchmark)
    // An A/B run's trials measured two servers: their median is neither's.
    .where('paired', '=', false)
    .$if(q.branch !== null, (qb) => qb.where('branch', '=', q.branch!))
    .orderBy('reported_at', 'desc')
    .limit(q.limit)
  const rows = await query
    .where('runs.id', 'in', latest)
    .orderBy('runs.reported_at')
    .orderBy('trials.trial_index')
    .execute()
  const points = new Map<string, SeriesPoint & { values: number[] }>()
  for (const r of rows) {
    let p = points.get(r.id)
    if (!p) {
      p = {
        run_id: r.id,
        sha: r.sha,
        branch: r.branch,
        pr_number: r.pr_number,
        time: new Date(r.reported_at).toISOString(),
        value: null,
        verdict: r.verdict,
        noise_pct: r.noise_pct === null ? null : Number(r.noise_pct),
        values: [],
      }
      points.set(r.id, p)
    }
    if (r.value !== null) p.values.push(Number(r.value))
  }
  // Several trials: their median.
  return [...points.values()].map(({ values, ...p }) => ({
    ...p,
    value: values.length ? median(values) : null,
  }))
}

export interface BenchmarkOverview {
  benchmark: string
  scenarios: {
    name: string
    run_id: string
    sha: string | null
    time: string
    summary: Record<string, number | null>
  }[]
}

/**
 * Each benchmark's scenarios with the summary of their latest run (its first trial); with
 * `baseOnly`, the latest run that was no pull request's (the dashboard's "where main stands").
 */
export async function benchmarks(
  db: Kysely<Database>,
  projectId: string,
  o: { baseOnly?: boolean } = {},
): Promise<BenchmarkOverview[]> {
  const rows = await db
    .selectFrom('runs')
    .innerJoin('trials', 'trials.run_id', 'runs.id')
    .select([
      'runs.benchmark',
      'trials.scenario',
      'runs.id',
      'runs.sha',
      'runs.reported_at',
      'trials.summary',
    ])
    .where('runs.project_id', '=', projectId)
    // An A/B run's first trial may be its baseline arm's.
    .where('runs.paired', '=', false)
    .where('trials.trial_index', '=', 0)
    .$if(o.baseOnly === true, (qb) => qb.where('runs.pr_number', 'is', null))
    .orderBy('runs.reported_at', 'desc')
    .execute()
  const out = new Map<string, BenchmarkOverview>()
  for (const r of rows) {
    const b = out.get(r.benchmark) ?? { benchmark: r.benchmark, scenarios: [] }
    out.set(r.benchmark, b)
    if (b.scenarios.some((s) => s.name === r.scenario)) continue
    b.scenarios.push({
      name: r.scenario,
      run_id: r.id,
      sha: r.sha,
      time: new Date(r.reported_at).toISOString(),
      summary: r.summary as Record<string, number | null>,
    })
  }
  return [...out.values()].sort((a, b) => a.benchmark.localeCompare(b.benchmark))
}

export interface RecentRun {
  run_id: string
  benchmark: string
  sha: string | null
  branch: string | null
  pr_number: number | null
  paired: boolean
  time: string
  /** The comparison's status at ingest (regression, unchanged, …); null before comparisons were stored. */
  status: string | null
}

/** The project's latest runs, newest first: each benchmark's base-branch and PR runs, for its overview. */
export async function recentRuns(
  db: Kysely<Database>,
  projectId: string,
  limit: number,
  benchmark: string | null = null,
): Promise<RecentRun[]> {
  const rows = await db
    .selectFrom('runs')
    .select([
      'id',
      'benchmark',
      'sha',
      'branch',
      'pr_number',
      'paired',
      'reported_at',
      sql<string | null>`comparison ->> 'status'`.as('status'),
    ])
    .where('project_id', '=', projectId)
    .$if(benchmark !== null, (qb) => qb.where('benchmark', '=', benchmark!))
    .orderBy('reported_at', 'desc')
    .limit(limit)
    .execute()
  return rows.map((r) => ({
    run_id: r.id,
    benchmark: r.benchmark,
    sha: r.sha,
    branch: r.branch,
    pr_number: r.pr_number,
    paired: r.paired,
    time: new Date(r.reported_at).toISOString(),
    status: r.status,
  }))
}

export interface BenchmarkSeriesQuery {
  benchmark: string
  key: string
  metric: string
  /** The base branch: its latest `limit` runs that were no PR's, and the PR runs among the latest `limit`. */
  branch: string | null
  limit: number
  /** Runs reported in [from, to) only; null: no bound. */
  from: Date | null
  to: Date | null
}

/**
 * Every scenario's series of one benchmark in one query (the history page draws them all): the
 * base branch's runs, and pull-request runs apart, each point its run's median over trials.
 */
export async function benchmarkSeries(
  db: Kysely<Database>,
  projectId: string,
  q: BenchmarkSeriesQuery,
): Promise<Map<string, SeriesPoint[]>> {
  const latest = (prs: boolean) =>
    db
      .selectFrom('runs')
      .select('id')
      .where('project_id', '=', projectId)
      .where('benchmark', '=', q.benchmark)
      .where('paired', '=', false)
      .where('pr_number', prs ? 'is not' : 'is', null)
      .$if(!prs && q.branch !== null, (qb) => qb.where('branch', '=', q.branch!))
      .$if(q.from !== null, (qb) => qb.where('reported_at', '>=', q.from!))
      .$if(q.to !== null, (qb) => qb.where('reported_at', '<', q.to!))
      .orderBy('reported_at', 'desc')
      .limit(q.limit)
  // Two queries, not one join: each run's comparison (a few kB of JSON) is read once, not
  // once per scenario, and only its verdicts of this metric leave the database.
  const runs = await db
    .selectFrom('runs')
    .select([
      'id',
      'sha',
      'branch',
      'pr_number',
      'reported_at',
      sql<[string, string | null, number | null][] | null>`(
        select jsonb_agg(jsonb_build_array(e ->> 'scenario', e ->> 'verdict', e -> 'noise_pct'))
        from jsonb_array_elements(runs.comparison -> 'metrics') as e
        where e ->> 'metric' = ${q.metric}::text
      )`.as('verdicts'),
    ])
    .where((eb) => eb.or([eb('id', 'in', latest(false)), eb('id', 'in', latest(true))]))
    .orderBy('reported_at')
    .execute()
  if (runs.length === 0) return new Map()
  const values = await db
    .selectFrom('trials')
    .select(['run_id', 'scenario', sql<number | null>`(summary ->> ${q.key})::double precision`.as('value')])
    .where(
      'run_id',
      'in',
      runs.map((r) => r.id),
    )
    .orderBy('trial_index')
    .execute()
  // Per run and scenario its trials' values (empty: trials without the value).
  const trialValues = new Map<string, number[]>()
  for (const v of values) {
    const k = `${v.run_id} ${v.scenario}`
    let xs = trialValues.get(k)
    if (!xs) {
      xs = []
      trialValues.set(k, xs)
    }
    if (v.value !== null) xs.push(Number(v.value))
  }
  const scenarios = [...new Set(values.map((v) => v.scenario))]
  const byScenario = new Map<string, SeriesPoint[]>()
  for (const scenario of scenarios) {
    const points: SeriesPoint[] = []
    for (const r of runs) {
      const xs = trialValues.get(`${r.id} ${scenario}`)
      if (!xs) continue // the run did not measure this scenario
      const verdict = r.verdicts?.find((v) => v[0] === scenario)
      points.push({
        run_id: r.id,
        sha: r.sha,
        branch: r.branch,
        pr_number: r.pr_number,
        time: new Date(r.reported_at).toISOString(),
        value: xs.length ? median(xs) : null,
        verdict: verdict?.[1] ?? null,
        noise_pct: verdict?.[2] ?? null,
      })
    }
    byScenario.set(scenario, points)
  }
  return byScenario
}
