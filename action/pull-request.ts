// Benchmarks started by a comment on a pull request (an `issue_comment` event, e.g. "/benchmark"):
// the event names the PR but not its commit, so the PR's head, branch and base are read from
// GitHub's API with the github-token input. Every other event carries them already.
import { readFileSync } from 'node:fs'
import { getOctokit } from '@actions/github'
import type { GitContext } from '../core/report.ts'

interface CommentEvent {
  issue?: { number?: number; pull_request?: unknown }
}

export async function pullRequestOfComment(
  token: string | null,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Partial<GitContext> | null> {
  if (env.GITHUB_EVENT_NAME !== 'issue_comment' || !env.GITHUB_EVENT_PATH || !env.GITHUB_REPOSITORY)
    return null
  const event = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, 'utf8')) as CommentEvent
  const number = event.issue?.number
  // A comment on an issue, not on a pull request: nothing to benchmark against.
  if (!event.issue?.pull_request || !number) return null
  if (!token)
    throw new Error('input github-token: needed to find the commit of the pull request this comment is on')
  const [owner = '', repo = ''] = env.GITHUB_REPOSITORY.split('/')
  const gh = getOctokit(token, {
    baseUrl: env.GITHUB_API_URL || 'https://api.github.com',
    request: { signal: AbortSignal.timeout(30_000) },
  })
  const { data } = await gh.rest.pulls.get({ owner, repo, pull_number: number })
  return { sha: data.head.sha, branch: data.head.ref, base_branch: data.base.ref, pr_number: data.number }
}
