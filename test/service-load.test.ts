// The service under concurrency and through database outages, over real HTTP: distinct ingests
// at once all land (none waits on a connection its own transaction blocks), saturation is a fast
// 503 with Retry-After, a Postgres that terminates connections or goes away makes requests 503
// while the process stays up, and it serves again when the database is back.
import { createServer, Socket as NetSocket, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseReport, type Report } from '../core/report.ts'
import { DEFAULT_CONFIG, type ServiceConfig } from '../service/app.ts'
import { migrateToLatest, openDatabase } from '../service/db/connect.ts'
import { createProject } from '../service/projects/repository.ts'
import { type RunningService, startService } from '../service/server.ts'
import { engine, freshDatabase } from './db-helpers.ts'
import { tempDir } from './helpers.ts'
import { ciIdentity, makeReport } from './report-factory.ts'

const small = makeReport(7, [{ requests: 40 }])
let ci = 50_000
const distinct = (): Report => parseReport({ ...small, ci: ciIdentity(ci++) })

async function post(url: string, token: string, body: unknown) {
  const started = performance.now()
  const res = await fetch(`${url}/api/v1/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return {
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    ms: performance.now() - started,
    body: await res.json(),
  }
}

let fresh: Awaited<ReturnType<typeof freshDatabase>>
let token: string
beforeAll(async () => {
  fresh = await freshDatabase()
  // Each service opens the database anew: PGlite must be on disk to be the same one.
  if ('memory' in fresh.target) fresh = { ...fresh, target: { dataDir: join(tempDir(), 'pglite') } }
  const db = openDatabase(fresh.target)
  await migrateToLatest(db)
  token = (await createProject(db, 'acme', 'llm')).token
  await db.destroy()
})
afterAll(async () => {
  await fresh.drop()
})

const listen = { host: '127.0.0.1', port: 0 }

describe(`service under load on ${engine}`, () => {
  it('holds many distinct ingests at once with the default settings: no 5xx, none lost', async () => {
    // More at once than the pool has connections (10): before, each ingest's transaction held one
    // while its comparison waited for another, and they all failed after the pool's timeout.
    const service = await startService(fresh.target, DEFAULT_CONFIG, listen)
    try {
      const results = await Promise.all(
        Array.from({ length: 40 }, () => post(service.url, token, distinct())),
      )
      expect(results.map((r) => r.status).filter((s) => s !== 201)).toEqual([])
      const ids = new Set(results.map((r) => (r.body as { id: string }).id))
      expect(ids.size).toBe(40)
    } finally {
      await service.close()
    }
  })

  // On PGlite one connection serializes the requests' own queries (auth included) so tightly that
  // a burst seldom meets at the gate: the gate's rules are tested alone in ingest-gate.test.ts.
  it.runIf(engine === 'postgres')(
    'answers a fast 503 with Retry-After when no turn is free, and stores what it accepted',
    async () => {
      const config: ServiceConfig = {
        ...DEFAULT_CONFIG,
        ingest: { concurrency: 1, queue: 0, queueTimeoutMs: 30_000 },
      }
      const service = await startService(fresh.target, config, listen)
      try {
        // Reports large enough that each ingest is still at work when the next one is parsed.
        const large = makeReport(8, [{ requests: 2_000 }])
        const results = await Promise.all(
          Array.from({ length: 12 }, () => post(service.url, token, { ...large, ci: ciIdentity(ci++) })),
        )
        const busy = results.filter((r) => r.status === 503)
        const stored = results.filter((r) => r.status === 201)
        expect(busy.length).toBeGreaterThan(0)
        expect(stored.length + busy.length).toBe(12)
        for (const r of busy) {
          expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1)
          expect((r.body as { error: { code: string } }).error.code).toBe('busy')
        }
        // Each accepted run reads back.
        for (const r of stored) {
          const id = (r.body as { id: string }).id
          const res = await fetch(`${service.url}/api/v1/runs/${id}`, {
            headers: { authorization: `Bearer ${token}` },
          })
          expect(res.status).toBe(200)
        }
      } finally {
        await service.close()
      }
    },
  )
})

/** A TCP relay to Postgres that can be cut (connections dropped, new ones refused) and restored. */
async function relay(
  to: URL,
): Promise<{ port: number; cut(): Promise<void>; restore(): Promise<void>; close(): Promise<void> }> {
  const sockets = new Set<Socket>()
  let server: Server
  let port = 0
  const open = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = new NetSocket()
        sockets.add(client).add(upstream)
        const drop = () => {
          client.destroy()
          upstream.destroy()
          sockets.delete(client)
          sockets.delete(upstream)
        }
        client.on('error', drop).on('close', drop)
        upstream.on('error', drop).on('close', drop)
        upstream.connect(Number(to.port || 5432), to.hostname, () => {
          client.pipe(upstream)
          upstream.pipe(client)
        })
      })
      server.listen(port, '127.0.0.1', () => {
        port = (server.address() as { port: number }).port
        resolve()
      })
    })
  await open()
  const cut = async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve())
      for (const s of sockets) s.destroy()
    })
  }
  return { port, cut, restore: open, close: cut }
}

describe.runIf(engine === 'postgres')('service through Postgres outages', () => {
  it('survives connections terminated mid-ingest (as pg_ctl stop does), then serves again', async () => {
    const service = await startService(fresh.target, DEFAULT_CONFIG, listen)
    const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL })
    await admin.connect()
    try {
      const dbName = new URL((fresh.target as { url: string }).url).pathname.slice(1)
      const inFlight = Array.from({ length: 8 }, () => post(service.url, token, distinct()))
      // What a fast shutdown does to every backend: "terminating connection due to administrator command".
      await new Promise((r) => setTimeout(r, 30))
      for (let i = 0; i < 5; i++) {
        await admin.query(
          'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
          [dbName],
        )
        await new Promise((r) => setTimeout(r, 20))
      }
      const results = await Promise.all(inFlight)
      // Each either landed or was told to retry; none is a 500.
      for (const r of results) expect([201, 503]).toContain(r.status)
      const after = await post(service.url, token, distinct())
      expect(after.status).toBe(201)
    } finally {
      await admin.end()
      await service.close()
    }
  })

  it('a database that goes away is a 503 with Retry-After, readiness says no more than that, and it recovers', async () => {
    const url = new URL((fresh.target as { url: string }).url)
    const r = await relay(url)
    const via = new URL(url)
    via.host = `127.0.0.1:${r.port}`
    const service: RunningService = await startService(
      { url: via.toString(), pool: { max: 4, connectTimeoutMs: 1_000, statementTimeoutMs: 10_000 } },
      DEFAULT_CONFIG,
      listen,
    )
    try {
      expect((await post(service.url, token, distinct())).status).toBe(201)
      await r.cut()
      const down = await post(service.url, token, distinct())
      expect(down.status).toBe(503)
      expect(down.retryAfter).not.toBeNull()
      expect((down.body as { error: { code: string } }).error.code).toBe('database_unavailable')
      const ready = await fetch(`${service.url}/readyz`)
      expect(ready.status).toBe(503)
      expect(await ready.json()).toEqual({ status: 'unavailable' })
      await r.restore()
      expect((await post(service.url, token, distinct())).status).toBe(201)
      expect((await fetch(`${service.url}/readyz`)).status).toBe(200)
    } finally {
      await service.close()
      await r.close()
    }
  })
})
