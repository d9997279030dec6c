// npm run bench:service — the regression service's speed, through its HTTP handlers
// (app.request(): routing, JSON parsing, schema validation, SQL, the detector; no sockets), on
// PGlite (on disk, the embedded default) and on Postgres when BENCH_DATABASE_URL is set.
//  - ingest: POST /api/v1/runs of a report of 8 scenarios × 1,000 requests;
//  - comparison: GET /api/v1/runs/:id/comparison?baseline=current, compared again against 10
//    baseline runs of that size (the plain GET reads the stored one: `stored`);
//  - series: GET …/series over 365 runs;
//  - concurrency: 200 concurrent POSTs of distinct smaller reports (8 scenarios × 50 requests)
//    over real HTTP to `infergate serve`'s server with its default settings, on one process and
//    (Postgres) on two replicas sharing the database: 5xx, runs lost, latency.
// Prints a markdown section for docs/performance.md. Not a test: it reports, it does not assert.
import { mkdtempSync, rmSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { median } from '../core/stats.ts'
import { createApp, DEFAULT_CONFIG } from '../service/app.ts'
import { type DatabaseTarget, migrateToLatest, openDatabase } from '../service/db/connect.ts'
import { type RunningService, startService } from '../service/server.ts'
import { dailyReport } from './daily-report.ts'
import { scratchPostgres } from './scratch-postgres.ts'

const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '15' },
    'output-tokens': { type: 'string', default: '128' },
    'series-runs': { type: 'string', default: '365' },
    concurrent: { type: 'string', default: '200' },
  },
})
const REPS = Number(values.reps)
const OUTPUT_TOKENS = Number(values['output-tokens'])
const SERIES_RUNS = Number(values['series-runs'])
const CONCURRENT = Number(values.concurrent)
const SCENARIOS = 8
const REQUESTS = 1000
const BASELINES = 10

const report = (day: number, scenarios: number, requests: number, outputTokens: number) =>
  dailyReport('bench/service', day, scenarios, requests, outputTokens)

async function time(f: () => Response | Promise<Response>, expectStatus: number): Promise<number> {
  const t = performance.now()
  const res = await f()
  await res.arrayBuffer()
  const ms = performance.now() - t
  if (res.status !== expectStatus) throw new Error(`expected ${expectStatus}, got ${res.status}`)
  return ms
}

interface Figures {
  ingest: number[]
  comparison: number[]
  stored: number[]
  series: number[]
  bytes: number
}

async function measure(target: DatabaseTarget): Promise<Figures> {
  const db = openDatabase(target)
  await migrateToLatest(db)
  const app = createApp(db, {
    ...DEFAULT_CONFIG,
    adminToken: 'admin',
    baselineRuns: BASELINES,
    bodyLimitBytes: 512 * 1024 * 1024,
  })
  const call = (method: string, path: string, token: string, body?: string) =>
    app.request(path, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body,
    })
  const created = await call(
    'POST',
    '/api/v1/projects',
    'admin',
    JSON.stringify({ owner: 'bench', repo: 'service' }),
  )
  const { token } = (await created.json()) as { token: string }

  // The series' history: SERIES_RUNS daily runs (smaller reports: the series reads summaries).
  for (let day = 0; day < SERIES_RUNS - BASELINES; day++) {
    const res = await call('POST', '/api/v1/runs', token, JSON.stringify(report(day, SCENARIOS, 50, 16)))
    if (res.status !== 201) throw new Error(`history ingest: ${res.status} ${await res.text()}`)
  }
  // The last BASELINES days at full size: the baseline of every later comparison.
  for (let day = SERIES_RUNS - BASELINES; day < SERIES_RUNS; day++) {
    const body = JSON.stringify(report(day, SCENARIOS, REQUESTS, OUTPUT_TOKENS))
    const res = await call('POST', '/api/v1/runs', token, body)
    if (res.status !== 201) throw new Error(`baseline ingest: ${res.status}`)
  }

  const figures: Figures = { ingest: [], comparison: [], stored: [], series: [], bytes: 0 }
  for (let rep = 0; rep < REPS; rep++) {
    // A PR run against the base branch: ingest stores it and compares it with 10 baselines.
    const pr = report(SERIES_RUNS + rep, SCENARIOS, REQUESTS, OUTPUT_TOKENS)
    const body = JSON.stringify({
      ...pr,
      git: {
        ...pr.git,
        branch: 'feature',
        base_branch: 'main',
        pr_number: rep + 1,
        event_name: 'pull_request',
      },
    })
    figures.bytes = body.length
    let id = ''
    figures.ingest.push(
      await time(async () => {
        const res = await call('POST', '/api/v1/runs', token, body)
        id = ((await res.clone().json()) as { id: string }).id
        return res
      }, 201),
    )
    figures.comparison.push(
      await time(() => call('GET', `/api/v1/runs/${id}/comparison?baseline=current`, token), 200),
    )
    figures.stored.push(await time(() => call('GET', `/api/v1/runs/${id}/comparison`, token), 200))
    figures.series.push(
      await time(
        () =>
          call(
            'GET',
            `/api/v1/projects/bench/service/series?benchmark=chat&scenario=concurrency-8&metric=tpot&branch=main&limit=${SERIES_RUNS}`,
            token,
          ),
        200,
      ),
    )
  }
  await db.destroy()
  return figures
}

interface Burst {
  created: number
  serverErrors: number
  other: number
  lost: number
  latencies: number[]
  wallMs: number
}

/**
 * CONCURRENT distinct reports posted at once over HTTP, spread over `replicas` services on one
 * database; then every acknowledged run is read back.
 */
async function burst(target: DatabaseTarget, replicas: number): Promise<Burst> {
  const services: RunningService[] = []
  for (let i = 0; i < replicas; i++) {
    services.push(
      await startService(target, { ...DEFAULT_CONFIG, adminToken: 'admin' }, { host: '127.0.0.1', port: 0 }),
    )
  }
  try {
    const owner = `burst${replicas}`
    const made = await fetch(`${services[0]!.url}/api/v1/projects`, {
      method: 'POST',
      headers: { authorization: 'Bearer admin', 'content-type': 'application/json' },
      body: JSON.stringify({ owner, repo: 'service' }),
    })
    const { token } = (await made.json()) as { token: string }
    const bodies = Array.from({ length: CONCURRENT }, (_, i) => {
      const r = report(1000 + i, SCENARIOS, 50, 16)
      return JSON.stringify({ ...r, git: { ...r.git, repository: `${owner}/service` } })
    })
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
    const started = performance.now()
    const answers = await Promise.all(
      bodies.map(async (body, i) => {
        const t = performance.now()
        const res = await fetch(`${services[i % replicas]!.url}/api/v1/runs`, {
          method: 'POST',
          headers,
          body,
        })
        const answer = (await res.json()) as { id?: string }
        return { status: res.status, id: answer.id, ms: performance.now() - t }
      }),
    )
    const wallMs = performance.now() - started
    let lost = 0
    for (const a of answers.filter((x) => x.status === 201)) {
      const got = await fetch(`${services[0]!.url}/api/v1/runs/${a.id}`, { headers })
      await got.arrayBuffer()
      if (got.status !== 200) lost++
    }
    return {
      created: answers.filter((a) => a.status === 201).length,
      serverErrors: answers.filter((a) => a.status >= 500).length,
      other: answers.filter((a) => a.status !== 201 && a.status < 500).length,
      lost,
      latencies: answers.map((a) => a.ms),
      wallMs,
    }
  } finally {
    for (const s of services) await s.close()
  }
}

const dir = mkdtempSync(join(tmpdir(), 'infergate-bench-service-'))
const engines: [string, () => Promise<{ target: DatabaseTarget; drop(): Promise<void> }>][] = [
  ['PGlite (on disk)', async () => ({ target: { dataDir: join(dir, 'pglite') }, drop: async () => {} })],
]
const pgUrl = process.env.BENCH_DATABASE_URL
if (pgUrl) engines.push([`Postgres (${new URL(pgUrl).host})`, () => scratchPostgres(pgUrl)])

const f = (xs: number[]) =>
  `${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`
const out = [
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}. ` +
    `${REPS} repetitions; medians (min–max) in ms. Reports of ${SCENARIOS} scenarios × ${REQUESTS} requests × ` +
    `${OUTPUT_TOKENS} output tokens; series over ${SERIES_RUNS} runs.`,
  '',
  '| database | ingest (target ≤ 150) | comparison vs 10 baselines (≤ 100) | stored comparison | series, 365 runs (≤ 50) |',
  '|---|---|---|---|---|',
]
const bursts = [
  `| database | replicas | concurrent POSTs | 201 | 5xx | other | lost | p50 ms | p99 ms | all in s |`,
  '|---|---|---|---|---|---|---|---|---|---|',
]
const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!
try {
  for (const [name, open] of engines) {
    const { target, drop } = await open()
    try {
      const r = await measure(target)
      out.push(`| ${name} | ${f(r.ingest)} | ${f(r.comparison)} | ${f(r.stored)} | ${f(r.series)} |`)
      process.stderr.write(`${name}: done (report body ${(r.bytes / 1e6).toFixed(1)} MB)\n`)
      // PGlite is one process's (its folder is locked): two replicas only on Postgres.
      for (const replicas of 'url' in target ? [1, 2] : [1]) {
        const b = await burst(target, replicas)
        bursts.push(
          `| ${name} | ${replicas} | ${CONCURRENT} | ${b.created} | ${b.serverErrors} | ${b.other} | ${b.lost} | ${quantile(b.latencies, 0.5).toFixed(0)} | ${quantile(b.latencies, 0.99).toFixed(0)} | ${(b.wallMs / 1000).toFixed(1)} |`,
        )
        process.stderr.write(`${name}: burst on ${replicas} replica(s) done\n`)
      }
    } finally {
      await drop()
    }
  }
  out.push(
    '',
    `Concurrency: ${CONCURRENT} distinct reports of ${SCENARIOS} scenarios × 50 requests × 16 output tokens posted at once over HTTP, default settings (pool 10, 8 ingests at work, queue 1,000); every 201 read back.`,
    '',
    ...bursts,
  )
} finally {
  rmSync(dir, { recursive: true, force: true })
}
if (!process.env.BENCH_DATABASE_URL) out.push('', 'Postgres: skipped (set BENCH_DATABASE_URL).')
process.stdout.write(`${out.join('\n')}\n`)
