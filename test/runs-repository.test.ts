// Storing runs on both engines: a report goes in and comes back the same, once per CI run.
import type { Kysely } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseReport, type Report } from '../core/report.ts'
import type { Database } from '../service/db/database.ts'
import { createProject, projectByName, projectByToken } from '../service/projects/repository.ts'
import { insertRun, loadRun } from '../service/runs/repository.ts'
import { engine, migratedDatabase } from './db-helpers.ts'
import { makeReport } from './report-factory.ts'

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
