// Pinned baselines: a benchmark's baseline fixed to chosen runs, overriding the automatic choice
// (service/runs/baselines.ts reads them).
import type { Kysely } from 'kysely'
import type { Database } from '../db/database.ts'

/** Which of `ids` are runs of this project's benchmark, each with whether it is an A/B run. */
export async function runsOfBenchmark(
  db: Kysely<Database>,
  projectId: string,
  benchmark: string,
  ids: string[],
): Promise<Map<string, { paired: boolean }>> {
  const rows = await db
    .selectFrom('runs')
    .select(['id', 'paired'])
    .where('project_id', '=', projectId)
    .where('benchmark', '=', benchmark)
    .where('id', 'in', ids)
    .execute()
  return new Map(rows.map((r) => [r.id, { paired: r.paired }]))
}

/** Replaces the benchmark's pinned runs, in one transaction. */
export async function pinBaseline(
  db: Kysely<Database>,
  projectId: string,
  benchmark: string,
  runIds: string[],
) {
  await db.transaction().execute(async (trx) => {
    await trx
      .deleteFrom('pinned_baselines')
      .where('project_id', '=', projectId)
      .where('benchmark', '=', benchmark)
      .execute()
    await trx
      .insertInto('pinned_baselines')
      .values(runIds.map((run_id) => ({ project_id: projectId, benchmark, run_id })))
      .execute()
  })
}

/**
 * Pins the runs chosen (the API's run_ids, the dashboard's checked boxes), or says why not,
 * naming the run by its place in the list: each must be a run of this project's benchmark,
 * measured on one server (an A/B run's candidate arm is no baseline for other runs).
 */
export async function pinChosenRuns(
  db: Kysely<Database>,
  projectId: string,
  benchmark: string,
  runIds: string[],
): Promise<string | null> {
  const known = await runsOfBenchmark(db, projectId, benchmark, runIds)
  const missing = runIds.findIndex((id) => !known.has(id))
  if (missing >= 0)
    return `run_ids[${missing}]: no run ${runIds[missing]} of benchmark ${benchmark} in this project`
  const paired = runIds.findIndex((id) => known.get(id)!.paired)
  if (paired >= 0) {
    return `run_ids[${paired}]: run ${runIds[paired]} is an A/B run (two servers, compared with each other); pin runs of one server`
  }
  await pinBaseline(db, projectId, benchmark, [...known.keys()])
  return null
}

/** Unpins; answers how many runs were pinned. */
export async function unpinBaseline(
  db: Kysely<Database>,
  projectId: string,
  benchmark: string,
): Promise<number> {
  const result = await db
    .deleteFrom('pinned_baselines')
    .where('project_id', '=', projectId)
    .where('benchmark', '=', benchmark)
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}

/** The benchmark's pinned runs, oldest first (none: the baseline is chosen automatically). */
export async function pinnedRuns(
  db: Kysely<Database>,
  projectId: string,
  benchmark: string,
): Promise<string[]> {
  const rows = await db
    .selectFrom('pinned_baselines')
    .innerJoin('runs', 'runs.id', 'pinned_baselines.run_id')
    .select('runs.id')
    .where('pinned_baselines.project_id', '=', projectId)
    .where('pinned_baselines.benchmark', '=', benchmark)
    .orderBy('runs.reported_at')
    .execute()
  return rows.map((r) => r.id)
}
