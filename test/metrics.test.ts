// The service's /metrics, read as Prometheus reads it (the text exposition format), on both
// engines: closed unless configured, and counting what the service did.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseReport } from '../core/report.ts'
import { createApp, DEFAULT_CONFIG } from '../service/app.ts'
import { migrateToLatest, openDatabase } from '../service/db/connect.ts'
import { githubConfigFromEnv } from '../service/github/config.ts'
import { startService } from '../service/server.ts'
import { engine, freshDatabase } from './db-helpers.ts'
import { FakeGithub } from './fakes/github-api.ts'
import { ciIdentity, makeReport } from './report-factory.ts'

const ADMIN = 'admin-secret'
const SCRAPE = 'scrape-secret'
let db: ReturnType<typeof openDatabase>
let drop: () => Promise<void>
beforeAll(async () => {
  const fresh = await freshDatabase()
  drop = fresh.drop
  db = openDatabase(fresh.target)
  await migrateToLatest(db)
})
afterAll(async () => {
  await db.destroy()
  await drop()
})

/** One sample's value from the exposition text, by metric name and exact label set. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | null {
  const want = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',')
  for (const line of text.split('\n')) {
    const m = line.match(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/)
    if (!m || m[1] !== name) continue
    const got = (m[2] ?? '')
      .split(/,(?=[a-zA-Z_]\w*=")/)
      .filter(Boolean)
      .sort()
      .join(',')
    if (got === want) return Number(m[3])
  }
  return null
}

describe(`/metrics on ${engine}`, () => {
  it('is not served without a setting, wants the scrape token when one is set, and is open when public', async () => {
    const closed = createApp(db, DEFAULT_CONFIG)
    const refused = await closed.request('/metrics')
    expect(refused.status).toBe(403)
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(
      /INFERGATE_METRICS_TOKEN/,
    )
    const guarded = createApp(db, { ...DEFAULT_CONFIG, metrics: { token: SCRAPE, public: false } })
    expect((await guarded.request('/metrics')).status).toBe(401)
    expect((await guarded.request('/metrics', { headers: { authorization: 'Bearer nope' } })).status).toBe(
      401,
    )
    const ok = await guarded.request('/metrics', { headers: { authorization: `Bearer ${SCRAPE}` } })
    expect(ok.status).toBe(200)
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    const open = createApp(db, { ...DEFAULT_CONFIG, metrics: { token: null, public: true } })
    expect((await open.request('/metrics')).status).toBe(200)
  })

  it('counts requests by route pattern and status, ingests and comparisons, the outbox, the pool', async () => {
    const app = createApp(db, {
      ...DEFAULT_CONFIG,
      adminToken: ADMIN,
      metrics: { token: SCRAPE, public: false },
    })
    const call = (method: string, path: string, token?: string, body?: unknown) =>
      app.request(path, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          'content-type': 'application/json',
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
    const created = await call('POST', '/api/v1/projects', ADMIN, { owner: 'acme', repo: 'metrics' })
    const { token } = (await created.json()) as { token: string }
    const report = (run: number) => {
      const r = makeReport(run, [{}])
      return parseReport({
        ...r,
        git: { ...r.git, repository: 'acme/metrics', branch: 'main', pr_number: null },
        ci: ciIdentity(run),
      })
    }
    const posted: string[] = []
    for (const run of [1, 2]) {
      const res = await call('POST', '/api/v1/runs', token, report(run))
      expect(res.status).toBe(201)
      posted.push(((await res.json()) as { id: string }).id)
    }
    expect((await call('POST', '/api/v1/runs', token, report(2))).status).toBe(200) // a re-post
    for (const id of posted) expect((await call('GET', `/api/v1/runs/${id}`, token)).status).toBe(200)
    expect((await call('GET', '/api/v1/runs/not-a-run', token)).status).toBe(404)
    expect((await call('GET', '/api/v1/nowhere', token)).status).toBe(404)

    const text = await (await call('GET', '/metrics', SCRAPE)).text()
    const requests = (method: string, route: string, status: string) =>
      sample(text, 'infergate_http_requests_total', { method, route, status })
    expect(requests('POST', '/api/v1/runs', '201')).toBe(2)
    expect(requests('POST', '/api/v1/runs', '200')).toBe(1)
    // One series for every run read: the pattern, not the id.
    expect(requests('GET', '/api/v1/runs/:id', '200')).toBe(2)
    expect(requests('GET', '/api/v1/runs/:id', '404')).toBe(1)
    expect(requests('GET', 'unmatched', '404')).toBe(1)
    expect(
      sample(text, 'infergate_http_request_duration_seconds_count', {
        method: 'POST',
        route: '/api/v1/runs',
      }),
    ).toBe(3)
    expect(sample(text, 'infergate_runs_ingested_total', { outcome: 'created' })).toBe(2)
    expect(sample(text, 'infergate_runs_ingested_total', { outcome: 'reposted' })).toBe(1)
    expect(sample(text, 'infergate_ingest_duration_seconds_count', { outcome: 'created' })).toBe(2)
    expect(sample(text, 'infergate_comparison_duration_seconds_count', { kind: 'history' })).toBe(2)
    expect(sample(text, 'infergate_process_resident_memory_bytes')).toBeGreaterThan(0)
    // No GitHub configured: nothing pending; the gauge reads the table all replicas share.
    expect(text).toContain('# TYPE infergate_outbox_pending gauge')
    await db
      .insertInto('notifications')
      .values({
        project_id: (await db.selectFrom('projects').select('id').executeTakeFirstOrThrow()).id,
        run_id: null,
        kind: 'commit_verdict',
        key: 'k',
        payload: '{}',
      })
      .execute()
    const after = await (await call('GET', '/metrics', SCRAPE)).text()
    expect(sample(after, 'infergate_outbox_pending', { kind: 'commit_verdict' })).toBe(1)
    if (engine === 'postgres') {
      expect(sample(after, 'infergate_db_pool_max')).toBe(10)
      expect(sample(after, 'infergate_db_pool_connections', { state: 'total' })).toBeGreaterThan(0)
    } else {
      expect(after).not.toContain('infergate_db_pool_connections')
    }
  })

  it("counts the outbox's deliveries by kind and outcome, as the running service's workers make them", async () => {
    const github = await new FakeGithub({ token: 'ghp_m' }).start()
    const base = githubConfigFromEnv({
      INFERGATE_GITHUB_TOKEN: 'ghp_m',
      INFERGATE_GITHUB_API_URL: github.url,
    })!
    const fresh = await freshDatabase()
    const service = await startService(
      fresh.target,
      {
        ...DEFAULT_CONFIG,
        adminToken: ADMIN,
        metrics: { token: null, public: true },
        github: { ...base, outbox: { ...base.outbox, pollMs: 50, backoffMs: 10, maxBackoffMs: 20 } },
      },
      { host: '127.0.0.1', port: 0 },
    )
    try {
      // The first status GitHub is sent fails once (a 502): one retry, then delivered.
      github.fail({ method: 'POST', path: /\/statuses\// }, { status: 502 })
      const call = (path: string, token: string, body: unknown) =>
        fetch(`${service.url}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        })
      const { token } = (await (
        await call('/api/v1/projects', ADMIN, { owner: 'acme', repo: 'deliveries' })
      ).json()) as {
        token: string
      }
      const r = makeReport(77, [{}])
      const report = parseReport({
        ...r,
        git: {
          ...r.git,
          repository: 'acme/deliveries',
          branch: 'main',
          pr_number: null,
          sha: 'a'.repeat(40),
        },
        ci: ciIdentity(77),
      })
      expect((await call('/api/v1/runs', token, report)).status).toBe(201)
      const until = Date.now() + 10_000
      let text = ''
      while (Date.now() < until) {
        text = await (await fetch(`${service.url}/metrics`)).text()
        if (
          sample(text, 'infergate_notification_deliveries_total', {
            kind: 'commit_verdict',
            outcome: 'delivered',
          })
        )
          break
        await new Promise((done) => setTimeout(done, 50))
      }
      expect(
        sample(text, 'infergate_notification_deliveries_total', {
          kind: 'commit_verdict',
          outcome: 'retried',
        }),
      ).toBe(1)
      expect(
        sample(text, 'infergate_notification_deliveries_total', {
          kind: 'commit_verdict',
          outcome: 'delivered',
        }),
      ).toBe(1)
      expect(github.statuses).toHaveLength(1)
      // The API's counters are the same registry's.
      expect(sample(text, 'infergate_runs_ingested_total', { outcome: 'created' })).toBe(1)
    } finally {
      await service.close()
      await github.close()
      await fresh.drop()
    }
  })
})
