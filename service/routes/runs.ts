// Runs: POST ingests exactly the file `infergate bench --out` writes (service/runs/ingest.ts does
// the work); GETs read a run back and the comparison its verdict was made from.
import { type Context, Hono } from 'hono'
import { z } from 'zod'
import { Comparison } from '../../core/detect/comparison.ts'
import { Report } from '../../core/report.ts'
import { requireProject } from '../auth.ts'
import type { Env } from '../env.ts'
import { ApiError, jsonBody } from '../http.ts'
import { notificationsOfRun } from '../notifications/outbox.ts'
import { admitReport } from '../oidc/policy.ts'
import { createRoute, errors, json, type RouteConfig, requestJson, SECURITY } from '../openapi.ts'
import { subjectOf } from '../runs/baselines.ts'
import { compareNow, ingest, reportOf } from '../runs/ingest.ts'
import { loadComparable, loadRun, projectOfRun, RUN_ID, storedComparison } from '../runs/repository.ts'

export const runs = new Hono<Env>()
runs.use(requireProject)

// Named once: each is one component of the document, referenced wherever it appears.
const ReportDoc = Report.meta({ id: 'Report' })
const ComparisonDoc = Comparison.meta({ id: 'Comparison' })
export const Notification = z
  .object({
    id: z.string(),
    kind: z.enum(['commit_verdict', 'pr_comment', 'slack_message', 'webhook_event']),
    webhook_id: z
      .string()
      .nullable()
      .meta({ description: "the webhook a slack_message or webhook_event went to; null for GitHub's" }),
    state: z.enum(['pending', 'delivered', 'failed', 'superseded']),
    attempts: z.number().int(),
    next_attempt_at: z.string().nullable(),
    last_error: z.string().nullable(),
    delivered_at: z.string().nullable(),
    result: z.unknown(),
  })
  .meta({ id: 'Notification' })
const Posted = z.object({
  id: z.uuid(),
  comparison: ComparisonDoc,
  baseline_shas: z.record(z.string(), z.string().nullable()),
  notifications: z.array(Notification),
})
const RunId = z.object({ id: z.uuid() })

/** What the OpenAPI document says of these routes (service/openapi.ts). */
export const runsApi: RouteConfig[] = [
  createRoute({
    method: 'post',
    path: '/api/v1/runs',
    summary: 'Store a report and compare it with its baseline',
    description:
      'The body is exactly the file `infergate bench --out` writes. A re-post of the same CI run answers 200 with the run it already had.',
    security: SECURITY.projectOrOidc,
    request: { body: requestJson(ReportDoc) },
    responses: {
      201: json(Posted, 'stored and compared'),
      200: json(Posted, 'the same CI run was posted before: that run'),
      ...errors(400, 401, 403, 413, 503),
    },
  }),
  createRoute({
    method: 'get',
    path: '/api/v1/runs/{id}',
    summary: 'A run: its report and its notifications',
    security: SECURITY.projectOrOidc,
    request: { params: RunId },
    responses: {
      200: json(
        z.object({ id: z.uuid(), report: ReportDoc, notifications: z.array(Notification) }),
        'the run',
      ),
      ...errors(401, 404),
    },
  }),
  createRoute({
    method: 'get',
    path: '/api/v1/runs/{id}/comparison',
    summary: "The comparison the run's verdict was made from",
    security: SECURITY.projectOrOidc,
    request: {
      params: RunId,
      query: z.object({
        baseline: z.enum(['stored', 'current']).default('stored').meta({
          description: 'current: compare again against the baseline as it stands now (stored nowhere)',
        }),
      }),
    },
    responses: { 200: json(ComparisonDoc, 'the comparison'), ...errors(400, 401, 404) },
  }),
]

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
  metrics: c.get('metrics'),
})

runs.post('/', async (c) => {
  const principal = c.get('principal')
  // A token's repository is the one its claims name (a rename keeps the binding); else the project's.
  const repository = principal.kind === 'oidc' ? principal.claims.repository : undefined
  const report = reportOf(await jsonBody(c), c.get('project'), repository)
  if (principal.kind === 'oidc') admitReport(principal.claims, principal.policy, report)
  const started = performance.now()
  const run = await c.get('ingestGate').run(() => ingest(context(c), report))
  c.get('metrics').ingest(run.created ? 'created' : 'reposted', (performance.now() - started) / 1000)
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
