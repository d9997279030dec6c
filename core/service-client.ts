// The regression service's API as its clients (the Action, the demo) call it: every call has a
// timeout, and transient failures (network errors, timeouts, 408, 429, 5xx) are retried a
// bounded number of times with exponential back-off, honouring retry-after. A 4xx other than
// those is the caller's mistake and is not retried. Posting a report again is safe: the service
// makes a re-post with the same CI identity idempotent.
import { setTimeout as sleep } from 'node:timers/promises'
import { fetch } from 'undici'
import { Comparison } from './detect/comparison.ts'
import { NoisePriors } from './detect/noise-prior.ts'
import type { Report } from './report.ts'
import { StatusRequest } from './status-request.ts'

export interface ServiceClientOptions {
  /** Base URL of the service, e.g. https://infergate.example.com */
  url: string
  /**
   * The bearer: a project token, or a function asked before every attempt (a GitHub OIDC
   * token lives minutes; a benchmark may take an hour).
   */
  token: string | null | (() => Promise<string>)
  timeoutMs?: number
  /** Attempts per call, the first included. */
  attempts?: number
  /** First back-off; doubles each retry, with ±50% jitter, capped at 30 s. */
  backoffMs?: number
  onRetry?: (info: { attempt: number; delayMs: number; reason: string }) => void
}

/** A call that failed for good; `status` is null when no HTTP answer came. */
export class ServiceError extends Error {
  override name = 'ServiceError'
  readonly status: number | null
  readonly code: string
  constructor(status: number | null, code: string, message: string) {
    super(message)
    this.status = status
    this.code = code
  }
}

export interface PostedRun {
  id: string
  /** true when the service already had this run (a re-post). */
  duplicate: boolean
  comparison: Comparison
  /** What the service queued for GitHub with the run (empty when it does not report there). */
  notifications: { kind: string; state: string }[]
  /**
   * The baseline runs' commits, by run id, as the PR comment names them; undefined from a
   * service older than the field (callers then name baselines by run id).
   */
  baselineShas?: Record<string, string | null>
}

/** A map of run ids to commit SHAs (or null), or undefined when the answer has none or another shape. */
function shaMap(v: unknown): Record<string, string | null> | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined
  const ok = Object.values(v).every((x) => x === null || typeof x === 'string')
  return ok ? (v as Record<string, string | null>) : undefined
}

const RETRIED_STATUS = new Set([408, 429, 500, 502, 503, 504])

function retryAfterMs(value: string | null): number | null {
  if (!value) return null
  const s = Number(value)
  if (Number.isFinite(s)) return Math.max(0, s * 1000)
  const at = Date.parse(value)
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now())
}

// A token that cannot be had is no reason to retry the call (its source retries itself).
async function freshToken(get: () => Promise<string>): Promise<string> {
  try {
    return await get()
  } catch (e) {
    throw new ServiceError(null, 'no_token', `no token for the service: ${(e as Error).message}`)
  }
}

export class ServiceClient {
  readonly url: string
  readonly #o: Required<Omit<ServiceClientOptions, 'onRetry' | 'token'>> &
    Pick<ServiceClientOptions, 'onRetry' | 'token'>

  constructor(options: ServiceClientOptions) {
    let base: URL
    try {
      base = new URL(options.url)
    } catch {
      throw new ServiceError(null, 'invalid_url', `service URL ${JSON.stringify(options.url)} is not a URL`)
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new ServiceError(null, 'invalid_url', `service URL ${options.url}: expected http:// or https://`)
    }
    this.url = base.toString().replace(/\/+$/, '')
    this.#o = { timeoutMs: 30_000, attempts: 4, backoffMs: 1000, ...options }
  }

  /** One API call with retries; answers the parsed JSON body and the status. */
  async call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const { attempts, backoffMs, timeoutMs, token, onRetry } = this.#o
    const text = body === undefined ? undefined : JSON.stringify(body)
    for (let attempt = 1; ; attempt++) {
      let reason: string
      let delayMs: number | null = null
      try {
        const bearer = typeof token === 'function' ? await freshToken(token) : token
        const res = await fetch(`${this.url}${path}`, {
          method,
          headers: {
            accept: 'application/json',
            ...(text === undefined ? {} : { 'content-type': 'application/json' }),
            ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
          },
          body: text,
          signal: AbortSignal.timeout(timeoutMs),
        })
        const raw = await res.text()
        let parsed: unknown = null
        try {
          parsed = raw ? JSON.parse(raw) : null
        } catch {
          // A proxy's HTML error page: keep the status, say what came back.
        }
        if (res.ok) return { status: res.status, body: parsed as T }
        const err = (parsed as { error?: { code?: string; message?: string } } | null)?.error
        const message = `${method} ${path}: ${res.status} ${err?.message ?? raw.slice(0, 200)}`
        if (!RETRIED_STATUS.has(res.status)) {
          throw new ServiceError(res.status, err?.code ?? `http_${res.status}`, message)
        }
        reason = message
        delayMs = retryAfterMs(res.headers.get('retry-after'))
      } catch (e) {
        if (e instanceof ServiceError) throw e
        const err = e as Error & { cause?: { code?: string } }
        reason =
          err.name === 'TimeoutError'
            ? `${method} ${path}: no answer within ${timeoutMs} ms`
            : `${method} ${path}: ${err.cause?.code ?? err.message}`
      }
      if (attempt >= attempts) {
        throw new ServiceError(null, 'unavailable', `${reason} (after ${attempts} attempts)`)
      }
      const backoff = Math.min(30_000, backoffMs * 2 ** (attempt - 1)) * (0.5 + Math.random())
      const wait = Math.min(60_000, delayMs ?? backoff)
      onRetry?.({ attempt, delayMs: wait, reason })
      await sleep(wait)
    }
  }

  async postReport(report: Report): Promise<PostedRun> {
    const { status, body } = await this.call<{
      id: string
      comparison: unknown
      notifications?: { kind: string; state: string }[]
      baseline_shas?: unknown
    }>('POST', '/api/v1/runs', report)
    const parsed = Comparison.safeParse(body?.comparison)
    if (!parsed.success || typeof body?.id !== 'string') {
      throw new ServiceError(
        status,
        'bad_answer',
        'POST /api/v1/runs: the answer is not a run and its comparison',
      )
    }
    const notifications = (body.notifications ?? []).map(({ kind, state }) => ({ kind, state }))
    return {
      id: body.id,
      duplicate: status === 200,
      comparison: parsed.data,
      notifications,
      baselineShas: shaMap(body.baseline_shas),
    }
  }

  /**
   * The block noise of the project's earlier A/B runs of a benchmark, the paired test's prior
   * (core/detect/noise-prior.ts). Null when the service predates it (404 on the route) or has
   * learned nothing yet: the weak default prior then, as without a service.
   */
  async noisePriors(repository: string, benchmark: string): Promise<NoisePriors | null> {
    const [owner, repo] = repository.split('/')
    const path = `/api/v1/projects/${encodeURIComponent(owner ?? '')}/${encodeURIComponent(repo ?? '')}/noise-priors?benchmark=${encodeURIComponent(benchmark)}`
    let answer: { status: number; body: unknown }
    try {
      answer = await this.call<unknown>('GET', path)
    } catch (e) {
      if (e instanceof ServiceError && e.status === 404 && e.code !== 'project_not_found') return null
      throw e
    }
    const parsed = NoisePriors.safeParse(answer.body)
    if (!parsed.success) {
      throw new ServiceError(answer.status, 'bad_answer', `GET ${path}: the answer is not noise priors`)
    }
    return parsed.data.priors.length ? parsed.data : null
  }

  /**
   * Announces a benchmark's state on a commit before its report (pending) or instead of it
   * (error); answers how many notifications the service queued for GitHub (0 when it does not
   * report to GitHub).
   */
  async postStatus(request: StatusRequest): Promise<{ queued: number }> {
    const { body } = await this.call<{ notifications?: unknown[] }>(
      'POST',
      '/api/v1/statuses',
      StatusRequest.parse(request),
    )
    return { queued: body?.notifications?.length ?? 0 }
  }
}
