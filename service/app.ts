// The regression service's HTTP API (Hono, web-standard Request/Response), one module per
// resource. Errors are {"error": {"code", "message", "details"}}.
import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { Kysely } from 'kysely'
import type { Database } from './db/database.ts'
import { databaseApiError } from './db/errors.ts'
import { DEFAULT_CONFIG } from './defaults.ts'
import type { Env, ServiceConfig } from './env.ts'
import { ApiError, errorResponse } from './http.ts'
import { type Log, silent } from './log.ts'
import { health } from './routes/health.ts'
import { projects } from './routes/projects.ts'
import { runs } from './routes/runs.ts'
import { statuses } from './routes/statuses.ts'
import { createIngestGate } from './runs/gate.ts'
import { PageError } from './web/access.ts'
import { linkSecret } from './web/links.ts'
import { notFoundPage, pageErrorResponse, web } from './web/routes.ts'

export { DEFAULT_CONFIG } from './defaults.ts'
export type { ServiceConfig } from './env.ts'

export function createApp(
  db: Kysely<Database>,
  config: ServiceConfig = DEFAULT_CONFIG,
  log: Log = silent,
  wake: () => void = () => {},
) {
  const app = new Hono<Env>()
  const ingestGate = createIngestGate(config.ingest)
  // Read (or made) once; a failure is not kept, so the next request tries again.
  let secret: Promise<Buffer> | null = null
  const secretOnce = () => {
    secret ??= linkSecret(db, config.linkSecret).catch((e) => {
      secret = null
      throw e
    })
    return secret
  }
  app.use(async (c, next) => {
    c.set('db', db)
    c.set('wake', wake)
    c.set('config', config)
    c.set('log', log)
    c.set('ingestGate', ingestGate)
    c.set('linkSecret', secretOnce)
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
  app.route('/', health)
  app.route('/api/v1/projects', projects)
  app.route('/api/v1/runs', runs)
  app.route('/api/v1/statuses', statuses)
  // The dashboard (service/web/): every path outside /api/ and the probes.
  app.route('/', web)
  app.notFound((c) =>
    c.req.path.startsWith('/api/')
      ? errorResponse(c, new ApiError(404, 'not_found', `no route ${c.req.method} ${c.req.path}`))
      : notFoundPage(c),
  )
  app.onError((e, c) => {
    if (e instanceof PageError) return pageErrorResponse(c, e)
    // hono/csrf's refusal of a form posted from another site.
    if (e instanceof HTTPException && e.status === 403) {
      return pageErrorResponse(c, new PageError(403, 'Refused', 'Forms are accepted from this site only.'))
    }
    if (e instanceof ApiError) return errorResponse(c, e)
    const fromDb = databaseApiError(e)
    const where = { method: c.req.method, path: c.req.path, error: (e as Error).message ?? String(e) }
    if (fromDb?.status === 503) {
      log('warn', 'database unavailable', where)
      return errorResponse(c, fromDb)
    }
    // A value the schema let through and Postgres refused: the schema has a gap; say so loudly.
    if (fromDb) {
      log('error', 'database refused a validated value', where)
      return errorResponse(c, fromDb)
    }
    log('error', 'unhandled error', { ...where, error: (e as Error).stack ?? String(e) })
    return errorResponse(c, new ApiError(500, 'internal', 'internal error'))
  })
  return app
}
