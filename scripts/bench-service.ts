// npm run bench:service — the regression service's speed, through its HTTP handlers
// (app.request(): routing, JSON parsing, schema validation, SQL, the detector; no sockets), on
// PGlite (on disk, the embedded default) and on Postgres when BENCH_DATABASE_URL is set.
//  - ingest: POST /api/v1/runs of a report of 8 scenarios × 1,000 requests;
//  - comparison: GET /api/v1/runs/:id/comparison against 10 baseline runs of that size;
//  - series: GET …/series over 365 runs.
// Prints a markdown section for docs/performance.md. Not a test: it reports, it does not assert.
import { mkdtempSync, rmSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { parseReport, type Report } from '../core/report.ts'
import { median } from '../core/stats.ts'
import { createApp, DEFAULT_CONFIG } from '../service/app.ts'
import { type DatabaseTarget, migrateToLatest, openDatabase } from '../service/db/connect.ts'
import { ciIdentity, makeReport } from '../test/report-factory.ts'

const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '15' },
    'output-tokens': { type: 'string', default: '128' },
    'series-runs': { type: 'string', default: '365' },
  },
})
const REPS = Number(values.reps)
const OUTPUT_TOKENS = Number(values['output-tokens'])
const SERIES_RUNS = Number(values['series-runs'])
const SCENARIOS = 8
const REQUESTS = 1000
const BASELINES = 10

let ciRun = 1
/** A main-branch report of `scenarios` × `requests`, reported on day `day`. */
function report(day: number, scenarios: number, requests: number, outputTokens: number): Report {
  const parts = Array.from({ length: scenarios }, (_, s) =>
    makeReport(day * 100 + s, [{ requests, outputTokens, ttft: 50 + s, tpot: 10 }], {
      scenario: `concurrency-${2 ** s}`,
    }),
  )
  const first = parts[0]!
  return parseReport({
    ...first,
    benchmark: 'chat',
    created_at: new Date(Date.UTC(2025, 0, 1) + day * 86_400_000).toISOString(),
    git: { ...first.git, repository: 'bench/service', sha: `sha-${day}` },
    ci: ciIdentity(ciRun++),
    scenarios: parts.map((p) => p.scenarios[0]!),
  })
}

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

  const figures: Figures = { ingest: [], comparison: [], series: [], bytes: 0 }
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
    figures.comparison.push(await time(() => call('GET', `/api/v1/runs/${id}/comparison`, token), 200))
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

/** A scratch database on the server of BENCH_DATABASE_URL, dropped afterwards. */
async function scratchPostgres(url: string): Promise<{ target: DatabaseTarget; drop(): Promise<void> }> {
  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  const name = `infergate_bench_${process.pid}`
  await admin.query(`create database ${name}`)
  const u = new URL(url)
  u.pathname = `/${name}`
  return {
    target: { url: u.toString() },
    drop: async () => {
      await admin.query(`drop database if exists ${name}`)
      await admin.end()
    },
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
  '| database | ingest (target ≤ 150) | comparison vs 10 baselines (≤ 100) | series, 365 runs (≤ 50) |',
  '|---|---|---|---|',
]
try {
  for (const [name, open] of engines) {
    const { target, drop } = await open()
    const r = await measure(target).finally(drop)
    out.push(`| ${name} | ${f(r.ingest)} | ${f(r.comparison)} | ${f(r.series)} |`)
    process.stderr.write(`${name}: done (report body ${(r.bytes / 1e6).toFixed(1)} MB)\n`)
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
if (!process.env.BENCH_DATABASE_URL) out.push('', 'Postgres: skipped (set BENCH_DATABASE_URL).')
process.stdout.write(`${out.join('\n')}\n`)
