// GET /metrics: the service's Prometheus metrics (service/metrics.ts). Not public unless the
// operator says so: the route counts and the database gauges say how the service is used. A
// scraper sends INFERGATE_METRICS_TOKEN as a bearer; INFERGATE_METRICS_PUBLIC=true opens it.
import { Hono } from 'hono'
import { z } from 'zod'
import { bearerOf, sameSecret } from '../auth.ts'
import type { Env } from '../env.ts'
import { ApiError } from '../http.ts'
import { createRoute, errors, type RouteConfig, SECURITY } from '../openapi.ts'

export const metrics = new Hono<Env>()

metrics.get('/metrics', async (c) => {
  const { token, public: open } = c.get('config').metrics
  if (!open) {
    if (!token) {
      throw new ApiError(
        403,
        'forbidden',
        'metrics are not served: set INFERGATE_METRICS_TOKEN (a bearer for the scraper) or INFERGATE_METRICS_PUBLIC=true',
      )
    }
    if (!sameSecret(bearerOf(c.req.header('authorization')) ?? '', token)) {
      throw new ApiError(401, 'unauthorized', 'metrics need Authorization: Bearer <INFERGATE_METRICS_TOKEN>')
    }
  }
  const m = c.get('metrics')
  return c.body(await m.scrape(), 200, { 'content-type': m.registry.contentType })
})

/** What the OpenAPI document says of this route (service/openapi.ts). */
export const metricsApi: RouteConfig[] = [
  createRoute({
    method: 'get',
    path: '/metrics',
    summary: "The service's Prometheus metrics (text exposition format 0.0.4)",
    security: SECURITY.scrape,
    responses: {
      200: {
        description: 'the metrics',
        content: { 'text/plain; version=0.0.4': { schema: z.string() } },
      },
      ...errors(401, 403),
    },
  }),
]
