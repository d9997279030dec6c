// Webhooks' SQL: a project's webhooks (a generic one's secret made here, shown once), what a
// delivery needs to know of one, and the verdict before a run's in its scope, which decides
// whether the run is a recovery.
import { randomBytes } from 'node:crypto'
import { type Kysely, sql } from 'kysely'
import type { Database } from '../db/database.ts'
import { failPendingOfWebhook } from '../notifications/outbox.ts'
import type { PreviousVerdict, SubscribableEvent } from './event.ts'
import type { WebhookKind } from './url.ts'

export interface Webhook {
  id: string
  kind: WebhookKind
  /** In full: the API shows it through displayUrl(). */
  url: string
  events: SubscribableEvent[]
  description: string
  enabled: boolean
  created_at: Date
}

/** What a delivery reads: the URL and the key, at the moment of sending. */
export interface WebhookTarget {
  id: string
  project_id: string
  kind: WebhookKind
  url: string
  secret: string | null
  enabled: boolean
}

const COLUMNS = ['id', 'kind', 'url', 'events', 'description', 'enabled', 'created_at'] as const

const asWebhook = (r: {
  id: string
  kind: WebhookKind
  url: string
  events: string[]
  description: string
  enabled: boolean
  created_at: Date
}): Webhook => ({ ...r, events: r.events as SubscribableEvent[], created_at: new Date(r.created_at) })

/** 32 random bytes: HMAC-SHA256's key length (RFC 2104 advises at least the hash's output). */
export const newWebhookSecret = () => `igwh_${randomBytes(32).toString('base64url')}`

export async function createWebhook(
  db: Kysely<Database>,
  projectId: string,
  w: { kind: WebhookKind; url: string; events: SubscribableEvent[]; description: string },
): Promise<{ webhook: Webhook; secret: string | null }> {
  const secret = w.kind === 'generic' ? newWebhookSecret() : null
  const row = await db
    .insertInto('webhooks')
    .values({
      project_id: projectId,
      kind: w.kind,
      url: w.url,
      secret,
      events: JSON.stringify(w.events),
      description: w.description,
    })
    .returning(COLUMNS)
    .executeTakeFirstOrThrow()
  return { webhook: asWebhook(row), secret }
}

export async function countWebhooks(db: Kysely<Database>, projectId: string): Promise<number> {
  const row = await db
    .selectFrom('webhooks')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('project_id', '=', projectId)
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

export async function listWebhooks(db: Kysely<Database>, projectId: string): Promise<Webhook[]> {
  const rows = await db
    .selectFrom('webhooks')
    .select(COLUMNS)
    .where('project_id', '=', projectId)
    .orderBy('id')
    .execute()
  return rows.map(asWebhook)
}

/** The project's webhook `id`; null when it has none of that id (another project's included). */
export async function webhookOf(
  db: Kysely<Database>,
  projectId: string,
  id: string,
): Promise<Webhook | null> {
  const row = await db
    .selectFrom('webhooks')
    .select(COLUMNS)
    .where('project_id', '=', projectId)
    .where('id', '=', id)
    .executeTakeFirst()
  return row ? asWebhook(row) : null
}

export async function updateWebhook(
  db: Kysely<Database>,
  projectId: string,
  id: string,
  change: { enabled?: boolean; events?: SubscribableEvent[]; description?: string },
): Promise<Webhook | null> {
  const row = await db
    .updateTable('webhooks')
    .set({
      ...(change.enabled !== undefined ? { enabled: change.enabled } : {}),
      ...(change.events !== undefined ? { events: JSON.stringify(change.events) } : {}),
      ...(change.description !== undefined ? { description: change.description } : {}),
    })
    .where('project_id', '=', projectId)
    .where('id', '=', id)
    .returning(COLUMNS)
    .executeTakeFirst()
  return row ? asWebhook(row) : null
}

/**
 * Deletes the project's webhook `id`, and fails its undelivered messages in the same transaction
 * (delivered ones stay in their runs' history). Null when the project has no such webhook.
 */
export async function deleteWebhook(
  db: Kysely<Database>,
  projectId: string,
  id: string,
): Promise<{ cancelled: number } | null> {
  return db.transaction().execute(async (trx) => {
    const owned = await trx
      .selectFrom('webhooks')
      .select('id')
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst()
    if (!owned) return null
    const cancelled = await failPendingOfWebhook(trx, id, 'the webhook was deleted')
    await trx.deleteFrom('webhooks').where('id', '=', id).execute()
    return { cancelled }
  })
}

/** The enabled webhooks of a project told of `event`. */
export async function webhooksFor(
  db: Kysely<Database>,
  projectId: string,
  event: SubscribableEvent,
): Promise<Pick<Webhook, 'id' | 'kind'>[]> {
  return db
    .selectFrom('webhooks')
    .select(['id', 'kind'])
    .where('project_id', '=', projectId)
    .where('enabled', '=', true)
    .where(sql<boolean>`events @> ${JSON.stringify([event])}::jsonb`)
    .orderBy('id')
    .execute()
}

/** Whether the project has an enabled webhook at all (most have none: no more reads at ingest). */
export async function hasEnabledWebhooks(db: Kysely<Database>, projectId: string): Promise<boolean> {
  const row = await db
    .selectFrom('webhooks')
    .select('id')
    .where('project_id', '=', projectId)
    .where('enabled', '=', true)
    .limit(1)
    .executeTakeFirst()
  return row !== undefined
}

export async function webhookTarget(db: Kysely<Database>, id: string): Promise<WebhookTarget | null> {
  const row = await db
    .selectFrom('webhooks')
    .select(['id', 'project_id', 'kind', 'url', 'secret', 'enabled'])
    .where('id', '=', id)
    .executeTakeFirst()
  return row ?? null
}

/** What recovery is judged in: the PR, else the branch; the benchmark and the hardware. */
export interface VerdictScope {
  run_id: string
  project_id: string
  benchmark: string
  branch: string | null
  pr_number: number | null
  gpu_model: string | null
  gpu_count: number | null
  reported_at: Date | string
}

/**
 * The verdict of the last run before this one in its scope that regressed or passed the gate
 * with a verdict (unchanged, improvement, or inconclusive where its comparison did not fail on
 * inconclusive): the same PR's runs for a PR run, else the same branch's runs outside PRs; same
 * benchmark, same hardware (as baselines are chosen), reported no later than it. Null when
 * there is none, or when a run outside PRs has no branch.
 */
export async function lastGateVerdict(
  db: Kysely<Database>,
  s: VerdictScope,
): Promise<PreviousVerdict | null> {
  if (s.pr_number === null && s.branch === null) return null
  const status = sql<string>`comparison->>'status'`
  const row = await db
    .selectFrom('runs')
    .select(['id', 'sha', status.as('status')])
    .where('project_id', '=', s.project_id)
    .where('benchmark', '=', s.benchmark)
    .where((eb) =>
      s.pr_number !== null
        ? eb('pr_number', '=', s.pr_number)
        : eb.and([eb('pr_number', 'is', null), eb('branch', '=', s.branch)]),
    )
    .where((eb) => (s.gpu_model === null ? eb('gpu_model', 'is', null) : eb('gpu_model', '=', s.gpu_model)))
    .where((eb) => (s.gpu_count === null ? eb('gpu_count', 'is', null) : eb('gpu_count', '=', s.gpu_count)))
    .where('id', '!=', s.run_id)
    .where('reported_at', '<=', new Date(s.reported_at))
    .where(
      sql<boolean>`(${status} in ('regression', 'unchanged', 'improvement')
        or (${status} = 'inconclusive'
            and coalesce((comparison->'settings'->>'fail_on_inconclusive')::boolean, false) = false))`,
    )
    .orderBy('reported_at', 'desc')
    .orderBy('ingested_at', 'desc')
    .limit(1)
    .executeTakeFirst()
  return row ? { run_id: row.id, sha: row.sha, status: row.status } : null
}

/** Messages waiting to go to one webhook: a test is refused past a few (routes/webhooks.ts). */
export async function pendingOfWebhook(db: Kysely<Database>, webhookId: string): Promise<number> {
  const row = await db
    .selectFrom('notifications')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('webhook_id', '=', webhookId)
    .where('state', '=', 'pending')
    .executeTakeFirstOrThrow()
  return Number(row.n)
}
