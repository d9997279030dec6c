// Frozen in time: never import application types here, never edit after release; change the
// schema with a new migration.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('projects')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('owner', 'text', (c) => c.notNull())
    .addColumn('repo', 'text', (c) => c.notNull())
    .addColumn('settings', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('projects_owner_repo', ['owner', 'repo'])
    .execute()

  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('project_id', 'bigint', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    // SHA-256 of the token: the token itself is shown once and never stored.
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_used_at', 'timestamptz')
    .execute()

  await db.schema
    .createTable('runs')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('project_id', 'bigint', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('benchmark', 'text', (c) => c.notNull())
    .addColumn('sha', 'text')
    .addColumn('ref', 'text')
    .addColumn('branch', 'text')
    .addColumn('base_branch', 'text')
    .addColumn('pr_number', 'integer')
    .addColumn('event_name', 'text')
    .addColumn('ci_run_id', 'text')
    .addColumn('ci_run_attempt', 'integer')
    .addColumn('gpu_model', 'text')
    .addColumn('gpu_count', 'integer')
    // The report without its scenarios (git, ci, environment, workload, slo, cost).
    .addColumn('header', 'jsonb', (c) => c.notNull())
    .addColumn('reported_at', 'timestamptz', (c) => c.notNull())
    .addColumn('ingested_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  // Re-posting a report of the same CI run attempt is the same run.
  await sql`create unique index runs_ci_identity on runs (project_id, ci_run_id, ci_run_attempt, benchmark) where ci_run_id is not null`.execute(
    db,
  )
  await db.schema
    .createIndex('runs_baseline_lookup')
    .on('runs')
    .columns(['project_id', 'benchmark', 'branch', 'gpu_model', 'gpu_count', 'reported_at'])
    .execute()

  await db.schema
    .createTable('trials')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('run_id', 'uuid', (c) => c.notNull().references('runs.id').onDelete('cascade'))
    .addColumn('scenario', 'text', (c) => c.notNull())
    .addColumn('trial_index', 'integer', (c) => c.notNull())
    .addColumn('load', 'jsonb', (c) => c.notNull())
    .addColumn('stop', 'jsonb', (c) => c.notNull())
    .addColumn('summary', 'jsonb', (c) => c.notNull())
    .addColumn('errors', 'jsonb', (c) => c.notNull())
    .addColumn('error_examples', 'jsonb', (c) => c.notNull())
    .addColumn('warnings', 'jsonb', (c) => c.notNull())
    .addColumn('token_count_source', 'text', (c) => c.notNull())
    .addColumn('started_at', 'timestamptz', (c) => c.notNull())
    // Per-request samples, one array per metric (not a row per request). ITL is ragged: its
    // gaps flattened, with each request's count of gaps beside them.
    .addColumn('start_ms', sql`double precision[]`, (c) => c.notNull())
    .addColumn('ttft_ms', sql`double precision[]`, (c) => c.notNull())
    .addColumn('tpot_ms', sql`double precision[]`, (c) => c.notNull())
    .addColumn('e2el_ms', sql`double precision[]`, (c) => c.notNull())
    .addColumn('itl_ms', sql`double precision[]`, (c) => c.notNull())
    .addColumn('itl_counts', sql`integer[]`, (c) => c.notNull())
    .addColumn('input_tokens', sql`integer[]`, (c) => c.notNull())
    .addColumn('output_tokens', sql`integer[]`, (c) => c.notNull())
    .addColumn('dispatch_delay_ms', sql`double precision[]`)
    .addUniqueConstraint('trials_run_scenario_index', ['run_id', 'scenario', 'trial_index'])
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['trials', 'runs', 'api_tokens', 'projects']) await db.schema.dropTable(t).execute()
}
