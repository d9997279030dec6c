// What a workflow holding a GitHub OIDC token may do for the project its repository is bound to.
// The token's claims are the truth about where a run came from; a report's own git and ci fields
// are only what the workflow wrote. So a report must be its own job's (the token's run id and
// attempt: a re-post of the same CI run is the same run, and must not be another job's to
// take), a run that could become a baseline (no pull request) must come from an event that
// measures the branch itself, name the token's branch and commit, and its ref must be one the
// project lets write baselines; a pull request's run is stored and compared, never a baseline
// (service/runs/baselines.ts takes baselines only from runs without a pr_number).
import { z } from 'zod'
import type { CiContext, GitContext } from '../../core/report.ts'
import { ApiError } from '../http.ts'
import type { GithubClaims } from './verifier.ts'

const Pattern = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/, 'expected a pattern of printable ASCII, * for any run of characters')
const Patterns = z.array(Pattern).max(50)

export const OidcPolicy = z
  .object({
    /** GitHub's id of the repository (its `repository_id` claim), which a rename keeps. */
    repository_id: z.string().regex(/^[1-9]\d{0,19}$/, 'expected a GitHub repository id (digits)'),
    /** Refs (`ref` claim) whose workflows may authenticate at all; empty: any. */
    refs: Patterns.default([]),
    /** Events (`event_name`) that may authenticate; empty: any. */
    events: z
      .array(z.string().regex(/^[a-z_]{1,64}$/, 'expected a GitHub event name'))
      .max(50)
      .default([]),
    /** Workflows (`workflow_ref`, e.g. acme/llm/.github/workflows/bench.yml@refs/heads/main); empty: any. */
    workflows: Patterns.default([]),
    /** Refs whose runs may become baselines. */
    baseline_refs: Patterns.default(['refs/heads/main']),
    /**
     * Events whose runs may become baselines. Not workflow_run, issue_comment, repository_dispatch
     * and the like by default: they run on the default branch's ref while measuring whatever
     * the workflow checked out (a fork's head, for workflow_run's usual pattern).
     */
    baseline_events: z
      .array(z.string().regex(/^[a-z_]{1,64}$/, 'expected a GitHub event name'))
      .max(50)
      .default(['push', 'schedule', 'workflow_dispatch']),
  })
  .strict()
export type OidcPolicy = z.infer<typeof OidcPolicy>

/** `*` stands for any run of characters (slashes too); everything else is literal. */
export function matches(pattern: string, value: string): boolean {
  const re = pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
  return new RegExp(`^${re.join('.*')}$`).test(value)
}

const anyOf = (patterns: string[], value: string) => patterns.some((p) => matches(p, value))

const forbidden = (message: string) => new ApiError(403, 'forbidden', message)

/** Whether the token's workflow may act for the project at all (401 on the route otherwise). */
export function admitWorkflow(claims: GithubClaims, policy: OidcPolicy): void {
  if (policy.refs.length && !anyOf(policy.refs, claims.ref)) {
    throw forbidden(
      `ref ${claims.ref} may not post to this project (its OIDC refs: ${policy.refs.join(', ')})`,
    )
  }
  if (policy.events.length && !policy.events.includes(claims.event_name)) {
    throw forbidden(
      `event ${claims.event_name} may not post to this project (its OIDC events: ${policy.events.join(', ')})`,
    )
  }
  if (policy.workflows.length && !anyOf(policy.workflows, claims.workflow_ref)) {
    throw forbidden(
      `workflow ${claims.workflow_ref} may not post to this project (its OIDC workflows: ${policy.workflows.join(', ')})`,
    )
  }
}

const PR_REF = /^refs\/pull\/(\d+)\/(?:merge|head)$/

/** A pull request's workflow: its runs are compared, never kept as baselines. */
const fromPullRequest = (claims: GithubClaims) =>
  claims.event_name.startsWith('pull_request') || PR_REF.test(claims.ref)

/** Whether a report may be stored under the token; a 403 naming the field otherwise. */
export function admitReport(
  claims: GithubClaims,
  policy: OidcPolicy,
  report: { git: GitContext; ci: CiContext | null },
): void {
  const { git, ci } = report
  if (
    ci?.provider !== 'github' ||
    ci.run_id !== claims.run_id ||
    ci.run_attempt !== Number(claims.run_attempt)
  ) {
    throw forbidden(
      `ci: the report is not this job's (the token's run ${claims.run_id}, attempt ${claims.run_attempt}; the report's ${ci ? `${ci.run_id}, attempt ${ci.run_attempt}` : 'none'})`,
    )
  }
  const pr = PR_REF.exec(claims.ref)
  if (fromPullRequest(claims)) {
    if (git.pr_number === null) {
      throw forbidden(
        `git.pr_number: a pull request's workflow (event ${claims.event_name}, ref ${claims.ref}) may post only runs of a pull request`,
      )
    }
    if (pr && Number(pr[1]) !== git.pr_number) {
      throw forbidden(`git.pr_number: ${git.pr_number} is not the token's pull request (ref ${claims.ref})`)
    }
    return
  }
  // A run for a pull request from another event (an A/B run a maintainer's comment started):
  // compared only, like the pull request's own.
  if (git.pr_number !== null) return
  const branch = claims.ref.startsWith('refs/heads/') ? claims.ref.slice('refs/heads/'.length) : null
  if (git.branch !== branch) {
    throw forbidden(`git.branch: ${JSON.stringify(git.branch)} is not the token's (ref ${claims.ref})`)
  }
  if (git.sha !== claims.sha) {
    throw forbidden(`git.sha: ${git.sha} is not the token's commit (${claims.sha})`)
  }
  if (!policy.baseline_events.includes(claims.event_name)) {
    throw forbidden(
      `event ${claims.event_name} may not write baselines (this project's baseline_events: ${policy.baseline_events.join(', ') || 'none'}); a run of a pull request names it (git.pr_number)`,
    )
  }
  if (!anyOf(policy.baseline_refs, claims.ref)) {
    throw forbidden(
      `ref ${claims.ref} may not write baselines (this project's baseline_refs: ${policy.baseline_refs.join(', ') || 'none'}); runs of other refs are posted from pull requests`,
    )
  }
}

/**
 * A push's workflow sets statuses on its own commit only. Others may name another: a pull
 * request's head is not in its token (GITHUB_SHA is the merge commit), nor is the PR an
 * issue_comment started.
 */
export function admitStatus(claims: GithubClaims, sha: string): void {
  if (claims.event_name !== 'push') return
  if (sha !== claims.sha) throw forbidden(`sha: ${sha} is not the token's commit (${claims.sha})`)
}
