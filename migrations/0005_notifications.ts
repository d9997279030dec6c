// Frozen in time. The outbox: what the service owes GitHub about a run (a commit status or check
// run, a PR comment), written in the run's own transaction and delivered by a worker, so a
// verdict survives GitHub outages and service restarts.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('notifications')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('project_id', 'bigint', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    // Null for announcements made before a run exists (the pending status).
    .addColumn('run_id', 'uuid', (c) => c.references('runs.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('commit_verdict', 'pr_comment')`))
    // What the notification overwrites on GitHub (one status context on a SHA, one sticky
    // comment on a PR): a newer notification with the same key supersedes an undelivered one.
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('state', 'text', (c) =>
      c.notNull().defaultTo('pending').check(sql`state in ('pending', 'delivered', 'failed', 'superseded')`),
    )
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // A worker's lease while it delivers; another replica may take the row once it lapses.
    .addColumn('locked_until', 'timestamptz')
    .addColumn('last_error', 'text')
    .addColumn('delivered_at', 'timestamptz')
    // What GitHub answered with, e.g. the comment's URL.
    .addColumn('result', 'jsonb')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema
    .createIndex('notifications_due')
    .on('notifications')
    .columns(['next_attempt_at'])
    .where(sql.ref('state'), '=', 'pending')
    .execute()
  await db.schema.createIndex('notifications_key').on('notifications').columns(['key', 'id']).execute()
  await db.schema.createIndex('notifications_run').on('notifications').columns(['run_id']).execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('notifications').execute()
}
