// What the service tells GitHub about a run, as stored in the outbox (one zod definition, checked
// when a row is read back for delivery). Built from the run and its comparison at ingest. The
// outbox also carries webhooks' messages, whose payloads service/webhooks/event.ts defines.
import { z } from 'zod'
import { ciRunUrl } from '../../core/ci-context.ts'
import type { Comparison } from '../../core/detect/comparison.ts'
import { commentMarker, renderComparisonMarkdown, statusDescription } from '../../core/render/markdown.ts'
import type { Report } from '../../core/report.ts'
import { type WebhookDelivery, webhookKey } from '../webhooks/event.ts'

const Repo = { owner: z.string().min(1), repo: z.string().min(1) }

/**
 * A benchmark's verdict on a commit: a commit status with a token, a check run as a GitHub App
 * (which also carries the markdown).
 */
export const CommitVerdict = z.object({
  ...Repo,
  sha: z.string().min(1),
  benchmark: z.string().min(1),
  state: z.enum(['pending', 'success', 'failure', 'error']),
  /** The check run's conclusion; null while pending. */
  conclusion: z.enum(['success', 'failure', 'neutral']).nullable(),
  description: z.string().max(140),
  target_url: z.string().url().nullable(),
  summary: z.string().nullable(),
})
export type CommitVerdict = z.infer<typeof CommitVerdict>

/** The sticky PR comment of one benchmark, found again by its hidden marker. */
export const PrComment = z.object({
  ...Repo,
  pr_number: z.number().int().positive(),
  benchmark: z.string().min(1),
  marker: z.string().min(1),
  body: z.string().min(1),
})
export type PrComment = z.infer<typeof PrComment>

/**
 * A webhook's message (service/webhooks/): a Slack incoming webhook's, or a generic receiver's
 * signed JSON. Each is its own message with a key of its own: none supersedes another.
 */
export type WebhookNotification = {
  kind: 'slack_message' | 'webhook_event'
  key: string
  payload: WebhookDelivery
}

export type NewNotification =
  | { kind: 'commit_verdict'; key: string; payload: CommitVerdict }
  | { kind: 'pr_comment'; key: string; payload: PrComment }
  | WebhookNotification

export type NotificationKind = NewNotification['kind']
export const GITHUB_KINDS = ['commit_verdict', 'pr_comment'] as const satisfies NotificationKind[]
export const WEBHOOK_KINDS = ['slack_message', 'webhook_event'] as const satisfies NotificationKind[]

export const statusContext = (benchmark: string) => `infergate/${benchmark}`

/** One key per thing on GitHub that a later notification overwrites. */
export function keyOf(n: Omit<NewNotification, 'key'>): string {
  if (n.kind === 'slack_message' || n.kind === 'webhook_event') {
    const w = n.payload as WebhookDelivery
    return webhookKey(w.webhook_id, w.event.delivery_id)
  }
  const p = n.payload as CommitVerdict | PrComment
  const repo = `${p.owner}/${p.repo}`.toLowerCase()
  return n.kind === 'commit_verdict'
    ? `status:${repo}@${(p as CommitVerdict).sha}:${p.benchmark}`
    : `comment:${repo}#${(p as PrComment).pr_number}:${p.benchmark}`
}

/** A GitHub notification's payload, checked; the webhooks' are service/webhooks/event.ts's. */
export function parsePayload(kind: NotificationKind, payload: unknown): CommitVerdict | PrComment {
  if (kind === 'commit_verdict') return CommitVerdict.parse(payload)
  if (kind === 'pr_comment') return PrComment.parse(payload)
  throw new Error(`not a GitHub notification: ${kind}`)
}

/** The state a comparison sets, with the project's choice for inconclusive ones. */
export function commitState(c: Comparison): Pick<CommitVerdict, 'state' | 'conclusion'> {
  if (c.status === 'inconclusive' && c.settings.fail_on_inconclusive) {
    return { state: 'failure', conclusion: 'failure' }
  }
  return COMMIT_STATE[c.status]
}

/** A verdict as a commit status state and a check run conclusion. */
export const COMMIT_STATE: Record<Comparison['status'], Pick<CommitVerdict, 'state' | 'conclusion'>> = {
  regression: { state: 'failure', conclusion: 'failure' },
  improvement: { state: 'success', conclusion: 'success' },
  unchanged: { state: 'success', conclusion: 'success' },
  // Neither a change nor its absence shown: passes unless the project says otherwise
  // (commitState); the description and the comment say a small regression cannot be excluded.
  inconclusive: { state: 'success', conclusion: 'neutral' },
  // Nothing to gate on: a status must still say success, or a required check would block every
  // PR until the base branch has history. A check run can say neutral.
  insufficient_data: { state: 'success', conclusion: 'neutral' },
  no_baseline: { state: 'success', conclusion: 'neutral' },
}

export interface RunForNotice {
  id: string
  report: Pick<Report, 'benchmark' | 'git' | 'ci'>
  comparison: Comparison
  /** SHAs of the baseline runs, by run id, for the comment. */
  baselineShas: Record<string, string | null>
}

/**
 * What a run's verdict becomes on GitHub: a commit status (or check run) on the commit measured
 * (the PR's head, never the merge commit) and, for pull requests, the benchmark's sticky comment.
 * Runs without a repository or commit have nowhere to go. `pageUrl`: the run's page, signed.
 */
export function runNotifications(run: RunForNotice, pageUrl: string | null): NewNotification[] {
  const { git, benchmark } = run.report
  if (!git.repository || !git.sha) return []
  const [owner = '', repo = ''] = git.repository.split('/')
  // The run's signed page on the dashboard; without the service's address, the CI run's page:
  // its job summary shows the same comparison.
  const link = pageUrl ?? ciRunUrl(run.report.ci, git.repository)
  const body = renderComparisonMarkdown(run.comparison, {
    comparisonUrl: link,
    baselineShas: run.baselineShas,
    commit: git.sha,
  })
  const verdict: CommitVerdict = {
    owner,
    repo,
    sha: git.sha,
    benchmark,
    ...commitState(run.comparison),
    description: statusDescription(run.comparison),
    target_url: link,
    summary: body,
  }
  const out: Omit<NewNotification, 'key'>[] = [{ kind: 'commit_verdict', payload: verdict }]
  if (git.pr_number !== null) {
    out.push({
      kind: 'pr_comment',
      payload: { owner, repo, pr_number: git.pr_number, benchmark, marker: commentMarker(benchmark), body },
    })
  }
  return out.map((n) => ({ ...n, key: keyOf(n) }) as NewNotification)
}
