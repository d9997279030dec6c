// What a failed webhook delivery means for the next attempt, in the shape GitHub's failures have
// (service/github/failure.ts), so the outbox worker retries, holds and gives up alike:
// - a 429 is a rate limit on that webhook: held until Retry-After (Slack sends it, in seconds:
//   https://api.slack.com/docs/rate-limits), else the worker's doubling wait;
// - 5xx, 408, timeouts and network errors (a refused or reset connection, one closed mid-request,
//   a DNS failure) are retried with back-off;
// - any other answer fails at once: Slack's 400 invalid_payload, 403 action_prohibited or
//   invalid_token, 404 channel_not_found or no_service, 410 channel_is_archived
//   (https://api.slack.com/changelog/2016-05-17-changes-to-errors-for-incoming-webhooks) and a
//   receiver's other 4xx, and redirects, which are not followed;
// - so does what the service refuses itself: a URL or address its rules forbid, a webhook
//   deleted or disabled since the event.
import type { Failure } from '../notifications/worker.ts'
import { AddressRefused } from './url.ts'

/** A receiver's answer other than 2xx. `where`: the method and the URL as shown (no secret). */
export class WebhookAnswer extends Error {
  readonly status: number
  readonly retryAfter: string | null
  constructor(where: string, status: number, body: string, retryAfter: string | null) {
    const said = body.trim().replace(/\s+/g, ' ').slice(0, 300)
    super(`${where}: ${status}${said ? ` ${said}` : ''}`)
    this.status = status
    this.retryAfter = retryAfter
  }
}

/** Refused by the service before anything was sent; no attempt can change it. */
export class WebhookRefused extends Error {}

/** Retry-After as epoch ms: delta-seconds or an HTTP-date (RFC 9110 §10.2.3); null if neither. */
export function retryAfterAt(value: string | null, now: number): number | null {
  if (value === null || value.trim() === '') return null
  const v = value.trim()
  if (/^\d+$/.test(v)) return now + Number(v) * 1000
  const at = Date.parse(v)
  return Number.isFinite(at) ? at : null
}

/** No answer came: the connection failed, was closed, or the deadline passed. */
export class Unanswered extends Error {
  readonly where: string
  readonly reason: unknown
  constructor(where: string, reason: unknown) {
    super(`${where}: no answer`)
    this.where = where
    this.reason = reason
  }
}

const final = (message: string): Failure => ({ message, retryable: false, notBefore: null, rateLimit: null })
const again = (message: string): Failure => ({ message, retryable: true, notBefore: null, rateLimit: null })

export function webhookFailure(e: unknown, now: number = Date.now()): Failure {
  if (e instanceof WebhookRefused) return final(e.message)
  if (e instanceof WebhookAnswer) {
    if (e.status === 429) {
      return {
        message: `${e.message} (rate limited)`,
        retryable: true,
        notBefore: retryAfterAt(e.retryAfter, now),
        rateLimit: 'secondary',
      }
    }
    if (e.status >= 500 || e.status === 408) return again(e.message)
    if (e.status >= 300 && e.status < 400) return final(`${e.message} (redirects are not followed)`)
    return final(e.message)
  }
  if (e instanceof Unanswered) {
    const r = (e.reason ?? {}) as { message?: string; code?: string; cause?: unknown }
    // undici hands the connector's error (our refusal of an address) on, or wraps it as the cause.
    const refused = [e.reason, r.cause].find((x) => x instanceof AddressRefused)
    if (refused) return final(`${e.where}: ${(refused as Error).message}`)
    if (e.reason === 'timeout') return again(`${e.where}: timed out`)
    const code = r.code ?? (r.cause as { code?: string } | undefined)?.code
    return again(`${e.where}: network error: ${r.message ?? String(e.reason)}${code ? ` (${code})` : ''}`)
  }
  // Not from the exchange (the database, a payload that did not parse): may be transient, and
  // attempts are bounded anyway.
  return again((e as Error)?.message ?? String(e))
}
