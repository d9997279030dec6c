// Projects (owner/repo) and their API tokens. A token is random, shown once, stored hashed.
import { createHash, randomBytes } from 'node:crypto'
import { type Kysely, sql } from 'kysely'
import { ProjectSettings } from '../../core/detect/settings.ts'
import type { Database } from '../db/database.ts'

export interface Project {
  id: string
  owner: string
  repo: string
  settings: ProjectSettings
}

// Stored settings were validated when written; parsing again keeps the type honest.
const withSettings = <T extends { settings: unknown }>(row: T): T & { settings: ProjectSettings } => ({
  ...row,
  settings: ProjectSettings.parse(row.settings ?? {}),
})

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex')

export async function createProject(
  db: Kysely<Database>,
  owner: string,
  repo: string,
): Promise<{ project: Project; token: string }> {
  const token = `igt_${randomBytes(24).toString('base64url')}`
  return db.transaction().execute(async (trx) => {
    const project = await trx
      .insertInto('projects')
      .values({ owner, repo })
      .returning(['id', 'owner', 'repo', 'settings'])
      .executeTakeFirstOrThrow()
      .then(withSettings)
    await trx
      .insertInto('api_tokens')
      .values({ project_id: project.id, token_hash: hashToken(token) })
      .execute()
    return { project, token }
  })
}

export async function projectByToken(db: Kysely<Database>, token: string): Promise<Project | null> {
  const row = await db
    .selectFrom('api_tokens')
    .innerJoin('projects', 'projects.id', 'api_tokens.project_id')
    .select(['projects.id', 'projects.owner', 'projects.repo', 'projects.settings'])
    .where('api_tokens.token_hash', '=', hashToken(token))
    .executeTakeFirst()
  return row ? withSettings(row) : null
}

/** The project of a GitHub repository, whatever the case of its name. */
export async function projectByName(
  db: Kysely<Database>,
  owner: string,
  repo: string,
): Promise<Project | null> {
  const row = await db
    .selectFrom('projects')
    .select(['id', 'owner', 'repo', 'settings'])
    .where(sql`lower(owner)`, '=', owner.toLowerCase())
    .where(sql`lower(repo)`, '=', repo.toLowerCase())
    .executeTakeFirst()
  return row ? withSettings(row) : null
}

export async function updateSettings(
  db: Kysely<Database>,
  projectId: string,
  settings: ProjectSettings,
): Promise<void> {
  await db
    .updateTable('projects')
    .set({ settings: JSON.stringify(settings) })
    .where('id', '=', projectId)
    .execute()
}

export async function projectById(db: Kysely<Database>, id: string): Promise<Project | null> {
  const row = await db
    .selectFrom('projects')
    .select(['id', 'owner', 'repo', 'settings'])
    .where('id', '=', id)
    .executeTakeFirst()
  return row ? withSettings(row) : null
}
