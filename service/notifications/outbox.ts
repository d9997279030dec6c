// The outbox's queries. A notification is claimed under a lease (so a crashed worker's rows come
// back) and delivered outside any transaction (GitHub may take seconds; PGlite has one
// connection). Per key — one status context on a SHA, one PR's sticky comment — only the newest
// notification is delivered, never two at once: older undelivered ones are superseded. Nothing
// is claimed for a credential GitHub rate-limited (holds.ts). Webhooks' messages (service/webhooks/)
// go through the same queue, each under a key of its own, and a receiver's rate limit holds only
// that webhook's.
import { type Kysely, sql, type Transaction } from 'kysely'
import type { Database } from '../db/database.ts'
import { EVERY_ACCOUNT, WEBHOOK_SCOPE_PREFIX } from './holds.ts'
import { type NewNotification, type NotificationKind, WEBHOOK_KINDS } from './notification.ts'

export type NotificationState = 'pending' | 'delivered' | 'failed' | 'superseded'

export interface Claimed {
  id: string
  kind: NewNotification['kind']
  key: string
  payload: unknown
  /** This attempt's number, from 1. */
  attempt: number
  /** How many earlier attempts met a rate limit (not failures: they wait, and count apart). */
  rateLimited: number
}

/** How a notification stands, as GET /api/v1/runs/:id shows it. */
export interface NotificationView {
  id: string
  kind: NewNotification['kind']
  /** The webhook a slack_message or webhook_event went to (perhaps deleted since); null for GitHub's. */
  webhook_id: string | null
  state: NotificationState
  attempts: number
  next_attempt_at: string | null
  last_error: string | null
  delivered_at: string | null
  result: unknown
}

// Claims from every replica take turns (the lock lasts a few milliseconds): each then sees the
// leases the others took, so no key is ever delivered twice at once.
const CLAIM_LOCK = 0x1f6e6f74 // "infergate notifications", any constant unique to this use

export async function enqueue(
  trx: Transaction<Database> | Kysely<Database>,
  projectId: string,
  runId: string | null,
  notes: NewNotification[],
): Promise<NotificationView[]> {
  if (!notes.length) return []
  const rows = await trx
    .insertInto('notifications')
    .values(
      notes.map((n) => ({
        project_id: projectId,
        run_id: runId,
        kind: n.kind,
        key: n.key,
        payload: JSON.stringify(n.payload),
        webhook_id: n.kind === 'slack_message' || n.kind === 'webhook_event' ? n.payload.webhook_id : null,
      })),
    )
    .returning(VIEW_COLUMNS)
    .execute()
  return rows.map(view)
}

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString())

const VIEW_COLUMNS = [
  'id',
  'kind',
  'webhook_id',
  'state',
  'attempts',
  'next_attempt_at',
  'last_error',
  'delivered_at',
  'result',
] as const

function view(r: {
  id: string
  kind: NewNotification['kind']
  webhook_id: string | null
  state: NotificationState
  attempts: number
  next_attempt_at: Date
  last_error: string | null
  delivered_at: Date | null
  result: unknown
}): NotificationView {
  return {
    id: r.id,
    kind: r.kind,
    webhook_id: r.webhook_id,
    state: r.state,
    attempts: r.attempts,
    next_attempt_at: r.state === 'pending' ? iso(r.next_attempt_at) : null,
    last_error: r.last_error,
    delivered_at: iso(r.delivered_at),
    result: r.result,
  }
}

/**
 * Takes up to `limit` due notifications (of `kinds`, or any) under a lease of `leaseMs`: for each
 * key, the newest pending notification if no other of its key is being delivered; the older
 * pending ones of that key are superseded (GitHub only needs to show the latest verdict; a
 * webhook's message has a key of its own, so none is). A notification whose credential is held
 * waits: every GitHub one for a token's hold, its account's for an App's, a webhook's own for a
 * receiver's rate limit.
 */
export async function claim(
  db: Kysely<Database>,
  limit: number,
  leaseMs: number,
  kinds?: readonly NotificationKind[],
): Promise<Claimed[]> {
  const ofKinds = kinds ? sql`and d.kind in (${sql.join([...kinds])})` : sql``
  const webhookKinds = sql.join([...WEBHOOK_KINDS])
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${CLAIM_LOCK})`.execute(trx)
    const { rows } = await sql<{
      id: string
      kind: Claimed['kind']
      key: string
      payload: unknown
      attempts: number
      rate_limited: number
    }>`
      update notifications n
         set locked_until = now() + make_interval(secs => ${leaseMs / 1000}), attempts = n.attempts + 1
       where n.id in (
         select d.id from notifications d
          where d.state = 'pending' and d.next_attempt_at <= now() ${ofKinds}
            and (d.locked_until is null or d.locked_until < now())
            and not exists (
              select 1 from notifications o
               where o.key = d.key and o.id <> d.id and o.state = 'pending'
                 and (o.id > d.id or o.locked_until >= now()))
            and not exists (
              select 1 from github_rate_limits h
               where h.lifts_at > now()
                 and case when d.kind in (${webhookKinds})
                          then h.scope = ${WEBHOOK_SCOPE_PREFIX} || (d.payload->>'webhook_id')
                          else h.scope in (${EVERY_ACCOUNT}, lower(d.payload->>'owner')) end)
          order by d.next_attempt_at, d.id
          limit ${limit}
          for update skip locked)
      returning n.id, n.kind, n.key, n.payload, n.attempts, n.rate_limited`.execute(trx)
    for (const r of rows) {
      await trx
        .updateTable('notifications')
        .set({ state: 'superseded', locked_until: null })
        .where('key', '=', r.key)
        .where('id', '<', r.id)
        .where('state', '=', 'pending')
        .execute()
    }
    return rows.map((r) => ({
      id: r.id,
      kind: r.kind,
      key: r.key,
      payload: r.payload,
      attempt: r.attempts,
      rateLimited: r.rate_limited,
    }))
  })
}

export async function markDelivered(db: Kysely<Database>, id: string, result: unknown): Promise<void> {
  await db
    .updateTable('notifications')
    .set({
      state: 'delivered',
      delivered_at: new Date(),
      locked_until: null,
      last_error: null,
      result: result === undefined ? null : JSON.stringify(result),
    })
    .where('id', '=', id)
    .execute()
}

/**
 * Records a failed attempt: another at `retryAt`, or none (state failed) when it is null. A
 * rate-limited attempt is counted apart: it says nothing about whether delivery can succeed.
 */
export async function markAttemptFailed(
  db: Kysely<Database>,
  id: string,
  error: string,
  retryAt: Date | null,
  rateLimited = false,
): Promise<void> {
  await db
    .updateTable('notifications')
    .set((eb) => ({
      state: retryAt ? 'pending' : 'failed',
      next_attempt_at: retryAt ?? new Date(),
      locked_until: null,
      last_error: error.slice(0, 2000),
      ...(rateLimited ? { rate_limited: eb('rate_limited', '+', 1) } : {}),
    }))
    .where('id', '=', id)
    .execute()
}

export async function notificationsOfRun(db: Kysely<Database>, runId: string): Promise<NotificationView[]> {
  const rows = await db
    .selectFrom('notifications')
    .select(VIEW_COLUMNS)
    .where('run_id', '=', runId)
    .orderBy('id')
    .execute()
  return rows.map(view)
}

/** A webhook's latest deliveries, newest first, with the event each carried and its run. */
export async function notificationsOfWebhook(
  db: Kysely<Database>,
  webhookId: string,
  limit: number,
): Promise<(NotificationView & { event: string | null; run_id: string | null })[]> {
  const rows = await db
    .selectFrom('notifications')
    .select([...VIEW_COLUMNS, 'run_id', sql<string | null>`payload->'event'->>'event'`.as('event')])
    .where('webhook_id', '=', webhookId)
    .orderBy('id', 'desc')
    .limit(limit)
    .execute()
  return rows.map((r) => ({ ...view(r), event: r.event, run_id: r.run_id }))
}

/** Fails a webhook's undelivered messages (it is being deleted): none is sent afterwards. */
export async function failPendingOfWebhook(
  trx: Transaction<Database> | Kysely<Database>,
  webhookId: string,
  reason: string,
): Promise<number> {
  const rows = await trx
    .updateTable('notifications')
    .set({ state: 'failed', locked_until: null, last_error: reason })
    .where('webhook_id', '=', webhookId)
    .where('state', '=', 'pending')
    .returning('id')
    .execute()
  return rows.length
}
