// Git and CI identity of a run, read from the variables GitHub's runner sets.
// On pull_request events GITHUB_SHA is a throwaway merge commit; the PR's head sha (where
// statuses belong) is only in the event payload at GITHUB_EVENT_PATH.
import { readFileSync } from 'node:fs'
import type { CiContext, GitContext } from './report.ts'

type Env = Record<string, string | undefined>

const PR_EVENTS = new Set(['pull_request', 'pull_request_target', 'pull_request_review'])

interface PullRequestPayload {
  pull_request?: { number?: number; head?: { sha?: string; ref?: string }; base?: { ref?: string } }
}

function readEvent(path: string | undefined): PullRequestPayload {
  if (!path) return {}
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as PullRequestPayload
  } catch {
    return {}
  }
}

const nonEmpty = (v: string | undefined): string | null => (v ? v : null)

export function gitContextFromEnv(env: Env = process.env): GitContext {
  const event = nonEmpty(env.GITHUB_EVENT_NAME)
  const isPr = event !== null && PR_EVENTS.has(event)
  const pr = isPr ? readEvent(env.GITHUB_EVENT_PATH).pull_request : undefined
  const refPr = env.GITHUB_REF?.match(/^refs\/pull\/(\d+)\//)
  return {
    repository: nonEmpty(env.GITHUB_REPOSITORY),
    sha: nonEmpty(pr?.head?.sha) ?? nonEmpty(env.GITHUB_SHA),
    ref: nonEmpty(env.GITHUB_REF),
    branch: isPr ? (nonEmpty(env.GITHUB_HEAD_REF) ?? nonEmpty(pr?.head?.ref)) : nonEmpty(env.GITHUB_REF_NAME),
    base_branch: isPr ? (nonEmpty(env.GITHUB_BASE_REF) ?? nonEmpty(pr?.base?.ref)) : null,
    pr_number: pr?.number ?? (isPr && refPr ? Number(refPr[1]) : null),
    event_name: event,
  }
}

export function ciContextFromEnv(env: Env = process.env): CiContext | null {
  if (!env.GITHUB_RUN_ID) return null
  const attempt = Number(env.GITHUB_RUN_ATTEMPT ?? '1')
  return {
    provider: 'github',
    run_id: env.GITHUB_RUN_ID,
    run_attempt: Number.isInteger(attempt) && attempt > 0 ? attempt : 1,
    workflow: nonEmpty(env.GITHUB_WORKFLOW),
    job: nonEmpty(env.GITHUB_JOB),
    server_url: nonEmpty(env.GITHUB_SERVER_URL),
  }
}

/** The workflow run's page (its job summary shows the comparison), or null outside Actions. */
export function ciRunUrl(ci: CiContext | null, repository: string | null): string | null {
  if (!ci?.server_url || !repository) return null
  return `${ci.server_url.replace(/\/$/, '')}/${repository}/actions/runs/${ci.run_id}`
}
