// A scratch database on the Postgres of BENCH_DATABASE_URL for the bench scripts, dropped after.
import pg from 'pg'
import type { DatabaseTarget } from '../service/db/connect.ts'

/** A scratch database on the server of BENCH_DATABASE_URL, dropped afterwards. */
export async function scratchPostgres(
  url: string,
  prefix = 'infergate_bench',
): Promise<{ target: DatabaseTarget; drop(): Promise<void> }> {
  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  const name = `${prefix}_${process.pid}`
  await admin.query(`create database ${name}`)
  const u = new URL(url)
  u.pathname = `/${name}`
  return {
    target: { url: u.toString() },
    drop: async () => {
      await admin.query(`drop database if exists ${name} with (force)`)
      await admin.end()
    },
  }
}
