// The API's OpenAPI 3.1 description, generated (@hono/zod-openapi, on zod-to-openapi) from the
// zod schemas the routes validate with: each route module lists its operations beside its
// handlers (`…Api` arrays), and test/openapi.test.ts holds that list to the routes Hono really
// serves and to docs/api.md, so neither can drift from the code.
import { createRoute, OpenAPIHono, type RouteConfig } from '@hono/zod-openapi'
import { z } from 'zod'
import { INFERGATE_VERSION } from '../core/version.ts'

/** The three kinds of bearer (service/auth.ts), as security schemes. */
export const SECURITY: Record<
  'admin' | 'project' | 'projectOrOidc' | 'scrape',
  { [scheme: string]: string[] }[]
> = {
  admin: [{ adminToken: [] }],
  project: [{ projectToken: [] }],
  projectOrOidc: [{ projectToken: [] }, { githubOidc: [] }],
  scrape: [{ metricsToken: [] }],
}

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string().meta({ description: 'machine-readable, e.g. invalid_report' }),
      message: z.string().meta({ description: 'what went wrong, naming the field' }),
      details: z.unknown().meta({ description: 'for a 400: {issues: [{path, message}]}' }),
    }),
  })
  .meta({ id: 'Error' })

const ERROR_MEANING: Record<number, string> = {
  400: 'the body or query is invalid (details.issues name each field)',
  401: 'no token, or one that is unknown, expired or for another audience',
  403: 'the token may not do this',
  404: 'no such project, run or route (or not yours)',
  409: 'it exists already',
  413: 'the body is over the limit',
  429: 'too many waiting: retry after Retry-After',
  503: 'busy or the database (or OIDC issuer) is unavailable: retry after Retry-After',
}

export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
})

/** The error answers of an operation, from their statuses. */
export function errors(...statuses: (keyof typeof ERROR_MEANING)[]) {
  return Object.fromEntries(statuses.map((s) => [s, json(ErrorBody, ERROR_MEANING[s]!)]))
}

export const requestJson = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { 'application/json': { schema } },
})

export const OwnerRepo = z.object({
  owner: z.string().meta({ description: 'the GitHub owner (case-insensitive)' }),
  repo: z.string().meta({ description: 'the GitHub repository (case-insensitive)' }),
})

export { createRoute, type RouteConfig }

export function openApiDocument(routes: RouteConfig[]) {
  const doc = new OpenAPIHono()
  const registry = doc.openAPIRegistry
  registry.registerComponent('securitySchemes', 'adminToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'INFERGATE_ADMIN_TOKEN',
  })
  registry.registerComponent('securitySchemes', 'projectToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'a project token (igt_…), from POST /api/v1/projects',
  })
  registry.registerComponent('securitySchemes', 'githubOidc', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      "a GitHub Actions OIDC token of the repository bound to the project, for the service's INFERGATE_OIDC_AUDIENCE (docs/oidc.md)",
  })
  registry.registerComponent('securitySchemes', 'metricsToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'INFERGATE_METRICS_TOKEN (none with INFERGATE_METRICS_PUBLIC=true)',
  })
  for (const r of routes) {
    // Whatever else it answers, an operation taking OIDC tokens may refuse the token's workflow
    // (403, the project's policy) or be unable to check it (503, the issuer away).
    const oidc = r.security?.some((s) => 'githubOidc' in s)
    registry.registerPath(oidc ? { ...r, responses: { ...errors(403, 503), ...r.responses } } : r)
  }
  return doc.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'Infergate regression service',
      version: INFERGATE_VERSION,
      description:
        'Stores LLM inference benchmark runs, compares them with their baselines, and reports the verdicts to GitHub. docs/api.md explains each operation.',
      license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
    },
  })
}
