// What a failed GitHub call means for the next attempt. Octokit throws a RequestError with the
// answer's status and headers; a network error or a timeout arrives as status 500 without a
// response. Rate limits follow GitHub's "Rate limits for the REST API": how long to wait when
// GitHub gives no time is the worker's (service/notifications/holds.ts).
import type { Failure } from '../notifications/worker.ts'

interface RequestErrorLike {
  status?: unknown
  message?: string
  request?: { method?: string; url?: string }
  response?: { headers?: Record<string, string | number | undefined> }
}

type Headers = Record<string, string | number | undefined>

function numberHeader(h: Headers, name: string): number | null {
  const v = h[name]
  if (v === undefined || v === '') return null
  const n = Number(v)
  return Number.isFinite(n) ? n : null
}

/**
 * A primary limit says x-ratelimit-remaining: 0 (on a 403 or a 429). A secondary one is a 429,
 * or a 403 that says "rate limit" or carries retry-after; GitHub's docs say retry-after "might
 * be present", so its absence proves nothing. Any other 403 is a permission the token lacks.
 */
function rateLimitOf(status: number, h: Headers, message: string): Failure['rateLimit'] {
  if (status !== 403 && status !== 429) return null
  if (numberHeader(h, 'x-ratelimit-remaining') === 0) return 'primary'
  if (status === 429 || numberHeader(h, 'retry-after') !== null || /rate limit/i.test(message)) {
    return 'secondary'
  }
  return null
}

/** When GitHub said the limit lifts, epoch ms: retry-after, else a primary limit's reset. */
function liftsAt(kind: 'primary' | 'secondary', h: Headers, now: number): number | null {
  const after = numberHeader(h, 'retry-after')
  const reset = numberHeader(h, 'x-ratelimit-reset')
  const fromAfter = after === null ? null : now + after * 1000
  // A secondary limit's x-ratelimit-reset is the primary window's, an hour off: not its end.
  if (kind === 'secondary' || reset === null) return fromAfter
  return Math.max(reset * 1000, fromAfter ?? 0)
}

export function githubFailure(e: unknown, now: number = Date.now()): Failure {
  const err = (e ?? {}) as RequestErrorLike
  const where =
    err.request?.method && err.request.url
      ? `${err.request.method} ${new URL(err.request.url).pathname}: `
      : ''
  const message = `${where}${err.message ?? String(e)}`
  if (typeof err.status !== 'number') {
    // Not an answer from GitHub (a token could not be signed, a payload did not parse): it may
    // be transient (DNS, the disk), and attempts are bounded anyway.
    return { message, retryable: true, notBefore: null, rateLimit: null }
  }
  const status = err.status
  if (!err.response) {
    return {
      message: `${where}network error: ${err.message}`,
      retryable: true,
      notBefore: null,
      rateLimit: null,
    }
  }
  const headers = err.response.headers ?? {}
  const rateLimit = rateLimitOf(status, headers, err.message ?? '')
  if (rateLimit) {
    return {
      message: `${message} (rate limited)`,
      retryable: true,
      notBefore: liftsAt(rateLimit, headers, now),
      rateLimit,
    }
  }
  if (status >= 500 || status === 408) return { message, retryable: true, notBefore: null, rateLimit: null }
  return { message, retryable: false, notBefore: null, rateLimit: null }
}
