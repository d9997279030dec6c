// Who a request acts for. Three kinds of bearer: the admin token (project creation and OIDC
// bindings), a project token (everything of that project), and a GitHub Actions OIDC token
// (a workflow of the repository bound to the project: it posts runs and statuses and reads,
// within the project's OIDC policy; settings, pins and notifications stay with project tokens).
import { timingSafeEqual } from 'node:crypto'
import { createMiddleware } from 'hono/factory'
import type { Env } from './env.ts'
import { ApiError } from './http.ts'
import { admitWorkflow } from './oidc/policy.ts'
import { projectOfRepository } from './oidc/repository.ts'
import { looksLikeJwt } from './oidc/verifier.ts'
import { projectByToken } from './projects/repository.ts'

/** The token of an `Authorization: Bearer …` header; null without one. */
export const bearerOf = (header: string | undefined): string | null =>
  header?.match(/^Bearer\s+(\S+)$/i)?.[1] ?? null

function bearer(header: string | undefined): string {
  const token = bearerOf(header)
  if (token === null) {
    throw new ApiError(401, 'unauthorized', 'an Authorization: Bearer <token> header is required')
  }
  return token
}

/** A configured secret against the one given, in constant time. */
export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** The admin token (INFERGATE_ADMIN_TOKEN) guards project creation. */
export const requireAdmin = createMiddleware<Env>(async (c, next) => {
  const expected = c.get('config').adminToken
  if (!expected) throw new ApiError(403, 'forbidden', 'no admin token is configured on this service')
  if (!sameSecret(bearer(c.req.header('authorization')), expected)) {
    throw new ApiError(401, 'unauthorized', 'wrong admin token')
  }
  await next()
})

/** A project token or a bound repository's OIDC token: the request acts for that project only. */
export const requireProject = createMiddleware<Env>(async (c, next) => {
  const token = bearer(c.req.header('authorization'))
  const verify = c.get('oidc')
  if (verify && looksLikeJwt(token)) {
    const claims = await verify(token)
    const bound = await projectOfRepository(c.get('db'), claims.repository_id)
    if (!bound) {
      throw new ApiError(
        401,
        'unauthorized',
        `OIDC token refused: no project is bound to repository ${claims.repository} (id ${claims.repository_id})`,
      )
    }
    admitWorkflow(claims, bound.policy)
    c.set('project', bound.project)
    c.set('principal', { kind: 'oidc', claims, policy: bound.policy })
  } else {
    const project = await projectByToken(c.get('db'), token)
    if (!project) {
      throw new ApiError(
        401,
        'unauthorized',
        looksLikeJwt(token)
          ? 'OIDC tokens are not accepted: this service has no INFERGATE_OIDC_AUDIENCE'
          : 'unknown token',
      )
    }
    c.set('project', project)
    c.set('principal', { kind: 'project_token' })
  }
  await next()
})

/** After requireProject: what a CI workflow's token may not do (settings, pins, notifications). */
export const requireProjectToken = createMiddleware<Env>(async (c, next) => {
  if (c.get('principal').kind !== 'project_token') {
    throw new ApiError(
      403,
      'forbidden',
      "an OIDC token may post runs and read; this needs the project's token",
    )
  }
  await next()
})
