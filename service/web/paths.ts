// The dashboard's URLs, one definition for the pages that link and the routes that answer.
import type { Project } from '../projects/repository.ts'

const seg = encodeURIComponent

export const projectPath = (p: Pick<Project, 'owner' | 'repo'>) => `/p/${seg(p.owner)}/${seg(p.repo)}`

export const benchmarkPath = (p: Pick<Project, 'owner' | 'repo'>, benchmark: string) =>
  `${projectPath(p)}/benchmarks/${seg(benchmark)}`

export const runPath = (id: string, linkQuery: string | null = null) =>
  `/runs/${id}${linkQuery ? `?${linkQuery}` : ''}`

/** The run page's address as others reach it (INFERGATE_PUBLIC_URL), for the PR comment and status. */
export const publicRunUrl = (publicUrl: string, id: string, linkQuery: string) =>
  `${publicUrl.replace(/\/$/, '')}${runPath(id, linkQuery)}`
