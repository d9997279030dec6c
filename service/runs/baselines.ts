// Which runs a run is judged against: the most recent runs that landed on its base branch (the
// PR's base for pull requests, its own branch for pushes and schedules) with the same benchmark
// and hardware (GPU model and count). What has landed is, by definition, the accepted state.
// Other differences (engine version, model revision, config) are reported, not used to split.
import type { Kysely } from 'kysely'
import type { Run } from '../../core/detect/compare.ts'
import type { Report } from '../../core/report.ts'
import type { Database } from '../db/database.ts'
import { loadComparable } from './repository.ts'

export interface Baseline {
  baselines: Run[]
  /** Older base-branch runs too, for the run-to-run noise (oldest first). */
  history: Run[]
  pinned: boolean
}

/** What choosing a run's baseline needs to know of it. */
export interface Subject {
  id: string
  project_id: string
  benchmark: string
  branch: string | null
  base_branch: string | null
  pr_number: number | null
  reported_at: Date | string
  gpu_model: string | null
  gpu_count: number | null
}

/** A report about to be stored: its baseline can be chosen while it is being written. */
export function subjectOfReport(id: string, projectId: string, r: Report): Subject {
  return {
    id,
    project_id: projectId,
    benchmark: r.benchmark,
    branch: r.git.branch,
    base_branch: r.git.base_branch,
    pr_number: r.git.pr_number,
    reported_at: r.created_at,
    gpu_model: r.environment.gpu.model,
    gpu_count: r.environment.gpu.count,
  }
}

export async function subjectOf(db: Kysely<Database>, runId: string): Promise<Subject | null> {
  const row = await db
    .selectFrom('runs')
    .select([
      'id',
      'project_id',
      'benchmark',
      'branch',
      'base_branch',
      'pr_number',
      'reported_at',
      'gpu_model',
      'gpu_count',
    ])
    .where('id', '=', runId)
    .executeTakeFirst()
  return row ?? null
}

export async function baselineFor(
  db: Kysely<Database>,
  run: Subject,
  counts: { baselineRuns: number; historyRuns: number },
): Promise<Baseline> {
  const base = run.pr_number !== null ? run.base_branch : run.branch
  const rows = !base
    ? []
    : await db
        .selectFrom('runs')
        .select('id')
        .where('project_id', '=', run.project_id)
        .where('benchmark', '=', run.benchmark)
        .where('branch', '=', base)
        .where('pr_number', 'is', null)
        // An A/B run measured two servers: its trials are not the base branch's alone.
        .where('paired', '=', false)
        .where('id', '!=', run.id)
        .where('reported_at', '<=', new Date(run.reported_at))
        .where((eb) =>
          run.gpu_model === null ? eb('gpu_model', 'is', null) : eb('gpu_model', '=', run.gpu_model),
        )
        .where((eb) =>
          run.gpu_count === null ? eb('gpu_count', 'is', null) : eb('gpu_count', '=', run.gpu_count),
        )
        .orderBy('reported_at', 'desc')
        .orderBy('ingested_at', 'desc')
        .limit(Math.max(counts.baselineRuns, counts.historyRuns))
        .execute()
  const historyIds = rows.reverse().map((r) => r.id)
  // A pinned set overrides the automatic choice; the noise still comes from the history.
  const pins = await db
    .selectFrom('pinned_baselines')
    .innerJoin('runs', 'runs.id', 'pinned_baselines.run_id')
    .select('runs.id')
    .where('pinned_baselines.project_id', '=', run.project_id)
    .where('pinned_baselines.benchmark', '=', run.benchmark)
    .where('runs.id', '!=', run.id)
    .orderBy('runs.reported_at')
    .execute()
  const baselineIds = pins.length ? pins.map((p) => p.id) : historyIds.slice(-counts.baselineRuns)
  // Each run loaded once; samples only for the baseline (the history's noise reads summaries).
  const loaded = await loadComparable(db, [...new Set([...historyIds, ...baselineIds])], baselineIds)
  const byId = new Map(loaded.map((r) => [r.id, r]))
  const pick = (ids: string[]) => ids.flatMap((id) => byId.get(id) ?? [])
  const history = pick(historyIds)
  const baselines = pick(baselineIds)
  return { baselines, history: history.length ? history : baselines, pinned: pins.length > 0 }
}
