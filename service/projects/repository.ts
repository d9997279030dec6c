// Projects (owner/repo) and their API tokens. A token is random, shown once, stored hashed.
import { createHash, randomBytes } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Database } from '../db/database.ts'

export interface Project {
  id: string
  owner: string
  repo: string
}

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
      .returning(['id', 'owner', 'repo'])
      .executeTakeFirstOrThrow()
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
    .select(['projects.id', 'projects.owner', 'projects.repo'])
    .where('api_tokens.token_hash', '=', hashToken(token))
    .executeTakeFirst()
  return row ?? null
}

export async function projectByName(
  db: Kysely<Database>,
  owner: string,
  repo: string,
): Promise<Project | null> {
  const row = await db
    .selectFrom('projects')
    .select(['id', 'owner', 'repo'])
    .where('owner', '=', owner)
    .where('repo', '=', repo)
    .executeTakeFirst()
  return row ?? null
}
