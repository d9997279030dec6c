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
  time: string
  value: number | null
  verdict: string | null
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
      'runs.reported_at',
      sql<number | null>`(trials.summary ->> ${q.key})::double precision`.as('value'),
      sql<string | null>`jsonb_path_query_first(
        runs.comparison,
        '$.metrics[*] ? (@.scenario == $s && @.metric == $m).verdict',
        jsonb_build_object('s', ${q.scenario}::text, 'm', ${q.metric}::text)
      ) #>> '{}'`.as('verdict'),
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
        time: new Date(r.reported_at).toISOString(),
        value: null,
        verdict: r.verdict,
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

/** Each benchmark's scenarios with the summary of their latest run (its first trial). */
export async function benchmarks(db: Kysely<Database>, projectId: string): Promise<BenchmarkOverview[]> {
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
