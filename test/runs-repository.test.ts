// Storing runs on both engines: a report goes in and comes back the same, once per CI run.
import type { Kysely } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseReport, type Report } from '../core/report.ts'
import type { Database } from '../service/db/database.ts'
import { createProject, projectByName, projectByToken } from '../service/projects/repository.ts'
import { baselineFor, subjectOfReport } from '../service/runs/baselines.ts'
import { benchmarks, series } from '../service/runs/history.ts'
import { insertRun, loadComparable, loadRun } from '../service/runs/repository.ts'
import { engine, migratedDatabase } from './db-helpers.ts'
import { makePairedReport, makeReport } from './report-factory.ts'

let db: Kysely<Database>
let close: () => Promise<void>
beforeAll(async () => {
  ;({ db, close } = await migratedDatabase())
})
afterAll(() => close())

const withCi = (r: Report, runId: string): Report =>
  parseReport({
    ...r,
    ci: {
      provider: 'github',
      run_id: runId,
      run_attempt: 1,
      workflow: 'perf',
      job: 'bench',
      server_url: null,
    },
  })

describe(`runs on ${engine}`, () => {
  it('a project token is shown once and stored hashed', async () => {
    const { project, token } = await createProject(db, 'acme', 'tokens')
    expect(token).toMatch(/^igt_[A-Za-z0-9_-]{32}$/)
    expect(await projectByToken(db, token)).toEqual(project)
    expect(await projectByToken(db, `${token}x`)).toBeNull()
    const stored = await db.selectFrom('api_tokens').select('token_hash').execute()
    expect(stored.map((t) => t.token_hash)).not.toContain(token)
    expect(await projectByName(db, 'acme', 'tokens')).toEqual(project)
  })

  it('a report comes back exactly as it went in (samples, ragged ITL, nulls)', async () => {
    const { project } = await createProject(db, 'acme', 'roundtrip')
    const report = withCi(
      makeReport(1, [
        { requests: 50, outputTokens: 5 },
        { requests: 40, outputTokens: 1 },
      ]),
      '100',
    )
    const { id, created } = await insertRun(db, project.id, report)
    expect(created).toBe(true)
    const back = await loadRun(db, id)
    expect(back?.projectId).toBe(project.id)
    expect(back?.report).toEqual(report)
  })

  it('an A/B report (v2) comes back exactly as it went in: both arms, every trial its arm and block', async () => {
    const { project } = await createProject(db, 'acme', 'paired')
    const report = withCi(
      makePairedReport(
        4,
        [
          { baseline: { requests: 6 }, candidate: { requests: 5, outputTokens: 1 } },
          { baseline: { requests: 4, failed: 1 }, candidate: { requests: 6 } },
          { baseline: { requests: 3 }, candidate: { requests: 3 }, order: 'baseline-first' },
        ],
        {
          baselineEngineVersion: '0.10.2',
          paired: { order: 'random', time_budget_s: 900.5, stopped: 'decided' },
        },
      ),
      '150',
    )
    // The last block cut short: its candidate trial never ran.
    report.scenarios[0]!.trials.pop()
    expect(parseReport(report)).toEqual(report)
    const { id } = await insertRun(db, project.id, report)
    const back = await loadRun(db, id)
    expect(back?.report).toEqual(report)
    expect(JSON.stringify(back?.report)).toBe(JSON.stringify(report))
    expect(back?.report.schema).toBe('infergate.report/v2')
    const rows = await db
      .selectFrom('trials')
      .select(['trial_index', 'arm', 'block'])
      .where('run_id', '=', id)
      .orderBy('id')
      .execute()
    expect(rows.map((r) => [r.trial_index, r.arm, r.block])).toEqual([
      [0, 'baseline', 0],
      [1, 'candidate', 0],
      [2, 'candidate', 1],
      [3, 'baseline', 1],
      [4, 'baseline', 2],
    ])
    const run = await db.selectFrom('runs').select('paired').where('id', '=', id).executeTakeFirstOrThrow()
    expect(run.paired).toBe(true)
  })

  it('a v1 report reads back as v1, and a report of one server has no arm anywhere', async () => {
    const { project } = await createProject(db, 'acme', 'v1')
    const v2 = makeReport(5, [{ requests: 4 }, { requests: 3 }])
    const v1 = parseReport({ ...v2, schema: 'infergate.report/v1' })
    for (const report of [v1, v2]) {
      const { id } = await insertRun(db, project.id, report)
      const back = await loadRun(db, id)
      expect(back?.report).toEqual(report)
      expect(JSON.stringify(back?.report)).toBe(JSON.stringify(report))
      expect(back!.report.scenarios[0]!.trials[0]).not.toHaveProperty('arm')
      const run = await db.selectFrom('runs').select('paired').where('id', '=', id).executeTakeFirstOrThrow()
      expect(run.paired).toBe(false)
      const [comparable] = await loadComparable(db, [id])
      expect(comparable!.report.scenarios[0]!.trials[0]).not.toHaveProperty('block')
    }
  })

  it("the detector's loaders read each trial's arm and block, with or without samples", async () => {
    const { project } = await createProject(db, 'acme', 'paired-loaders')
    const report = makePairedReport(6, [
      { baseline: { requests: 3 }, candidate: { requests: 3 } },
      { baseline: { requests: 3 }, candidate: { requests: 3 } },
    ])
    const { id } = await insertRun(db, project.id, report)
    const expected = report.scenarios[0]!.trials.map((t) => ({ arm: t.arm, block: t.block }))
    expect(expected).toEqual([
      { arm: 'baseline', block: 0 },
      { arm: 'candidate', block: 0 },
      { arm: 'candidate', block: 1 },
      { arm: 'baseline', block: 1 },
    ])
    for (const withSamples of [[id], []]) {
      const [run] = await loadComparable(db, [id], withSamples)
      const trials = run!.report.scenarios[0]!.trials as { arm?: string; block?: number; samples?: unknown }[]
      expect(trials.map((t) => ({ arm: t.arm, block: t.block }))).toEqual(expected)
      expect(trials.every((t) => (t.samples !== undefined) === withSamples.length > 0)).toBe(true)
      expect(run!.report.arms).toEqual(report.arms)
      expect(run!.report.paired).toEqual(report.paired)
    }
  })

  it("A/B runs are left out of the base branch's baselines and of the dashboards' history", async () => {
    const { project } = await createProject(db, 'acme', 'paired-baselines')
    const onMain = (r: Report, createdAt: string) =>
      parseReport({
        ...r,
        created_at: createdAt,
        git: { ...r.git, branch: 'main', base_branch: null, pr_number: null, event_name: 'push', ref: null },
      })
    const plain = []
    for (const seed of [10, 11]) {
      plain.push((await insertRun(db, project.id, makeReport(seed, [{ requests: 3 }]))).id)
    }
    const ab = makePairedReport(12, [{ baseline: { requests: 3 }, candidate: { requests: 3 } }])
    const paired = (await insertRun(db, project.id, onMain(ab, '2026-11-02T00:00:00.000Z'))).id
    const head = makeReport(13, [{ requests: 3 }])
    const pr = parseReport({
      ...head,
      created_at: '2026-11-03T00:00:00.000Z',
      git: { ...head.git, branch: 'feat', base_branch: 'main', pr_number: 7 },
    })
    const baseline = await baselineFor(
      db,
      subjectOfReport('00000000-0000-4000-8000-000000000001', project.id, pr),
      {
        baselineRuns: 5,
        historyRuns: 10,
      },
    )
    expect(baseline.baselines.map((r) => r.id).sort()).toEqual([...plain].sort())
    expect(baseline.history.map((r) => r.id)).not.toContain(paired)
    const points = await series(db, project.id, {
      benchmark: 'bench',
      scenario: 'concurrency-8',
      key: 'median_ttft_ms',
      metric: 'ttft_ms',
      branch: null,
      limit: 10,
    })
    expect(points.map((p) => p.run_id).sort()).toEqual([...plain].sort())
    const [overview] = await benchmarks(db, project.id)
    expect(plain).toContain(overview!.scenarios[0]!.run_id)
  })

  it('the same CI run attempt posted again is the same run, even when both posts race', async () => {
    const { project } = await createProject(db, 'acme', 'idempotent')
    const report = withCi(makeReport(2, [{ requests: 20 }]), '200')
    const [a, b] = await Promise.all([insertRun(db, project.id, report), insertRun(db, project.id, report)])
    expect(a.id).toBe(b.id)
    expect([a.created, b.created].sort()).toEqual([false, true])
    const again = await insertRun(db, project.id, report)
    expect(again).toEqual({ id: a.id, created: false })
    const count = await db
      .selectFrom('runs')
      .select(db.fn.countAll().as('n'))
      .where('project_id', '=', project.id)
      .executeTakeFirstOrThrow()
    expect(Number(count.n)).toBe(1)
    // A new attempt of the CI run is a new run.
    const retry = parseReport({ ...report, ci: { ...report.ci!, run_attempt: 2 } })
    expect((await insertRun(db, project.id, retry)).created).toBe(true)
  })

  it('an unknown run is null', async () => {
    expect(await loadRun(db, '00000000-0000-4000-8000-000000000000')).toBeNull()
  })

  it('a run stored under older, looser rules still reads back as it was stored', async () => {
    const { project } = await createProject(db, 'acme', 'legacy')
    const r = makeReport(9, [{ requests: 3 }])
    // A 300-character branch: accepted before the schema stated the index's limit.
    const old = { ...r, git: { ...r.git, branch: 'b'.repeat(300) } } as Report
    const { id } = await insertRun(db, project.id, old)
    expect((await loadRun(db, id))!.report.git.branch).toBe('b'.repeat(300))
  })
})
