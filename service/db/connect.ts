// One database API over two engines: Postgres (pg) when a URL is given, else PGlite, an
// embedded Postgres on disk: the same migrations and queries run on both.
import { mkdirSync, statSync } from 'node:fs'
import { PGlite } from '@electric-sql/pglite'
import { Kysely, PGliteDialect, PostgresDialect } from 'kysely'
import { Migrator } from 'kysely/migration'
import pg from 'pg'
import { migrations } from '../../migrations/index.ts'
import { DEFAULT_POOL, type PoolSettings } from '../defaults.ts'
import { lockDataDir } from './data-dir-lock.ts'
import type { Database } from './database.ts'

export { DEFAULT_POOL, type PoolSettings } from '../defaults.ts'

export type DatabaseTarget = { url: string; pool?: PoolSettings } | { dataDir: string } | { memory: true }

// bigint (int8) ids are text on both engines (pg's default; PGlite would give numbers): the API
// answers the same JSON whichever database is behind it.
const INT8 = 20
pg.types.setTypeParser(pg.types.builtins.INT8, (v: string) => v)

// bytea travels as hex text between PGlite's JavaScript and its Postgres; Node's native hex
// codec does it ~50× faster than PGlite's own loop (samples are megabytes a run).
const BYTEA = 17
const parsers = {
  [BYTEA]: (text: string) => Buffer.from(text.slice(2), 'hex'),
  [INT8]: (text: string) => text,
}
const serializers = {
  [BYTEA]: (v: Uint8Array) => `\\x${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`,
}

// PGlite is one connection: a transaction holds it, so nothing may run beside one.
const embedded = new WeakSet<Kysely<Database>>()
const pools = new WeakMap<Kysely<Database>, pg.Pool>()

/** The Postgres pool under a database, for its gauges (/metrics); null on PGlite. */
export const poolOf = (db: Kysely<Database>): pg.Pool | null => pools.get(db) ?? null

/** Whether queries from outside a transaction wait for it to end (PGlite). */
export const isEmbedded = (db: Kysely<Database>) => embedded.has(db)

export function openDatabase(target: DatabaseTarget): Kysely<Database> {
  if ('url' in target) {
    const settings = target.pool ?? DEFAULT_POOL
    const pool = new pg.Pool({
      connectionString: target.url,
      max: settings.max,
      connectionTimeoutMillis: settings.connectTimeoutMs,
      statement_timeout: settings.statementTimeoutMs,
    })
    // A connection the server closes (a restart, `pg_ctl stop`, a failover) must not take the
    // process down. pg emits 'error' on the pool for idle clients and on the client itself for
    // checked-out ones (a transaction between two queries): with no listener either is an
    // unhandled 'error' event. The query in flight fails and says so; the pool opens anew.
    pool.on('error', () => {})
    pool.on('connect', (client) => client.on('error', () => {}))
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
    pools.set(db, pool)
    return db
  }
  const pglite = async () => {
    if ('memory' in target) return new PGlite({ parsers, serializers })
    const dir = target.dataDir
    try {
      mkdirSync(dir, { recursive: true })
    } catch (e) {
      if (!['EEXIST', 'ENOTDIR'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e
    }
    let isDir = false
    try {
      isDir = statSync(dir).isDirectory()
    } catch {}
    if (!isDir) throw new Error(`${dir} is not a directory (it, or a folder on its path, is a file)`)
    const release = lockDataDir(dir)
    try {
      const db = new PGlite(dir, { parsers, serializers })
      await db.waitReady
      const close = db.close.bind(db)
      db.close = async () => {
        try {
          await close()
        } finally {
          release()
        }
      }
      return db
    } catch (e) {
      release()
      throw e
    }
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
