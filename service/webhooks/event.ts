// What a webhook is told, in one place: the JSON document a generic webhook receives (its zod
// schema, which docs/notifications.md's example is checked against), what the outbox keeps of
// it until delivery, and which events a run's verdict makes, following the gate: a regression
// is told each time a run regresses; a recovery when a run passes the gate again with a verdict
// (unchanged, improvement, or inconclusive where that passes) and the last run before it in its
// scope (the same PR, or the same branch outside PRs; same benchmark and hardware) that regressed
// or passed with a verdict was a regression. Runs with no verdict (no baseline, too little
// data), and inconclusive ones that fail the gate, neither fire nor break the chain.
import { randomUUID } from 'node:crypto'
import { z } from 'zod'
import { Comparison } from '../../core/detect/comparison.ts'
import { statusDescription } from '../../core/render/markdown.ts'
import type { Report } from '../../core/report.ts'

export const WEBHOOK_SCHEMA = 'infergate.webhook/v1'

/** The events a webhook can subscribe to. */
export const SUBSCRIBABLE_EVENTS = ['regression', 'recovery'] as const
export type SubscribableEvent = (typeof SUBSCRIBABLE_EVENTS)[number]

/** Whether a comparison passes the gate with a verdict: the runs a recovery is told on. */
export function passesWithVerdict(c: Pick<Comparison, 'status' | 'settings'>): boolean {
  if (c.status === 'unchanged' || c.status === 'improvement') return true
  return c.status === 'inconclusive' && !c.settings.fail_on_inconclusive
}

/** The body of a generic webhook's POST, exactly (and, rendered, a Slack message's content). */
export const WebhookEvent = z.strictObject({
  schema: z.literal(WEBHOOK_SCHEMA),
  /** `test`: sent by POST …/webhooks/:id/test, with no run. */
  event: z.enum([...SUBSCRIBABLE_EVENTS, 'test']),
  /** The same on every attempt (and in X-Infergate-Delivery): a receiver dedupes on it. */
  delivery_id: z.uuid(),
  /** This attempt's time, signed with the rest: a receiver refuses old ones (replays). */
  sent_at: z.iso.datetime(),
  project: z.strictObject({ owner: z.string(), repo: z.string() }),
  benchmark: z.string().nullable(),
  run_id: z.uuid().nullable(),
  sha: z.string().nullable(),
  branch: z.string().nullable(),
  base_branch: z.string().nullable(),
  pr_number: z.number().int().positive().nullable(),
  /** The run's verdict (its comparison's status). */
  verdict: Comparison.shape.status.nullable(),
  /** One line, as the commit status says it, e.g. "Regression: TPOT +25.6% (concurrency-4)". */
  summary: z.string(),
  /** The run's page (signed, read-only) when the service has a public URL, else the CI run; or null. */
  url: z.string().nullable(),
  /** For a recovery: the run whose regression this one no longer shows. */
  recovered_from: z.strictObject({ run_id: z.uuid(), sha: z.string().nullable() }).nullable(),
})
export type WebhookEvent = z.infer<typeof WebhookEvent>

/** What the outbox keeps until delivery: the event without its send time, and where it goes. */
export const WebhookDelivery = z.strictObject({
  webhook_id: z.string().regex(/^\d+$/),
  event: WebhookEvent.omit({ sent_at: true }),
})
export type WebhookDelivery = z.infer<typeof WebhookDelivery>
export type PendingEvent = WebhookDelivery['event']

/** The outbox key of one delivery: unique, so no event supersedes another. */
export const webhookKey = (webhookId: string, deliveryId: string) => `webhook:${webhookId}:${deliveryId}`

export interface RunForEvent {
  id: string
  report: Pick<Report, 'benchmark' | 'git'>
  comparison: Comparison
}

/**
 * The verdict of the last run before it in its scope that regressed or passed with a verdict
 * (service/webhooks/repository.ts).
 */
export interface PreviousVerdict {
  run_id: string
  sha: string | null
  status: string
}

/** Which event a run's verdict makes, if any, given the verdict before it in its scope. */
export function eventOfRun(
  comparison: Pick<Comparison, 'status' | 'settings'>,
  previous: PreviousVerdict | null,
): SubscribableEvent | null {
  if (comparison.status === 'regression') return 'regression'
  return passesWithVerdict(comparison) && previous?.status === 'regression' ? 'recovery' : null
}

/** The event's document for one webhook (a delivery id of its own), without its send time. */
export function runEvent(
  event: SubscribableEvent,
  project: { owner: string; repo: string },
  run: RunForEvent,
  url: string | null,
  previous: PreviousVerdict | null,
): PendingEvent {
  const { git, benchmark } = run.report
  return {
    schema: WEBHOOK_SCHEMA,
    event,
    delivery_id: randomUUID(),
    project: { owner: project.owner, repo: project.repo },
    benchmark,
    run_id: run.id,
    sha: git.sha,
    branch: git.branch,
    base_branch: git.base_branch,
    pr_number: git.pr_number,
    verdict: run.comparison.status,
    summary: statusDescription(run.comparison),
    url,
    recovered_from: event === 'recovery' && previous ? { run_id: previous.run_id, sha: previous.sha } : null,
  }
}

export function testEvent(project: { owner: string; repo: string }): PendingEvent {
  return {
    schema: WEBHOOK_SCHEMA,
    event: 'test',
    delivery_id: randomUUID(),
    project: { owner: project.owner, repo: project.repo },
    benchmark: null,
    run_id: null,
    sha: null,
    branch: null,
    base_branch: null,
    pr_number: null,
    verdict: null,
    summary: `A test event for ${project.owner}/${project.repo}: this webhook reaches its receiver.`,
    url: null,
    recovered_from: null,
  }
}
