// A notification delivered through GitHub's REST API: a commit status (token) or check run
// (App) on the commit, or the benchmark's sticky comment on the PR. Each delivery is safe to
// repeat: a retry after a lost answer updates what the first attempt created.

import { EVERY_ACCOUNT } from '../notifications/holds.ts'
import {
  type CommitVerdict,
  GITHUB_KINDS,
  type PrComment,
  parsePayload,
  statusContext,
} from '../notifications/notification.ts'
import type { Claimed } from '../notifications/outbox.ts'
import type { Deliverer } from '../notifications/worker.ts'
import type { GithubAccess, Octokit } from './client.ts'
import { githubFailure } from './failure.ts'

// GitHub's limits: a comment body and a check run summary hold 65,536 characters.
const MAX_BODY = 65_000
const withinLimit = (text: string) =>
  text.length <= MAX_BODY
    ? text
    : `${text.slice(0, MAX_BODY)}\n\n… (cut to GitHub's size limit; the full comparison is linked above)`

async function commitStatus(gh: Octokit, v: CommitVerdict) {
  const { data } = await gh.rest.repos.createCommitStatus({
    owner: v.owner,
    repo: v.repo,
    sha: v.sha,
    state: v.state,
    context: statusContext(v.benchmark),
    description: v.description,
    ...(v.target_url ? { target_url: v.target_url } : {}),
  })
  return { status_id: data.id, state: v.state }
}

/**
 * A pending verdict opens a check run; the final verdict completes the one still open (the
 * latest of this App's with the name), or opens a completed one.
 */
async function checkRun(gh: Octokit, appId: number, v: CommitVerdict) {
  const name = statusContext(v.benchmark)
  const fields = {
    owner: v.owner,
    repo: v.repo,
    name,
    ...(v.target_url ? { details_url: v.target_url } : {}),
    output: { title: v.description || name, summary: withinLimit(v.summary ?? v.description) },
  }
  const done = v.state !== 'pending'
  if (done) {
    const { data } = await gh.rest.checks.listForRef({
      owner: v.owner,
      repo: v.repo,
      ref: v.sha,
      check_name: name,
      app_id: appId,
      filter: 'latest',
      per_page: 1,
    })
    const open = data.check_runs.find((r) => r.status !== 'completed')
    if (open) {
      const { data: run } = await gh.rest.checks.update({
        ...fields,
        check_run_id: open.id,
        status: 'completed',
        conclusion: v.conclusion ?? 'neutral',
      })
      return { check_run_id: run.id, html_url: run.html_url, action: 'completed' }
    }
  }
  const { data: run } = await gh.rest.checks.create({
    ...fields,
    head_sha: v.sha,
    ...(done
      ? { status: 'completed' as const, conclusion: v.conclusion ?? 'neutral' }
      : { status: 'in_progress' as const }),
  })
  return { check_run_id: run.id, html_url: run.html_url, action: 'created' }
}

/** Finds the benchmark's comment by its marker, page by page, and updates it; else creates it. */
async function stickyComment(gh: Octokit, c: PrComment) {
  const body = withinLimit(c.body)
  const pages = gh.paginate.iterator(gh.rest.issues.listComments, {
    owner: c.owner,
    repo: c.repo,
    issue_number: c.pr_number,
    per_page: 100,
  })
  for await (const { data } of pages) {
    const mine = data.find((comment) => comment.body?.includes(c.marker))
    if (mine) {
      const { data: updated } = await gh.rest.issues.updateComment({
        owner: c.owner,
        repo: c.repo,
        comment_id: mine.id,
        body,
      })
      return { comment_id: updated.id, html_url: updated.html_url, action: 'updated' }
    }
  }
  const { data: created } = await gh.rest.issues.createComment({
    owner: c.owner,
    repo: c.repo,
    issue_number: c.pr_number,
    body,
  })
  return { comment_id: created.id, html_url: created.html_url, action: 'created' }
}

export function githubDeliverer(access: GithubAccess): Deliverer {
  return {
    kinds: GITHUB_KINDS,
    name: 'GitHub',
    async deliver(n: Claimed) {
      const p = parsePayload(n.kind, n.payload)
      const gh = await access.forRepo(p.owner, p.repo)
      try {
        if (n.kind === 'pr_comment') return await stickyComment(gh, p as PrComment)
        const v = p as CommitVerdict
        return access.mode === 'app' && access.appId !== null
          ? await checkRun(gh, access.appId, v)
          : await commitStatus(gh, v)
      } catch (e) {
        // An App uninstalled and installed again has a new installation: ask again next time.
        const status = (e as { status?: number }).status
        if (status === 401 || status === 404) access.forget(p.owner, p.repo)
        throw e
      }
    },
    failure: (e) => githubFailure(e),
    // A token is one credential everywhere; an App has one installation per account, each
    // with its own rate limits.
    credential: (n) =>
      access.mode === 'token'
        ? EVERY_ACCOUNT
        : String((n.payload as { owner?: unknown }).owner).toLowerCase(),
  }
}
