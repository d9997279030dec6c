// The binding of projects to GitHub repositories for OIDC, and each binding's policy.
import type { Kysely } from 'kysely'
import { ProjectSettings } from '../../core/detect/settings.ts'
import type { Database } from '../db/database.ts'
import type { Project } from '../projects/repository.ts'
import { OidcPolicy } from './policy.ts'

/** The project a repository's tokens act for, with its policy; null when none is bound. */
export async function projectOfRepository(
  db: Kysely<Database>,
  repositoryId: string,
): Promise<{ project: Project; policy: OidcPolicy } | null> {
  const row = await db
    .selectFrom('projects')
    .select(['id', 'owner', 'repo', 'settings', 'oidc_policy'])
    .where('github_repository_id', '=', repositoryId)
    .executeTakeFirst()
  if (!row) return null
  const { oidc_policy, ...project } = row
  return {
    project: { ...project, settings: ProjectSettings.parse(project.settings ?? {}) },
    policy: OidcPolicy.parse(oidc_policy),
  }
}

export async function oidcPolicyOf(db: Kysely<Database>, projectId: string): Promise<OidcPolicy | null> {
  const row = await db
    .selectFrom('projects')
    .select('oidc_policy')
    .where('id', '=', projectId)
    .executeTakeFirst()
  return row?.oidc_policy ? OidcPolicy.parse(row.oidc_policy) : null
}

/** Binds (or rebinds) the project; a repository bound to another project fails with 23505. */
export async function setOidcPolicy(db: Kysely<Database>, projectId: string, policy: OidcPolicy) {
  await db
    .updateTable('projects')
    .set({ github_repository_id: policy.repository_id, oidc_policy: JSON.stringify(policy) })
    .where('id', '=', projectId)
    .execute()
}

/** Unbinds: the repository's tokens no longer act for the project. */
export async function clearOidcPolicy(db: Kysely<Database>, projectId: string): Promise<boolean> {
  const r = await db
    .updateTable('projects')
    .set({ github_repository_id: null, oidc_policy: null })
    .where('id', '=', projectId)
    .where('github_repository_id', 'is not', null)
    .executeTakeFirst()
  return Number(r.numUpdatedRows) > 0
}
