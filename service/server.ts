// The service as a process: database (Postgres from DATABASE_URL, else PGlite on disk),
// migrations, the HTTP API, and a clean stop.
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { createApp, type ServiceConfig } from './app.ts'
import { type DatabaseTarget, migrateToLatest, openDatabase } from './db/connect.ts'
import { type Log, silent } from './log.ts'

export interface RunningService {
  url: string
  close(): Promise<void>
}

export async function startService(
  target: DatabaseTarget,
  config: ServiceConfig,
  listen: { host: string; port: number },
  log: Log = silent,
): Promise<RunningService> {
  const db = openDatabase(target)
  try {
    const applied = await migrateToLatest(db)
    if (applied.length) log('info', 'migrations applied', { migrations: applied })
  } catch (e) {
    await db.destroy()
    throw e
  }
  const app = createApp(db, config, log)
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: listen.host, port: listen.port }, () => resolve(s))
    s.once('error', reject)
  })
  const addr = server.address() as AddressInfo
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address
  return {
    url: `http://${host}:${addr.port}`,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await db.destroy()
    },
  }
}
