// engine-sim: an OpenAI-compatible server that answers like vLLM with timings you choose, so the
// whole pipeline runs without a GPU and tests know the true latencies. Plain node:http: the
// simulator must out-run the generator it is used to measure.
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { WORDS } from '../core/bench/vocabulary.ts'
import { Rng } from '../core/rng.ts'
import { INFERGATE_VERSION } from '../core/version.ts'
import {
  type Api,
  ApiError,
  ChunkWriter,
  completeResponse,
  parseRequest,
  type SimRequest,
} from './protocol.ts'
import { Scheduler } from './scheduler.ts'

export interface SimOptions {
  host: string
  port: number
  model: string
  ttftMs: number
  itlMs: number
  jitter: number
  maxNumSeqs: number
  batchSlowdown: number
  prefillMsPer1kTokens: number
  failRate: number
  disconnectRate: number
  stallMs: number
  stallRate: number
  seed: number
  maxModelLen: number
  meanOutputTokens: number
  kvCacheTokens: number
  /**
   * Like some real OpenAI-compatible servers: answer `Connection: keep-alive` / `Keep-Alive:
   * timeout=5, max=100` on a streamed response, then close the connection anyway once it ends.
   */
  closeAfterStream: boolean
  /**
   * Like llama.cpp: no `choices: []` usage chunk; `usage` rides on the last chunk with choices
   * (empty text, finish_reason set), sent even without stream_options.include_usage.
   */
  usageInLastChunk: boolean
  /**
   * A slow node phase (thermal throttling, a noisy neighbour): every delay × (1 + by_pct/100)
   * from `after_s` for `for_s` seconds, repeating every `every_s` if given, counted from
   * `epochMs`. Sims given the same epoch slow down together, as two servers on one node do.
   */
  slowPhase: SlowPhase | null
  /** Time zero of the slow phase (Unix ms); default: when the sim starts. */
  epochMs: number | null
}

export interface SlowPhase {
  after_s: number
  for_s: number
  by_pct: number
  every_s: number | null
}

/** The delay factor of a slow phase at a moment. */
export function phaseFactor(p: SlowPhase | null, epochMs: number, nowMs: number): number {
  if (!p) return 1
  let t = (nowMs - epochMs) / 1000
  if (p.every_s) t = ((t % p.every_s) + p.every_s) % p.every_s
  return t >= p.after_s && t < p.after_s + p.for_s ? 1 + p.by_pct / 100 : 1
}

export const SIM_DEFAULTS: SimOptions = {
  host: '127.0.0.1',
  port: 8000,
  model: 'sim-llama-3-8b',
  ttftMs: 50,
  itlMs: 10,
  jitter: 0.05,
  maxNumSeqs: 256,
  batchSlowdown: 0,
  prefillMsPer1kTokens: 0,
  failRate: 0,
  disconnectRate: 0,
  stallMs: 0,
  stallRate: 1,
  seed: 0,
  maxModelLen: 8192,
  meanOutputTokens: 256,
  kvCacheTokens: 262_144,
  closeAfterStream: false,
  usageInLastChunk: false,
  slowPhase: null,
  epochMs: null,
}

const MAX_BODY_BYTES = 16 * 1024 * 1024
/** Most tokens written in one go when they are all due (itl 0); then the loop serves others. */
const MAX_BURST = 64
/**
 * --close-after-stream: how long the connection stays open after a streamed response ends. Long
 * enough for a keep-alive client to write its next request on the socket before the FIN reaches
 * it (the race real servers lose), far shorter than any request.
 */
const CLOSE_AFTER_STREAM_MS = 2

export interface EngineSim {
  server: Server
  url: string
  scheduler: Scheduler
  close(): Promise<void>
}

export async function startEngineSim(options: Partial<SimOptions> = {}): Promise<EngineSim> {
  const o: SimOptions = { ...SIM_DEFAULTS, ...options }
  const epoch = o.epochMs ?? Date.now()
  const slow = () => phaseFactor(o.slowPhase, epoch, Date.now())
  const scheduler = new Scheduler(o.maxNumSeqs, o.kvCacheTokens)
  let counter = 0
  const lateness = new Lateness()
  /** --close-after-stream: connections whose response has ended and that are about to close. */
  const closing = new WeakSet<Socket>()
  const server = createServer((req, res) => {
    // A request that arrives on a connection already condemned is never seen by the engine: it is
    // lost with the connection, as on the real servers this emulates (no counter, no fate drawn).
    if (closing.has(req.socket)) return void req.socket.destroy()
    handle(req, res).catch((e: Error) => {
      if (!res.headersSent) send(res, new ApiError(500, e.message))
      else res.destroy()
    })
  })
  server.keepAliveTimeout = 60_000

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // The clock starts when the request arrives, not after parsing: the simulated TTFT must not
    // grow with the simulator's own overhead when many requests arrive at once.
    const arrivedAt = performance.now()
    const path = (req.url ?? '/').split('?')[0]!.replace(/^\/openai(?=\/v1\/)/, '')
    if (req.method === 'GET') {
      if (path === '/health') return void res.writeHead(200).end()
      if (path === '/version') return json(res, 200, { version: `engine-sim-${INFERGATE_VERSION}` })
      if (path === '/metrics') return metrics(res)
      if (path === '/v1/models') {
        return json(res, 200, {
          object: 'list',
          data: [
            {
              id: o.model,
              object: 'model',
              created: Math.floor(Date.now() / 1000),
              owned_by: 'vllm',
              root: o.model,
              parent: null,
              max_model_len: o.maxModelLen,
            },
          ],
        })
      }
    }
    const api: Api | null =
      path === '/v1/completions' ? 'completions' : path === '/v1/chat/completions' ? 'chat' : null
    if (api === null) return send(res, new ApiError(404, `Not Found: ${req.method} ${req.url}`))
    if (req.method !== 'POST') return send(res, new ApiError(405, 'Method Not Allowed'))
    const text = await readBody(req)
    if (text === null) return send(res, new ApiError(413, `request body over ${MAX_BODY_BYTES} bytes`))
    let raw: unknown
    try {
      raw = JSON.parse(text)
    } catch (e) {
      return send(res, new ApiError(400, `JSON decode error: ${(e as Error).message}`))
    }
    let request: SimRequest
    try {
      request = parseRequest(api, raw, { model: o.model, maxModelLen: o.maxModelLen })
    } catch (e) {
      if (e instanceof ApiError) return send(res, e)
      throw e
    }
    const rng = new Rng(o.seed, counter++)
    if (rng.next() < o.failRate) return send(res, new ApiError(500, 'simulated engine failure (--fail-rate)'))
    await generate(request, rng, res, arrivedAt)
  }

  async function generate(r: SimRequest, rng: Rng, res: ServerResponse, arrivedAt: number) {
    let gone = false
    res.on('close', () => {
      gone = true
    })
    const queued = scheduler.running >= scheduler.maxNumSeqs
    await scheduler.admit()
    const startedAt = queued ? performance.now() : arrivedAt
    if (gone) return scheduler.release()
    scheduler.requestsTotal++
    scheduler.promptTokensTotal += r.promptTokens
    scheduler.kvTokens += r.promptTokens
    let held = r.promptTokens
    try {
      const length = r.ignoreEos ? r.maxTokens : Math.min(r.maxTokens, naturalLength(rng, o.meanOutputTokens))
      const finish = length === r.maxTokens ? 'length' : 'stop'
      // Checked after token i is written (i = 1 … length): a cut anywhere before [DONE].
      const disconnectAt = rng.next() < o.disconnectRate ? 1 + rng.int(length) : -1
      const stallAt = o.stallMs > 0 && rng.next() < o.stallRate ? rng.int(length) : -1
      const id = `${r.api === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomBytes(8).toString('hex')}`
      const created = Math.floor(Date.now() / 1000)
      const writer = new ChunkWriter(r.api, id, r.model, created)
      let due =
        startedAt +
        (o.ttftMs + (o.prefillMsPer1kTokens * r.promptTokens) / 1000) * rng.jitter(o.jitter) * slow()
      if (r.stream) {
        res.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache',
          ...(o.closeAfterStream ? { connection: 'keep-alive', 'keep-alive': 'timeout=5, max=100' } : {}),
        })
        res.flushHeaders()
        if (o.closeAfterStream) closeWhenFinished(res, closing)
      }
      let text = ''
      let i = 0
      const firstDue = due
      while (i < length) {
        const first = i === 0
        if (i === 0) await waitPrecisely(due, res)
        // libuv's clock is whole milliseconds, so a timer can fire up to 1 ms early: re-check.
        for (let wait = due - performance.now(); wait > 0 && !gone; wait = due - performance.now()) {
          await sleepWhileOpen(wait, res)
        }
        if (gone) return
        let out = i === 0 && r.api === 'chat' ? writer.role() : ''
        let burst = 0
        do {
          if (i === stallAt) due += o.stallMs
          const last = i === length - 1
          // As in vLLM, a natural stop ends with the EOS token: counted, but it has no text.
          const word = last && finish === 'stop' ? '' : ` ${WORDS[rng.int(WORDS.length)]}`
          if (!r.stream) text += word
          else if (!last || !o.usageInLastChunk) out += writer.token(word, last ? finish : null)
          else {
            // llama.cpp's shape: the closing chunk has no text, the finish_reason and the usage.
            // A natural stop's EOS token is that chunk; a length stop sends its last word first.
            if (finish === 'length') out += writer.token(word, null)
            out += writer.token('', finish, writer.usageField(r.promptTokens, length))
          }
          i++
          held++
          scheduler.kvTokens++
          scheduler.generationTokensTotal++
          if (i === disconnectAt) {
            res.write(out)
            res.destroy()
            return
          }
          due += o.itlMs * (1 + o.batchSlowdown * (scheduler.running - 1)) * rng.jitter(o.jitter) * slow()
        } while (i < length && due <= performance.now() && ++burst < MAX_BURST)
        if (first && r.stream) lateness.add(performance.now() - firstDue)
        if (r.stream && !res.write(out)) await drainedOrClosed(res)
        if (gone) return
        if (burst >= MAX_BURST) await new Promise(setImmediate)
      }
      if (!r.stream) {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(completeResponse(r.api, id, r.model, created, text, finish, r.promptTokens, length))
        return
      }
      let tail = ''
      if (r.includeUsage && !o.usageInLastChunk) tail += writer.usage(r.promptTokens, length)
      res.end(tail + ChunkWriter.done())
    } finally {
      scheduler.kvTokens -= held
      scheduler.release()
    }
  }

  function metrics(res: ServerResponse) {
    const label = `{model_name=${JSON.stringify(o.model)}}`
    const lines = [
      '# HELP vllm:num_requests_running Number of requests in model execution batches.',
      '# TYPE vllm:num_requests_running gauge',
      `vllm:num_requests_running${label} ${scheduler.running}`,
      '# HELP vllm:num_requests_waiting Number of requests waiting to be processed.',
      '# TYPE vllm:num_requests_waiting gauge',
      `vllm:num_requests_waiting${label} ${scheduler.waiting}`,
      '# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.',
      '# TYPE vllm:kv_cache_usage_perc gauge',
      `vllm:kv_cache_usage_perc${label} ${scheduler.kvUsage()}`,
      '# HELP vllm:prompt_tokens_total Number of prefill tokens processed.',
      '# TYPE vllm:prompt_tokens_total counter',
      `vllm:prompt_tokens_total${label} ${scheduler.promptTokensTotal}`,
      '# HELP vllm:generation_tokens_total Number of generation tokens processed.',
      '# TYPE vllm:generation_tokens_total counter',
      `vllm:generation_tokens_total${label} ${scheduler.generationTokensTotal}`,
      '# HELP vllm:request_success_total Count of successfully processed requests.',
      '# TYPE vllm:request_success_total counter',
      `vllm:request_success_total${label} ${scheduler.requestsTotal}`,
      // Not vLLM's: how late the simulator itself wrote first tokens (its own event loop busy),
      // so a benchmark of the load generator can tell the simulator's error from its own.
      '# HELP infergate_sim_first_token_lateness_seconds How long after its due time the first token was written.',
      '# TYPE infergate_sim_first_token_lateness_seconds summary',
      `infergate_sim_first_token_lateness_seconds{quantile="0.5"} ${lateness.median() / 1000}`,
      `infergate_sim_first_token_lateness_seconds_sum ${lateness.sum / 1000}`,
      `infergate_sim_first_token_lateness_seconds_count ${lateness.count}`,
    ]
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' })
    res.end(`${lines.join('\n')}\n`)
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(o.port, o.host, () => resolve())
  })
  const addr = server.address() as AddressInfo
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address
  return {
    server,
    url: `http://${host}:${addr.port}/v1`,
    scheduler,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

/** Where the model would stop on its own: geometric, as if EOS could come after any token. */
function naturalLength(rng: Rng, mean: number): number {
  return 1 + Math.floor(Math.log(1 - rng.next()) / Math.log(1 - 1 / mean))
}

/** First-token lateness in ms: a sum, and a bounded sample (the latest 100,000) for the median. */
class Lateness {
  sum = 0
  count = 0
  private readonly kept = new Float64Array(100_000)
  add(ms: number): void {
    this.kept[this.count % this.kept.length] = ms
    this.sum += ms
    this.count++
  }
  median(): number {
    const n = Math.min(this.count, this.kept.length)
    if (n === 0) return 0
    const s = this.kept.slice(0, n).sort()
    return n % 2 ? s[n >> 1]! : (s[(n >> 1) - 1]! + s[n >> 1]!) / 2
  }
}

/**
 * Timers fire up to a millisecond off; TTFT is the figure users check to the millisecond, so the
 * first token sleeps until just before it is due and then yields to the event loop until it is.
 * Later tokens use plain timers: their times are absolute, so lateness never accumulates.
 */
async function waitPrecisely(due: number, res: ServerResponse): Promise<void> {
  const ahead = due - performance.now()
  if (ahead > 2) await sleepWhileOpen(ahead - 1.5, res)
  while (performance.now() < due && !res.closed) await new Promise(setImmediate)
}

/**
 * --close-after-stream: once the response's last byte is handed to the kernel, the connection
 * is condemned (requests still arriving on it are dropped unseen) and closed a moment later.
 */
function closeWhenFinished(res: ServerResponse, closing: WeakSet<Socket>): void {
  const socket = res.socket
  if (!socket) return
  res.once('finish', () => {
    closing.add(socket)
    setTimeout(() => socket.destroy(), CLOSE_AFTER_STREAM_MS)
  })
}

/** Backpressure: a socket that is destroyed never drains, so also stop waiting when it closes. */
function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.once('drain', done)
    res.once('close', done)
  })
}

/** Waits ms, or less if the client goes away (so a stopped server has no timers left to run). */
function sleepWhileOpen(ms: number, res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      res.off('close', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    res.once('close', done)
  })
}

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

function send(res: ServerResponse, e: ApiError) {
  res.writeHead(e.status, { 'content-type': 'application/json' })
  res.end(e.body())
}

function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > MAX_BODY_BYTES) {
        resolve(null)
        req.resume()
        return
      }
      chunks.push(c)
    })
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? null : Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}
