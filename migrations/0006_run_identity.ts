// Frozen in time. A report without a CI identity (made outside GitHub Actions) is known by its
// digest, so posting the same file twice is one run. Projects are one per GitHub repository
// whatever the case of its name (GitHub names are case-insensitive). The report's header and a
// trial's error counts become json rather than jsonb: jsonb reorders object keys, and a report
// must read back exactly as it was sent.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('runs').addColumn('report_digest', 'text').execute()
  await sql`create unique index runs_report_digest on runs (project_id, report_digest) where report_digest is not null`.execute(
    db,
  )
  // Projects that differ only in case (the old rules allowed them) must be merged by hand first.
  const twins = await sql<{ names: string }>`
    select string_agg(owner || '/' || repo, ', ' order by id) as names from projects
     group by lower(owner), lower(repo) having count(*) > 1`.execute(db)
  if (twins.rows.length) {
    throw new Error(
      `projects differ only in case, which GitHub does not tell apart: ${twins.rows.map((r) => r.names).join('; ')}; delete or rename all but one of each (their runs stay with their project), then start again`,
    )
  }
  await sql`create unique index projects_owner_repo_nocase on projects (lower(owner), lower(repo))`.execute(
    db,
  )
  await sql`alter table runs alter column header type json using header::json`.execute(db)
  await sql`alter table trials alter column errors type json using errors::json`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table trials alter column errors type jsonb using errors::jsonb`.execute(db)
  await sql`alter table runs alter column header type jsonb using header::jsonb`.execute(db)
  await sql`drop index projects_owner_repo_nocase`.execute(db)
  await sql`drop index runs_report_digest`.execute(db)
  await db.schema.alterTable('runs').dropColumn('report_digest').execute()
}
