import { timingSafeEqual } from 'node:crypto'
import { createMiddleware } from 'hono/factory'
import type { Env } from './env.ts'
import { ApiError } from './http.ts'
import { projectByToken } from './projects/repository.ts'

function bearer(header: string | undefined): string {
  const m = header?.match(/^Bearer\s+(\S+)$/i)
  if (!m) throw new ApiError(401, 'unauthorized', 'an Authorization: Bearer <token> header is required')
  return m[1]!
}

/** The admin token (INFERGATE_ADMIN_TOKEN) guards project creation. */
export const requireAdmin = createMiddleware<Env>(async (c, next) => {
  const expected = c.get('config').adminToken
  if (!expected) throw new ApiError(403, 'forbidden', 'no admin token is configured on this service')
  const given = Buffer.from(bearer(c.req.header('authorization')))
  const want = Buffer.from(expected)
  if (given.length !== want.length || !timingSafeEqual(given, want)) {
    throw new ApiError(401, 'unauthorized', 'wrong admin token')
  }
  await next()
})

/** A project token: the request acts for that project only. */
export const requireProject = createMiddleware<Env>(async (c, next) => {
  const project = await projectByToken(c.get('db'), bearer(c.req.header('authorization')))
  if (!project) throw new ApiError(401, 'unauthorized', 'unknown token')
  c.set('project', project)
  await next()
})
