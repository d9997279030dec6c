// One database API over two engines: Postgres (pg) when a URL is given, else PGlite, an
// embedded Postgres on disk: the same migrations and queries run on both.
import { mkdirSync } from 'node:fs'
import { PGlite } from '@electric-sql/pglite'
import { Kysely, PGliteDialect, PostgresDialect } from 'kysely'
import { Migrator } from 'kysely/migration'
import pg from 'pg'
import { migrations } from '../../migrations/index.ts'
import type { Database } from './database.ts'

export type DatabaseTarget = { url: string } | { dataDir: string } | { memory: true }

// Postgres returns bigint (int8) as text by default; ids here stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v: string) => v)

// bytea travels as hex text between PGlite's JavaScript and its Postgres; Node's native hex
// codec does it ~50× faster than PGlite's own loop (samples are megabytes a run).
const BYTEA = 17
const parsers = { [BYTEA]: (text: string) => Buffer.from(text.slice(2), 'hex') }
const serializers = {
  [BYTEA]: (v: Uint8Array) => `\\x${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`,
}

// PGlite is one connection: a transaction holds it, so nothing may run beside one.
const embedded = new WeakSet<Kysely<Database>>()

/** Whether queries from outside a transaction wait for it to end (PGlite). */
export const isEmbedded = (db: Kysely<Database>) => embedded.has(db)

export function openDatabase(target: DatabaseTarget): Kysely<Database> {
  if ('url' in target) {
    const pool = new pg.Pool({ connectionString: target.url, max: 10, connectionTimeoutMillis: 10_000 })
    // An idle connection closed by the server (a restart, a failover) must not take the process
    // down: the pool drops it and opens another when needed; queries in flight fail and say so.
    pool.on('error', () => {})
    return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  }
  const pglite = async () => {
    if ('memory' in target) return new PGlite({ parsers, serializers })
    mkdirSync(target.dataDir, { recursive: true })
    return new PGlite(target.dataDir, { parsers, serializers })
  }
  const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite }) })
  embedded.add(db)
  return db
}

/** Applies every pending migration. Kysely's lock table serializes replicas that start together. */
export async function migrateToLatest(db: Kysely<Database>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } })
  const { error, results } = await migrator.migrateToLatest()
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')
    throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message ?? error}`)
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
}
