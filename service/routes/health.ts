import { Hono } from 'hono'
import { sql } from 'kysely'
import { migrations } from '../../migrations/index.ts'
import type { Env } from '../env.ts'

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
