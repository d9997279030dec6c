// Frozen in time. GitHub OIDC: a project is bound to a repository by GitHub's id of it (which a
// rename keeps and a new repository of the old name does not get), with the policy of what that
// repository's workflows may do. One repository, one project.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('projects')
    .addColumn('github_repository_id', 'text', (c) =>
      c.check(sql`github_repository_id ~ '^[1-9][0-9]{0,19}$'`),
    )
    // json, not jsonb: read back as written (service/oidc/policy.ts validates it both ways).
    .addColumn('oidc_policy', 'json')
    .execute()
  await db.schema
    .createIndex('projects_github_repository')
    .unique()
    .on('projects')
    .column('github_repository_id')
    .where(sql.ref('github_repository_id'), 'is not', null)
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('projects_github_repository').execute()
  await db.schema
    .alterTable('projects')
    .dropColumn('oidc_policy')
    .dropColumn('github_repository_id')
    .execute()
}
