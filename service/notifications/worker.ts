// Delivers the outbox: claims due notifications, hands each to the deliverer, and records the
// outcome — delivered, retried later with exponential back-off (or when a rate limit lifts), or
// failed for good after `maxAttempts`. One notification at a time: GitHub asks integrations to
// send their requests serially to stay clear of its secondary rate limits.
import type { Kysely } from 'kysely'
import type { Database } from '../db/database.ts'
import type { Log } from '../log.ts'
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
}

export const DEFAULT_OUTBOX: OutboxSettings = {
  pollMs: 2_000,
  leaseMs: 5 * 60_000,
  maxAttempts: 10,
  backoffMs: 5_000,
  maxBackoffMs: 15 * 60_000,
}

/** Why an attempt failed, as the deliverer sees it. */
export interface Failure {
  message: string
  /** False for answers that another attempt cannot change (401, 404, 422…). */
  retryable: boolean
  /** The earliest a retry may be made (a rate limit's reset), epoch ms. */
  notBefore: number | null
}

export interface Deliverer {
  deliver(n: Claimed): Promise<unknown>
  failure(e: unknown): Failure
}

/** The delay before attempt `attempt + 1`: doubling from `backoffMs`, up to 25% longer at random. */
export function backoffDelay(attempt: number, s: OutboxSettings, random = Math.random): number {
  const base = Math.min(s.maxBackoffMs, s.backoffMs * 2 ** (attempt - 1))
  return Math.min(s.maxBackoffMs, base * (1 + 0.25 * random()))
}

// A rate limit's reset is honoured up to an hour away (GitHub's primary limit resets hourly).
const MAX_RATE_LIMIT_WAIT_MS = 60 * 60_000

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
): OutboxWorker {
  let stopped = false
  let wakeUp: (() => void) | null = null
  let woken = false

  async function attempt(n: Claimed): Promise<void> {
    try {
      const result = await deliverer.deliver(n)
      await markDelivered(db, n.id, result)
      log('info', 'notification delivered', { id: n.id, kind: n.kind, key: n.key, attempt: n.attempt })
    } catch (e) {
      const f = deliverer.failure(e)
      const now = Date.now()
      const last = !f.retryable || n.attempt >= settings.maxAttempts
      const wait = Math.max(
        backoffDelay(n.attempt, settings),
        Math.min(MAX_RATE_LIMIT_WAIT_MS, (f.notBefore ?? 0) - now),
      )
      const retryAt = last ? null : new Date(now + wait)
      await markAttemptFailed(db, n.id, f.message, retryAt)
      log(last ? 'error' : 'warn', last ? 'notification failed' : 'notification will be retried', {
        id: n.id,
        kind: n.kind,
        key: n.key,
        attempt: n.attempt,
        error: f.message,
        ...(retryAt ? { retry_at: retryAt.toISOString() } : {}),
      })
    }
  }

  async function loop(): Promise<void> {
    while (!stopped) {
      let claimed: Claimed[] = []
      try {
        // One at a time, so a stop never leaves claimed rows waiting out their lease.
        claimed = await claim(db, 1, settings.leaseMs)
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
    },
  }
}
