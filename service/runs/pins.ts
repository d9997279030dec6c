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
