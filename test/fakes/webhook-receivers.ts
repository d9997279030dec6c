// Webhook receivers on loopback for the service's tests, misbehaving on demand.
//
// FakeSlack is a Slack incoming webhook (https://api.slack.com/messaging/webhooks): a POST of
// JSON with `text` (and optional `blocks`) to /services/T…/B…/…, answered 200 "ok"; a body it
// cannot read is 400 invalid_payload. Its failure answers are Slack's, status and body string
// (https://api.slack.com/changelog/2016-05-17-changes-to-errors-for-incoming-webhooks): 400
// invalid_payload, 403 action_prohibited or invalid_token, 404 channel_not_found or no_service,
// 410 channel_is_archived, and 429 with Retry-After in seconds when rate limited
// (https://api.slack.com/docs/rate-limits). Slack has no idempotency key: a repeat is a second
// message, and it keeps every one.
//
// FakeReceiver is a generic receiver written as docs/notifications.md tells one to be: it checks
// X-Infergate-Signature-256 against the secret (HMAC-SHA256 of the raw body, compared in
// constant time), refuses stale sent_at, and processes each X-Infergate-Delivery once, answering
// a repeat 200 without processing it again.
//
// Both record every request, and fail the next ones on demand: a status, the connection closed
// mid-request (headers read, body not), or the answer sent only after `lateMs` (the request was
// received and processed; the client, given up by then, never sees the answer).
import { createHmac, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Received {
  method: string
  path: string
  headers: IncomingMessage['headers']
  /** The raw body, as signed. */
  body: string
  at: number
  /** What was answered: a status, 'dropped' (connection closed) or 'late' (after lateMs). */
  answer: number | 'dropped' | 'late'
}

export type ReceiverFault =
  | { status: number; body?: string; retryAfter?: string }
  | { drop: true }
  | { lateMs: number }
  | { redirect: string }

/** Slack's documented failures, as Slack answers them. */
export const SLACK_ERRORS = {
  invalid_payload: 400,
  action_prohibited: 403,
  invalid_token: 403,
  channel_not_found: 404,
  no_service: 404,
  channel_is_archived: 410,
} as const

abstract class Receiver {
  readonly requests: Received[] = []
  url = ''
  #server: Server | null = null
  #faults: ReceiverFault[] = []
  #late = new Set<ServerResponse>()

  async start(): Promise<this> {
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((e) => {
        if (!res.headersSent) res.writeHead(500).end(String(e))
      })
    })
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.#server!.address() as AddressInfo).port}`
    return this
  }

  async close(): Promise<void> {
    for (const res of this.#late) res.destroy()
    this.#server?.closeAllConnections()
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()) ?? resolve())
  }

  /** The next `times` requests get `fault`, in order after those already queued. */
  fail(fault: ReceiverFault, times = 1): void {
    for (let i = 0; i < times; i++) this.#faults.push(fault)
  }

  /** Faults not yet met. */
  get faultsLeft(): number {
    return this.#faults.length
  }

  /** What the receiver does with a request it accepts: [status, body, content type]. */
  protected abstract accept(r: Received): [number, string, string]

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const r: Received = {
      method: req.method ?? '',
      path: new URL(req.url ?? '/', 'http://x').pathname,
      headers: req.headers,
      body: '',
      at: Date.now(),
      answer: 0,
    }
    this.requests.push(r)
    const fault = this.#faults.shift()
    if (fault && 'drop' in fault) {
      // Headers read, the body not: the connection closes under the client's request.
      r.answer = 'dropped'
      req.socket.destroy()
      return
    }
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    r.body = Buffer.concat(chunks).toString('utf8')
    if (fault && 'status' in fault) {
      r.answer = fault.status
      res.writeHead(fault.status, {
        'content-type': 'text/plain',
        ...(fault.retryAfter !== undefined ? { 'retry-after': fault.retryAfter } : {}),
      })
      res.end(fault.body ?? '')
      return
    }
    if (fault && 'redirect' in fault) {
      r.answer = 307
      res.writeHead(307, { location: fault.redirect }).end()
      return
    }
    const [status, body, type] = this.accept(r)
    if (fault && 'lateMs' in fault) {
      // Received and processed; the answer comes after the client has given up.
      r.answer = 'late'
      this.#late.add(res)
      setTimeout(() => {
        this.#late.delete(res)
        if (!res.destroyed) res.writeHead(status, { 'content-type': type }).end(body)
      }, fault.lateMs)
      return
    }
    r.answer = status
    res.writeHead(status, { 'content-type': type }).end(body)
  }
}

export interface SlackMessage {
  text: string
  blocks?: unknown[]
}

export class FakeSlack extends Receiver {
  /** Every message posted to the channel, repeats included (Slack cannot tell them apart). */
  readonly messages: SlackMessage[] = []
  readonly path = '/services/T0INFERGATE/B0WEBHOOK/abcdefghijklmnopqrstuvwx'

  get webhookUrl(): string {
    return `${this.url}${this.path}`
  }

  /** The next `times` posts fail as Slack answers `error`. */
  failAs(error: keyof typeof SLACK_ERRORS, times = 1): void {
    this.fail({ status: SLACK_ERRORS[error], body: error }, times)
  }

  /** The next `times` posts are rate limited: 429 with Retry-After (seconds). */
  rateLimit(retryAfterS: number, times = 1): void {
    this.fail({ status: 429, body: 'rate_limited', retryAfter: String(retryAfterS) }, times)
  }

  protected accept(r: Received): [number, string, string] {
    if (r.method !== 'POST') return [405, 'invalid_method', 'text/plain']
    if (r.path !== this.path) return [404, 'no_service', 'text/plain']
    let message: SlackMessage
    try {
      message = JSON.parse(r.body) as SlackMessage
    } catch {
      return [400, 'invalid_payload', 'text/plain']
    }
    if (
      !String(r.headers['content-type']).startsWith('application/json') ||
      typeof message.text !== 'string'
    ) {
      return [400, 'invalid_payload', 'text/plain']
    }
    this.messages.push(message)
    return [200, 'ok', 'text/plain']
  }
}

export class FakeReceiver extends Receiver {
  /** The webhook's secret, once the service has made it. */
  secret = ''
  /** Events processed, each delivery once, by delivery id. */
  readonly processed = new Map<string, Record<string, unknown>>()
  /** Deliveries received again after being processed (a lost answer's retry). */
  duplicates = 0
  badSignatures = 0
  readonly maxAgeMs: number

  constructor(maxAgeMs = 5 * 60_000) {
    super()
    this.maxAgeMs = maxAgeMs
  }

  protected accept(r: Received): [number, string, string] {
    const json = (status: number, body: unknown): [number, string, string] => [
      status,
      JSON.stringify(body),
      'application/json',
    ]
    const given = String(r.headers['x-infergate-signature-256'] ?? '')
    const expected = `sha256=${createHmac('sha256', this.secret).update(r.body).digest('hex')}`
    if (given.length !== expected.length || !timingSafeEqual(Buffer.from(given), Buffer.from(expected))) {
      this.badSignatures++
      return json(401, { error: 'bad signature' })
    }
    const event = JSON.parse(r.body) as Record<string, unknown>
    if (Math.abs(Date.now() - Date.parse(String(event.sent_at))) > this.maxAgeMs) {
      return json(400, { error: 'stale' })
    }
    const id = String(r.headers['x-infergate-delivery'])
    if (this.processed.has(id)) {
      this.duplicates++
      return json(200, { ok: true, duplicate: true })
    }
    this.processed.set(id, event)
    return json(200, { ok: true })
  }
}
