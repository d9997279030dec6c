import { randomUUID } from 'node:crypto'
import { type Context, Hono } from 'hono'
import { compareRuns, type Run } from '../../core/detect/compare.ts'
import type { Comparison } from '../../core/detect/comparison.ts'
import { detectorSettings } from '../../core/detect/settings.ts'
import { Report } from '../../core/report.ts'
import { issuesOf } from '../../core/validation.ts'
import type { Env } from '../app.ts'
import { requireProject } from '../auth.ts'
import { isEmbedded } from '../db/connect.ts'
import { ApiError, invalid, jsonBody } from '../http.ts'
import { runNotifications } from '../notifications/notification.ts'
import { enqueue, type NotificationView, notificationsOfRun } from '../notifications/outbox.ts'
import { baselineFor, type Subject, subjectOf, subjectOfReport } from '../runs/baselines.ts'
import { insertRun, loadComparable, loadRun, shasOf } from '../runs/repository.ts'

export const runs = new Hono<Env>()
runs.use(requireProject)

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** The comparison of a run against its baseline as it stands now. */
async function compareWithBaseline(c: Context<Env>, run: Run, subject: Subject): Promise<Comparison> {
  const base = await baselineFor(c.get('db'), subject, c.get('config'))
  return compareRuns(run, base.baselines, base.history, detectorSettings(c.get('project').settings))
}

async function ownRun(c: Context<Env>): Promise<string> {
  const id = c.req.param('id') ?? ''
  if (!UUID.test(id)) throw new ApiError(404, 'run_not_found', `no run ${id}`)
  const run = await c
    .get('db')
    .selectFrom('runs')
    .select(['id', 'project_id'])
    .where('id', '=', id)
    .executeTakeFirst()
  // Another project's run answers as if it did not exist.
  if (!run || run.project_id !== c.get('project').id) throw new ApiError(404, 'run_not_found', `no run ${id}`)
  return id
}

/** Ingests exactly the file `infergate bench --out` writes; answers the run id and its comparison. */
runs.post('/', async (c) => {
  const parsed = Report.safeParse(await jsonBody(c))
  if (!parsed.success) throw invalid('report', issuesOf(parsed.error))
  const report = parsed.data
  const project = c.get('project')
  const repository = `${project.owner}/${project.repo}`
  if (report.git.repository === null) {
    throw new ApiError(
      400,
      'invalid_report',
      'git.repository: required to ingest a report (set by GitHub Actions or --git-repository)',
    )
  }
  if (report.git.repository.toLowerCase() !== repository.toLowerCase()) {
    throw new ApiError(
      403,
      'repository_mismatch',
      `this token belongs to ${repository}, the report to ${report.git.repository}`,
    )
  }
  const db = c.get('db')
  const { github, publicUrl } = c.get('config')
  // The baseline is read and compared while the run is written (on Postgres, in parallel; PGlite
  // has one connection, which the write's transaction holds). A baseline only holds runs
  // reported no later than this one, so the order cannot matter.
  const newId = randomUUID()
  const comparing = compareWithBaseline(c, { id: newId, report }, subjectOfReport(newId, project.id, report))
  comparing.catch(() => {}) // awaited below; a failed write must not leave it unhandled
  if (isEmbedded(db)) await comparing
  let notifications: NotificationView[] = []
  // The comparison and what GitHub is owed are stored with the run or not at all.
  const { id, created } = await insertRun(db, project.id, report, newId, async (trx) => {
    const comparison = await comparing
    await trx
      .updateTable('runs')
      .set({ comparison: JSON.stringify(comparison) })
      .where('id', '=', newId)
      .execute()
    if (!github) return
    const baselineShas = await shasOf(trx, comparison.baseline_run_ids)
    const owed = runNotifications({ id: newId, report, comparison, baselineShas }, publicUrl)
    notifications = await enqueue(trx, project.id, newId, owed)
  })
  let comparison: Comparison
  if (created) {
    comparison = await comparing
    if (notifications.length) c.get('wake')()
  } else {
    // A re-post answers exactly what the first post answered.
    const stored = await db.selectFrom('runs').select('comparison').where('id', '=', id).executeTakeFirst()
    if (stored?.comparison) {
      return c.json(
        { id, comparison: stored.comparison, notifications: await notificationsOfRun(db, id) },
        200,
      )
    }
    // Stored before comparisons were kept: compare it as itself (it is no baseline of its own).
    comparison = await compareWithBaseline(c, { id, report }, subjectOfReport(id, project.id, report))
    await db
      .updateTable('runs')
      .set({ comparison: JSON.stringify(comparison) })
      .where('id', '=', id)
      .execute()
  }
  c.get('log')('info', 'run ingested', {
    run_id: id,
    benchmark: report.benchmark,
    sha: report.git.sha,
    branch: report.git.branch,
    pr: report.git.pr_number,
    status: comparison.status,
    baseline_runs: comparison.baseline_run_ids.length,
    notifications: notifications.length,
  })
  return c.json({ id, comparison, notifications }, created ? 201 : 200)
})

runs.get('/:id', async (c) => {
  const id = await ownRun(c)
  const db = c.get('db')
  const [run, notifications] = await Promise.all([loadRun(db, id), notificationsOfRun(db, id)])
  return c.json({ id, report: run!.report, notifications })
})

runs.get('/:id/comparison', async (c) => {
  const id = await ownRun(c)
  const db = c.get('db')
  const [run] = await loadComparable(db, [id])
  const subject = await subjectOf(db, id)
  if (!run || !subject) throw new ApiError(404, 'run_not_found', `no run ${id}`)
  return c.json(await compareWithBaseline(c, run, subject))
})
