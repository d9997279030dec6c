// A benchmark's state on a commit before its report arrives: pending while the Action
// benchmarks, error when it fails. Delivered like a verdict (commit status or check run); the
// report's verdict supersedes it.
import { Hono } from 'hono'
import { z } from 'zod'
import { DEFAULT_STATUS_DESCRIPTION, StatusRequest } from '../../core/status-request.ts'
import { issuesOf } from '../../core/validation.ts'
import { requireProject } from '../auth.ts'
import type { Env } from '../env.ts'
import { invalid, jsonBody } from '../http.ts'
import { type CommitVerdict, keyOf } from '../notifications/notification.ts'
import { enqueue } from '../notifications/outbox.ts'
import { admitStatus } from '../oidc/policy.ts'
import { createRoute, errors, json, type RouteConfig, requestJson, SECURITY } from '../openapi.ts'
import { Notification } from './runs.ts'

export const statuses = new Hono<Env>()
statuses.use(requireProject)

statuses.post('/', async (c) => {
  const parsed = StatusRequest.safeParse(await jsonBody(c))
  if (!parsed.success) throw invalid('status', issuesOf(parsed.error))
  const s = parsed.data
  const project = c.get('project')
  const principal = c.get('principal')
  if (principal.kind === 'oidc') admitStatus(principal.claims, s.sha)
  // Without GitHub credentials there is nowhere to say it: accepted, nothing queued.
  if (!c.get('config').github) return c.json({ notifications: [] }, 202)
  const payload: CommitVerdict = {
    owner: project.owner,
    repo: project.repo,
    sha: s.sha,
    benchmark: s.benchmark,
    state: s.state,
    conclusion: s.state === 'error' ? 'failure' : null,
    description: s.description ?? DEFAULT_STATUS_DESCRIPTION[s.state],
    target_url: s.target_url ?? null,
    summary: null,
  }
  const notification = { kind: 'commit_verdict' as const, payload }
  const notifications = await enqueue(c.get('db'), project.id, null, [
    { ...notification, key: keyOf(notification) },
  ])
  c.get('wake')()
  return c.json({ notifications }, 202)
})

/** What the OpenAPI document says of this route (service/openapi.ts). */
export const statusesApi: RouteConfig[] = [
  createRoute({
    method: 'post',
    path: '/api/v1/statuses',
    summary: "A benchmark's state on a commit before (pending) or instead of (error) its report",
    security: SECURITY.projectOrOidc,
    request: { body: requestJson(StatusRequest) },
    responses: {
      202: json(
        z.object({ notifications: z.array(Notification) }),
        'queued for GitHub (none without GitHub credentials)',
      ),
      ...errors(400, 401, 403),
    },
  }),
]
