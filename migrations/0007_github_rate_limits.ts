// Frozen in time. GitHub rate-limits a credential, not a notification: while one is limited no
// replica may send with it, so the hold is kept in the database, one row per credential. And
// waiting out a rate limit is not a failed attempt: those are counted apart.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('github_rate_limits')
    // '*' for the token (every account), else the account an App installation belongs to.
    .addColumn('scope', 'text', (c) => c.primaryKey())
    .addColumn('lifts_at', 'timestamptz', (c) => c.notNull())
    // Rate limits in a row: GitHub asks for exponentially longer waits on repeats.
    .addColumn('strikes', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema
    .alterTable('notifications')
    .addColumn('rate_limited', 'integer', (c) => c.notNull().defaultTo(0))
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('notifications').dropColumn('rate_limited').execute()
  await db.schema.dropTable('github_rate_limits').execute()
}
