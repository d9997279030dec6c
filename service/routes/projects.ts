import { Hono } from 'hono'
import { z } from 'zod'
import { issuesOf } from '../../core/validation.ts'
import type { Env } from '../app.ts'
import { requireAdmin } from '../auth.ts'
import { ApiError, invalid, jsonBody } from '../http.ts'
import { createProject, projectByName } from '../projects/repository.ts'

export const projects = new Hono<Env>()

const NewProject = z.object({
  owner: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/, 'expected a GitHub owner name'),
  repo: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/, 'expected a GitHub repository name'),
})

/** Creates a project and its first token; the token is in this answer only. */
projects.post('/', requireAdmin, async (c) => {
  const parsed = NewProject.safeParse(await jsonBody(c))
  if (!parsed.success) throw invalid('project', issuesOf(parsed.error))
  const db = c.get('db')
  const { owner, repo } = parsed.data
  if (await projectByName(db, owner, repo)) {
    throw new ApiError(409, 'project_exists', `project ${owner}/${repo} exists already`)
  }
  const { project, token } = await createProject(db, owner, repo)
  return c.json({ project, token }, 201)
})
