// The database layer on both engines: migrations, and per-request samples stored as arrays.
import { type Kysely, sql } from 'kysely'
import { Migrator } from 'kysely/migration'
import { afterAll, describe, expect, it } from 'vitest'
import { migrations } from '../migrations/index.ts'
import { migrateToLatest, openDatabase } from '../service/db/connect.ts'
import { packF64, unpackF64, unpackI32, unpackNullableF64 } from '../service/runs/packed.ts'
import { loadComparable } from '../service/runs/repository.ts'
import { engine, freshDatabase } from './db-helpers.ts'

const drops: (() => Promise<void>)[] = []
afterAll(async () => {
  for (const d of drops) await d()
})

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
    expect(await migrateToLatest(db)).toEqual(Object.keys(migrations))
    expect(await migrateToLatest(db)).toEqual([])
    const tables = await sql<{ table_name: string }>`
      select table_name from information_schema.tables where table_schema = 'public' order by table_name`.execute(
      db,
    )
    expect(tables.rows.map((r) => r.table_name)).toEqual(
      expect.arrayContaining(['api_tokens', 'notifications', 'projects', 'runs', 'trials']),
    )
    await db.destroy()
  })

  it.runIf(engine === 'postgres')('two replicas starting at once migrate without harm', async () => {
    const fresh = await freshDatabase()
    drops.push(fresh.drop)
    const a = openDatabase(fresh.target)
    const b = openDatabase(fresh.target)
    const [ra, rb] = await Promise.all([migrateToLatest(a), migrateToLatest(b)])
    expect([...ra, ...rb].sort()).toEqual(Object.keys(migrations))
    await Promise.all([a.destroy(), b.destroy()])
  })

  it('0004 packs samples stored as arrays before it into bytes, losing nothing', async () => {
    const fresh = await freshDatabase()
    drops.push(fresh.drop)
    // The schema as it was before 0004: untyped.
    const db = openDatabase(fresh.target) as unknown as Kysely<any>
    const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } })
    expect((await migrator.migrateTo('0003_pinned_baselines')).error).toBeUndefined()
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
    expect(await migrateToLatest(db)).toEqual(Object.keys(migrations).slice(3))
    const row = await db
      .selectFrom('trials')
      .selectAll()
      .where('run_id', '=', runId)
      .executeTakeFirstOrThrow()
    expect(unpackF64(row.start_ms)).toEqual(samples.start_ms)
    expect(unpackF64(row.ttft_ms)).toEqual(samples.ttft_ms)
    expect(unpackNullableF64(row.tpot_ms)).toEqual(samples.tpot_ms)
    expect(unpackF64(row.e2el_ms)).toEqual(samples.e2el_ms)
    expect(unpackF64(row.itl_ms)).toEqual(samples.itl_ms)
    expect(unpackI32(row.itl_counts)).toEqual(samples.itl_counts)
    expect(unpackI32(row.input_tokens)).toEqual(samples.input_tokens)
    expect(unpackI32(row.output_tokens)).toEqual(samples.output_tokens)
    expect(row.dispatch_delay_ms).toBeNull()
    expect(row.itl_sample).toBeNull()
    // Written by JavaScript, the bytes are the same as SQL's float8send made.
    expect(Buffer.from(row.tpot_ms).equals(packF64(samples.tpot_ms))).toBe(true)
    // Without a stored sample, comparisons read every gap, per request.
    const [run] = await loadComparable(db, [runId])
    expect(run!.report.scenarios[0]!.trials[0]!.samples!.itl_ms).toEqual([[10, 11, 12], [], [9.5]])
    expect(row.load).toEqual({ mode: 'closed', concurrency: 8 })
    // The same CI run attempt and benchmark cannot be stored twice.
    await expect(
      db.insertInto('runs').values(runRow('5f6b1f8e-6a1c-4a35-9d0e-2c1f0b9a7e12', project.id)).execute(),
    ).rejects.toThrow(/duplicate key|unique/i)
    await db.destroy()
  })

  it('0008 gives runs stored before it no arms (paired false), and holds arm and block to the schema', async () => {
    const fresh = await freshDatabase()
    drops.push(fresh.drop)
    const db = openDatabase(fresh.target) as unknown as Kysely<any>
    const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } })
    expect((await migrator.migrateTo('0007_github_rate_limits')).error).toBeUndefined()
    const project = await db
      .insertInto('projects')
      .values({ owner: 'acme', repo: 'llm' })
      .returning('id')
      .executeTakeFirstOrThrow()
    const runId = '6f6b1f8e-6a1c-4a35-9d0e-2c1f0b9a7e13'
    await db.insertInto('runs').values(runRow(runId, project.id)).execute()
    const empty = packF64([])
    const trial = (index: number) => ({
      run_id: runId,
      scenario: 'concurrency-8',
      trial_index: index,
      load: JSON.stringify({ mode: 'closed', concurrency: 8 }),
      stop: JSON.stringify({ requests: 0 }),
      summary: JSON.stringify({ completed: 0 }),
      errors: JSON.stringify({}),
      error_examples: JSON.stringify([]),
      warnings: JSON.stringify([]),
      token_count_source: 'usage',
      started_at: new Date(),
      ...Object.fromEntries(
        [
          'start_ms',
          'ttft_ms',
          'tpot_ms',
          'e2el_ms',
          'itl_ms',
          'itl_counts',
          'input_tokens',
          'output_tokens',
        ].map((k) => [k, empty]),
      ),
    })
    await db.insertInto('trials').values(trial(0)).execute()
    const names = Object.keys(migrations)
    expect(await migrateToLatest(db)).toEqual(names.slice(names.indexOf('0008_arms')))
    expect(await db.selectFrom('runs').select('paired').executeTakeFirstOrThrow()).toEqual({ paired: false })
    expect(await db.selectFrom('trials').select(['arm', 'block']).executeTakeFirstOrThrow()).toEqual({
      arm: null,
      block: null,
    })
    await db
      .insertInto('trials')
      .values({ ...trial(1), arm: 'candidate', block: 0 })
      .execute()
    for (const bad of [
      { arm: 'control', block: 0 },
      { arm: 'baseline', block: -1 },
      { arm: 'baseline', block: null },
      { arm: null, block: 1 },
    ]) {
      await expect(
        db
          .insertInto('trials')
          .values({ ...trial(2), ...bad })
          .execute(),
        JSON.stringify(bad),
      ).rejects.toThrow(/check constraint/i)
    }
    // And back down: the columns go, the runs and trials stay.
    expect((await migrator.migrateTo('0007_github_rate_limits')).error).toBeUndefined()
    const columns = await sql<{ column_name: string }>`
      select column_name from information_schema.columns
       where table_schema = 'public' and column_name in ('arm', 'block', 'paired')`.execute(db)
    expect(columns.rows).toEqual([])
    expect(await db.selectFrom('trials').select('trial_index').orderBy('trial_index').execute()).toEqual([
      { trial_index: 0 },
      { trial_index: 1 },
    ])
    await db.destroy()
  })

  it('0006 stops, naming them, where projects differ only in case (the old rules allowed it)', async () => {
    const fresh = await freshDatabase()
    drops.push(fresh.drop)
    const db = openDatabase(fresh.target) as unknown as Kysely<any>
    const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } })
    expect((await migrator.migrateTo('0005_notifications')).error).toBeUndefined()
    await db
      .insertInto('projects')
      .values([
        { owner: 'Acme', repo: 'llm' },
        { owner: 'acme', repo: 'LLM' },
        { owner: 'acme', repo: 'other' },
      ])
      .execute()
    await expect(migrateToLatest(db)).rejects.toThrow(
      'migration 0006_run_identity failed: projects differ only in case, which GitHub does not tell apart: Acme/llm, acme/LLM;',
    )
    // Nothing half-applied: after the merge by hand, the migration goes through.
    await db.deleteFrom('projects').where('owner', '=', 'Acme').execute()
    expect(await migrateToLatest(db)).toEqual(Object.keys(migrations).slice(5))
    await db.destroy()
  })
})
