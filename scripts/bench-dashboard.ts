// npm run bench:dashboard — the dashboard's server time and page weight, through its handlers
// (app.request(): routing, access, SQL, rendering; no sockets), on PGlite (on disk, the embedded
// default) and on Postgres when BENCH_DATABASE_URL is set:
//  - history: GET /p/…/benchmarks/chat, every scenario's series over 365 runs (8 scenarios);
//  - run: GET /runs/:id of a run of 8 scenarios × 1,000 requests against 5 baseline runs of
//    that size, its distributions drawn from all 6,000 requests of each scenario (the page a
//    PR comment links to);
//  - weight: the bytes of each page with the assets it loads (uncompressed, and gzip -6).
// Prints a markdown section for docs/performance.md. Not a test: it reports, it does not assert.
import { mkdtempSync, rmSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { gzipSync } from 'node:zlib'
import { median } from '../core/stats.ts'
import { createApp, DEFAULT_CONFIG } from '../service/app.ts'
import { type DatabaseTarget, migrateToLatest, openDatabase } from '../service/db/connect.ts'
import { dailyReport } from './daily-report.ts'
import { scratchPostgres } from './scratch-postgres.ts'

const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '15' },
    'series-runs': { type: 'string', default: '365' },
  },
})
const REPS = Number(values.reps)
const SERIES_RUNS = Number(values['series-runs'])
const SCENARIOS = 8
const REQUESTS = 1000
const BASELINES = 5
const OUTPUT_TOKENS = 128

const report = (day: number, requests: number, outputTokens: number) =>
  dailyReport('bench/dashboard', day, SCENARIOS, requests, outputTokens)

interface Figures {
  history: number[]
  run: number[]
  weight: Record<string, { raw: number; gzip: number }>
}

async function measure(target: DatabaseTarget): Promise<Figures> {
  const db = openDatabase(target)
  await migrateToLatest(db)
  const app = createApp(db, {
    ...DEFAULT_CONFIG,
    adminToken: 'admin',
    baselineRuns: BASELINES,
    bodyLimitBytes: 512 << 20,
  })
  const api = (method: string, path: string, token: string, body?: string) =>
    app.request(path, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body,
    })
  const created = await api(
    'POST',
    '/api/v1/projects',
    'admin',
    JSON.stringify({ owner: 'bench', repo: 'dashboard' }),
  )
  const { token } = (await created.json()) as { token: string }
  for (let day = 0; day < SERIES_RUNS - BASELINES - 1; day++) {
    const res = await api('POST', '/api/v1/runs', token, JSON.stringify(report(day, 50, 16)))
    if (res.status !== 201) throw new Error(`history ingest: ${res.status} ${await res.text()}`)
  }
  for (let day = SERIES_RUNS - BASELINES - 1; day < SERIES_RUNS - 1; day++) {
    const res = await api('POST', '/api/v1/runs', token, JSON.stringify(report(day, REQUESTS, OUTPUT_TOKENS)))
    if (res.status !== 201) throw new Error(`baseline ingest: ${res.status}`)
  }
  const pr = report(SERIES_RUNS, REQUESTS, OUTPUT_TOKENS)
  pr.git = { ...pr.git, branch: 'feature', base_branch: 'main', pr_number: 1, event_name: 'pull_request' }
  const posted = await api('POST', '/api/v1/runs', token, JSON.stringify(pr))
  const { id } = (await posted.json()) as { id: string }

  const page = (path: string) => app.request(path, { headers: { cookie: `infergate_token=${token}` } })
  const time = async (path: string) => {
    const t = performance.now()
    const res = await page(path)
    const body = await res.text()
    const ms = performance.now() - t
    if (res.status !== 200) throw new Error(`${path}: ${res.status}`)
    return { ms, body }
  }
  const paths = { history: `/p/bench/dashboard/benchmarks/chat?limit=${SERIES_RUNS}`, run: `/runs/${id}` }
  const figures: Figures = { history: [], run: [], weight: {} }
  for (const [name, path] of Object.entries(paths) as [keyof typeof paths, string][]) {
    const first = await time(path)
    let raw = Buffer.byteLength(first.body)
    let gzip = gzipSync(first.body).length
    for (const m of first.body.matchAll(/(?:href|src)="(\/assets\/[^"]+)"/g)) {
      const a = Buffer.from(await (await page(m[1]!)).arrayBuffer())
      raw += a.length
      gzip += gzipSync(a).length
    }
    figures.weight[name] = { raw, gzip }
    for (let rep = 0; rep < REPS; rep++) figures[name].push((await time(path)).ms)
  }
  await db.destroy()
  return figures
}

const kb = (b: number) => `${(b / 1024).toFixed(0)} KB`
const ms = (xs: number[]) => `${median(xs).toFixed(0)} ms`

const rows: [string, Figures][] = []
const dir = mkdtempSync(join(tmpdir(), 'infergate-bench-dashboard-'))
try {
  rows.push(['PGlite (on disk)', await measure({ dataDir: join(dir, 'data') })])
} finally {
  rmSync(dir, { recursive: true, force: true })
}
if (process.env.BENCH_DATABASE_URL) {
  const pg = await scratchPostgres(process.env.BENCH_DATABASE_URL, 'infergate_bench_dashboard')
  try {
    rows.push(['Postgres 15', await measure(pg.target)])
  } finally {
    await pg.drop()
  }
}
const cpu = cpus()[0]?.model ?? 'unknown CPU'
process.stdout.write(
  `Machine: ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; medians of ${REPS}.\n\n` +
    `| database | history page, ${SCENARIOS} scenarios × ${SERIES_RUNS} runs | run page, ${SCENARIOS} scenarios × ${REQUESTS.toLocaleString('en')} requests, ${BASELINES} baselines | history weight (gzip) | run weight (gzip) |\n` +
    '|---|---|---|---|---|\n' +
    rows
      .map(
        ([name, f]) =>
          `| ${name} | ${ms(f.history)} | ${ms(f.run)} | ${kb(f.weight.history!.raw)} (${kb(f.weight.history!.gzip)}) | ${kb(f.weight.run!.raw)} (${kb(f.weight.run!.gzip)}) |`,
      )
      .join('\n') +
    '\n',
)
