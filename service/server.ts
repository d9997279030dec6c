// The service as a process: database (Postgres from DATABASE_URL, else PGlite on disk),
// migrations, the HTTP API, the outbox's workers (GitHub's when it has credentials; the
// webhooks' always, as any project may add one), and a clean stop.
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { createApp, type ServiceConfig } from './app.ts'
import { type DatabaseTarget, migrateToLatest, openDatabase } from './db/connect.ts'
import { githubAccess } from './github/client.ts'
import { githubDeliverer } from './github/deliver.ts'
import { type Log, silent } from './log.ts'
import { createMetrics } from './metrics.ts'
import { type OutboxWorker, startOutboxWorker } from './notifications/worker.ts'
import { webhookConfigFromEnv } from './webhooks/config.ts'
import { webhookDeliverer } from './webhooks/deliver.ts'

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
  let webhooks: NonNullable<ServiceConfig['webhooks']>
  try {
    webhooks = config.webhooks ?? webhookConfigFromEnv()
  } catch (e) {
    await db.destroy()
    throw e
  }
  // One set of counters for the API and the workers (GET /metrics).
  const metrics = createMetrics(db)
  const workers: OutboxWorker[] = [
    startOutboxWorker(db, webhookDeliverer(db, webhooks), webhooks.outbox, log, metrics.delivery),
  ]
  if (config.github) {
    const access = githubAccess(config.github, log)
    workers.push(startOutboxWorker(db, githubDeliverer(access), config.github.outbox, log, metrics.delivery))
    log('info', 'reporting to GitHub', {
      api_url: config.github.apiUrl,
      as: access.mode === 'app' ? `GitHub App ${access.appId} (check runs)` : 'token (commit statuses)',
    })
  } else {
    log(
      'info',
      'not reporting to GitHub: no credentials (set INFERGATE_GITHUB_TOKEN, or INFERGATE_GITHUB_APP_ID and its private key)',
    )
  }
  const app = createApp(
    db,
    { ...config, webhooks },
    log,
    () => {
      for (const w of workers) w.wake()
    },
    metrics,
  )
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
      // The delivery in hand finishes; the rest wait in the outbox for the next start.
      await Promise.all(workers.map((w) => w.stop()))
      await db.destroy()
    },
  }
}
