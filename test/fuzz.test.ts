// Ingest fuzz on both engines: a few thousand mutated reports (test/fuzz/reports.ts), seeded.
// Every answer is a 2xx or a 4xx naming a field; every accepted report reads back byte for byte
// as the schema parsed it; nothing is stored half. A failure prints the body's index to replay.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseReport } from '../core/report.ts'
import { createApp, DEFAULT_CONFIG } from '../service/app.ts'
import { migrateToLatest, openDatabase } from '../service/db/connect.ts'
import { createProject } from '../service/projects/repository.ts'
import { engine, freshDatabase } from './db-helpers.ts'
import { baseReport, mutatedBody } from './fuzz/reports.ts'

const SEED = 20261202
const BODIES = Number(process.env.INFERGATE_FUZZ_BODIES ?? 2_000)

let db: ReturnType<typeof openDatabase>
let drop: () => Promise<void>
let app: ReturnType<typeof createApp>
let token: string
beforeAll(async () => {
  const fresh = await freshDatabase()
  drop = fresh.drop
  db = openDatabase(fresh.target)
  await migrateToLatest(db)
  token = (await createProject(db, 'acme', 'llm')).token
  app = createApp(db, DEFAULT_CONFIG)
})
afterAll(async () => {
  await db.destroy()
  await drop()
})

describe(`ingest fuzz on ${engine}`, () => {
  it(`${BODIES} mutated reports: no 5xx, every 4xx names a field, every accepted one reads back unchanged`, async () => {
    const base = baseReport()
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
    const serverErrors: string[] = []
    const unnamed: string[] = []
    const mismatches: string[] = []
    let accepted = 0
    for (let i = 0; i < BODIES; i++) {
      const body = mutatedBody(SEED, i, base)
      const res = await app.request('/api/v1/runs', { method: 'POST', headers, body })
      const answer = (await res.json()) as { id?: string; error?: { message: string } }
      if (res.status >= 500) serverErrors.push(`#${i}: ${res.status} ${answer.error?.message}`)
      else if (res.status >= 400) {
        // "invalid report: scenarios[0].trials[1].index: …" or another message that names the key.
        if (
          !/^invalid report: [\w[\].]+|^git\.repository|^this token belongs/.test(answer.error?.message ?? '')
        ) {
          unnamed.push(`#${i}: ${answer.error?.message}`)
        }
      } else {
        accepted++
        const expected = JSON.stringify(parseReport(JSON.parse(body)))
        const got = await app.request(`/api/v1/runs/${answer.id}`, { headers })
        const text =
          got.status === 200
            ? JSON.stringify(((await got.json()) as { report: unknown }).report)
            : `HTTP ${got.status}`
        if (text !== expected) mismatches.push(`#${i}: read back ${text.slice(0, 200)}`)
      }
    }
    expect(serverErrors).toEqual([])
    expect(unnamed).toEqual([])
    expect(mismatches).toEqual([])
    // The mutations keep a fair share valid, or the read-back check would test nothing.
    expect(accepted).toBeGreaterThan(BODIES / 10)
    // Nothing half-stored: every run has its trials, and only accepted ones exist.
    const runs = await db.selectFrom('runs').select(['id']).execute()
    expect(runs.length).toBe(accepted)
    const orphans = await db
      .selectFrom('runs')
      .leftJoin('trials', 'trials.run_id', 'runs.id')
      .select('runs.id')
      .where('trials.id', 'is', null)
      .execute()
    expect(orphans).toEqual([])
  })
})
