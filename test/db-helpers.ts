// A fresh, empty database for a test file: a new database on the Postgres at
// TEST_DATABASE_URL (CI sets it), else an in-memory PGlite. Same migrations, same queries.
import { randomBytes } from 'node:crypto'
import type { Kysely } from 'kysely'
import pg from 'pg'
import { type DatabaseTarget, migrateToLatest, openDatabase } from '../service/db/connect.ts'
import type { Database } from '../service/db/database.ts'

export const engine = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite'

export async function freshDatabase(): Promise<{ target: DatabaseTarget; drop(): Promise<void> }> {
  const admin = process.env.TEST_DATABASE_URL
  if (!admin) return { target: { memory: true }, drop: async () => {} }
  const name = `infergate_test_${randomBytes(6).toString('hex')}`
  const client = new pg.Client({ connectionString: admin })
  await client.connect()
  await client.query(`create database ${name}`)
  await client.end()
  const url = new URL(admin)
  url.pathname = `/${name}`
  return {
    target: { url: url.toString() },
    drop: async () => {
      const c = new pg.Client({ connectionString: admin })
      await c.connect()
      await c.query(`drop database if exists ${name} with (force)`)
      await c.end()
    },
  }
}

/** A fresh database with every migration applied, and its cleanup. */
export async function migratedDatabase(): Promise<{ db: Kysely<Database>; close(): Promise<void> }> {
  const fresh = await freshDatabase()
  const db = openDatabase(fresh.target)
  await migrateToLatest(db)
  return {
    db,
    close: async () => {
      await db.destroy()
      await fresh.drop()
    },
  }
}
