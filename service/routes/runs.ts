// Runs: POST ingests exactly the file `infergate bench --out` writes (service/runs/ingest.ts does
// the work); GETs read a run back and the comparison its verdict was made from.
import { type Context, Hono } from 'hono'
import { requireProject } from '../auth.ts'
import type { Env } from '../env.ts'
import { ApiError, jsonBody } from '../http.ts'
import { notificationsOfRun } from '../notifications/outbox.ts'
import { subjectOf } from '../runs/baselines.ts'
import { compareNow, ingest, reportOf } from '../runs/ingest.ts'
import { loadComparable, loadRun, projectOfRun, RUN_ID, storedComparison } from '../runs/repository.ts'

export const runs = new Hono<Env>()
runs.use(requireProject)

async function ownRun(c: Context<Env>): Promise<string> {
  const id = c.req.param('id') ?? ''
  if (!RUN_ID.test(id)) throw new ApiError(404, 'run_not_found', `no run ${id}`)
  // Another project's run answers as if it did not exist.
  if ((await projectOfRun(c.get('db'), id)) !== c.get('project').id) {
    throw new ApiError(404, 'run_not_found', `no run ${id}`)
  }
  return id
}

const context = (c: Context<Env>) => ({
  db: c.get('db'),
  project: c.get('project'),
  config: c.get('config'),
  linkSecret: c.get('linkSecret'),
})

runs.post('/', async (c) => {
  const report = reportOf(await jsonBody(c), c.get('project'))
  const run = await c.get('ingestGate').run(() => ingest(context(c), report))
  if (run.created && run.notifications.length) c.get('wake')()
  c.get('log')('info', run.created ? 'run ingested' : 'run posted again', {
    run_id: run.id,
    benchmark: report.benchmark,
    sha: report.git.sha,
    branch: report.git.branch,
    pr: report.git.pr_number,
    status: run.comparison.status,
    baseline_runs: run.comparison.baseline_run_ids.length,
    notifications: run.notifications.length,
  })
  const { created, ...answer } = run
  return c.json(answer, created ? 201 : 200)
})

runs.get('/:id', async (c) => {
  const id = await ownRun(c)
  const db = c.get('db')
  const [run, notifications] = await Promise.all([loadRun(db, id), notificationsOfRun(db, id)])
  return c.json({ id, report: run!.report, notifications })
})

/**
 * The comparison the run's verdict was made from, as stored at ingest. `?baseline=current`
 * compares it again against the baseline as it stands now (stored nowhere).
 */
runs.get('/:id/comparison', async (c) => {
  const id = await ownRun(c)
  const baseline = c.req.query('baseline') ?? 'stored'
  if (baseline !== 'stored' && baseline !== 'current') {
    throw new ApiError(
      400,
      'invalid_query',
      `baseline: expected stored or current, got ${JSON.stringify(baseline)}`,
    )
  }
  const db = c.get('db')
  if (baseline === 'stored') {
    const stored = await storedComparison(db, id)
    if (stored) return c.json(stored)
  }
  const [run] = await loadComparable(db, [id])
  const subject = await subjectOf(db, id)
  if (!run || !subject) throw new ApiError(404, 'run_not_found', `no run ${id}`)
  return c.json(await compareNow(context(c), run, subject))
})
