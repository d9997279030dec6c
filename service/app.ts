// The regression service's HTTP API (Hono, web-standard Request/Response), one module per
// resource. Errors are {"error": {"code", "message", "details"}}.
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { Kysely } from 'kysely'
import type { Database } from './db/database.ts'
import type { GithubConfig } from './github/config.ts'
import { ApiError, errorResponse } from './http.ts'
import { type Log, silent } from './log.ts'
import type { Project } from './projects/repository.ts'
import { health } from './routes/health.ts'
import { projects } from './routes/projects.ts'
import { runs } from './routes/runs.ts'
import { statuses } from './routes/statuses.ts'

export interface ServiceConfig {
  adminToken: string | null
  /** Largest request body accepted, in bytes. */
  bodyLimitBytes: number
  /** Baseline runs per comparison, and history runs for the noise estimate. */
  baselineRuns: number
  historyRuns: number
  /** Reporting to GitHub; null: verdicts stay in the service. */
  github: GithubConfig | null
  /** The service's address as GitHub's readers reach it, for links; null: link the CI run. */
  publicUrl: string | null
}

export const DEFAULT_CONFIG: ServiceConfig = {
  adminToken: null,
  bodyLimitBytes: 64 * 1024 * 1024,
  baselineRuns: 5,
  historyRuns: 20,
  github: null,
  publicUrl: null,
}

export type Env = {
  Variables: {
    db: Kysely<Database>
    config: ServiceConfig
    project: Project
    log: Log
    /** Tells the outbox worker that notifications are waiting. */
    wake: () => void
  }
}

export function createApp(
  db: Kysely<Database>,
  config: ServiceConfig = DEFAULT_CONFIG,
  log: Log = silent,
  wake: () => void = () => {},
) {
  const app = new Hono<Env>()
  app.use(async (c, next) => {
    c.set('db', db)
    c.set('wake', wake)
    c.set('config', config)
    c.set('log', log)
    const started = performance.now()
    await next()
    const project = c.var.project
    log('info', 'request', {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
      ...(project ? { project: `${project.owner}/${project.repo}` } : {}),
    })
  })
  app.use(
    '/api/*',
    bodyLimit({
      maxSize: config.bodyLimitBytes,
      onError: (c) =>
        errorResponse(
          c,
          new ApiError(413, 'body_too_large', `bodies are limited to ${config.bodyLimitBytes} bytes`),
        ),
    }),
  )
  app.route('/', health)
  app.route('/api/v1/projects', projects)
  app.route('/api/v1/runs', runs)
  app.route('/api/v1/statuses', statuses)
  app.notFound((c) =>
    errorResponse(c, new ApiError(404, 'not_found', `no route ${c.req.method} ${c.req.path}`)),
  )
  app.onError((e, c) => {
    if (e instanceof ApiError) return errorResponse(c, e)
    log('error', 'unhandled error', { method: c.req.method, path: c.req.path, error: e.stack ?? String(e) })
    return errorResponse(c, new ApiError(500, 'internal', 'internal error'))
  })
  return app
}
