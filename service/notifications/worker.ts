// Delivers the outbox: claims due notifications, hands each to the deliverer, and records the
// outcome — delivered, retried later with exponential back-off, or failed for good after
// `maxAttempts`. One notification at a time: GitHub asks integrations to send their requests
// serially to stay clear of its secondary rate limits. A rate limit holds every notification
// sent with the same credential until it lifts (holds.ts), and is not a failed attempt. Each
// deliverer gets a worker of its own, claiming only its kinds: a slow webhook receiver does not
// delay GitHub, nor GitHub's rate limits a webhook.
import type { Kysely } from 'kysely'
import type { Database } from '../db/database.ts'
import type { Log } from '../log.ts'
import type { DeliveryOutcome } from '../metrics.ts'
import { EVERY_ACCOUNT, holdCredential, releaseCredential } from './holds.ts'
import type { NotificationKind } from './notification.ts'
import { type Claimed, claim, markAttemptFailed, markDelivered } from './outbox.ts'

export interface OutboxSettings {
  /** How often the outbox is read when nothing wakes the worker. */
  pollMs: number
  /** How long a claimed notification stays with its worker (longer than a delivery can take). */
  leaseMs: number
  maxAttempts: number
  /** The first retry's delay; each later one doubles, up to maxBackoffMs. */
  backoffMs: number
  maxBackoffMs: number
  /**
   * The wait after a rate limit GitHub gave no time for (a secondary limit without retry-after);
   * it doubles on each repeat. GitHub's docs: "at least one minute".
   */
  rateLimitWaitMs: number
  /**
   * Rate limits one notification may wait out before it fails: a receiver that answers 429 for
   * ever must not keep it (and its delivery id) alive for ever. 24 holds of at most an hour: a day.
   */
  maxRateLimitHolds: number
}

export const DEFAULT_OUTBOX: OutboxSettings = {
  pollMs: 2_000,
  leaseMs: 5 * 60_000,
  maxAttempts: 10,
  backoffMs: 5_000,
  maxBackoffMs: 15 * 60_000,
  rateLimitWaitMs: 60_000,
  maxRateLimitHolds: 24,
}

/** Why an attempt failed, as the deliverer sees it. */
export interface Failure {
  message: string
  /** False for answers that another attempt cannot change (401, 404, 422…). */
  retryable: boolean
  /** When GitHub said a rate limit lifts (retry-after, a primary limit's reset), epoch ms. */
  notBefore: number | null
  /** A rate limit: on the credential, not on this notification. */
  rateLimit: 'primary' | 'secondary' | null
}

export interface Deliverer {
  /** The kinds this deliverer takes; the others are left to theirs. */
  readonly kinds: readonly NotificationKind[]
  /** Who is delivered to, for the logs ('GitHub'). */
  readonly name: string
  deliver(n: Claimed): Promise<unknown>
  failure(e: unknown): Failure
  /**
   * The credential `n` is delivered with, as the scope of a rate limit's hold: EVERY_ACCOUNT
   * for a token, the account (lower-cased owner) whose App installation delivers it.
   */
  credential(n: Claimed): string
  /** Releases what the deliverer holds (connections), once the worker has stopped. */
  close?(): Promise<void>
}

/** The delay before attempt `attempt + 1`: doubling from `backoffMs`, up to 25% longer at random. */
export function backoffDelay(attempt: number, s: OutboxSettings, random = Math.random): number {
  const base = Math.min(s.maxBackoffMs, s.backoffMs * 2 ** (attempt - 1))
  return Math.min(s.maxBackoffMs, base * (1 + 0.25 * random()))
}

export interface OutboxWorker {
  /** Looks at the outbox now (after an ingest) instead of at the next poll. */
  wake(): void
  /** Finishes the delivery in hand and stops. */
  stop(): Promise<void>
}

export function startOutboxWorker(
  db: Kysely<Database>,
  deliverer: Deliverer,
  settings: OutboxSettings,
  log: Log,
  /** Each attempt's outcome, for GET /metrics. */
  countOutcome: (kind: string, outcome: DeliveryOutcome) => void = () => {},
): OutboxWorker {
  let stopped = false
  let wakeUp: (() => void) | null = null
  let woken = false

  async function rateLimited(n: Claimed, f: Failure): Promise<void> {
    if (n.rateLimited >= settings.maxRateLimitHolds) {
      const message = `${f.message} (rate-limited ${n.rateLimited + 1} times: given up)`
      await markAttemptFailed(db, n.id, message, null)
      countOutcome(n.kind, 'failed')
      log('error', 'notification failed', {
        id: n.id,
        kind: n.kind,
        key: n.key,
        attempt: n.attempt,
        error: message,
      })
      return
    }
    const scope = deliverer.credential(n)
    const lifts = await holdCredential(db, scope, f, settings, Date.now())
    await markAttemptFailed(db, n.id, f.message, lifts, true)
    countOutcome(n.kind, 'rate_limited')
    log('warn', `${deliverer.name} rate limit: holding deliveries`, {
      id: n.id,
      kind: n.kind,
      key: n.key,
      credential:
        deliverer.name !== 'GitHub' ? scope : scope === EVERY_ACCOUNT ? 'token' : `installation on ${scope}`,
      limit: f.rateLimit,
      error: f.message,
      until: lifts.toISOString(),
    })
  }

  async function attempt(n: Claimed): Promise<void> {
    let result: unknown
    try {
      result = await deliverer.deliver(n)
    } catch (e) {
      const f = deliverer.failure(e)
      if (f.rateLimit) return rateLimited(n, f)
      const counted = n.attempt - n.rateLimited
      const last = !f.retryable || counted >= settings.maxAttempts
      const retryAt = last ? null : new Date(Date.now() + backoffDelay(counted, settings))
      await markAttemptFailed(db, n.id, f.message, retryAt)
      countOutcome(n.kind, last ? 'failed' : 'retried')
      log(last ? 'error' : 'warn', last ? 'notification failed' : 'notification will be retried', {
        id: n.id,
        kind: n.kind,
        key: n.key,
        attempt: n.attempt,
        error: f.message,
        ...(retryAt ? { retry_at: retryAt.toISOString() } : {}),
      })
      return
    }
    await markDelivered(db, n.id, result)
    countOutcome(n.kind, 'delivered')
    await releaseCredential(db, deliverer.credential(n))
    log('info', 'notification delivered', { id: n.id, kind: n.kind, key: n.key, attempt: n.attempt })
  }

  async function loop(): Promise<void> {
    while (!stopped) {
      let claimed: Claimed[] = []
      try {
        // One at a time, so a stop never leaves claimed rows waiting out their lease.
        claimed = await claim(db, 1, settings.leaseMs, deliverer.kinds)
        for (const n of claimed) await attempt(n)
      } catch (e) {
        // The database is away: the rows are safe, their leases lapse; try again after a pause.
        log('error', 'outbox unavailable', { error: (e as Error).message })
      }
      if (stopped) break
      // More may be due (one was, or an ingest woke us meanwhile): look again at once.
      if (claimed.length || woken) {
        woken = false
        continue
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, settings.pollMs)
        wakeUp = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      wakeUp = null
      woken = false
    }
  }

  const running = loop()
  return {
    wake() {
      woken = true
      wakeUp?.()
    },
    async stop() {
      stopped = true
      wakeUp?.()
      await running
      await deliverer.close?.()
    },
  }
}
