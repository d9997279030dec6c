// What a project's webhooks are owed for a run, decided at ingest before the run's transaction
// opens (the reads go through the pool) and enqueued in it, beside GitHub's notifications: one
// message per enabled webhook subscribed to the run's event, each with a delivery id of its own.
import type { Kysely } from 'kysely'
import type { Database } from '../db/database.ts'
import type { WebhookNotification } from '../notifications/notification.ts'
import type { Project } from '../projects/repository.ts'
import type { Subject } from '../runs/baselines.ts'
import {
  eventOfRun,
  type PendingEvent,
  passesWithVerdict,
  type RunForEvent,
  runEvent,
  testEvent,
  webhookKey,
} from './event.ts'
import { hasEnabledWebhooks, lastGateVerdict, webhooksFor } from './repository.ts'
import type { WebhookKind } from './url.ts'

const KIND: Record<WebhookKind, WebhookNotification['kind']> = {
  slack: 'slack_message',
  generic: 'webhook_event',
}

/** One webhook's message carrying `event`. */
export function webhookNotification(
  webhook: { id: string; kind: WebhookKind },
  event: PendingEvent,
): WebhookNotification {
  return {
    kind: KIND[webhook.kind],
    key: webhookKey(webhook.id, event.delivery_id),
    payload: { webhook_id: webhook.id, event },
  }
}

export async function runWebhookNotifications(
  db: Kysely<Database>,
  project: Pick<Project, 'id' | 'owner' | 'repo'>,
  run: RunForEvent,
  subject: Subject,
  /** The run's link, asked for only when some webhook is owed a message. */
  url: () => Promise<string | null>,
): Promise<WebhookNotification[]> {
  if (!(await hasEnabledWebhooks(db, project.id))) return []
  // Only a run that passes with a verdict can be a recovery: the verdict before it matters then only.
  const previous = passesWithVerdict(run.comparison)
    ? await lastGateVerdict(db, { ...subject, run_id: subject.id })
    : null
  const event = eventOfRun(run.comparison, previous)
  if (!event) return []
  const hooks = await webhooksFor(db, project.id, event)
  if (!hooks.length) return []
  const link = await url()
  return hooks.map((h) => webhookNotification(h, runEvent(event, project, run, link, previous)))
}

/** POST …/webhooks/:id/test's message. */
export const testNotification = (
  webhook: { id: string; kind: WebhookKind },
  project: Pick<Project, 'owner' | 'repo'>,
) => webhookNotification(webhook, testEvent(project))
