// One streaming request, timed with vLLM's definitions (docs/metrics.md):
//   TTFT = first chunk carrying choices − send; E2EL = last content chunk − send;
//   ITL = gaps between content chunks; TPOT = (E2EL − TTFT) / (output_tokens − 1).
// Every SSE event of one network read shares that read's arrival time.
import { performance } from 'node:perf_hooks'
import { type Dispatcher, Pool } from 'undici'
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

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
])
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'])

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

  /**
   * Opens n keep-alive connections ahead of an open-loop trial (n cheap GET /models in parallel),
   * so connection setup does not land on the arrival schedule as dispatch delay.
   */
  async preconnect(n: number): Promise<void> {
    const path = `${this.endpoint.basePath}/models`
    await Promise.all(
      Array.from({ length: n }, () =>
        this.pool
          .request({ path, method: 'GET', headers: this.endpoint.headers })
          .then((r) => r.body.dump())
          .catch(() => {}),
      ),
    )
  }

  async close(): Promise<void> {
    await this.pool.destroy()
  }

  /**
   * Sends one request and times it. The send time is taken when undici writes the request to
   * its socket (onRequestStart), not when it was handed to the pool: time spent queued in the
   * client must not count as server latency (in open loop it shows up as dispatch delay).
   */
  send(req: PreparedRequest, plannedAt: number | null): Promise<RequestOutcome> {
    const api = this.endpoint.api
    const timeoutMs = this.timeoutMs
    const parser = new SseParser()
    const handedAt = performance.now()
    const out: RequestOutcome = {
      sentAt: handedAt,
      endedAt: handedAt,
      dispatchDelayMs: null,
      ok: false,
      ttftMs: -1,
      e2elMs: -1,
      itlMs: [],
      inputTokens: req.inputTokensEstimate,
      outputTokens: 0,
      tokensFromUsage: false,
    }
    let firstAt = -1
    let lastChunkAt = -1
    /** Chunks with text: the token count when the server sends no usage. */
    let textChunks = 0
    let usage: Usage | undefined
    let done = false
    let status = 0
    let streaming = false
    let errorBody = ''
    let controller: Dispatcher.DispatchController | null = null
    let timedOut = false

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
        choices?: {
          text?: string
          delta?: { content?: string; reasoning?: string; reasoning_content?: string }
        }[]
        usage?: Usage
        error?: { message?: string }
      }
      try {
        obj = JSON.parse(data)
      } catch {
        throw new StreamFault('malformed_stream', `not JSON in a data: event: ${data.slice(0, 80)}`)
      }
      if (obj.error) throw new StreamFault('malformed_stream', `error event: ${obj.error.message ?? data}`)
      // vLLM's benchmark counts every chunk that carries choices, even with empty text: the
      // EOS token's chunk (finish_reason "stop", no text) is a generated token too.
      const choices = obj.choices
      if (choices && choices.length > 0) {
        if (firstAt < 0) firstAt = now
        else out.itlMs.push(now - lastChunkAt)
        lastChunkAt = now
        const c = choices[0]!
        const d = c.delta
        if (api === 'chat' ? d?.content || d?.reasoning || d?.reasoning_content : c.text) textChunks++
      }
      if (obj.usage) usage = obj.usage
    }

    return new Promise<RequestOutcome>((resolve) => {
      const timer = setTimeout(() => {
        timedOut = true
        controller?.abort(new Error('timeout'))
      }, timeoutMs)
      const finish = () => {
        clearTimeout(timer)
        out.endedAt = performance.now()
        resolve(this.complete(out, firstAt, lastChunkAt, textChunks, usage))
      }
      this.pool.dispatch(
        { path: this.path, method: 'POST', headers: this.headers, body: req.body },
        {
          onRequestStart(c) {
            controller = c
            out.sentAt = performance.now()
            out.dispatchDelayMs = plannedAt === null ? null : Math.max(0, out.sentAt - plannedAt)
            if (timedOut) c.abort(new Error('timeout'))
          },
          onResponseStart(_c, statusCode, headers) {
            status = statusCode
            streaming =
              statusCode === 200 && String(headers['content-type'] ?? '').includes('text/event-stream')
            if (statusCode === 200 && !streaming) {
              errorBody = `expected text/event-stream, got ${headers['content-type'] ?? 'no content-type'}: `
            }
          },
          onResponseData(c, chunk) {
            if (!streaming) {
              if (errorBody.length < 4096) errorBody += chunk.toString('utf8')
              return
            }
            const now = performance.now()
            try {
              for (const data of parser.push(chunk)) onEvent(data, now)
            } catch (e) {
              const f = e as StreamFault
              fail(f.kind, f.message)
              c.abort(f)
            }
          },
          onResponseEnd() {
            if (status !== 200) fail(`http_${status}`, `HTTP ${status}: ${errorMessageOf(errorBody)}`)
            else if (!streaming) fail('malformed_stream', errorBody.slice(0, 200))
            else {
              try {
                for (const data of parser.end()) onEvent(data, performance.now())
              } catch (e) {
                const f = e as StreamFault
                fail(f.kind, f.message)
              }
              if (!done) fail('malformed_stream', 'stream ended without data: [DONE]')
              else if (firstAt < 0) fail('malformed_stream', 'stream carried no choices')
            }
            finish()
          },
          onResponseError(_c, e) {
            const err = e as { code?: string; cause?: { code?: string }; message?: string }
            const code = err.code ?? err.cause?.code ?? ''
            if (timedOut || TIMEOUT_CODES.has(code))
              fail('timeout', `no complete response within ${timeoutMs / 1000} s`)
            else {
              if (CONNECT_CODES.has(code)) fail('connection_error', `${code}: ${err.message}`)
              else fail('disconnect', `${code ? `${code}: ` : ''}${err.message ?? String(e)}`)
            }
            finish()
          },
        },
      )
    })
  }

  private complete(
    out: RequestOutcome,
    firstAt: number,
    lastChunkAt: number,
    textChunks: number,
    usage: Usage | undefined,
  ): RequestOutcome {
    if (out.errorKind) return out
    out.ok = true
    out.ttftMs = firstAt - out.sentAt
    out.e2elMs = lastChunkAt - out.sentAt
    if (usage && typeof usage.completion_tokens === 'number') {
      out.outputTokens = usage.completion_tokens
      if (typeof usage.prompt_tokens === 'number') out.inputTokens = usage.prompt_tokens
      out.tokensFromUsage = true
    } else {
      out.outputTokens = textChunks
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
