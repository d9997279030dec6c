// What a failed GitHub call means for the next attempt. Octokit throws a RequestError with the
// answer's status and headers; a network error or a timeout arrives as status 500 without a
// response.
import type { Failure } from '../notifications/worker.ts'

interface RequestErrorLike {
  status?: unknown
  message?: string
  request?: { method?: string; url?: string }
  response?: { headers?: Record<string, string | number | undefined> }
}

const header = (h: Record<string, string | number | undefined>, name: string) => {
  const v = h[name]
  return v === undefined ? null : String(v)
}

/** Retry-after (seconds) or x-ratelimit-reset (epoch seconds) as an epoch-ms instant. */
function rateLimitLifts(h: Record<string, string | number | undefined>, now: number): number | null {
  const after = Number(header(h, 'retry-after'))
  if (header(h, 'retry-after') !== null && Number.isFinite(after)) return now + after * 1000
  const reset = Number(header(h, 'x-ratelimit-reset'))
  if (header(h, 'x-ratelimit-reset') !== null && Number.isFinite(reset)) return reset * 1000
  return null
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
    return { message, retryable: true, notBefore: null }
  }
  const status = err.status
  const headers = err.response?.headers ?? {}
  if (!err.response)
    return { message: `${where}network error: ${err.message}`, retryable: true, notBefore: null }
  // GitHub's primary rate limit answers 403 (or 429) with x-ratelimit-remaining: 0; its secondary
  // limits answer 403 or 429 with retry-after. Any other 403 is a permission the token lacks.
  const limited =
    status === 429 ||
    (status === 403 &&
      (header(headers, 'retry-after') !== null || header(headers, 'x-ratelimit-remaining') === '0'))
  if (limited)
    return { message: `${message} (rate limited)`, retryable: true, notBefore: rateLimitLifts(headers, now) }
  if (status >= 500 || status === 408) return { message, retryable: true, notBefore: null }
  return { message, retryable: false, notBefore: null }
}
