// Delivers webhooks' messages from the outbox: a Slack incoming webhook's {"text", "blocks"}, or
// a generic receiver's JSON event signed as GitHub signs its own webhooks
// (https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries):
// X-Infergate-Signature-256: sha256=<hex HMAC-SHA256 of the raw body, keyed with the secret>.
// The body carries the attempt's time (sent_at), so the signature covers it and a receiver can
// refuse replays; X-Infergate-Delivery is the same on every attempt, so it can drop repeats.
// Each attempt reads the webhook as it is then (deleted, disabled, URL no longer allowed: refused),
// connects only to addresses the URL rules allow (checked on the address resolved, at connect),
// follows no redirect, reads at most 16 KiB of the answer, and gives up at the deadline.
import { createHmac } from 'node:crypto'
import type { Kysely } from 'kysely'
import { Agent, request } from 'undici'
import { INFERGATE_VERSION } from '../../core/version.ts'
import type { Database } from '../db/database.ts'
import { webhookScope } from '../notifications/holds.ts'
import { WEBHOOK_KINDS } from '../notifications/notification.ts'
import type { Claimed } from '../notifications/outbox.ts'
import type { Deliverer } from '../notifications/worker.ts'
import type { WebhookConfig } from './config.ts'
import { WebhookDelivery, type WebhookEvent } from './event.ts'
import { Unanswered, WebhookAnswer, WebhookRefused, webhookFailure } from './failure.ts'
import { webhookTarget } from './repository.ts'
import { slackMessage } from './slack.ts'
import { displayUrl, guardedLookup, type UrlPolicy, urlProblem } from './url.ts'

/** The most of an answer read (for the error message); the rest is dropped unread. */
export const MAX_ANSWER_BYTES = 16 * 1024

export const SIGNATURE_HEADER = 'x-infergate-signature-256'

/** The signature header's value for `body`, as a receiver computes it to compare. */
export const signatureOf = (secret: string, body: string) =>
  `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`

async function readBounded(
  body: AsyncIterable<Buffer | Uint8Array> & { destroy(): unknown },
): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    const b = Buffer.from(chunk)
    chunks.push(b)
    size += b.byteLength
    if (size >= MAX_ANSWER_BYTES) {
      body.destroy()
      break
    }
  }
  return Buffer.concat(chunks).subarray(0, MAX_ANSWER_BYTES).toString('utf8')
}

/** The connection pool webhooks are posted through: every name checked as it resolves. */
export function webhookAgent(config: Pick<WebhookConfig, keyof UrlPolicy | 'timeoutMs'>): Agent {
  return new Agent({
    connect: { lookup: guardedLookup(config), timeout: config.timeoutMs },
    headersTimeout: config.timeoutMs,
    bodyTimeout: config.timeoutMs,
    keepAliveTimeout: 4_000,
  })
}

export function webhookDeliverer(db: Kysely<Database>, config: WebhookConfig): Deliverer {
  const agent = webhookAgent(config)

  async function post(url: string, where: string, headers: Record<string, string>, body: string) {
    const deadline = AbortSignal.timeout(config.timeoutMs)
    try {
      const res = await request(url, { method: 'POST', headers, body, dispatcher: agent, signal: deadline })
      const text = await readBounded(res.body)
      if (res.statusCode >= 200 && res.statusCode < 300) return { status_code: res.statusCode }
      const after = res.headers['retry-after']
      throw new WebhookAnswer(
        where,
        res.statusCode,
        text,
        Array.isArray(after) ? (after[0] ?? null) : (after ?? null),
      )
    } catch (e) {
      if (e instanceof WebhookAnswer) throw e
      throw new Unanswered(where, deadline.aborted ? 'timeout' : e)
    }
  }

  return {
    kinds: WEBHOOK_KINDS,
    name: 'webhook',
    async deliver(n: Claimed) {
      const d = WebhookDelivery.parse(n.payload)
      const hook = await webhookTarget(db, d.webhook_id)
      if (!hook) throw new WebhookRefused(`webhook ${d.webhook_id} was deleted`)
      const where = `POST ${displayUrl(hook.kind, hook.url)}`
      if (!hook.enabled && d.event.event !== 'test') {
        throw new WebhookRefused(`${where}: webhook ${hook.id} is disabled`)
      }
      const problem = urlProblem(hook.kind, hook.url, config)
      if (problem) throw new WebhookRefused(`${where}: url ${problem}`)
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': `infergate/${INFERGATE_VERSION}`,
      }
      if (hook.kind === 'slack') return post(hook.url, where, headers, JSON.stringify(slackMessage(d.event)))
      if (!hook.secret) throw new WebhookRefused(`${where}: webhook ${hook.id} has no secret`)
      const event: WebhookEvent = { ...d.event, sent_at: new Date().toISOString() }
      const body = JSON.stringify(event)
      return post(
        hook.url,
        where,
        {
          ...headers,
          'x-infergate-event': event.event,
          'x-infergate-delivery': event.delivery_id,
          [SIGNATURE_HEADER]: signatureOf(hook.secret, body),
        },
        body,
      )
    },
    failure: (e) => webhookFailure(e),
    // A receiver's rate limit is on its webhook.
    credential: (n) => webhookScope(String((n.payload as { webhook_id?: unknown }).webhook_id)),
    close: () => agent.close(),
  }
}
