// Frozen in time. Webhooks: a project's Slack incoming webhooks and generic (HMAC-signed JSON)
// receivers, told of regressions and recoveries through the same outbox as GitHub. Their events
// are notifications of two new kinds, each its own message (a unique key: none supersedes
// another), tied to their webhook so its deliveries can be listed. A receiver's rate limit
// (a 429) holds that webhook's deliveries in github_rate_limits under the scope 'webhook:<id>'.
import { type Kysely, sql } from 'kysely'

const KINDS_BEFORE = ['commit_verdict', 'pr_comment']
const KINDS = [...KINDS_BEFORE, 'slack_message', 'webhook_event']

const kindCheck = (kinds: string[]) => sql.raw(`check (kind in (${kinds.map((k) => `'${k}'`).join(', ')}))`)

/** Drops every check constraint on notifications.kind, whatever it was named. */
async function dropKindChecks(db: Kysely<unknown>): Promise<void> {
  const { rows } = await sql<{ conname: string }>`
    select conname from pg_constraint
     where conrelid = 'notifications'::regclass and contype = 'c'
       and pg_get_constraintdef(oid) like '%kind%'`.execute(db)
  for (const r of rows) {
    await sql`alter table notifications drop constraint ${sql.id(r.conname)}`.execute(db)
  }
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('webhooks')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('project_id', 'bigint', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('slack', 'generic')`))
    // A Slack incoming webhook's URL is its credential: shown redacted, never in full.
    .addColumn('url', 'text', (c) => c.notNull())
    // The HMAC key of a generic webhook, made by the service and shown once; Slack has none.
    .addColumn('secret', 'text')
    // A JSON array of the events it is told of, some of ["regression", "recovery"].
    .addColumn('events', 'jsonb', (c) =>
      c
        .notNull()
        .check(
          sql`jsonb_typeof(events) = 'array' and jsonb_array_length(events) > 0 and events <@ '["regression", "recovery"]'::jsonb`,
        ),
    )
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('enabled', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('webhooks_secret_of_generic', sql`(kind = 'generic') = (secret is not null)`)
    .execute()
  // The same receiver twice in a project would get every event twice.
  await db.schema
    .createIndex('webhooks_project_url')
    .on('webhooks')
    .columns(['project_id', 'url'])
    .unique()
    .execute()

  await db.schema
    .alterTable('notifications')
    // Null for GitHub's kinds. No foreign key: a webhook deleted while a run is being ingested
    // must not fail the ingest; its message fails at delivery instead, and the history of a
    // deleted webhook's deliveries stays with their runs.
    .addColumn('webhook_id', 'bigint')
    .execute()
  await db.schema
    .createIndex('notifications_webhook')
    .on('notifications')
    .columns(['webhook_id', 'id'])
    .where(sql.ref('webhook_id'), 'is not', null)
    .execute()
  await dropKindChecks(db)
  await sql`alter table notifications add constraint notifications_kind_check ${kindCheck(KINDS)}`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`delete from notifications where kind in ('slack_message', 'webhook_event')`.execute(db)
  await dropKindChecks(db)
  await sql`alter table notifications add constraint notifications_kind_check ${kindCheck(KINDS_BEFORE)}`.execute(
    db,
  )
  await db.schema.alterTable('notifications').dropColumn('webhook_id').execute()
  await sql`delete from github_rate_limits where scope like 'webhook:%'`.execute(db)
  await db.schema.dropTable('webhooks').execute()
}
