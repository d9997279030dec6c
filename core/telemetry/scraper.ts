// Reads a Prometheus /metrics endpoint (the engine's, or a node's DCGM exporter) at a fixed
// interval for the length of one trial. The first reading is taken before the trial's first
// request and the last after its last response, so counters' deltas cover the trial exactly
// rather than to the nearest interval. It runs beside the load generator on the same event loop:
// one small GET a second, parsed once, never two at a time.
import { performance } from 'node:perf_hooks'
import { request } from 'undici'
import { type Exposition, ExpositionError, parseExposition } from './exposition.ts'

export interface ScrapeTarget {
  url: string
  headers: Record<string, string>
}

export interface Reading {
  /** performance.now() when the answer's headers arrived: the moment the values describe. */
  atMs: number
  exposition: Exposition
}

/** Why a scrape gave nothing, in words for a warning: `HTTP 404`, `connection refused`. */
export class ScrapeFailure extends Error {
  override name = 'ScrapeFailure'
  /** The endpoint is not there at all (404, refused, not the text format): stop asking. */
  readonly absent: boolean
  constructor(message: string, absent: boolean) {
    super(message)
    this.absent = absent
  }
}

/** A /metrics body is ~100 kB on vLLM; anything near this is not a metrics endpoint. */
const MAX_BODY_BYTES = 32 * 1024 * 1024

export async function scrapeOnce(target: ScrapeTarget, timeoutMs: number): Promise<Reading> {
  let atMs: number
  let text: string
  try {
    const res = await request(target.url, {
      headers: { accept: 'text/plain;version=0.0.4;q=0.9,*/*;q=0.1', ...target.headers },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    })
    atMs = performance.now()
    if (res.statusCode !== 200) {
      await res.body.dump()
      throw new ScrapeFailure(`HTTP ${res.statusCode}`, res.statusCode === 404 || res.statusCode === 405)
    }
    const length = Number(res.headers['content-length'] ?? 0)
    if (length > MAX_BODY_BYTES) {
      await res.body.dump()
      throw new ScrapeFailure(`a ${length}-byte answer is not a metrics page`, true)
    }
    text = await res.body.text()
  } catch (e) {
    if (e instanceof ScrapeFailure) throw e
    const err = e as { code?: string; cause?: { code?: string }; message?: string; name?: string }
    const code = err.code ?? err.cause?.code
    if (code === 'ECONNREFUSED') throw new ScrapeFailure('connection refused', true)
    if (code === 'ENOTFOUND') throw new ScrapeFailure('host not found', true)
    if (err.name === 'TimeoutError' || code?.includes('TIMEOUT')) {
      throw new ScrapeFailure(`no answer within ${timeoutMs} ms`, false)
    }
    throw new ScrapeFailure(`${code ?? ''} ${err.message ?? e}`.trim(), false)
  }
  try {
    return { atMs, exposition: parseExposition(text) }
  } catch (e) {
    if (e instanceof ExpositionError)
      throw new ScrapeFailure(`not the Prometheus text format: ${e.message}`, true)
    throw e
  }
}

/**
 * One trial's readings of one endpoint: start() takes the first (awaited), then one per interval
 * until stop() takes the last (awaited). A scrape that is late skips ticks instead of queueing.
 */
export class Scraper {
  private readonly target: ScrapeTarget
  private readonly intervalMs: number
  private readonly onReading: (r: Reading) => void
  private timer: NodeJS.Timeout | null = null
  private inFlight: Promise<void> | null = null
  /** Scrapes that failed during the trial, and the first reason. */
  failures = 0
  firstFailure: string | null = null

  constructor(target: ScrapeTarget, intervalMs: number, onReading: (r: Reading) => void) {
    this.target = target
    this.intervalMs = intervalMs
    this.onReading = onReading
  }

  /** A scrape answers within the interval or not at all (never more than 5 s). */
  private get timeoutMs(): number {
    return Math.min(5000, Math.max(250, this.intervalMs))
  }

  /** The opening reading; throws ScrapeFailure when there is none (the caller decides). */
  async start(): Promise<void> {
    this.onReading(await scrapeOnce(this.target, this.timeoutMs))
    this.timer = setInterval(() => {
      if (this.inFlight) return
      this.inFlight = this.scrape().finally(() => {
        this.inFlight = null
      })
    }, this.intervalMs)
  }

  private async scrape(): Promise<void> {
    try {
      this.onReading(await scrapeOnce(this.target, this.timeoutMs))
    } catch (e) {
      this.failures++
      this.firstFailure ??= (e as Error).message
    }
  }

  /** The closing reading, after any scrape in flight has landed (readings stay in time order). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    await this.inFlight
    await this.scrape()
  }
}
