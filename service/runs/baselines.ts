// Which runs a run is judged against: the most recent runs that landed on its base branch (the
// PR's base for pull requests, its own branch for pushes and schedules) with the same benchmark
// and hardware (GPU model and count). What has landed is, by definition, the accepted state.
// Other differences (engine version, model revision, config) are reported, not used to split.
import type { Kysely } from 'kysely'
import type { Database } from '../db/database.ts'
import { loadRun, type StoredRun } from './repository.ts'

export interface Baseline {
  baselines: StoredRun[]
  /** Older base-branch runs too, for the run-to-run noise (oldest first). */
  history: StoredRun[]
  pinned: boolean
}

export async function baselineFor(
  db: Kysely<Database>,
  runId: string,
  counts: { baselineRuns: number; historyRuns: number },
): Promise<Baseline | null> {
  const run = await db.selectFrom('runs').selectAll().where('id', '=', runId).executeTakeFirst()
  if (!run) return null
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
        .where('id', '!=', run.id)
        .where('reported_at', '<=', run.reported_at)
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
  const history: StoredRun[] = []
  for (const r of rows.reverse()) {
    const loaded = await loadRun(db, r.id)
    if (loaded) history.push(loaded)
  }
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
  if (pins.length) {
    const pinned: StoredRun[] = []
    for (const p of pins) {
      // Pinned runs are often in the history already: load each run once.
      const loaded = history.find((h) => h.id === p.id) ?? (await loadRun(db, p.id))
      if (loaded) pinned.push(loaded)
    }
    return { baselines: pinned, history: history.length ? history : pinned, pinned: true }
  }
  return { baselines: history.slice(-counts.baselineRuns), history, pinned: false }
}
