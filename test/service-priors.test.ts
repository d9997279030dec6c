// The learned prior through the service (service/runs/priors.ts): the route the Action asks before
// an A/B run, and ingest judging the run with the same earlier runs; only when the project asked
// for it. On both engines, through app.request(), and once through ServiceClient on loopback.
import { serve } from '@hono/node-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseComparison } from '../core/detect/comparison.ts'
import { learnPriors, NoisePriors } from '../core/detect/noise-prior.ts'
import { parseReport, type Report } from '../core/report.ts'
import { Rng } from '../core/rng.ts'
import { ServiceClient } from '../core/service-client.ts'
import { createApp, DEFAULT_CONFIG } from '../service/app.ts'
import { migrateToLatest, openDatabase } from '../service/db/connect.ts'
import { engine, freshDatabase } from './db-helpers.ts'
import { type BlockSpec, ciIdentity, makePairedReport, makeReport } from './report-factory.ts'

const ADMIN = 'admin-secret'
let db: ReturnType<typeof openDatabase>
let drop: () => Promise<void>
let app: ReturnType<typeof createApp>
beforeAll(async () => {
  const fresh = await freshDatabase()
  drop = fresh.drop
  db = openDatabase(fresh.target)
  await migrateToLatest(db)
  app = createApp(db, { ...DEFAULT_CONFIG, adminToken: ADMIN, bodyLimitBytes: 4 * 1024 * 1024 })
})
afterAll(async () => {
  await db.destroy()
  await drop()
})

const call = (method: string, path: string, token?: string, body?: unknown) =>
  app.request(path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })

async function newProject(repo: string, learned: boolean): Promise<string> {
  const res = await call('POST', '/api/v1/projects', ADMIN, { owner: 'acme', repo })
  expect(res.status).toBe(201)
  const token = ((await res.json()) as { token: string }).token
  if (learned) {
    const put = await call('PUT', `/api/v1/projects/acme/${repo}/settings`, token, {
      paired_noise_prior: 'learned',
    })
    expect(put.status).toBe(200)
  }
  return token
}

/** Blocks of identical servers (or the candidate × change in TPOT), ~1% trial noise. */
function blocks(n: number, seed: number, change = 1): BlockSpec[] {
  const rng = new Rng(seed)
  const own = () => Math.exp(0.01 * rng.normal())
  return Array.from({ length: n }, () => ({
    baseline: { ttft: 50 * own(), tpot: 10 * own() },
    candidate: { ttft: 50 * own(), tpot: 10 * change * own() },
  }))
}

let ci = 5000
function abReport(
  repo: string,
  seed: number,
  at: string,
  opts: { change?: number; benchmark?: string } = {},
): Report {
  const r = makePairedReport(seed, blocks(6, seed, opts.change), { benchmark: opts.benchmark })
  return parseReport({
    ...r,
    created_at: at,
    git: { ...r.git, repository: `acme/${repo}` },
    ci: ciIdentity(ci++),
  })
}

const priorsOf = async (repo: string, token: string, query = '?benchmark=bench') => {
  const res = await call('GET', `/api/v1/projects/acme/${repo}/noise-priors${query}`, token)
  return { status: res.status, body: (await res.json()) as unknown }
}

describe(`the learned prior on ${engine}`, () => {
  it('the route names a bad benchmark, answers nothing learned for a new project, and only its own', async () => {
    const token = await newProject('fresh', true)
    const missing = await priorsOf('fresh', token, '')
    expect(missing.status).toBe(400)
    expect(JSON.stringify(missing.body)).toContain('benchmark')
    const bad = await priorsOf('fresh', token, '?benchmark=a%20b')
    expect(bad.status).toBe(400)
    const empty = await priorsOf('fresh', token)
    expect(empty.status).toBe(200)
    expect(NoisePriors.parse(empty.body)).toEqual({
      schema: 'infergate.noise-priors/v1',
      benchmark: 'bench',
      run_ids: [],
      priors: [],
    })
    const other = await newProject('other', true)
    expect((await priorsOf('fresh', other)).status).toBe(404)
  })

  it('learns from the earlier A/B runs of the benchmark and judges the next one with them', async () => {
    const token = await newProject('learning', true)
    const post = async (r: Report) => {
      const res = await call('POST', '/api/v1/runs', token, r)
      expect(res.status).toBe(201)
      return (await res.json()) as { id: string; comparison: unknown }
    }
    const earlier = [
      abReport('learning', 101, '2026-11-01T00:00:00.000Z'),
      abReport('learning', 102, '2026-11-02T00:00:00.000Z', { change: 1.2 }),
      abReport('learning', 103, '2026-11-03T00:00:00.000Z'),
    ]
    const ids: string[] = []
    for (const r of earlier) ids.push((await post(r)).id)
    // Not learned from: a history-mode run, an A/B run of another benchmark.
    const h = makeReport(104, [{ tpot: 10 }])
    await post(parseReport({ ...h, git: { ...h.git, repository: 'acme/learning' }, ci: ciIdentity(ci++) }))
    await post(abReport('learning', 105, '2026-11-04T00:00:00.000Z', { benchmark: 'other' }))

    const served = NoisePriors.parse((await priorsOf('learning', token)).body)
    expect(served.run_ids).toEqual([...ids].reverse())
    const want = learnPriors(
      'bench',
      [...earlier].reverse().map((report, i) => ({ id: [...ids].reverse()[i]!, report })),
    )
    expect(served).toEqual(want)
    expect(served.priors.find((p) => p.metric === 'tpot_ms')).toMatchObject({ df: 15, runs: 3 })

    const next = await post(abReport('learning', 106, '2026-11-05T00:00:00.000Z'))
    const c = parseComparison(next.comparison)
    expect(c.paired!.prior_run_ids).toEqual(served.run_ids)
    expect(c.metrics.some((m) => m.gated && m.noise_source === 'blocks_learned')).toBe(true)
    // Recomputed from storage: the same runs (itself left out), the same verdict.
    const again = await call('GET', `/api/v1/runs/${next.id}/comparison?baseline=current`, token)
    expect(parseComparison(await again.json())).toEqual(c)
  })

  it('without the setting: nothing served, the default prior', async () => {
    const token = await newProject('default', false)
    for (const [i, at] of ['2026-11-01', '2026-11-02', '2026-11-03'].entries()) {
      const res = await call(
        'POST',
        '/api/v1/runs',
        token,
        abReport('default', 200 + i, `${at}T00:00:00.000Z`),
      )
      expect(res.status).toBe(201)
    }
    expect(NoisePriors.parse((await priorsOf('default', token)).body).run_ids).toEqual([])
    const res = await call(
      'POST',
      '/api/v1/runs',
      token,
      abReport('default', 210, '2026-11-05T00:00:00.000Z'),
    )
    const c = parseComparison(((await res.json()) as { comparison: unknown }).comparison)
    expect(c.paired!.prior_run_ids).toEqual([])
    expect(c.metrics.some((m) => m.noise_source === 'blocks_learned')).toBe(false)
  })

  it('ServiceClient.noisePriors reads the route on loopback; null from a service without it', async () => {
    const token = await newProject('client', true)
    const res = await call('POST', '/api/v1/runs', token, abReport('client', 300, '2026-11-01T00:00:00.000Z'))
    expect(res.status).toBe(201)
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 })
    await new Promise((r) => server.once('listening', r))
    const port = (server.address() as { port: number }).port
    try {
      const client = new ServiceClient({ url: `http://127.0.0.1:${port}`, token, attempts: 1 })
      const got = await client.noisePriors('acme/client', 'bench')
      expect(got!.run_ids).toHaveLength(1)
      expect(await client.noisePriors('acme/client', 'nothing-yet')).toBeNull()
    } finally {
      await new Promise((r) => server.close(r))
    }
    const old = serve({
      fetch: () => Response.json({ error: { code: 'not_found', message: 'no route' } }, { status: 404 }),
      hostname: '127.0.0.1',
      port: 0,
    })
    await new Promise((r) => old.once('listening', r))
    try {
      const client = new ServiceClient({
        url: `http://127.0.0.1:${(old.address() as { port: number }).port}`,
        token,
        attempts: 1,
      })
      expect(await client.noisePriors('acme/client', 'bench')).toBeNull()
    } finally {
      await new Promise((r) => old.close(r))
    }
  })
})
