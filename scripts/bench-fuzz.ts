// npm run bench:fuzz — the ingest fuzz at full size for docs/performance.md: 10,000 mutated
// reports (test/fuzz/reports.ts) per database, PGlite always and Postgres when
// BENCH_DATABASE_URL is set. The suite runs the same fuzz with 2,000 bodies.
// Prints the figures: bodies, accepted, 5xx, unnamed 4xx, read-back mismatches, partial writes.
import { cpus, totalmem } from 'node:os'
import { parseArgs } from 'node:util'
import { createApp, DEFAULT_CONFIG } from '../service/app.ts'
import { type DatabaseTarget, migrateToLatest, openDatabase } from '../service/db/connect.ts'
import { createProject } from '../service/projects/repository.ts'
import { fuzzIngest } from '../test/fuzz/reports.ts'
import { scratchPostgres } from './scratch-postgres.ts'

const { values } = parseArgs({
  options: { bodies: { type: 'string', default: '10000' }, seed: { type: 'string', default: '1' } },
})
const BODIES = Number(values.bodies)
const SEED = Number(values.seed)

async function run(target: DatabaseTarget) {
  const db = openDatabase(target)
  try {
    await migrateToLatest(db)
    const { token } = await createProject(db, 'acme', 'llm')
    const started = performance.now()
    const f = await fuzzIngest(createApp(db, DEFAULT_CONFIG), db, token, SEED, BODIES)
    return { ...f, seconds: (performance.now() - started) / 1000 }
  } finally {
    await db.destroy()
  }
}

const rows: string[] = []
const show = (name: string, f: Awaited<ReturnType<typeof run>>) => {
  rows.push(
    `| ${name} | ${f.bodies} | ${f.accepted} | ${f.reposts} | ${f.serverErrors.length} | ${f.unnamed.length} | ${f.mismatches.length} | ${f.partialWrites} | ${f.seconds.toFixed(0)} |`,
  )
  for (const e of [...f.serverErrors, ...f.unnamed, ...f.mismatches].slice(0, 10))
    process.stderr.write(`${name} ${e}\n`)
}
show('PGlite (in memory)', await run({ memory: true }))
const url = process.env.BENCH_DATABASE_URL
if (url) {
  const { target, drop } = await scratchPostgres(url, 'infergate_fuzz')
  try {
    show(`Postgres (${new URL(url).host})`, await run(target))
  } finally {
    await drop()
  }
}
process.stdout.write(
  [
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}. Seed ${SEED}.`,
    '',
    '| database | bodies | stored (201) | re-posts (200) | 5xx | 4xx naming no field | read-back mismatches | partial writes | seconds |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows,
    ...(url ? [] : ['', 'Postgres: skipped (set BENCH_DATABASE_URL).']),
    '',
  ].join('\n'),
)
