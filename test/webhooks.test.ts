// Webhooks end to end: the service over real HTTP, with a fake Slack incoming webhook and a fake
// generic receiver on loopback (test/fakes/webhook-receivers.ts) that misbehave on demand. The
// API manages them; reports go in through the API; what the receivers got is read from their
// records. Then the rules alone: URLs (SSRF), failures, the outbox's keys and holds, the schema.
import { createHmac } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Kysely } from 'kysely'
import { Migrator } from 'kysely/migration'
import { request } from 'undici'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Comparison } from '../core/detect/comparison.ts'
import { parseReport, type Report } from '../core/report.ts'
import { ServiceClient } from '../core/service-client.ts'
import { migrations } from '../migrations/index.ts'
import { DEFAULT_CONFIG, type ServiceConfig } from '../service/app.ts'
import { type DatabaseTarget, migrateToLatest, openDatabase } from '../service/db/connect.ts'
import { EVERY_ACCOUNT, holdCredential, webhookScope } from '../service/notifications/holds.ts'
import type { NewNotification } from '../service/notifications/notification.ts'
import { claim, enqueue, type NotificationView } from '../service/notifications/outbox.ts'
import { DEFAULT_OUTBOX, type Failure, type OutboxSettings } from '../service/notifications/worker.ts'
import { createProject } from '../service/projects/repository.ts'
import { type RunningService, startService } from '../service/server.ts'
import { DEFAULT_WEBHOOKS, type WebhookConfig, webhookConfigFromEnv } from '../service/webhooks/config.ts'
import { webhookAgent, webhookDeliverer } from '../service/webhooks/deliver.ts'
import { eventOfRun, testEvent, WebhookEvent } from '../service/webhooks/event.ts'
import { retryAfterAt, Unanswered, WebhookAnswer, webhookFailure } from '../service/webhooks/failure.ts'
import { webhookNotification } from '../service/webhooks/notify.ts'
import { createWebhook, lastGateVerdict } from '../service/webhooks/repository.ts'
import { slackMessage } from '../service/webhooks/slack.ts'
import {
  AddressRefused,
  addressAllowed,
  displayUrl,
  guardedLookup,
  urlProblem,
} from '../service/webhooks/url.ts'
import { engine, freshDatabase } from './db-helpers.ts'
import { FakeReceiver, FakeSlack, SLACK_ERRORS } from './fakes/webhook-receivers.ts'
import { ciIdentity, makeReport } from './report-factory.ts'

const ADMIN = 'admin-secret'
const FAST: OutboxSettings = {
  pollMs: 50,
  leaseMs: 10_000,
  maxAttempts: 4,
  backoffMs: 150,
  maxBackoffMs: 2_000,
  rateLimitWaitMs: 400,
  maxRateLimitHolds: 3,
}
// A receiver slower than this has not answered: the late faults answer after 800 ms.
const TIMEOUT_MS = 300
const LOOPBACK: WebhookConfig = {
  ...DEFAULT_WEBHOOKS,
  allowLoopback: true,
  timeoutMs: TIMEOUT_MS,
  outbox: FAST,
}

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  const errors: unknown[] = []
  while (cleanups.length) await cleanups.pop()!().catch((e: unknown) => errors.push(e))
  if (errors.length) throw new AggregateError(errors, 'cleanup failed')
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function eventually<T>(what: string, get: () => Promise<T> | T, done: (v: T) => boolean, ms = 15_000) {
  const until = Date.now() + ms
  for (;;) {
    const v = await get()
    if (done(v)) return v
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`)
    await sleep(25)
  }
}

async function slack(): Promise<FakeSlack> {
  const s = await new FakeSlack().start()
  cleanups.push(() => s.close())
  return s
}
async function receiver(maxAgeMs?: number): Promise<FakeReceiver> {
  const r = await new FakeReceiver(maxAgeMs).start()
  cleanups.push(() => r.close())
  return r
}

async function database(): Promise<DatabaseTarget> {
  const fresh = await freshDatabase()
  cleanups.push(fresh.drop)
  return fresh.target
}

/** A database that outlives its service (PGlite on disk; a Postgres database does anyway). */
async function durableDatabase(): Promise<DatabaseTarget> {
  const target = await database()
  if (engine !== 'pglite') return target
  const dir = mkdtempSync(join(tmpdir(), 'infergate-webhooks-'))
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }))
  return { dataDir: dir }
}

interface Hook {
  id: string
  kind: string
  url: string
  events: string[]
  description: string
  enabled: boolean
  created_at: string
}
interface Delivery extends NotificationView {
  event: string | null
  run_id: string | null
}

interface Harness {
  service: RunningService
  token: string
  client: ServiceClient
  call(
    method: string,
    path: string,
    body?: unknown,
    token?: string | null,
  ): Promise<{ status: number; body: any }>
  /** Creates a webhook (201 expected) and returns it with its secret. */
  hook(
    kind: 'slack' | 'generic',
    url: string,
    more?: Record<string, unknown>,
  ): Promise<{ webhook: Hook; secret?: string }>
  deliveries(id: string): Promise<Delivery[]>
  /** Waits until the webhook has `n` deliveries and none is pending. */
  settledHook(id: string, n: number): Promise<Delivery[]>
  /** Waits until every notification of the run has left pending. */
  settledRun(id: string): Promise<NotificationView[]>
}

const hooksPath = (repo = 'llm') => `/api/v1/projects/acme/${repo}/webhooks`

async function serve(
  target: DatabaseTarget,
  o: { webhooks?: WebhookConfig; token?: string; repo?: string } = {},
): Promise<Harness> {
  const config: ServiceConfig = {
    ...DEFAULT_CONFIG,
    adminToken: ADMIN,
    publicUrl: 'https://infergate.test',
    webhooks: o.webhooks ?? LOOPBACK,
  }
  const service = await startService(target, config, { host: '127.0.0.1', port: 0 })
  let closed = false
  const stop = service.close
  service.close = async () => {
    if (closed) return
    closed = true
    await stop()
  }
  cleanups.push(() => service.close())
  const call = async (method: string, path: string, body?: unknown, token: string | null = harness.token) => {
    const res = await fetch(`${service.url}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    return { status: res.status, body: (await res.json()) as any }
  }
  const harness: Harness = {
    service,
    token: o.token ?? '',
    client: null as unknown as ServiceClient,
    call,
    async hook(kind, url, more = {}) {
      const res = await call('POST', hooksPath(), { kind, url, ...more })
      expect(res.status, JSON.stringify(res.body)).toBe(201)
      return res.body
    },
    async deliveries(id) {
      const res = await call('GET', `${hooksPath()}/${id}/deliveries`)
      expect(res.status).toBe(200)
      return res.body.deliveries
    },
    settledHook: (id, n) =>
      eventually(
        `${n} settled deliveries of webhook ${id}`,
        () => harness.deliveries(id),
        (d) => d.length >= n && d.every((x) => x.state !== 'pending'),
      ),
    settledRun: (id) =>
      eventually(
        `the notifications of run ${id}`,
        async () => (await call('GET', `/api/v1/runs/${id}`)).body.notifications as NotificationView[],
        (ns) => ns.every((n) => n.state !== 'pending'),
      ),
  }
  if (!o.token) {
    const res = await call('POST', '/api/v1/projects', { owner: 'acme', repo: o.repo ?? 'llm' }, ADMIN)
    expect(res.status).toBe(201)
    harness.token = res.body.token
  }
  harness.client = new ServiceClient({ url: service.url, token: harness.token, attempts: 1 })
  return harness
}

let ciRun = 9000
let clock = Date.parse('2026-11-02T00:00:00.000Z')
function report(seed: number, tpot: number, git: Partial<Report['git']>): Report {
  const r = makeReport(seed, [{ tpot, requests: 200 }], { benchmark: 'chat' })
  clock += 60_000
  return parseReport({
    ...r,
    created_at: new Date(clock).toISOString(),
    git: { ...r.git, repository: 'acme/llm', sha: `${seed.toString(16).padStart(8, '0')}cafe`, ...git },
    ci: ciIdentity(ciRun++),
  })
}
const onMain = (seed: number, tpot = 10) =>
  report(seed, tpot, { branch: 'main', event_name: 'push', ref: 'refs/heads/main' })
const onPr = (seed: number, pr: number, tpot = 10) =>
  report(seed, tpot, {
    branch: 'feature',
    base_branch: 'main',
    pr_number: pr,
    event_name: 'pull_request',
    ref: `refs/pull/${pr}/merge`,
  })

const signed = (secret: string, body: string) =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`

describe(`webhooks on ${engine}`, () => {
  it('CRUD: a secret shown once, never listed; a Slack URL redacted; errors name the field', async () => {
    const h = await serve(await database())
    const s = await slack()
    const r = await receiver()

    const generic = await h.hook('generic', `${r.url}/hooks/infergate?token=abc`, {
      events: ['regression'],
      description: 'perf alerts',
    })
    expect(generic.secret).toMatch(/^igwh_[A-Za-z0-9_-]{43}$/)
    expect(generic.webhook).toMatchObject({
      kind: 'generic',
      url: `${r.url}/hooks/…`,
      events: ['regression'],
      description: 'perf alerts',
      enabled: true,
    })
    const slackHook = await h.hook('slack', s.webhookUrl)
    expect(slackHook.secret).toBeUndefined()
    expect(slackHook.webhook.url).toBe(`${s.url}/services/T0INFERGATE/B0WEBHOOK/…`)
    expect(slackHook.webhook.events).toEqual(['regression', 'recovery'])

    const listed = await h.call('GET', hooksPath())
    expect(listed.status).toBe(200)
    expect(listed.body.webhooks.map((w: Hook) => w.id)).toEqual([generic.webhook.id, slackHook.webhook.id])
    const text = JSON.stringify(listed.body)
    expect(text).not.toContain(generic.secret)
    expect(text).not.toContain('abcdefghijklmnopqrstuvwx')
    expect(text).not.toContain('token=abc')
    expect((await h.call('GET', `${hooksPath()}/${slackHook.webhook.id}`)).body.webhook).toEqual(
      slackHook.webhook,
    )

    // Errors name the field.
    const refusals: [unknown, string][] = [
      [{ url: `${r.url}/x` }, 'kind: '],
      [{ kind: 'email', url: `${r.url}/x` }, 'kind: '],
      [{ kind: 'generic' }, 'url: '],
      [{ kind: 'generic', url: 'not a url' }, 'url: expected an absolute https:// URL'],
      [{ kind: 'generic', url: 'http://example.com/hook' }, 'url: expected an https:// URL'],
      [{ kind: 'generic', url: 'https://10.1.2.3/hook' }, 'url: refused: 10.1.2.3 is not a public address'],
      [{ kind: 'generic', url: 'https://169.254.169.254/latest' }, 'url: refused: 169.254.169.254'],
      [{ kind: 'generic', url: 'https://[::ffff:10.0.0.1]/h' }, 'url: refused'],
      [{ kind: 'generic', url: 'https://user:pw@example.com/h' }, 'url: must not hold credentials'],
      [
        { kind: 'slack', url: 'https://example.com/services/T1/B1/x' },
        'url: expected a Slack incoming webhook URL',
      ],
      [
        { kind: 'slack', url: 'https://hooks.slack.com/workflows/T1/A1/1/x' },
        'url: expected a Slack incoming webhook URL',
      ],
      [{ kind: 'generic', url: `${r.url}/y`, events: [] }, 'events: expected at least one event'],
      [{ kind: 'generic', url: `${r.url}/y`, events: ['regression', 'deploy'] }, 'events[1]: '],
      [{ kind: 'generic', url: `${r.url}/y`, secret: 'mine' }, 'secret'],
      [
        { kind: 'generic', url: `${r.url}/y`, description: 'x'.repeat(201) },
        'description: expected at most 200',
      ],
    ]
    for (const [body, named] of refusals) {
      const res = await h.call('POST', hooksPath(), body)
      expect(res.status, JSON.stringify(body)).toBe(400)
      expect(res.body.error.code).toBe('invalid_webhook')
      expect(res.body.error.message, JSON.stringify(body)).toContain(named)
    }
    expect((await h.call('POST', hooksPath(), { kind: 'slack', url: s.webhookUrl })).body.error.code).toBe(
      'webhook_exists',
    )

    // Disabled, then enabled again; its events changed; the URL stays.
    const off = await h.call('PATCH', `${hooksPath()}/${generic.webhook.id}`, { enabled: false })
    expect(off.body.webhook).toMatchObject({ enabled: false, events: ['regression'] })
    const on = await h.call('PATCH', `${hooksPath()}/${generic.webhook.id}`, {
      enabled: true,
      events: ['recovery', 'recovery'],
    })
    expect(on.body.webhook).toMatchObject({ enabled: true, events: ['recovery'] })
    const badChange = await h.call('PATCH', `${hooksPath()}/${generic.webhook.id}`, {
      url: 'https://x.test/',
    })
    expect([badChange.status, badChange.body.error.code]).toEqual([400, 'invalid_webhook'])
    expect(badChange.body.error.message).toContain('url')

    const deleted = await h.call('DELETE', `${hooksPath()}/${generic.webhook.id}`)
    expect(deleted.body).toEqual({ id: generic.webhook.id, deleted: true, cancelled: 0 })
    for (const [method, path] of [
      ['GET', `${hooksPath()}/${generic.webhook.id}`],
      ['DELETE', `${hooksPath()}/${generic.webhook.id}`],
      ['POST', `${hooksPath()}/${generic.webhook.id}/test`],
      ['GET', `${hooksPath()}/nope`],
      ['DELETE', `${hooksPath()}/99999999999999999999999`],
    ] as const) {
      const res = await h.call(method, path)
      expect([res.status, res.body.error.code], `${method} ${path}`).toEqual([404, 'webhook_not_found'])
    }
    expect((await h.call('GET', hooksPath())).body.webhooks).toHaveLength(1)
  })

  it("another project's webhooks look absent; without the project's token nothing is answered", async () => {
    const target = await database()
    const h = await serve(target)
    const s = await slack()
    const mine = await h.hook('slack', s.webhookUrl)
    const other = await h.call('POST', '/api/v1/projects', { owner: 'acme', repo: 'other' }, ADMIN)
    const theirs = other.body.token as string
    // Their token on my project's path: the project is not theirs.
    const list = await h.call('GET', hooksPath(), undefined, theirs)
    expect([list.status, list.body.error.code]).toEqual([404, 'project_not_found'])
    // My webhook's id under their own project: no such webhook.
    for (const [method, suffix] of [
      ['GET', ''],
      ['PATCH', ''],
      ['DELETE', ''],
      ['POST', '/test'],
      ['GET', '/deliveries'],
    ] as const) {
      const res = await h.call(
        method,
        `${hooksPath('other')}/${mine.webhook.id}${suffix}`,
        method === 'PATCH' ? { enabled: false } : undefined,
        theirs,
      )
      expect([res.status, res.body.error.code], `${method} ${suffix}`).toEqual([404, 'webhook_not_found'])
    }
    expect((await h.call('GET', hooksPath('other'), undefined, theirs)).body.webhooks).toEqual([])
    expect((await h.call('GET', hooksPath(), undefined, null)).status).toBe(401)
    expect((await h.call('GET', hooksPath(), undefined, 'igt_wrong')).status).toBe(401)
    // Untouched by all that.
    expect((await h.call('GET', `${hooksPath()}/${mine.webhook.id}`)).body.webhook.enabled).toBe(true)
    expect(s.requests).toHaveLength(0)
  })

  it('tests pile up no further than 10 on a receiver that does not answer: then 429 with Retry-After', async () => {
    const h = await serve(await database())
    const r = await receiver()
    const { webhook } = await h.hook('generic', `${r.url}/infergate`)
    await r.close() // connections refused from now on: every attempt fails and is retried later
    for (let i = 0; i < 10; i++)
      expect((await h.call('POST', `${hooksPath()}/${webhook.id}/test`)).status).toBe(202)
    const refused = await fetch(`${h.service.url}${hooksPath()}/${webhook.id}/test`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.token}` },
    })
    expect(refused.status).toBe(429)
    expect(refused.headers.get('retry-after')).toBe('30')
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('too_many_pending')
  })

  it('a test event is signed: HMAC-SHA256 of the raw body with the secret, the delivery id in header and body', async () => {
    const h = await serve(await database())
    const r = await receiver()
    const { webhook, secret } = await h.hook('generic', `${r.url}/infergate`)
    r.secret = secret!
    const sent = await h.call('POST', `${hooksPath()}/${webhook.id}/test`)
    expect(sent.status).toBe(202)
    expect(sent.body.notification).toMatchObject({
      kind: 'webhook_event',
      webhook_id: webhook.id,
      state: 'pending',
    })
    const [delivery] = await h.settledHook(webhook.id, 1)
    expect(delivery).toMatchObject({
      id: sent.body.notification.id,
      event: 'test',
      state: 'delivered',
      attempts: 1,
      result: { status_code: 200 },
    })

    expect(r.requests).toHaveLength(1)
    const got = r.requests[0]!
    expect(got.headers['content-type']).toBe('application/json')
    expect(got.headers['x-infergate-event']).toBe('test')
    expect(got.headers['x-infergate-signature-256']).toBe(signed(secret!, got.body))
    // Signed with the secret, not with anything else.
    expect(got.headers['x-infergate-signature-256']).not.toBe(signed(`${secret}x`, got.body))
    const event = WebhookEvent.parse(JSON.parse(got.body))
    expect(event.delivery_id).toBe(got.headers['x-infergate-delivery'])
    expect(Math.abs(Date.parse(event.sent_at) - got.at)).toBeLessThan(5_000)
    expect(event).toMatchObject({ event: 'test', project: { owner: 'acme', repo: 'llm' }, run_id: null })
    expect(r.processed.size).toBe(1)
    expect(r.badSignatures).toBe(0)
  })

  it('regressions and recoveries fire when they should, to the webhooks subscribed, and not otherwise', async () => {
    const h = await serve(await database())
    const both = await receiver()
    const recoveries = await receiver()
    const disabled = await receiver()
    const s = await slack()
    const bothHook = await h.hook('generic', `${both.url}/all`)
    both.secret = bothHook.secret!
    const recHook = await h.hook('generic', `${recoveries.url}/recoveries`, { events: ['recovery'] })
    recoveries.secret = recHook.secret!
    const offHook = await h.hook('generic', `${disabled.url}/off`)
    await h.call('PATCH', `${hooksPath()}/${offHook.webhook.id}`, { enabled: false })
    const slackHook = await h.hook('slack', s.webhookUrl, { events: ['regression'] })

    const post = async (r: Report) => {
      const posted = await h.client.postReport(r)
      await h.settledRun(posted.id)
      return posted
    }
    const kindsOf = async (id: string) =>
      (await h.call('GET', `/api/v1/runs/${id}`)).body.notifications.map((n: NotificationView) => n.kind)
    // Three runs on main: no baseline, then no regression: nothing to say.
    const base = []
    for (const seed of [1, 2, 3]) base.push(await post(onMain(seed)))
    for (const b of base) expect(b.comparison.status).not.toBe('regression')
    for (const b of base) expect(await kindsOf(b.id)).toEqual([])

    // PR #7 decodes 25% slower: a regression, to the webhooks told of regressions.
    const slow = await post(onPr(10, 7, 12.5))
    expect(slow.comparison.status).toBe('regression')
    expect(await kindsOf(slow.id)).toEqual(['webhook_event', 'slack_message'])
    // Its next push is fast again: it passes the gate (with three baseline runs of one trial, a
    // change below the resolution cannot be excluded: inconclusive), a recovery from PR #7's
    // regression.
    const fixed = await post(onPr(11, 7))
    expect(['unchanged', 'inconclusive']).toContain(fixed.comparison.status)
    expect(await kindsOf(fixed.id)).toEqual(['webhook_event', 'webhook_event'])
    // Still fine: nothing (the run before it passed).
    const again = await post(onPr(12, 7))
    expect(again.comparison.status).not.toBe('regression')
    expect(await kindsOf(again.id)).toEqual([])
    // Another PR, fine from the start: nothing to recover from.
    const other = await post(onPr(13, 8))
    expect(await kindsOf(other.id)).toEqual([])
    // A regression that lands on main, then main fast again: a regression and a recovery on main.
    const landed = await post(onMain(20, 12.5))
    expect(landed.comparison.status).toBe('regression')
    const back = await post(onMain(21, 10))
    expect(['unchanged', 'improvement', 'inconclusive']).toContain(back.comparison.status)
    expect(await kindsOf(back.id)).toEqual(['webhook_event', 'webhook_event'])

    const events = [...both.processed.values()].map((e) => WebhookEvent.parse(e))
    expect(events.map((e) => [e.event, e.run_id])).toEqual([
      ['regression', slow.id],
      ['recovery', fixed.id],
      ['regression', landed.id],
      ['recovery', back.id],
    ])
    const [regression, recovery, , mainRecovery] = events
    expect(regression).toMatchObject({
      schema: 'infergate.webhook/v1',
      project: { owner: 'acme', repo: 'llm' },
      benchmark: 'chat',
      sha: '0000000acafe',
      branch: 'feature',
      base_branch: 'main',
      pr_number: 7,
      verdict: 'regression',
      recovered_from: null,
    })
    expect(regression!.summary).toMatch(/^Regression: TPOT \+2\d\.\d% \(concurrency-8\)$/)
    // The run's signed page, as GitHub's notifications link it.
    expect(regression!.url).toMatch(
      new RegExp(`^https://infergate\\.test/runs/${slow.id}\\?expires=\\d+&sig=`),
    )
    expect(recovery).toMatchObject({
      verdict: fixed.comparison.status,
      pr_number: 7,
      recovered_from: { run_id: slow.id, sha: '0000000acafe' },
    })
    expect(mainRecovery).toMatchObject({
      branch: 'main',
      pr_number: null,
      recovered_from: { run_id: landed.id },
    })
    expect([...recoveries.processed.values()].map((e) => [e.event, e.run_id])).toEqual([
      ['recovery', fixed.id],
      ['recovery', back.id],
    ])
    expect(disabled.requests).toHaveLength(0)
    expect(both.duplicates + recoveries.duplicates + both.badSignatures + recoveries.badSignatures).toBe(0)

    // Slack: the two regressions, each a message with the summary and a button to the run.
    expect(s.messages).toHaveLength(2)
    const message = s.messages[0]!
    expect(message.text).toBe(`🔴 Regression · acme/llm · chat on PR #7: ${regression!.summary}`)
    expect(JSON.stringify(message.blocks)).toContain(regression!.url!)
    expect(s.messages[1]!.text).toContain('chat on main')
    const deliveries = await h.deliveries(slackHook.webhook.id)
    expect(deliveries.map((d) => [d.event, d.state, d.run_id])).toEqual([
      ['regression', 'delivered', landed.id],
      ['regression', 'delivered', slow.id],
    ])
  })

  it('each event is processed exactly once through 5xx, dropped connections, late answers and a 429', async () => {
    // Enough attempts that no event runs out of them, whichever meets the faults.
    const h = await serve(await database(), {
      webhooks: { ...LOOPBACK, outbox: { ...FAST, maxAttempts: 10 } },
    })
    const r = await receiver()
    const { webhook, secret } = await h.hook('generic', `${r.url}/events`)
    r.secret = secret!
    r.fail({ status: 500, body: 'boom' })
    r.fail({ drop: true })
    // Received and processed, answered after the client gave up: the retry is a repeat.
    r.fail({ lateMs: 800 })
    r.fail({ status: 429, body: 'slow down', retryAfter: '1' })
    r.fail({ status: 502 })
    r.fail({ drop: true })
    const sent = []
    for (let i = 0; i < 6; i++)
      sent.push((await h.call('POST', `${hooksPath()}/${webhook.id}/test`)).body.notification.id)
    const deliveries = await h.settledHook(webhook.id, 6)
    expect(deliveries.map((d) => d.state)).toEqual(Array(6).fill('delivered'))
    expect(deliveries.map((d) => d.id).sort()).toEqual([...sent].sort())
    expect(r.faultsLeft).toBe(0)

    // Six events, each processed once; one repeat (the late answer's), deduped by its delivery id.
    expect(r.processed.size).toBe(6)
    expect(r.duplicates).toBe(1)
    expect(r.badSignatures).toBe(0)
    expect(r.requests).toHaveLength(12)
    // Every attempt of a delivery carries the same id; six ids in all.
    const ids = new Set(r.requests.map((q) => q.headers['x-infergate-delivery']))
    expect(ids).toEqual(new Set(r.processed.keys()))
    // Each attempt is signed anew (sent_at changes), and each signature verifies.
    for (const q of r.requests.filter((q) => q.body))
      expect(q.headers['x-infergate-signature-256']).toBe(signed(secret!, q.body))
    // Nothing reached the receiver during the second Retry-After asked for.
    const limited = r.requests.findIndex((q) => q.answer === 429)
    expect(r.requests[limited + 1]!.at - r.requests[limited]!.at).toBeGreaterThanOrEqual(950)
    // The attempts that met a rate limit are counted apart from the failures.
    expect(deliveries.reduce((n, d) => n + d.attempts, 0)).toBe(12)
  })

  it('a receiver answering 429 for ever: the delivery waits out 3 holds, then fails, saying so', async () => {
    const h = await serve(await database())
    const r = await receiver()
    const { webhook } = await h.hook('generic', `${r.url}/infergate`)
    r.fail({ status: 429, body: 'slow down', retryAfter: '0' }, 10)
    expect((await h.call('POST', `${hooksPath()}/${webhook.id}/test`)).status).toBe(202)
    const [delivery] = await h.settledHook(webhook.id, 1)
    expect(delivery!.state).toBe('failed')
    expect(delivery!.last_error).toMatch(/rate-limited 4 times: given up/)
    expect(r.requests.map((q) => q.answer)).toEqual([429, 429, 429, 429])
  })

  it('Slack: a 429 holds that webhook only, for Retry-After; 5xx is retried; a lost answer shows twice', async () => {
    const h = await serve(await database())
    const s = await slack()
    const r = await receiver()
    const slackHook = await h.hook('slack', s.webhookUrl)
    const other = await h.hook('generic', `${r.url}/other`)
    r.secret = other.secret!
    s.rateLimit(1)
    s.fail({ status: 503, body: 'rollup_error' })
    const test = (id: string) => h.call('POST', `${hooksPath()}/${id}/test`)
    await test(slackHook.webhook.id)
    await eventually(
      'the 429',
      () => s.requests.length,
      (n) => n >= 1,
    )
    // Held: the generic webhook's delivery goes on meanwhile.
    await test(other.webhook.id)
    await h.settledHook(other.webhook.id, 1)
    expect(s.requests).toHaveLength(1)
    const [delivered] = await h.settledHook(slackHook.webhook.id, 1)
    expect(delivered).toMatchObject({ state: 'delivered', attempts: 3 })
    expect(s.requests.map((q) => q.answer)).toEqual([429, 503, 200])
    expect(s.requests[1]!.at - s.requests[0]!.at).toBeGreaterThanOrEqual(950)
    expect(s.messages).toHaveLength(1)
    expect(s.messages[0]!.text).toBe(
      '🔔 Test · acme/llm: A test event for acme/llm: this webhook reaches its receiver.',
    )
    // Slack has no idempotency key: an answer lost after Slack took the message means a repeat.
    s.fail({ lateMs: 800 })
    await test(slackHook.webhook.id)
    await h.settledHook(slackHook.webhook.id, 2)
    expect(s.messages).toHaveLength(3)
  })

  it('a permanent failure fails at once with its last error, and nothing more is sent', async () => {
    const h = await serve(await database())
    const s = await slack()
    const r = await receiver()
    const elsewhere = await receiver()
    const slackHook = await h.hook('slack', s.webhookUrl)
    const generic = await h.hook('generic', `${r.url}/x`)
    r.secret = generic.secret!
    const errors = Object.keys(SLACK_ERRORS) as (keyof typeof SLACK_ERRORS)[]
    for (const [i, error] of errors.entries()) {
      s.failAs(error)
      await h.call('POST', `${hooksPath()}/${slackHook.webhook.id}/test`)
      const [latest] = await h.settledHook(slackHook.webhook.id, i + 1)
      expect(latest).toMatchObject({ state: 'failed', attempts: 1 })
      expect(latest!.last_error).toBe(
        `POST ${s.url}/services/T0INFERGATE/B0WEBHOOK/…: ${SLACK_ERRORS[error]} ${error}`,
      )
      // The Slack URL's secret part is in no error.
      expect(latest!.last_error).not.toContain('abcdefghijklmnopqrstuvwx')
    }
    await sleep(500)
    expect(s.requests).toHaveLength(errors.length)

    // A redirect is not followed; a 4xx is final; a 5xx that persists ends after maxAttempts.
    r.fail({ redirect: `${elsewhere.url}/stolen` })
    r.fail({ status: 404, body: 'no such hook' })
    r.fail({ status: 500 }, FAST.maxAttempts)
    for (let i = 0; i < 3; i++) await h.call('POST', `${hooksPath()}/${generic.webhook.id}/test`)
    const outcomes = (await h.settledHook(generic.webhook.id, 3)).reverse()
    expect(outcomes.map((d) => [d.state, d.attempts])).toEqual([
      ['failed', 1],
      ['failed', 1],
      ['failed', FAST.maxAttempts],
    ])
    expect(outcomes[0]!.last_error).toBe(`POST ${r.url}/x: 307 (redirects are not followed)`)
    expect(outcomes[1]!.last_error).toBe(`POST ${r.url}/x: 404 no such hook`)
    expect(outcomes[2]!.last_error).toBe(`POST ${r.url}/x: 500`)
    expect(elsewhere.requests).toHaveLength(0)
    await sleep(400)
    expect(r.requests).toHaveLength(2 + FAST.maxAttempts)
    expect(r.processed.size).toBe(0)
  })

  it('deleting a webhook fails what it had not delivered', async () => {
    const h = await serve(await database())
    const r = await receiver()
    const { webhook, secret } = await h.hook('generic', `${r.url}/d`)
    r.secret = secret!
    // Unreachable for now: every attempt waits for the timeout, then backs off.
    r.fail({ status: 503 }, 100)
    await h.call('POST', `${hooksPath()}/${webhook.id}/test`)
    await eventually(
      'a failed attempt',
      () => h.deliveries(webhook.id),
      (d) => d[0]!.attempts >= 1,
    )
    const deleted = await h.call('DELETE', `${hooksPath()}/${webhook.id}`)
    expect(deleted.body).toEqual({ id: webhook.id, deleted: true, cancelled: 1 })
    const seen = r.requests.length
    await sleep(600)
    expect(r.requests).toHaveLength(seen)
  })

  it('a URL is checked again at delivery: a service without the loopback setting sends nothing there', async () => {
    const target = await durableDatabase()
    const r = await receiver()
    const first = await serve(target)
    const { webhook } = await first.hook('generic', `${r.url}/later`)
    await first.service.close()
    // The same database, the default rules: loopback is refused, before any connection.
    const strict = await serve(target, {
      webhooks: { ...DEFAULT_WEBHOOKS, outbox: FAST },
      token: first.token,
    })
    expect((await strict.call('POST', `${hooksPath()}/${webhook.id}/test`)).status).toBe(202)
    const [d] = await strict.settledHook(webhook.id, 1)
    expect(d).toMatchObject({ state: 'failed', attempts: 1 })
    expect(d!.last_error).toBe(`POST ${r.url}/later: url expected an https:// URL`)
    expect(r.requests).toHaveLength(0)
    // And the API refuses to make one.
    const refused = await strict.call('POST', hooksPath(), {
      kind: 'generic',
      url: `https://127.0.0.1:${new URL(r.url).port}/x`,
    })
    expect(refused.body.error.message).toContain('url: refused: 127.0.0.1 is not a public address')
    const named = await strict.call('POST', hooksPath(), { kind: 'generic', url: 'https://localhost/x' })
    expect(named.body.error.message).toContain('url: refused: localhost')
  })
})

describe('the URL rules', () => {
  const policy = { ...DEFAULT_WEBHOOKS }

  it('refuses every address that is not public, as IP literals and as DNS answers', () => {
    for (const a of [
      '127.0.0.1',
      '10.0.0.5',
      '172.16.3.4',
      '172.31.255.255',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '::1',
      '::',
      'fd00::1',
      'fe80::1',
      '::ffff:127.0.0.1',
      '::ffff:a00:1',
      '64:ff9b::a00:1',
      '64:ff9b::10.0.0.1',
    ]) {
      expect(addressAllowed(a, policy), a).toBe(false)
    }
    for (const a of ['93.184.216.34', '172.32.0.1', '8.8.8.8', '2606:4700::1111', '64:ff9b::808:808']) {
      expect(addressAllowed(a, policy), a).toBe(true)
    }
    // What the settings open, and only that.
    expect(addressAllowed('127.0.0.1', { ...policy, allowLoopback: true })).toBe(true)
    expect(addressAllowed('10.0.0.5', { ...policy, allowLoopback: true })).toBe(false)
    expect(addressAllowed('10.0.0.5', { ...policy, privateHosts: ['alerts.svc'] }, 'alerts.svc')).toBe(true)
    expect(addressAllowed('10.0.0.5', { ...policy, privateHosts: ['alerts.svc'] }, 'other.svc')).toBe(false)
  })

  it('checks URLs: https, Slack on Slack, no credentials; obfuscated addresses are still addresses', () => {
    expect(urlProblem('generic', 'https://alerts.example.com/infergate', policy)).toBeNull()
    expect(urlProblem('slack', 'https://hooks.slack.com/services/T000/B000/XXXX', policy)).toBeNull()
    expect(urlProblem('slack', 'https://hooks.slack.com.evil.test/services/T0/B0/X', policy)).toMatch(/Slack/)
    expect(urlProblem('slack', 'https://hooks.slack.com/services/T0/B0/X?x=1', policy)).toMatch(/Slack/)
    expect(
      urlProblem('slack', 'https://chat.example.com/services/T0/B0/X', {
        ...policy,
        slackHosts: ['chat.example.com'],
      }),
    ).toBeNull()
    // The WHATWG parser turns these into 127.0.0.1.
    for (const u of [
      'https://2130706433/',
      'https://0x7f000001/',
      'https://127.1/',
      'https://[::1]/',
      'https://foo.localhost/',
    ]) {
      expect(urlProblem('generic', u, policy), u).toMatch(/^refused: /)
    }
    expect(
      urlProblem('generic', 'https://alerts.svc/x', { ...policy, privateHosts: ['alerts.svc'] }),
    ).toBeNull()
    expect(urlProblem('generic', 'http://alerts.svc/x', { ...policy, privateHosts: ['alerts.svc'] })).toBe(
      'expected an https:// URL',
    )
    expect(urlProblem('generic', 'http://127.0.0.1:8080/x', { ...policy, allowLoopback: true })).toBeNull()
    expect(urlProblem('generic', 'ftp://example.com/x', policy)).toBe('expected an https:// URL')
    expect(urlProblem('generic', 'https://example.com/x#frag', policy)).toBe('must not have a #fragment')
    expect(urlProblem('generic', `https://example.com/${'x'.repeat(2048)}`, policy)).toMatch(/at most 2048/)
    expect(displayUrl('slack', 'https://hooks.slack.com/services/T000/B000/XXXX')).toBe(
      'https://hooks.slack.com/services/T000/B000/…',
    )
  })

  it('refuses a name whose DNS answer holds any address that is not public', async () => {
    const answers: Record<string, { address: string; family: number }[]> = {
      'public.test': [{ address: '93.184.216.34', family: 4 }],
      'rebound.test': [
        { address: '93.184.216.34', family: 4 },
        { address: '10.0.0.7', family: 4 },
      ],
      'metadata.test': [{ address: '169.254.169.254', family: 4 }],
    }
    const lookup = guardedLookup(policy, (host, _o, cb) => cb(null, answers[host] ?? []))
    const ask = (host: string, all: boolean) =>
      new Promise<unknown>((resolve, reject) =>
        lookup(host, { all }, (err, address, family) =>
          err ? reject(err) : resolve(all ? address : [address, family]),
        ),
      )
    expect(await ask('public.test', false)).toEqual(['93.184.216.34', 4])
    expect(await ask('public.test', true)).toEqual(answers['public.test'])
    await expect(ask('rebound.test', true)).rejects.toThrow('refused: rebound.test resolves to 10.0.0.7')
    await expect(ask('metadata.test', false)).rejects.toBeInstanceOf(AddressRefused)
  })

  it('the connection pool deliveries use resolves names through that check', async () => {
    const r = await receiver()
    const port = new URL(r.url).port
    const strict = webhookAgent({ ...DEFAULT_WEBHOOKS })
    const loose = webhookAgent({ ...DEFAULT_WEBHOOKS, allowLoopback: true })
    cleanups.push(
      () => strict.close(),
      () => loose.close(),
    )
    const refusal = await request(`http://localhost:${port}/x`, {
      method: 'POST',
      body: '{}',
      dispatcher: strict,
    }).then(
      () => null,
      (e: unknown) => e,
    )
    expect(webhookFailure(new Unanswered('POST x', refusal)).message).toMatch(
      /^POST x: refused: localhost resolves to /,
    )
    expect(webhookFailure(new Unanswered('POST x', refusal)).retryable).toBe(false)
    expect(r.requests).toHaveLength(0)
    const allowed = await request(`http://localhost:${port}/x`, {
      method: 'POST',
      body: '{}',
      dispatcher: loose,
    })
    await allowed.body.dump()
    expect(r.requests).toHaveLength(1)
  })

  it('reads its settings from the environment, naming a bad variable', () => {
    expect(webhookConfigFromEnv({})).toEqual(DEFAULT_WEBHOOKS)
    const c = webhookConfigFromEnv({
      INFERGATE_WEBHOOK_PRIVATE_HOSTS: 'Alerts.monitoring.svc, 10.0.0.9',
      INFERGATE_SLACK_WEBHOOK_HOSTS: 'hooks.slack-gov.com',
    })
    expect(c.privateHosts).toEqual(['alerts.monitoring.svc', '10.0.0.9'])
    expect(c.slackHosts).toEqual(['hooks.slack.com', 'hooks.slack-gov.com'])
    expect(() => webhookConfigFromEnv({ INFERGATE_WEBHOOK_PRIVATE_HOSTS: 'https://x.svc/' })).toThrow(
      'INFERGATE_WEBHOOK_PRIVATE_HOSTS: not a host name',
    )
  })
})

describe('webhook failures', () => {
  const now = 1_800_000_000_000
  const answer = (status: number, body = '', retryAfter: string | null = null) =>
    webhookFailure(new WebhookAnswer('POST https://r.test/h', status, body, retryAfter), now)

  it("classify as GitHub's do: 429 a rate limit of the webhook, 5xx and no answer retried, the rest final", () => {
    expect(answer(429, 'rate_limited', '30')).toMatchObject({
      retryable: true,
      rateLimit: 'secondary',
      notBefore: now + 30_000,
    })
    expect(answer(429)).toMatchObject({ rateLimit: 'secondary', notBefore: null })
    for (const s of [500, 502, 503, 408])
      expect(answer(s), String(s)).toMatchObject({ retryable: true, rateLimit: null })
    for (const s of [400, 401, 403, 404, 410, 422, 301]) expect(answer(s).retryable, String(s)).toBe(false)
    expect(answer(410, 'channel_is_archived').message).toBe('POST https://r.test/h: 410 channel_is_archived')
    expect(webhookFailure(new Unanswered('POST u', 'timeout'))).toMatchObject({
      retryable: true,
      message: 'POST u: timed out',
    })
    const reset = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' })
    expect(webhookFailure(new Unanswered('POST u', reset))).toMatchObject({
      retryable: true,
      message: 'POST u: network error: other side closed (UND_ERR_SOCKET)',
    })
  })

  it('reads Retry-After as seconds or as an HTTP-date', () => {
    expect(retryAfterAt('120', now)).toBe(now + 120_000)
    expect(retryAfterAt(new Date(now + 5_000).toUTCString(), now)).toBe(now + 5_000)
    expect(retryAfterAt('soon', now)).toBeNull()
    expect(retryAfterAt(null, now)).toBeNull()
  })
})

describe(`the outbox with webhooks on ${engine}`, () => {
  let db: ReturnType<typeof openDatabase>
  let drop: () => Promise<void>
  let projectId: string
  beforeAll(async () => {
    const fresh = await freshDatabase()
    drop = fresh.drop
    db = openDatabase(fresh.target)
    await migrateToLatest(db)
    projectId = (await createProject(db, 'acme', 'llm')).project.id
  })
  afterAll(async () => {
    await db.destroy()
    await drop()
  })

  const status = (sha: string): NewNotification => ({
    kind: 'commit_verdict',
    key: `status:acme/llm@${sha}:chat`,
    payload: {
      owner: 'acme',
      repo: 'llm',
      sha,
      benchmark: 'chat',
      state: 'success',
      conclusion: 'success',
      description: 'ok',
      target_url: null,
      summary: null,
    },
  })

  it("webhook events never supersede each other; GitHub's kinds keep their rule; each worker claims its kinds", async () => {
    const hook = await db
      .insertInto('webhooks')
      .values({
        project_id: projectId,
        kind: 'generic',
        url: 'https://a.test/1',
        secret: 's',
        events: '["regression"]',
      })
      .returning('id')
      .executeTakeFirstOrThrow()
    const project = { owner: 'acme', repo: 'llm' }
    const events = [1, 2, 3].map(() =>
      webhookNotification({ id: hook.id, kind: 'generic' }, testEvent(project)),
    )
    expect(new Set(events.map((e) => e.key)).size).toBe(3)
    const [older] = await enqueue(db, projectId, null, [status('abc')])
    const queued = await enqueue(db, projectId, null, events)
    const [newer] = await enqueue(db, projectId, null, [status('abc')])
    const webhookClaims = await claim(db, 10, 60_000, ['slack_message', 'webhook_event'])
    // (An UPDATE … RETURNING gives its rows in no particular order.)
    expect(webhookClaims.map((c) => c.id).sort()).toEqual(queued.map((q) => q.id).sort())
    const githubClaims = await claim(db, 10, 60_000, ['commit_verdict', 'pr_comment'])
    expect(githubClaims.map((c) => c.id)).toEqual([newer!.id])
    const states = await db.selectFrom('notifications').select(['id', 'state']).orderBy('id').execute()
    expect(states.find((s) => s.id === older!.id)!.state).toBe('superseded')
    expect(states.filter((s) => queued.some((q) => q.id === s.id)).map((s) => s.state)).toEqual(
      Array(3).fill('pending'),
    )
    await db.deleteFrom('notifications').execute()
  })

  it('the verdict before a run: its PR, else its branch; its hardware; runs without a verdict, or failing inconclusive, skipped', async () => {
    let n = 0
    const at = (m: number) => new Date(Date.parse('2026-12-01T00:00:00Z') + m * 60_000)
    const run = async (o: {
      status: Comparison['status']
      failOnInconclusive?: boolean
      pr?: number | null
      branch?: string
      gpu?: string | null
      minute: number
    }) => {
      const id = `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`
      await db
        .insertInto('runs')
        .values({
          id,
          project_id: projectId,
          benchmark: 'scope',
          sha: `abc${n}`,
          ref: null,
          branch: o.branch ?? 'main',
          base_branch: o.pr ? 'main' : null,
          pr_number: o.pr ?? null,
          event_name: o.pr ? 'pull_request' : 'push',
          ci_run_id: `scope-${n}`,
          ci_run_attempt: 1,
          gpu_model: o.gpu === undefined ? 'H100' : o.gpu,
          gpu_count: 1,
          header: '{}',
          comparison: JSON.stringify({
            status: o.status,
            settings: { fail_on_inconclusive: o.failOnInconclusive ?? false },
          }),
          reported_at: at(o.minute),
        })
        .execute()
      return id
    }
    const scope = (minute: number, o: { pr?: number | null; branch?: string; gpu?: string | null } = {}) => ({
      run_id: 'ffffffff-0000-4000-8000-000000000000',
      project_id: projectId,
      benchmark: 'scope',
      branch: o.branch ?? 'main',
      pr_number: o.pr ?? null,
      gpu_model: o.gpu === undefined ? 'H100' : o.gpu,
      gpu_count: 1,
      reported_at: at(minute),
    })
    const onMainRegressed = await run({ status: 'regression', minute: 1 })
    await run({ status: 'no_baseline', minute: 2 })
    await run({ status: 'insufficient_data', minute: 3 })
    // Failing inconclusive: skipped, the regression before it still counts.
    await run({ status: 'inconclusive', failOnInconclusive: true, minute: 4 })
    // Elsewhere: a PR, another branch, other hardware.
    await run({ status: 'unchanged', pr: 5, branch: 'feature', minute: 5 })
    await run({ status: 'unchanged', branch: 'release', minute: 5 })
    await run({ status: 'unchanged', gpu: 'A100', minute: 5 })
    expect(await lastGateVerdict(db, scope(6))).toMatchObject({
      run_id: onMainRegressed,
      status: 'regression',
    })
    // Not later than the run itself.
    await run({ status: 'unchanged', minute: 10 })
    expect((await lastGateVerdict(db, scope(6)))?.status).toBe('regression')
    expect((await lastGateVerdict(db, scope(11)))?.status).toBe('unchanged')
    // A passing inconclusive counts.
    const passing = await run({ status: 'inconclusive', minute: 12 })
    expect((await lastGateVerdict(db, scope(13)))?.run_id).toBe(passing)
    expect(await lastGateVerdict(db, scope(13, { pr: 5 }))).toMatchObject({ status: 'unchanged' })
    expect(await lastGateVerdict(db, scope(13, { pr: 6 }))).toBeNull()
    expect(await lastGateVerdict(db, scope(13, { gpu: null }))).toBeNull()
  })

  it('a disabled webhook is sent tests only; each attempt reads the webhook as it is then', async () => {
    const r = await receiver()
    const { webhook, secret } = await createWebhook(db, projectId, {
      kind: 'generic',
      url: `${r.url}/disabled`,
      events: ['regression'],
      description: '',
    })
    r.secret = secret!
    const deliverer = webhookDeliverer(db, LOOPBACK)
    cleanups.push(() => deliverer.close!())
    const project = { owner: 'acme', repo: 'llm' }
    const regression = webhookNotification(webhook, { ...testEvent(project), event: 'regression' })
    const test = webhookNotification(webhook, testEvent(project))
    const [queued, queuedTest] = await enqueue(db, projectId, null, [regression, test])
    const claimed = (await claim(db, 10, 60_000, deliverer.kinds)).sort((a, b) => Number(a.id) - Number(b.id))
    expect(claimed.map((c) => c.id)).toEqual([queued!.id, queuedTest!.id])
    await db.updateTable('webhooks').set({ enabled: false }).where('id', '=', webhook.id).execute()
    const refused = await deliverer.deliver(claimed[0]!).catch((e: unknown) => deliverer.failure(e))
    expect(refused).toEqual({
      message: `POST ${r.url}/disabled: webhook ${webhook.id} is disabled`,
      retryable: false,
      notBefore: null,
      rateLimit: null,
    })
    expect(await deliverer.deliver(claimed[1]!)).toEqual({ status_code: 200 })
    expect([...r.processed.values()].map((e) => e.event)).toEqual(['test'])
    await db.deleteFrom('webhooks').where('id', '=', webhook.id).execute()
    const gone = await deliverer.deliver(claimed[0]!).catch((e: unknown) => deliverer.failure(e))
    expect(gone).toMatchObject({ message: `webhook ${webhook.id} was deleted`, retryable: false })
    await db.deleteFrom('notifications').execute()
  })

  it("a hold is its credential's: GitHub's token holds no webhook, a webhook's 429 holds only it", async () => {
    const [a, b] = await Promise.all(
      ['https://a.test/2', 'https://b.test/2'].map((url) =>
        db
          .insertInto('webhooks')
          .values({ project_id: projectId, kind: 'generic', url, secret: 's', events: '["regression"]' })
          .returning('id')
          .executeTakeFirstOrThrow(),
      ),
    )
    const project = { owner: 'acme', repo: 'llm' }
    const limit: Failure = { message: 'limited', retryable: true, notBefore: null, rateLimit: 'secondary' }
    const s = { ...DEFAULT_OUTBOX, rateLimitWaitMs: 60_000 }
    await holdCredential(db, EVERY_ACCOUNT, limit, s, Date.now())
    await holdCredential(db, webhookScope(a!.id), limit, s, Date.now())
    const [toA] = await enqueue(db, projectId, null, [
      webhookNotification({ id: a!.id, kind: 'generic' }, testEvent(project)),
    ])
    const [toB] = await enqueue(db, projectId, null, [
      webhookNotification({ id: b!.id, kind: 'slack' }, testEvent(project)),
    ])
    await enqueue(db, projectId, null, [status('def')])
    expect((await claim(db, 10, 60_000)).map((c) => c.id)).toEqual([toB!.id])
    expect(toA!.kind).toBe('webhook_event')
    expect(toB!.kind).toBe('slack_message')
    await db.deleteFrom('notifications').execute()
    await db.deleteFrom('github_rate_limits').execute()
  })
})

describe('which runs are events', () => {
  const c = (status: Comparison['status'], failOnInconclusive = false) =>
    ({ status, settings: { fail_on_inconclusive: failOnInconclusive } }) as Comparison
  const regressed = { run_id: 'r', sha: null, status: 'regression' }
  const passed = { run_id: 'p', sha: null, status: 'inconclusive' }

  it('a regression always; a recovery when a run passes with a verdict after a regression', () => {
    expect(eventOfRun(c('regression'), null)).toBe('regression')
    expect(eventOfRun(c('regression'), regressed)).toBe('regression')
    for (const status of ['unchanged', 'improvement', 'inconclusive'] as const) {
      expect(eventOfRun(c(status), regressed), status).toBe('recovery')
      expect(eventOfRun(c(status), passed), status).toBeNull()
      expect(eventOfRun(c(status), null), status).toBeNull()
    }
    // No verdict, or an inconclusive one the project fails: not a recovery.
    expect(eventOfRun(c('no_baseline'), regressed)).toBeNull()
    expect(eventOfRun(c('insufficient_data'), regressed)).toBeNull()
    expect(eventOfRun(c('inconclusive', true), regressed)).toBeNull()
    expect(eventOfRun(c('unchanged', true), regressed)).toBe('recovery')
  })
})

describe('the event document', () => {
  it("docs/notifications.md's example is a valid event, and documents every field", () => {
    const doc = readFileSync(new URL('../docs/notifications.md', import.meta.url), 'utf8')
    const example = doc.match(/```json\n(\{\n {2}"schema": "infergate\.webhook\/v1"[\s\S]*?)\n```/)
    expect(example, 'a JSON example of the event').not.toBeNull()
    const event = WebhookEvent.parse(JSON.parse(example![1]!))
    for (const field of Object.keys(WebhookEvent.shape)) {
      expect(doc, field).toMatch(new RegExp(`^\\| \`${field}\` \\|`, 'm'))
      expect(event, field).toHaveProperty(field)
    }
  })

  it('a Slack message escapes what reports say, and links the run', () => {
    const e = {
      ...testEvent({ owner: 'acme', repo: 'llm' }),
      event: 'regression' as const,
      benchmark: 'a<b>&c',
      branch: 'main',
      summary: 'Regression: TPOT +25% (c<8>)',
      url: 'https://infergate.test/runs/1?sig=x',
    }
    const m = slackMessage(e)
    expect(m.text).toBe(
      '🔴 Regression · acme/llm · a&lt;b&gt;&amp;c on main: Regression: TPOT +25% (c&lt;8&gt;)',
    )
    const blocks = JSON.stringify(m.blocks)
    expect(blocks).toContain('a&lt;b&gt;&amp;c')
    expect(blocks).toContain('(c&lt;8&gt;)')
    expect(blocks).not.toContain('a<b>')
    expect(blocks).toContain('"url":"https://infergate.test/runs/1?sig=x"')
  })
})

describe(`migration 0010 on ${engine}`, () => {
  it("holds webhooks to their rules, widens the notifications' kinds, and goes back down", async () => {
    const fresh = await freshDatabase()
    cleanups.push(fresh.drop)
    const db = openDatabase(fresh.target) as unknown as Kysely<any>
    cleanups.push(() => db.destroy())
    const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } })
    expect((await migrator.migrateTo('0010_webhooks')).error).toBeUndefined()
    const project = await db
      .insertInto('projects')
      .values({ owner: 'acme', repo: 'llm' })
      .returning('id')
      .executeTakeFirstOrThrow()
    const hook = (kind: string, url: string, events: string, secret: string | null = null) =>
      db
        .insertInto('webhooks')
        .values({ project_id: project.id, kind, url, events, secret })
        .returning('id')
        .executeTakeFirstOrThrow()
    const slack = await hook('slack', 'https://hooks.slack.com/services/T/B/X', '["regression"]')
    await hook('generic', 'https://a.test/', '["regression", "recovery"]', 'igwh_x')
    // A generic webhook without its secret, a Slack one with one; no events, unknown events; a URL twice.
    await expect(hook('generic', 'https://b.test/', '["regression"]')).rejects.toThrow()
    await expect(
      hook('slack', 'https://hooks.slack.com/services/T/B/Y', '["regression"]', 's'),
    ).rejects.toThrow()
    await expect(hook('slack', 'https://hooks.slack.com/services/T/B/Z', '[]')).rejects.toThrow()
    await expect(hook('slack', 'https://hooks.slack.com/services/T/B/Z', '["deploy"]')).rejects.toThrow()
    await expect(hook('slack', 'https://hooks.slack.com/services/T/B/X', '["recovery"]')).rejects.toThrow()
    const note = (kind: string) =>
      db
        .insertInto('notifications')
        .values({ project_id: project.id, kind, key: `k-${kind}`, payload: '{}' })
        .execute()
    await note('slack_message')
    await note('webhook_event')
    await expect(note('email')).rejects.toThrow()
    await db.updateTable('notifications').set({ webhook_id: slack.id }).execute()
    // Down: the webhooks and their messages go, the old kinds stand again.
    expect((await migrator.migrateTo('0009_service_secrets')).error).toBeUndefined()
    expect(await db.selectFrom('notifications').selectAll().execute()).toEqual([])
    await expect(note('slack_message')).rejects.toThrow()
    await note('pr_comment')
    expect((await migrator.migrateToLatest()).error).toBeUndefined()
  })
})
