// The regression service's HTTP API (Hono, web-standard Request/Response), one module per
// resource. Errors are {"error": {"code", "message", "details"}}.
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { Kysely } from 'kysely'
import type { Database } from './db/database.ts'
import { ApiError, errorResponse } from './http.ts'
import { type Log, silent } from './log.ts'
import type { Project } from './projects/repository.ts'
import { health } from './routes/health.ts'
import { projects } from './routes/projects.ts'
import { runs } from './routes/runs.ts'

export interface ServiceConfig {
  adminToken: string | null
  /** Largest request body accepted, in bytes. */
  bodyLimitBytes: number
  /** Baseline runs per comparison, and history runs for the noise estimate. */
  baselineRuns: number
  historyRuns: number
}

export const DEFAULT_CONFIG: ServiceConfig = {
  adminToken: null,
  bodyLimitBytes: 64 * 1024 * 1024,
  baselineRuns: 5,
  historyRuns: 20,
}

export type Env = {
  Variables: { db: Kysely<Database>; config: ServiceConfig; project: Project; log: Log }
}

export function createApp(db: Kysely<Database>, config: ServiceConfig = DEFAULT_CONFIG, log: Log = silent) {
  const app = new Hono<Env>()
  app.use(async (c, next) => {
    c.set('db', db)
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
