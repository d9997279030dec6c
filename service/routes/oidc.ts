// A project's binding to its GitHub repository for OIDC tokens (service/oidc/). Binding says
// which repository's workflows act for the project, so it is the admin's, like creating the
// project; the project's token may read it.
import { type Context, Hono } from 'hono'
import { z } from 'zod'
import { issuesOf } from '../../core/validation.ts'
import { requireAdmin, requireProject, requireProjectToken } from '../auth.ts'
import type { Env } from '../env.ts'
import { ApiError, invalid, jsonBody } from '../http.ts'
import { OidcPolicy } from '../oidc/policy.ts'
import { clearOidcPolicy, oidcPolicyOf, setOidcPolicy } from '../oidc/repository.ts'
import { createRoute, errors, json, OwnerRepo, type RouteConfig, requestJson, SECURITY } from '../openapi.ts'
import { projectByName } from '../projects/repository.ts'
import { ownProject } from './projects.ts'

export const oidc = new Hono<Env>()

async function namedProject(c: Context<Env>) {
  const owner = c.req.param('owner') ?? ''
  const repo = c.req.param('repo') ?? ''
  const project = await projectByName(c.get('db'), owner, repo)
  if (!project) throw new ApiError(404, 'project_not_found', `no project ${owner}/${repo}`)
  return project
}

/** Binds the project to a repository id with its policy (replacing any earlier binding). */
oidc.put('/', requireAdmin, async (c) => {
  const project = await namedProject(c)
  const parsed = OidcPolicy.safeParse(await jsonBody(c))
  if (!parsed.success) throw invalid('oidc_policy', issuesOf(parsed.error))
  await setOidcPolicy(c.get('db'), project.id, parsed.data).catch((e) => {
    if ((e as { code?: string }).code === '23505') {
      throw new ApiError(
        409,
        'repository_bound',
        `repository_id: ${parsed.data.repository_id} is bound to another project already`,
      )
    }
    throw e
  })
  return c.json({ oidc: parsed.data })
})

oidc.get('/', requireProject, ownProject, requireProjectToken, async (c) => {
  const policy = await oidcPolicyOf(c.get('db'), c.get('project').id)
  if (!policy)
    throw new ApiError(404, 'oidc_not_bound', 'this project accepts no OIDC tokens (PUT one as admin)')
  return c.json({ oidc: policy })
})

/** Unbinds: the repository's OIDC tokens no longer act for the project. */
oidc.delete('/', requireAdmin, async (c) => {
  const project = await namedProject(c)
  return c.json({ unbound: await clearOidcPolicy(c.get('db'), project.id) })
})

const PolicyDoc = OidcPolicy.meta({ id: 'OidcPolicy' })
const path = '/api/v1/projects/{owner}/{repo}/oidc'

/** What the OpenAPI document says of these routes (service/openapi.ts). */
export const oidcApi: RouteConfig[] = [
  createRoute({
    method: 'put',
    path,
    summary: "Bind the project to a GitHub repository's OIDC tokens, with their policy",
    security: SECURITY.admin,
    request: { params: OwnerRepo, body: requestJson(PolicyDoc) },
    responses: { 200: json(z.object({ oidc: PolicyDoc }), 'bound'), ...errors(400, 401, 403, 404, 409) },
  }),
  createRoute({
    method: 'get',
    path,
    summary: "The project's OIDC binding",
    security: SECURITY.project,
    request: { params: OwnerRepo },
    responses: { 200: json(z.object({ oidc: PolicyDoc }), 'the binding'), ...errors(401, 403, 404) },
  }),
  createRoute({
    method: 'delete',
    path,
    summary: "Unbind: the repository's OIDC tokens no longer act for the project",
    security: SECURITY.admin,
    request: { params: OwnerRepo },
    responses: {
      200: json(z.object({ unbound: z.boolean() }), 'unbound (false: it was not bound)'),
      ...errors(401, 403, 404),
    },
  }),
]
