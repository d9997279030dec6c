// Frozen in time. A/B runs (report schema v2): two servers measured in one run, their trials
// alternated in blocks. Each trial records its arm and block (null in runs of one server); the
// arms themselves and how the blocks ran live in the report's header (json) like the rest of it.
// A run is marked paired so that base-branch baselines can leave A/B runs out: half of such a
// run's trials measured another server.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('trials')
    .addColumn('arm', 'text', (c) => c.check(sql`arm in ('baseline', 'candidate')`))
    .addColumn('block', 'integer', (c) => c.check(sql`block >= 0`))
    .execute()
  await sql`alter table trials add constraint trials_arm_block check ((arm is null) = (block is null))`.execute(
    db,
  )
  await db.schema
    .alterTable('runs')
    .addColumn('paired', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('runs').dropColumn('paired').execute()
  await sql`alter table trials drop constraint trials_arm_block`.execute(db)
  await db.schema.alterTable('trials').dropColumn('block').dropColumn('arm').execute()
}
