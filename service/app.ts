// The regression service's HTTP API (Hono, web-standard Request/Response), one module per
// resource. Errors are {"error": {"code", "message", "details"}}.
import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { routePath } from 'hono/route'
import type { Kysely } from 'kysely'
import type { Database } from './db/database.ts'
import { databaseApiError } from './db/errors.ts'
import { DEFAULT_CONFIG } from './defaults.ts'
import type { Env, ServiceConfig } from './env.ts'
import { ApiError, errorResponse } from './http.ts'
import { type Log, silent } from './log.ts'
import { createMetrics, type ServiceMetrics } from './metrics.ts'
import { createOidcVerifier } from './oidc/verifier.ts'
import { apiDescription } from './routes/api-description.ts'
import { health } from './routes/health.ts'
import { metrics as metricsRoute } from './routes/metrics.ts'
import { oidc as oidcRoutes } from './routes/oidc.ts'
import { projects } from './routes/projects.ts'
import { runs } from './routes/runs.ts'
import { statuses } from './routes/statuses.ts'
import { webhooks } from './routes/webhooks.ts'
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
  metrics: ServiceMetrics = createMetrics(db),
) {
  const app = new Hono<Env>()
  const ingestGate = createIngestGate(config.ingest)
  // One per app: its JWKS cache is shared by every request.
  const oidc = config.oidc ? createOidcVerifier(config.oidc) : null
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
    c.set('oidc', oidc)
    c.set('metrics', metrics)
    const started = performance.now()
    await next()
    const seconds = (performance.now() - started) / 1000
    // The route's pattern (/api/v1/runs/:id), never the path: ids would make a series per run.
    const route = c.res.status === 404 && /^\/?\*$/.test(routePath(c)) ? 'unmatched' : routePath(c)
    metrics.request(c.req.method, route, c.res.status, seconds)
    const project = c.var.project
    log('info', 'request', {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Math.round(seconds * 10_000) / 10,
      ...(project ? { project: `${project.owner}/${project.repo}` } : {}),
    })
  })
  app.route('/', health)
  app.route('/', metricsRoute)
  app.route('/', apiDescription)
  app.route('/api/v1/projects/:owner/:repo/oidc', oidcRoutes)
  app.route('/api/v1/projects/:owner/:repo/webhooks', webhooks)
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
