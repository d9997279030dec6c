// One streaming request, timed with vLLM's definitions (docs/metrics.md):
//   TTFT = first chunk carrying choices − send; E2EL = last content chunk − send;
//   ITL = gaps between content chunks; TPOT = (E2EL − TTFT) / (output_tokens − 1).
// Every SSE event of one network read shares that read's arrival time, taken before anything
// else is done with the read (the socket's first 'readable' listener, ahead of undici's parser);
// parsing the events waits until every socket ready in the same turn of the event loop has been
// stamped, so one stream's timestamps do not wait for the parsing of the others'.
//
// Real servers misbehave and the figures must stay exact anyway: some close a kept-alive
// connection after every stream (a request written on it in the meantime is lost unseen, so it
// is retried once on a fresh connection and counted apart), some send usage on a closing chunk
// that is no token (left out of the timings).

import type { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { buildConnector, Client, type Dispatcher, Pool } from 'undici'
import { storable } from '../limits.ts'
import type { Endpoint } from './endpoint.ts'
import { routePath } from './endpoint.ts'
import { SseParser } from './sse.ts'
import type { PreparedRequest } from './workload.ts'

export type ErrorKind = `http_${number}` | 'timeout' | 'disconnect' | 'malformed_stream' | 'connection_error'

export interface RequestOutcome {
  /** performance.now() at send (of the retry, when there was one). */
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
  /** Lost on a reused connection before any response byte, and sent again on a fresh one. */
  retried?: boolean
  /** Cut short by cancel() (the run was interrupted): neither completed nor failed. */
  cancelled?: boolean
  /** Also cancelled: due before the trial's deadline, but not on the wire by then (see sendBy). */
  unsent?: boolean
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
/**
 * How a connection the server already closed fails a request written on it: undici's "other
 * side closed" (the FIN came after the write), a reset (the request reached a closed socket), or
 * a broken pipe (the write itself failed).
 */
const CLOSED_CONNECTION_CODES = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE'])

interface Usage {
  prompt_tokens?: number
  completion_tokens?: number
}

/** Where undici's dispatch options carry the attempt to the connection that takes it. */
const ATTEMPT = Symbol('attempt')
type AttemptOptions = Dispatcher.DispatchOptions & { [ATTEMPT]?: Attempt }

/**
 * One connection of the pool: undici's Client, knowing the socket it runs on now. undici does not
 * tell a request which connection carries it; it does hand the same options object to the
 * connection it picks, so the attempt rides there.
 */
class Connection extends Client {
  socket: Socket | null = null
  /** performance.now() when the socket's latest read reached JavaScript, before undici parsed it. */
  arrivedAt = -1

  override dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const attempt = (opts as AttemptOptions)[ATTEMPT]
    if (attempt) attempt.connection = this
    return super.dispatch(opts, handler)
  }
}

export class StreamClient {
  private readonly pool: Pool
  private readonly path: string
  private readonly headers: Record<string, string>
  private readonly connector: buildConnector.connector
  private readonly clientOptions: Client.Options
  private readonly inflight = new Set<Attempt>()
  /** One-off connections of retries, closed when their request ends. */
  private readonly fresh = new Set<Connection>()
  private cancelled = false
  /**
   * The trial's deadline (--duration), performance.now(): a request that has not reached its
   * socket by then is never written. Handed to the pool in time, it can still wait there for a
   * connection, or on a SYN the server's full accept queue dropped (retried after 1 s): sent
   * that late it would run the trial past its end, timed from a send nobody scheduled.
   */
  sendBy = Number.POSITIVE_INFINITY
  readonly endpoint: Endpoint
  readonly timeoutMs: number

  constructor(endpoint: Endpoint, timeoutMs: number, connections: number | null) {
    this.endpoint = endpoint
    this.timeoutMs = timeoutMs
    this.connector = buildConnector({ timeout: Math.min(timeoutMs, 30_000) })
    this.clientOptions = { pipelining: 1, headersTimeout: timeoutMs, bodyTimeout: timeoutMs }
    this.pool = new Pool(endpoint.origin, {
      ...this.clientOptions,
      connections,
      connect: this.connector,
      factory: (origin, opts) => this.connection(origin, opts as Client.Options),
    })
    this.path = routePath(endpoint)
    this.headers = { 'content-type': 'application/json', accept: 'text/event-stream', ...endpoint.headers }
  }

  /** A connection whose socket is known: each new socket is noted as undici's connector makes it. */
  private connection(origin: string | URL, opts: Client.Options): Connection {
    const base = opts.connect as buildConnector.connector
    const c: Connection = new Connection(origin, {
      ...opts,
      connect: (o, callback) =>
        base(o, (...args) => {
          const socket = args[1]
          if (socket) {
            c.socket = socket
            // Ahead of the listener undici adds once connected, so it runs first on every read.
            // The stamp is good for this read only: undici parses it in the same 'readable'
            // event, and a read undici makes at another moment must not inherit it.
            socket.prependListener('readable', () => {
              c.arrivedAt = performance.now()
              queueMicrotask(() => {
                c.arrivedAt = -1
              })
            })
          }
          callback(...args)
        }),
    })
    return c
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

  /** Aborts every request in flight and every later one: they end as `cancelled`. */
  cancel(): void {
    this.cancelled = true
    for (const a of this.inflight) a.cancel()
  }

  async close(): Promise<void> {
    await Promise.all([this.pool.destroy(), ...[...this.fresh].map((c) => c.destroy())])
  }

  /**
   * Sends one request and times it. The send time is taken when undici writes the request to
   * its socket (onRequestStart), not when it was handed to the pool: time spent queued in the
   * client must not count as server latency (in open loop it shows up as dispatch delay).
   *
   * A request lost on a reused connection before any byte of its response arrived never reached
   * the engine as far as anyone can tell (the keep-alive race of RFC 9112 §9.3.1: the server
   * closed the connection while the request was on its way): it is sent once more, on a fresh
   * connection, and marked `retried`. Its timings are those of the second send. On a fresh
   * connection, or once any byte arrived, a failure is the server's and is reported as such.
   */
  async send(req: PreparedRequest, plannedAt: number | null): Promise<RequestOutcome> {
    const deadline = performance.now() + this.timeoutMs
    const first = await this.attempt(this.pool, req, plannedAt, deadline)
    if (!first.retryable) return first.out
    if (this.cancelled) {
      // Lost with its connection as the run stops: unmeasured, like the ones cancel() cut.
      first.out.cancelled = true
      return first.out
    }
    if (performance.now() > this.sendBy) {
      // Its second send would leave after the deadline: unsent, like one still queued then.
      first.out.cancelled = true
      first.out.unsent = true
      return first.out
    }
    const fresh = this.connection(this.endpoint.origin, { ...this.clientOptions, connect: this.connector })
    this.fresh.add(fresh)
    try {
      const second = await this.attempt(fresh, req, plannedAt, deadline)
      second.out.retried = true
      return second.out
    } finally {
      this.fresh.delete(fresh)
      void fresh.close().catch(() => {})
    }
  }

  private attempt(
    dispatcher: Dispatcher,
    req: PreparedRequest,
    plannedAt: number | null,
    deadline: number,
  ): Promise<{ out: RequestOutcome; retryable: boolean }> {
    return new Promise((resolve) => {
      const a = new Attempt(
        this.endpoint.api,
        req,
        plannedAt,
        deadline - performance.now(),
        this.sendBy,
        (result) => {
          this.inflight.delete(a)
          resolve(result)
        },
      )
      this.inflight.add(a)
      if (this.cancelled) a.cancel()
      const opts: AttemptOptions = {
        path: this.path,
        method: 'POST',
        headers: this.headers,
        body: req.body,
        [ATTEMPT]: a,
      }
      dispatcher.dispatch(opts, a)
    })
  }
}

/** One send of a request: the undici handler that times its stream. */
class Attempt implements Dispatcher.DispatchHandler {
  /** Set by the connection that takes the request (Connection.dispatch). */
  connection: Connection | null = null
  private readonly api: Endpoint['api']
  private readonly timeoutMs: number
  private readonly plannedAt: number | null
  private readonly sendBy: number
  private readonly done: (r: { out: RequestOutcome; retryable: boolean }) => void
  private readonly parser = new SseParser()
  private readonly out: RequestOutcome
  private readonly timer: NodeJS.Timeout
  private controller: Dispatcher.DispatchController | null = null
  private timedOut = false
  private cancelled = false
  /** The socket the request was written on, and how much it had read before: > 0 means reused. */
  private socket: Socket | null = null
  private bytesBefore = 0
  private status = 0
  private streaming = false
  private errorBody = ''
  private finished = false
  private firstAt = -1
  private lastChunkAt = -1
  private prevChunkAt = -1
  /** Chunks with choices, and whether the first was chat's role-only opener (not a token). */
  private chunks = 0
  private roleOpener = false
  /** The last chunk with choices: no text, a finish_reason, usage on it (a possible trailer). */
  private lastChunkTrailerLike = false
  /** Chunks with text: the token count when the server sends no usage. */
  private textChunks = 0
  private usage: Usage | undefined
  private doneEvent = false
  /** Reads not yet parsed, and when each arrived. */
  private pending: Buffer[] = []
  private pendingAt: number[] = []

  constructor(
    api: Endpoint['api'],
    req: PreparedRequest,
    plannedAt: number | null,
    timeoutMs: number,
    sendBy: number,
    done: (r: { out: RequestOutcome; retryable: boolean }) => void,
  ) {
    this.api = api
    this.plannedAt = plannedAt
    this.sendBy = sendBy
    this.timeoutMs = timeoutMs
    this.done = done
    const now = performance.now()
    this.out = {
      sentAt: now,
      endedAt: now,
      dispatchDelayMs: null,
      ok: false,
      ttftMs: -1,
      e2elMs: -1,
      itlMs: [],
      inputTokens: req.inputTokensEstimate,
      outputTokens: 0,
      tokensFromUsage: false,
      retried: false,
      cancelled: false,
    }
    this.timer = setTimeout(
      () => {
        this.timedOut = true
        this.controller?.abort(new Error('timeout'))
      },
      Math.max(0, timeoutMs),
    )
  }

  cancel(): void {
    this.cancelled = true
    this.controller?.abort(new Error('interrupted'))
  }

  onRequestStart(c: Dispatcher.DispatchController): void {
    this.controller = c
    this.socket = this.connection?.socket ?? null
    this.bytesBefore = this.socket?.bytesRead ?? 0
    const out = this.out
    out.sentAt = performance.now()
    out.dispatchDelayMs = this.plannedAt === null ? null : Math.max(0, out.sentAt - this.plannedAt)
    // undici calls this before it writes a byte: aborted here, the request never leaves.
    if (out.sentAt > this.sendBy && !this.timedOut) {
      out.unsent = true
      this.cancelled = true
    }
    if (this.timedOut) c.abort(new Error('timeout'))
    else if (this.cancelled) c.abort(new Error('interrupted'))
  }

  onResponseStart(
    _c: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    this.status = statusCode
    this.streaming = statusCode === 200 && String(headers['content-type'] ?? '').includes('text/event-stream')
    if (statusCode === 200 && !this.streaming) {
      this.errorBody = `expected text/event-stream, got ${headers['content-type'] ?? 'no content-type'}: `
    }
  }

  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.streaming) {
      if (this.errorBody.length < 4096) this.errorBody += chunk.toString('utf8')
      return
    }
    // The read's arrival (see Connection), never before this send (a reply read in the turn the
    // request was written in); parsed after the turn, by deferParse.
    const stamped = this.connection?.arrivedAt ?? -1
    const at = Math.max(stamped < 0 ? performance.now() : stamped, this.out.sentAt)
    if (this.pending.length === 0) deferParse(this)
    this.pending.push(chunk)
    this.pendingAt.push(at)
  }

  /** Parses the reads that arrived since the last call, each with its own arrival time. */
  parsePending(): void {
    const chunks = this.pending
    const ats = this.pendingAt
    if (chunks.length === 0 || this.finished) return
    this.pending = []
    this.pendingAt = []
    try {
      for (let i = 0; i < chunks.length; i++) {
        for (const data of this.parser.push(chunks[i]!)) this.onEvent(data, ats[i]!)
      }
    } catch (e) {
      const f = e as StreamFault
      this.fail(f.kind, f.message)
      this.controller?.abort(f)
    }
  }

  onResponseEnd(): void {
    this.parsePending()
    if (this.status !== 200)
      this.fail(`http_${this.status}`, `HTTP ${this.status}: ${errorMessageOf(this.errorBody)}`)
    else if (!this.streaming) this.fail('malformed_stream', this.errorBody.slice(0, 200))
    else {
      try {
        for (const data of this.parser.end()) this.onEvent(data, performance.now())
      } catch (e) {
        const f = e as StreamFault
        this.fail(f.kind, f.message)
      }
      if (!this.doneEvent) this.fail('malformed_stream', 'stream ended without data: [DONE]')
      else if (this.firstAt < 0) this.fail('malformed_stream', 'stream carried no choices')
    }
    this.finish(false)
  }

  onResponseError(_c: Dispatcher.DispatchController, e: Error): void {
    // What arrived before the failure is parsed first: a fault in it is the better reason.
    this.parsePending()
    const err = e as { code?: string; cause?: { code?: string }; message?: string }
    const code = err.code ?? err.cause?.code ?? ''
    if (this.cancelled) {
      this.out.cancelled = true
      this.finish(false)
      return
    }
    // Lost with a connection the server had closed: written on a reused socket, and not one byte
    // of the response read from it since.
    const retryable =
      !this.timedOut &&
      CLOSED_CONNECTION_CODES.has(code) &&
      this.socket !== null &&
      this.bytesBefore > 0 &&
      this.socket.bytesRead === this.bytesBefore &&
      this.status === 0
    if (this.timedOut || TIMEOUT_CODES.has(code))
      this.fail('timeout', `no complete response within ${this.timeoutMs / 1000} s`)
    else if (CONNECT_CODES.has(code)) this.fail('connection_error', `${code}: ${err.message}`)
    else this.fail('disconnect', `${code ? `${code}: ` : ''}${err.message ?? String(e)}`)
    this.finish(retryable)
  }

  private fail(kind: ErrorKind, message: string): void {
    if (this.out.errorKind) return
    this.out.errorKind = kind
    // A server's words, into the report: never a reason to refuse the whole run at the end.
    this.out.errorMessage = storable(message, 2_000)
  }

  private onEvent(data: string, now: number): void {
    if (this.doneEvent) return
    if (data === '[DONE]') {
      this.doneEvent = true
      return
    }
    let obj: {
      choices?: {
        text?: string
        finish_reason?: string | null
        delta?: { role?: string; content?: string; reasoning?: string; reasoning_content?: string }
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
      if (this.firstAt < 0) this.firstAt = now
      else this.out.itlMs.push(now - this.lastChunkAt)
      this.prevChunkAt = this.lastChunkAt
      this.lastChunkAt = now
      const c = choices[0]!
      const d = c.delta
      const text = this.api === 'chat' ? d?.content || d?.reasoning || d?.reasoning_content : c.text
      if (text) this.textChunks++
      if (this.chunks === 0 && this.api === 'chat' && d?.role !== undefined && !text) this.roleOpener = true
      this.chunks++
      this.lastChunkTrailerLike = !text && !!c.finish_reason && obj.usage !== undefined
    }
    if (obj.usage) this.usage = obj.usage
  }

  private finish(retryable: boolean): void {
    if (this.finished) return
    this.finished = true
    clearTimeout(this.timer)
    this.out.endedAt = performance.now()
    if (!this.out.errorKind && !this.out.cancelled) this.complete()
    this.done({ out: this.out, retryable: retryable && !this.out.cancelled })
  }

  private complete(): void {
    const out = this.out
    const usage = this.usage
    out.ok = true
    if (usage && typeof usage.completion_tokens === 'number') {
      out.outputTokens = usage.completion_tokens
      if (typeof usage.prompt_tokens === 'number') out.inputTokens = usage.prompt_tokens
      out.tokensFromUsage = true
      // llama.cpp-style servers close the stream with a chunk that has choices but no text, the
      // finish_reason and the usage. When usage counts one token fewer than the chunks (chat's
      // role opener aside), that chunk is no token: it must not end E2EL nor add an ITL gap.
      // (When the counts agree it is the EOS token, as vLLM's empty stop chunk, and counts.)
      const tokenChunks = this.chunks - (this.roleOpener ? 1 : 0)
      if (this.lastChunkTrailerLike && this.chunks >= 2 && tokenChunks === usage.completion_tokens + 1) {
        out.itlMs.pop()
        this.lastChunkAt = this.prevChunkAt
      }
    } else {
      out.outputTokens = this.textChunks
    }
    out.ttftMs = this.firstAt - out.sentAt
    out.e2elMs = this.lastChunkAt - out.sentAt
  }
}

/**
 * Attempts with reads to parse once the current turn's reads are all stamped. setImmediate runs
 * after the poll phase, in which libuv hands over every socket that was ready together.
 */
let deferred: Attempt[] = []
function deferParse(a: Attempt): void {
  if (deferred.length === 0) setImmediate(parseDeferred)
  deferred.push(a)
}
function parseDeferred(): void {
  const batch = deferred
  deferred = []
  for (const a of batch) a.parsePending()
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
