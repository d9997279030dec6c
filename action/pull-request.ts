// The pull request a run measures. Benchmarks started by a comment on a pull request (an
// `issue_comment` event, e.g. "/benchmark"): the event names the PR but not its commit, so the
// PR's head, branch and base are read from GitHub's API with the github-token input. Every other
// event carries them already. An A/B run also needs the base's commit: the event's
// pull_request.base.sha, or the PR read for a comment.
import { readFileSync } from 'node:fs'
import { getOctokit } from '@actions/github'
import type { GitContext } from '../core/report.ts'

interface CommentEvent {
  issue?: { number?: number; pull_request?: unknown }
}

interface PullRequestEvent {
  pull_request?: { base?: { sha?: string; ref?: string } }
}

/** The commit a PR is compared with: its base branch's head when the PR was last updated. */
export interface PullRequestBase {
  sha: string | null
  /** The base branch's name (main). */
  branch: string | null
}

/** GitHub's REST API with the github-token input, on the runner's API URL (GHES has its own). */
export function octokit(token: string, env: NodeJS.ProcessEnv = process.env) {
  return getOctokit(token, {
    baseUrl: env.GITHUB_API_URL || 'https://api.github.com',
    request: { signal: AbortSignal.timeout(30_000) },
  })
}

export async function pullRequestOfComment(
  token: string | null,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ git: Partial<GitContext>; base: PullRequestBase } | null> {
  if (env.GITHUB_EVENT_NAME !== 'issue_comment' || !env.GITHUB_EVENT_PATH || !env.GITHUB_REPOSITORY)
    return null
  const event = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, 'utf8')) as CommentEvent
  const number = event.issue?.number
  // A comment on an issue, not on a pull request: nothing to benchmark against.
  if (!event.issue?.pull_request || !number) return null
  if (!token)
    throw new Error('input github-token: needed to find the commit of the pull request this comment is on')
  const [owner = '', repo = ''] = env.GITHUB_REPOSITORY.split('/')
  const { data } = await octokit(token, env).rest.pulls.get({ owner, repo, pull_number: number })
  return {
    git: { sha: data.head.sha, branch: data.head.ref, base_branch: data.base.ref, pr_number: data.number },
    base: { sha: data.base.sha || null, branch: data.base.ref || null },
  }
}

const PR_EVENTS = new Set(['pull_request', 'pull_request_target', 'pull_request_review'])

/** The base of the pull request a pull_request event is about; null for other events. */
export function pullRequestBaseOfEvent(env: NodeJS.ProcessEnv = process.env): PullRequestBase | null {
  if (!env.GITHUB_EVENT_NAME || !PR_EVENTS.has(env.GITHUB_EVENT_NAME) || !env.GITHUB_EVENT_PATH) return null
  let event: PullRequestEvent
  try {
    event = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, 'utf8')) as PullRequestEvent
  } catch {
    return null
  }
  const base = event.pull_request?.base
  if (!base) return null
  return { sha: base.sha || null, branch: base.ref || env.GITHUB_BASE_REF || null }
}
