// A benchmark's state on a commit before its report arrives: pending while the Action
// benchmarks, error when it fails. Delivered like a verdict (commit status or check run); the
// report's verdict supersedes it.
import { Hono } from 'hono'
import { DEFAULT_STATUS_DESCRIPTION, StatusRequest } from '../../core/status-request.ts'
import { issuesOf } from '../../core/validation.ts'
import { requireProject } from '../auth.ts'
import type { Env } from '../env.ts'
import { invalid, jsonBody } from '../http.ts'
import { type CommitVerdict, keyOf } from '../notifications/notification.ts'
import { enqueue } from '../notifications/outbox.ts'

export const statuses = new Hono<Env>()
statuses.use(requireProject)

statuses.post('/', async (c) => {
  const parsed = StatusRequest.safeParse(await jsonBody(c))
  if (!parsed.success) throw invalid('status', issuesOf(parsed.error))
  const s = parsed.data
  const project = c.get('project')
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
