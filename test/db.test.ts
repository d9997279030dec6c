// The database layer on both engines: migrations, and per-request samples stored as arrays.
import { sql } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import { migrateToLatest, openDatabase } from '../service/db/connect.ts'
import { engine, freshDatabase } from './db-helpers.ts'

const drops: (() => Promise<void>)[] = []
afterAll(async () => {
  for (const d of drops) await d()
})

async function migrated() {
  const fresh = await freshDatabase()
  drops.push(fresh.drop)
  const db = openDatabase(fresh.target)
  await migrateToLatest(db)
  return { db, fresh }
}

/** A run of the same CI identity (run 1, attempt 1, benchmark b) whatever its id. */
const runRow = (id: string, projectId: string) => ({
  id,
  project_id: projectId,
  benchmark: 'b',
  sha: 'abc',
  ref: null,
  branch: 'main',
  base_branch: null,
  pr_number: null,
  event_name: 'push',
  ci_run_id: '1',
  ci_run_attempt: 1,
  gpu_model: null,
  gpu_count: null,
  header: JSON.stringify({ benchmark: 'b' }),
  reported_at: new Date('2026-11-01T00:00:00Z'),
})

describe(`database on ${engine}`, () => {
  it('applies the migrations once; a second start has nothing to do', async () => {
    const fresh = await freshDatabase()
    drops.push(fresh.drop)
    const db = openDatabase(fresh.target)
    expect(await migrateToLatest(db)).toEqual([
      '0001_initial',
      '0002_run_comparison',
      '0003_pinned_baselines',
    ])
    expect(await migrateToLatest(db)).toEqual([])
    const tables = await sql<{ table_name: string }>`
      select table_name from information_schema.tables where table_schema = 'public' order by table_name`.execute(
      db,
    )
    expect(tables.rows.map((r) => r.table_name)).toEqual(
      expect.arrayContaining(['api_tokens', 'projects', 'runs', 'trials']),
    )
    await db.destroy()
  })

  it.runIf(engine === 'postgres')('two replicas starting at once migrate without harm', async () => {
    const fresh = await freshDatabase()
    drops.push(fresh.drop)
    const a = openDatabase(fresh.target)
    const b = openDatabase(fresh.target)
    const [ra, rb] = await Promise.all([migrateToLatest(a), migrateToLatest(b)])
    expect([...ra, ...rb].sort()).toEqual(['0001_initial', '0002_run_comparison', '0003_pinned_baselines'])
    await Promise.all([a.destroy(), b.destroy()])
  })

  it('stores per-request samples as one array per metric and reads them back exactly', async () => {
    const { db } = await migrated()
    const project = await db
      .insertInto('projects')
      .values({ owner: 'acme', repo: 'llm' })
      .returning('id')
      .executeTakeFirstOrThrow()
    const runId = '4f6b1f8e-6a1c-4a35-9d0e-2c1f0b9a7e11'
    await db.insertInto('runs').values(runRow(runId, project.id)).execute()
    const samples = {
      start_ms: [0, 0.125, 31.5],
      ttft_ms: [50.001, 49.999, 1e-3],
      tpot_ms: [10.5, null, 9.25],
      e2el_ms: [1300.25, 50.5, 1e6],
      itl_ms: [10, 11, 12, 9.5],
      itl_counts: [3, 0, 1],
      input_tokens: [512, 512, 7],
      output_tokens: [128, 1, 2],
      dispatch_delay_ms: null,
    }
    await db
      .insertInto('trials')
      .values({
        run_id: runId,
        scenario: 'concurrency-8',
        trial_index: 0,
        load: JSON.stringify({ mode: 'closed', concurrency: 8 }),
        stop: JSON.stringify({ requests: 3 }),
        summary: JSON.stringify({ completed: 3 }),
        errors: JSON.stringify({}),
        error_examples: JSON.stringify([]),
        warnings: JSON.stringify([]),
        token_count_source: 'usage',
        started_at: new Date(),
        ...samples,
      })
      .execute()
    const row = await db
      .selectFrom('trials')
      .selectAll()
      .where('run_id', '=', runId)
      .executeTakeFirstOrThrow()
    for (const [k, v] of Object.entries(samples)) expect(row[k as keyof typeof row], k).toEqual(v)
    expect(row.load).toEqual({ mode: 'closed', concurrency: 8 })
    // The same CI run attempt and benchmark cannot be stored twice.
    await expect(
      db.insertInto('runs').values(runRow('5f6b1f8e-6a1c-4a35-9d0e-2c1f0b9a7e12', project.id)).execute(),
    ).rejects.toThrow(/duplicate key|unique/i)
    await db.destroy()
  })
})
