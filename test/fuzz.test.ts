// Ingest fuzz on both engines: a few thousand mutated reports (test/fuzz/reports.ts), seeded,
// made from v2 reports of one server, v2 A/B reports and v1 reports in turn.
// Every answer is a 2xx or a 4xx naming a field; every accepted report reads back byte for byte
// as the schema parsed it; nothing is stored half. A failure names the body's index to replay.
import type { Kysely } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp, DEFAULT_CONFIG } from '../service/app.ts'
import type { Database } from '../service/db/database.ts'
import { createProject } from '../service/projects/repository.ts'
import { engine, migratedDatabase } from './db-helpers.ts'
import { fuzzIngest } from './fuzz/reports.ts'

const SEED = 20261202
const BODIES = 2_000

let db: Kysely<Database>
let close: () => Promise<void>
beforeAll(async () => {
  ;({ db, close } = await migratedDatabase())
})
afterAll(() => close())

describe(`ingest fuzz on ${engine}`, () => {
  it(`${BODIES} mutated reports: no 5xx, every 4xx names a field, every accepted one reads back unchanged`, async () => {
    const { token } = await createProject(db, 'acme', 'llm')
    const f = await fuzzIngest(createApp(db, DEFAULT_CONFIG), db, token, SEED, BODIES)
    expect(f.serverErrors).toEqual([])
    expect(f.unnamed).toEqual([])
    expect(f.mismatches).toEqual([])
    expect(f.partialWrites).toBe(0)
    // The mutations keep a fair share valid, or the read-back check would test nothing.
    expect(f.accepted).toBeGreaterThan(BODIES / 10)
    // Every version is among them: A/B reports (a third of the bodies) and v1 reports too.
    expect(f.acceptedPaired).toBeGreaterThan(BODIES / 40)
    expect(f.acceptedV1).toBeGreaterThan(BODIES / 40)
  })
})
