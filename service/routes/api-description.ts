// GET /api/v1/openapi.json: the API's OpenAPI 3.1 document, generated once from every route
// module's operations (service/openapi.ts). Public, like the routes' existence: it holds no data.
import { Hono } from 'hono'
import { z } from 'zod'
import type { Env } from '../env.ts'
import { createRoute, json, openApiDocument, type RouteConfig } from '../openapi.ts'
import { healthApi } from './health.ts'
import { metricsApi } from './metrics.ts'
import { oidcApi } from './oidc.ts'
import { projectsApi } from './projects.ts'
import { runsApi } from './runs.ts'
import { statusesApi } from './statuses.ts'
import { webhooksApi } from './webhooks.ts'

const describeApi: RouteConfig = createRoute({
  method: 'get',
  path: '/api/v1/openapi.json',
  summary: 'This document',
  responses: { 200: json(z.record(z.string(), z.unknown()), 'the OpenAPI 3.1 document') },
})

/** Every operation the service answers, in the order docs/api.md tells them. */
export const API_OPERATIONS: RouteConfig[] = [
  ...healthApi,
  ...projectsApi,
  ...oidcApi,
  ...runsApi,
  ...statusesApi,
  ...webhooksApi,
  ...metricsApi,
  describeApi,
]

let document: ReturnType<typeof openApiDocument> | null = null
/** Made on first use: a process that never serves it never pays for it. */
export const apiDocument = () => {
  document ??= openApiDocument(API_OPERATIONS)
  return document
}

export const apiDescription = new Hono<Env>()
apiDescription.get('/api/v1/openapi.json', (c) => c.json(apiDocument()))
