// The inputs that once answered 500 or were stored changed, each named: the schema states the
// database's limits, so each is a 400 naming the field, or is stored and read back unchanged.
// Also the routes around ingest: read routes, project names, and bodies read after auth only.
import { request as httpRequest } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseReport, type Report } from '../core/report.ts'
import { createApp, DEFAULT_CONFIG } from '../service/app.ts'
import { migrateToLatest, openDatabase } from '../service/db/connect.ts'
import { startService } from '../service/server.ts'
import { engine, freshDatabase } from './db-helpers.ts'
import { ciIdentity, makeReport } from './report-factory.ts'

const ADMIN = 'admin-secret'
let db: ReturnType<typeof openDatabase>
let drop: () => Promise<void>
let target: Awaited<ReturnType<typeof freshDatabase>>['target']
let app: ReturnType<typeof createApp>
let token: string
beforeAll(async () => {
  const fresh = await freshDatabase()
  drop = fresh.drop
  target = fresh.target
  db = openDatabase(fresh.target)
  await migrateToLatest(db)
  app = createApp(db, { ...DEFAULT_CONFIG, adminToken: ADMIN })
  const res = await call('POST', '/api/v1/projects', ADMIN, { owner: 'acme', repo: 'llm' })
  token = ((await res.json()) as { token: string }).token
})
afterAll(async () => {
  await db.destroy()
  await drop()
})

const call = (method: string, path: string, auth?: string, body?: unknown) =>
  app.request(path, {
    method,
    headers: { ...(auth ? { authorization: `Bearer ${auth}` } : {}), 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  })

let ci = 70_000
const base = (): Record<string, unknown> =>
  JSON.parse(JSON.stringify({ ...makeReport(1, [{ requests: 4 }]), ci: ciIdentity(ci++) }))

/** The base report with the value at `path` replaced. */
function withValue(path: (string | number)[], value: unknown): Record<string, unknown> {
  const r = base()
  let at = r as Record<string | number, unknown>
  for (const k of path.slice(0, -1)) at = at[k] as Record<string | number, unknown>
  at[path.at(-1)!] = value
  return r
}

const trial = ['scenarios', 0, 'trials', 0]

describe(`report limits on ${engine}`, () => {
  const refused: [string, (string | number)[], unknown, string][] = [
    ['NUL in a string', ['environment', 'model'], 'a\u0000b', 'environment.model'],
    ['a lone surrogate', ['git', 'branch'], 'x\ud800', 'git.branch'],
    ['pr_number past 32 bits', ['git', 'pr_number'], 2147483648, 'git.pr_number'],
    ['gpu.count past 32 bits', ['environment', 'gpu', 'count'], 2 ** 31, 'environment.gpu.count'],
    ['ci.run_attempt past 32 bits', ['ci', 'run_attempt'], 2 ** 32, 'ci.run_attempt'],
    ['a trial index past 32 bits', [...trial, 'index'], 2 ** 31, 'scenarios[0].trials[0].index'],
    [
      'a token count past 32 bits',
      [...trial, 'samples', 'input_tokens', 0],
      3e9,
      'scenarios[0].trials[0].samples.input_tokens[0]',
    ],
    [
      'a token count that would wrap',
      [...trial, 'samples', 'output_tokens', 0],
      4294967304,
      'scenarios[0].trials[0].samples.output_tokens[0]',
    ],
    ['year 0', ['created_at'], '0000-01-01T00:00:00Z', 'created_at'],
    [
      'an instant before 1970 in UTC',
      [...trial, 'started_at'],
      '0001-01-01T00:00:00+14:00',
      'scenarios[0].trials[0].started_at',
    ],
    ['7 kB in an indexed column', ['ci', 'run_id'], 'x'.repeat(7000), 'ci.run_id'],
    ['7 kB of branch', ['git', 'branch'], 'b'.repeat(7000), 'git.branch'],
    ['7 kB of GPU model', ['environment', 'gpu', 'model'], 'g'.repeat(7000), 'environment.gpu.model'],
    ['a NUL key in the config', ['environment', 'config'], { 'k\u0000': 1 }, 'environment.config.k\u0000'],
  ]
  for (const [what, path, value, named] of refused) {
    it(`refuses ${what}, naming ${named}`, async () => {
      const res = await call('POST', '/api/v1/runs', token, withValue(path, value))
      expect(res.status).toBe(400)
      const { error } = (await res.json()) as { error: { details: { issues: { path: string }[] } } }
      expect(error.details.issues.map((i) => i.path)).toContain(named)
    })
  }

  it('refuses a config nested 5,000 levels deep, and two trials with one index', async () => {
    const body = JSON.stringify(withValue(['environment', 'config'], { deep: '@@' })).replace(
      '"@@"',
      `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`,
    )
    const deep = await call('POST', '/api/v1/runs', token, body)
    expect(deep.status).toBe(400)
    expect(JSON.stringify(await deep.json())).toContain('nested deeper than 32 levels')
    const r = base() as unknown as Report
    const twice = {
      ...r,
      scenarios: [{ ...r.scenarios[0]!, trials: [r.scenarios[0]!.trials[0]!, r.scenarios[0]!.trials[0]!] }],
    }
    const dup = await call('POST', '/api/v1/runs', token, twice)
    expect(dup.status).toBe(400)
    expect(JSON.stringify(await dup.json())).toContain('scenarios[0].trials[1].index')
  })

  it('stores an offset timestamp as its UTC instant, and reads everything back as parsed', async () => {
    const sent = withValue(['created_at'], '2026-11-01T10:00:00.5+05:30')
    ;(sent.environment as { config: unknown }).config = { z: 1, a: { y: [1, 'two'], b: null }, ünï: '🚀' }
    const res = await call('POST', '/api/v1/runs', token, sent)
    expect(res.status).toBe(201)
    const { id } = (await res.json()) as { id: string }
    const got = (await (await call('GET', `/api/v1/runs/${id}`, token)).json()) as { report: Report }
    expect(got.report.created_at).toBe('2026-11-01T04:30:00.500Z')
    // Byte for byte, key order of the free-form config included.
    expect(JSON.stringify(got.report)).toBe(JSON.stringify(parseReport(sent)))
  })

  it('a report without CI identity posted twice is one run', async () => {
    const r = { ...base(), ci: null }
    const first = await call('POST', '/api/v1/runs', token, r)
    expect(first.status).toBe(201)
    const second = await call('POST', '/api/v1/runs', token, r)
    expect(second.status).toBe(200)
    const a = (await first.json()) as { id: string }
    expect(((await second.json()) as { id: string }).id).toBe(a.id)
    // Another report without CI identity is another run.
    const other = await call('POST', '/api/v1/runs', token, {
      ...withValue(['git', 'sha'], 'other'),
      ci: null,
    })
    expect(other.status).toBe(201)
  })

  it('refuses a __proto__ key, which JavaScript objects would silently drop', async () => {
    for (const path of [
      ['environment', 'config'],
      [...trial, 'errors'],
    ]) {
      const body = JSON.stringify(withValue(path, { '@@': 0 })).replace('"@@"', '"__proto__"')
      const res = await call('POST', '/api/v1/runs', token, body)
      expect(res.status).toBe(400)
      expect(JSON.stringify(await res.json())).toContain('__proto__')
    }
  })

  it('refuses a report of an interrupted run, naming the field', async () => {
    const res = await call('POST', '/api/v1/runs', token, { ...base(), interrupted: true })
    expect(res.status).toBe(400)
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/^interrupted: /)
  })

  it('read routes refuse values Postgres cannot hold with a 400 naming the parameter', async () => {
    const series = await call(
      'GET',
      '/api/v1/projects/acme/llm/series?benchmark=%00&scenario=s&metric=ttft',
      token,
    )
    expect(series.status).toBe(400)
    expect(JSON.stringify(await series.json())).toContain('benchmark')
    const scenario = await call(
      'GET',
      '/api/v1/projects/acme/llm/series?benchmark=b&scenario=%00&metric=ttft',
      token,
    )
    expect(scenario.status).toBe(400)
    const unpin = await call('DELETE', '/api/v1/projects/acme/llm/baselines?benchmark=%00', token)
    expect(unpin.status).toBe(400)
    const pin = await call('POST', '/api/v1/projects/acme/llm/baselines', token, {
      benchmark: '\u0000',
      run_ids: ['00000000-0000-4000-8000-000000000000'],
    })
    expect(pin.status).toBe(400)
    const status = await call('POST', '/api/v1/statuses', token, {
      benchmark: 'b',
      sha: 'abcdef1',
      state: 'pending',
      description: 'x\u0000',
    })
    expect(status.status).toBe(400)
  })

  it('projects: one per GitHub repository whatever the case, GitHub names only, ids as strings', async () => {
    const again = await call('POST', '/api/v1/projects', ADMIN, { owner: 'Acme', repo: 'LLM' })
    expect(again.status).toBe(409)
    expect(JSON.stringify(await again.json())).toContain('acme/llm exists already')
    for (const repo of ['.', '..']) {
      const res = await call('POST', '/api/v1/projects', ADMIN, { owner: 'acme', repo })
      expect(res.status).toBe(400)
    }
    for (const owner of ['-acme', 'ac--me', 'a'.repeat(40), 'ac.me']) {
      expect((await call('POST', '/api/v1/projects', ADMIN, { owner, repo: 'x' })).status).toBe(400)
    }
    const made = await call('POST', '/api/v1/projects', ADMIN, { owner: 'Big-Co', repo: 'my.repo_2' })
    expect(made.status).toBe(201)
    const { project } = (await made.json()) as { project: { id: unknown } }
    expect(typeof project.id).toBe('string')
    // The URL's case does not matter either.
    expect((await call('GET', '/api/v1/projects/ACME/Llm/benchmarks', token)).status).toBe(200)
  })

  it('an unauthenticated body is not read: the 401 comes before the sender has finished', async () => {
    const service = await startService(target, DEFAULT_CONFIG, { host: '127.0.0.1', port: 0 })
    try {
      const url = new URL(`${service.url}/api/v1/runs`)
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json' } })
        req.on('response', (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
          req.destroy()
        })
        req.on('error', () => {})
        setTimeout(() => reject(new Error('no answer while the body was still coming')), 5_000)
        // Chunked (no Content-Length), and never finished.
        req.write('{"schema":"')
        req.write('x'.repeat(64 * 1024))
      })
      expect(status).toBe(401)
    } finally {
      await service.close()
    }
  })
})
