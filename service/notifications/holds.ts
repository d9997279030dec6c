// GitHub rate-limits a credential (the token, or an App's installation on one account), not a
// notification, and warns that requests sent while limited can get an integration banned. So a
// limit one delivery meets holds every delivery made with that credential, on every replica:
// the hold is a row that claim() respects, and it outlives restarts. A webhook's receiver that
// rate-limits (a 429) is held the same way, under a scope of its own.
import { type Kysely, sql } from 'kysely'
import type { Database } from '../db/database.ts'
import type { Failure, OutboxSettings } from './worker.ts'

/** The scope of a token's hold: one credential for every account it reports to. */
export const EVERY_ACCOUNT = '*'

/**
 * A webhook's receiver rate-limits that webhook (Slack: about one message a second per webhook,
 * then a 429 with Retry-After): its hold, 'webhook:<id>', holds its messages and nothing else.
 */
export const WEBHOOK_SCOPE_PREFIX = 'webhook:'
export const webhookScope = (webhookId: string) => `${WEBHOOK_SCOPE_PREFIX}${webhookId}`

// Up to an hour: GitHub's primary limit resets hourly, and no documented wait is longer.
export const MAX_RATE_LIMIT_WAIT_MS = 60 * 60_000

/**
 * When deliveries may resume after a credential's `strike`-th rate limit in a row: when GitHub
 * said (retry-after, or a primary limit's reset), else after `rateLimitWaitMs` (a minute),
 * doubling with each repeat, as its REST API docs ask.
 */
export function rateLimitLifts(f: Failure, strike: number, s: OutboxSettings, now: number): number {
  const wait =
    f.notBefore !== null && f.notBefore > now
      ? f.notBefore - now
      : // No time given, or one already past (GitHub's clock and ours disagree).
        s.rateLimitWaitMs * 2 ** Math.max(0, strike - 1)
  return now + Math.min(MAX_RATE_LIMIT_WAIT_MS, wait)
}

/**
 * Holds `scope` after a rate limit and returns when the hold lifts. A limit met within an hour
 * of the last one's end, with no delivery in between, is a repeat.
 */
export async function holdCredential(
  db: Kysely<Database>,
  scope: string,
  f: Failure,
  s: OutboxSettings,
  now: number,
): Promise<Date> {
  return db.transaction().execute(async (trx) => {
    // The upsert locks the row: replicas meeting limits at once count each strike.
    const { rows } = await sql<{ strikes: number; lifts_at: Date }>`
      insert into github_rate_limits as h (scope, lifts_at, strikes, reason)
      values (${scope}, ${new Date(now)}, 1, ${f.message.slice(0, 500)})
      on conflict (scope) do update
         set strikes = case when h.lifts_at > now() - make_interval(secs => ${MAX_RATE_LIMIT_WAIT_MS / 1000})
                            then h.strikes + 1 else 1 end,
             reason = excluded.reason
      returning h.strikes, h.lifts_at`.execute(trx)
    const row = rows[0]!
    const lifts = Math.max(rateLimitLifts(f, row.strikes, s, now), new Date(row.lifts_at).getTime())
    await trx
      .updateTable('github_rate_limits')
      .set({ lifts_at: new Date(lifts) })
      .where('scope', '=', scope)
      .execute()
    return new Date(lifts)
  })
}

/** After a delivery: a lifted hold is forgotten, so the next limit waits the minimum again. */
export async function releaseCredential(db: Kysely<Database>, scope: string): Promise<void> {
  await sql`delete from github_rate_limits where scope = ${scope} and lifts_at <= now()`.execute(db)
}
