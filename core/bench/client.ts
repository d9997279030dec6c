// One streaming request, timed with vLLM's definitions (docs/metrics.md):
//   TTFT = first chunk carrying choices − send; E2EL = last content chunk − send;
//   ITL = gaps between content chunks; TPOT = (E2EL − TTFT) / (output_tokens − 1).
// Every SSE event of one network read shares that read's arrival time.
import { performance } from 'node:perf_hooks'
import { Pool } from 'undici'
import type { Endpoint } from './endpoint.ts'
import { routePath } from './endpoint.ts'
import { SseParser } from './sse.ts'
import type { PreparedRequest } from './workload.ts'

export type ErrorKind = `http_${number}` | 'timeout' | 'disconnect' | 'malformed_stream' | 'connection_error'

export interface RequestOutcome {
  /** performance.now() at send. */
  sentAt: number
  /** performance.now() at the end (success or failure). */
  endedAt: number
  /** Actual minus planned send, open loop only. */
  dispatchDelayMs: number | null
  ok: boolean
  ttftMs: number
  e2elMs: number
  itlMs: number[]
  inputTokens: number
  outputTokens: number
  tokensFromUsage: boolean
  errorKind?: ErrorKind
  errorMessage?: string
}

const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'])

interface Usage {
  prompt_tokens?: number
  completion_tokens?: number
}

export class StreamClient {
  private readonly pool: Pool
  private readonly path: string
  private readonly headers: Record<string, string>
  readonly endpoint: Endpoint
  readonly timeoutMs: number

  constructor(endpoint: Endpoint, timeoutMs: number, connections: number | null) {
    this.endpoint = endpoint
    this.timeoutMs = timeoutMs
    this.pool = new Pool(endpoint.origin, {
      connections,
      pipelining: 1,
      connect: { timeout: Math.min(timeoutMs, 30_000) },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    })
    this.path = routePath(endpoint)
    this.headers = { 'content-type': 'application/json', accept: 'text/event-stream', ...endpoint.headers }
  }

  async close(): Promise<void> {
    await this.pool.destroy()
  }

  async send(req: PreparedRequest, plannedAt: number | null): Promise<RequestOutcome> {
    const api = this.endpoint.api
    const parser = new SseParser()
    const ac = new AbortController()
    let timedOut = false
    const sentAt = performance.now()
    const out: RequestOutcome = {
      sentAt,
      endedAt: sentAt,
      dispatchDelayMs: plannedAt === null ? null : Math.max(0, sentAt - plannedAt),
      ok: false,
      ttftMs: -1,
      e2elMs: -1,
      itlMs: [],
      inputTokens: req.inputTokensEstimate,
      outputTokens: 0,
      tokensFromUsage: false,
    }
    const timer = setTimeout(() => {
      timedOut = true
      ac.abort()
    }, this.timeoutMs)
    let firstAt = -1
    let lastContentAt = -1
    let contentChunks = 0
    let usage: Usage | undefined
    let done = false
    const fail = (kind: ErrorKind, message: string) => {
      if (out.errorKind) return
      out.errorKind = kind
      out.errorMessage = message
    }
    const onEvent = (data: string, now: number) => {
      if (done) return
      if (data === '[DONE]') {
        done = true
        return
      }
      let obj: {
        choices?: { text?: string; delta?: { content?: string; reasoning_content?: string } }[]
        usage?: Usage
        error?: { message?: string }
      }
      try {
        obj = JSON.parse(data)
      } catch {
        throw new StreamFault('malformed_stream', `not JSON in a data: event: ${data.slice(0, 80)}`)
      }
      if (obj.error) throw new StreamFault('malformed_stream', `error event: ${obj.error.message ?? data}`)
      const choices = obj.choices
      if (choices && choices.length > 0) {
        if (firstAt < 0) firstAt = now
        const c = choices[0]!
        const text = api === 'chat' ? c.delta?.content || c.delta?.reasoning_content : c.text
        if (text) {
          if (lastContentAt >= 0) out.itlMs.push(now - lastContentAt)
          lastContentAt = now
          contentChunks++
        }
      }
      if (obj.usage) usage = obj.usage
    }
    try {
      const res = await this.pool.request({
        path: this.path,
        method: 'POST',
        headers: this.headers,
        body: req.body,
        signal: ac.signal,
      })
      if (res.statusCode !== 200) {
        const text = await res.body.text().catch(() => '')
        fail(`http_${res.statusCode}`, `HTTP ${res.statusCode}: ${errorMessageOf(text)}`)
      } else if (!String(res.headers['content-type'] ?? '').includes('text/event-stream')) {
        const text = await res.body.text().catch(() => '')
        fail(
          'malformed_stream',
          `expected text/event-stream, got ${res.headers['content-type'] ?? 'no content-type'}: ${text.slice(0, 80)}`,
        )
      } else {
        await new Promise<void>((resolve, reject) => {
          res.body.on('data', (chunk: Buffer) => {
            const now = performance.now()
            try {
              for (const data of parser.push(chunk)) onEvent(data, now)
            } catch (e) {
              res.body.destroy()
              reject(e)
            }
          })
          res.body.on('end', () => {
            try {
              for (const data of parser.end()) onEvent(data, performance.now())
              resolve()
            } catch (e) {
              reject(e)
            }
          })
          res.body.on('error', reject)
        })
        if (!done) fail('malformed_stream', 'stream ended without data: [DONE]')
        else if (firstAt < 0) fail('malformed_stream', 'stream carried no choices')
      }
    } catch (e) {
      if (e instanceof StreamFault) fail(e.kind, e.message)
      else if (timedOut) fail('timeout', `no complete response within ${this.timeoutMs / 1000} s`)
      else {
        const err = e as { code?: string; cause?: { code?: string }; message?: string }
        const code = err.code ?? err.cause?.code ?? ''
        if (CONNECT_CODES.has(code)) fail('connection_error', `${code}: ${err.message}`)
        else fail('disconnect', `${code ? `${code}: ` : ''}${err.message ?? String(e)}`)
      }
    } finally {
      clearTimeout(timer)
      out.endedAt = performance.now()
    }
    if (out.errorKind) return out
    out.ok = true
    out.ttftMs = firstAt - sentAt
    out.e2elMs = (lastContentAt >= 0 ? lastContentAt : firstAt) - sentAt
    if (usage && typeof usage.completion_tokens === 'number') {
      out.outputTokens = usage.completion_tokens
      if (typeof usage.prompt_tokens === 'number') out.inputTokens = usage.prompt_tokens
      out.tokensFromUsage = true
    } else {
      out.outputTokens = contentChunks
    }
    return out
  }
}

class StreamFault extends Error {
  readonly kind: ErrorKind
  constructor(kind: ErrorKind, message: string) {
    super(message)
    this.kind = kind
  }
}

/** The server's own words from an OpenAI/vLLM error body, else the start of the body. */
export function errorMessageOf(text: string): string {
  try {
    const obj = JSON.parse(text) as {
      error?: { message?: string } | string
      message?: string
      detail?: unknown
    }
    const m =
      (typeof obj.error === 'object' ? obj.error?.message : obj.error) ??
      obj.message ??
      (obj.detail ? JSON.stringify(obj.detail) : undefined)
    if (m) return String(m).slice(0, 300)
  } catch {}
  return text.slice(0, 200).trim() || '(empty body)'
}
