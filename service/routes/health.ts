import { Hono } from 'hono'
import { sql } from 'kysely'
import { z } from 'zod'
import { migrations } from '../../migrations/index.ts'
import type { Env } from '../env.ts'
import { createRoute, json, type RouteConfig } from '../openapi.ts'

export const health = new Hono<Env>()

health.get('/healthz', (c) => c.json({ status: 'ok' }))

/** Ready when the database answers and every migration is applied. */
health.get('/readyz', async (c) => {
  try {
    const rows = await sql<{ name: string }>`select name from kysely_migration`.execute(c.get('db'))
    const applied = new Set(rows.rows.map((r) => r.name))
    const pending = Object.keys(migrations).filter((m) => !applied.has(m))
    if (pending.length) return c.json({ status: 'migrating', pending }, 503)
    return c.json({ status: 'ready' })
  } catch (e) {
    // The reason goes to the log, not to whoever asks: it can name hosts, users and databases.
    c.get('log')('warn', 'not ready: database unavailable', { error: (e as Error).message })
    return c.json({ status: 'unavailable' }, 503, { 'retry-after': '5' })
  }
})

/** What the OpenAPI document says of the probes (service/openapi.ts). */
export const healthApi: RouteConfig[] = [
  createRoute({
    method: 'get',
    path: '/healthz',
    summary: 'Liveness: the process is up',
    responses: { 200: json(z.object({ status: z.literal('ok') }), 'up') },
  }),
  createRoute({
    method: 'get',
    path: '/readyz',
    summary: 'Readiness: the database answers and every migration is applied',
    responses: {
      200: json(z.object({ status: z.literal('ready') }), 'ready'),
      503: json(
        z.object({ status: z.enum(['migrating', 'unavailable']), pending: z.array(z.string()).optional() }),
        'not ready: migrations pending, or the database unavailable (Retry-After)',
      ),
    },
  }),
]
