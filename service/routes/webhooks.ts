// A project's webhooks: Slack incoming webhooks and generic signed-JSON receivers, told of
// regressions and recoveries (service/webhooks/). Managed with the project's token only (a CI
// workflow's OIDC token may not), and another project's webhooks look absent. A generic
// webhook's secret is in the creation's answer only; no answer shows a Slack URL's secret part.
import { Hono } from 'hono'
import { z } from 'zod'
import { text } from '../../core/limits.ts'
import { issuesOf } from '../../core/validation.ts'
import { requireProject, requireProjectToken } from '../auth.ts'
import type { Env } from '../env.ts'
import { ApiError, invalid, jsonBody } from '../http.ts'
import { enqueue, notificationsOfWebhook } from '../notifications/outbox.ts'
import { createRoute, errors, json, OwnerRepo, type RouteConfig, requestJson, SECURITY } from '../openapi.ts'
import { DEFAULT_WEBHOOKS } from '../webhooks/config.ts'
import { SUBSCRIBABLE_EVENTS } from '../webhooks/event.ts'
import { testNotification } from '../webhooks/notify.ts'
import {
  countWebhooks,
  createWebhook,
  deleteWebhook,
  listWebhooks,
  pendingOfWebhook,
  updateWebhook,
  type Webhook,
  webhookOf,
} from '../webhooks/repository.ts'
import { displayUrl, MAX_URL_LENGTH, urlProblem } from '../webhooks/url.ts'
import { ownProject } from './projects.ts'
import { Notification } from './runs.ts'

export const webhooks = new Hono<Env>()
webhooks.use(requireProject, ownProject, requireProjectToken)

/** A project's webhooks at most: each event is one message per webhook, written at ingest. */
export const MAX_WEBHOOKS = 20

const Events = z.array(z.enum(SUBSCRIBABLE_EVENTS)).min(1, 'expected at least one event')
const once = <T>(xs: T[]) => [...new Set(xs)]

const NewWebhook = z.strictObject({
  kind: z.enum(['slack', 'generic']),
  url: z.string().max(MAX_URL_LENGTH, `expected at most ${MAX_URL_LENGTH} characters`),
  events: Events.default([...SUBSCRIBABLE_EVENTS]),
  description: text(200).default(''),
})

const WebhookChange = z
  .strictObject({ enabled: z.boolean(), events: Events, description: text(200) })
  .partial()
  .refine((c) => Object.keys(c).length > 0, 'expected one of enabled, events, description')

const view = (w: Webhook) => ({
  id: w.id,
  kind: w.kind,
  url: displayUrl(w.kind, w.url),
  events: w.events,
  description: w.description,
  enabled: w.enabled,
  created_at: w.created_at.toISOString(),
})

// bigserial ids: a path that is not one names no webhook (and never reaches Postgres as one).
const WEBHOOK_ID = /^[1-9]\d{0,17}$/

const idOf = (raw: string | undefined): string => {
  if (!raw || !WEBHOOK_ID.test(raw)) throw notFound(raw)
  return raw
}
const notFound = (id: string | undefined) => new ApiError(404, 'webhook_not_found', `no webhook ${id}`)

/** Creates a webhook; a generic one's secret is in this answer only. */
webhooks.post('/', async (c) => {
  const parsed = NewWebhook.safeParse(await jsonBody(c))
  if (!parsed.success) throw invalid('webhook', issuesOf(parsed.error))
  const w = { ...parsed.data, events: once(parsed.data.events) }
  const problem = urlProblem(w.kind, w.url, c.get('config').webhooks ?? DEFAULT_WEBHOOKS)
  if (problem) throw invalid('webhook', [{ path: 'url', message: problem }])
  const db = c.get('db')
  const project = c.get('project')
  if ((await countWebhooks(db, project.id)) >= MAX_WEBHOOKS) {
    throw new ApiError(409, 'too_many_webhooks', `a project has at most ${MAX_WEBHOOKS} webhooks`)
  }
  const created = await createWebhook(db, project.id, w).catch((e) => {
    if ((e as { code?: string }).code === '23505') {
      throw new ApiError(409, 'webhook_exists', 'this project has a webhook with this URL already')
    }
    throw e
  })
  return c.json(
    { webhook: view(created.webhook), ...(created.secret ? { secret: created.secret } : {}) },
    201,
  )
})

webhooks.get('/', async (c) => {
  const all = await listWebhooks(c.get('db'), c.get('project').id)
  return c.json({ webhooks: all.map(view) })
})

webhooks.get('/:id', async (c) => {
  const id = idOf(c.req.param('id'))
  const w = await webhookOf(c.get('db'), c.get('project').id, id)
  if (!w) throw notFound(id)
  return c.json({ webhook: view(w) })
})

/** Turns a webhook off or on, or changes its events or description (not its URL: make another). */
webhooks.patch('/:id', async (c) => {
  const id = idOf(c.req.param('id'))
  const parsed = WebhookChange.safeParse(await jsonBody(c))
  if (!parsed.success) throw invalid('webhook', issuesOf(parsed.error))
  const change = parsed.data
  const w = await updateWebhook(c.get('db'), c.get('project').id, id, {
    ...change,
    ...(change.events ? { events: once(change.events) } : {}),
  })
  if (!w) throw notFound(id)
  return c.json({ webhook: view(w) })
})

/** Deletes a webhook; its undelivered messages fail ("the webhook was deleted"). */
webhooks.delete('/:id', async (c) => {
  const id = idOf(c.req.param('id'))
  const deleted = await deleteWebhook(c.get('db'), c.get('project').id, id)
  if (!deleted) throw notFound(id)
  return c.json({ id, deleted: true, cancelled: deleted.cancelled })
})

const MAX_PENDING_TESTS = 10

/** Sends a test event through the outbox, as a real one would go (retries included). */
webhooks.post('/:id/test', async (c) => {
  const id = idOf(c.req.param('id'))
  const db = c.get('db')
  const project = c.get('project')
  const w = await webhookOf(db, project.id, id)
  if (!w) throw notFound(id)
  // One worker delivers every project's webhooks in turn: tests queued on a receiver that never
  // answers would hold up everyone's alerts. A few may wait; more wait for those.
  if ((await pendingOfWebhook(db, id)) >= MAX_PENDING_TESTS) {
    throw new ApiError(
      429,
      'too_many_pending',
      `webhook ${id} has ${MAX_PENDING_TESTS} or more messages waiting: test again once they are delivered`,
      null,
      { 'retry-after': '30' },
    )
  }
  const [notification] = await enqueue(db, project.id, null, [testNotification(w, project)])
  c.get('wake')()
  return c.json({ notification }, 202)
})

const DeliveriesQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) })

/** The webhook's latest deliveries, newest first: what was sent, and how it went. */
webhooks.get('/:id/deliveries', async (c) => {
  const id = idOf(c.req.param('id'))
  const parsed = DeliveriesQuery.safeParse(c.req.query())
  if (!parsed.success) throw invalid('query', issuesOf(parsed.error))
  const db = c.get('db')
  if (!(await webhookOf(db, c.get('project').id, id))) throw notFound(id)
  return c.json({ deliveries: await notificationsOfWebhook(db, id, parsed.data.limit) })
})

const WebhookView = z
  .object({
    id: z.string(),
    kind: z.enum(['slack', 'generic']),
    url: z
      .string()
      .meta({ description: "the URL without its secret parts (a Slack URL's last segment, a query)" }),
    events: z.array(z.enum(SUBSCRIBABLE_EVENTS)),
    description: z.string(),
    enabled: z.boolean(),
    created_at: z.string(),
  })
  .meta({ id: 'Webhook' })
const Delivery = Notification.extend({
  webhook_id: z.string().nullable(),
  event: z.string().nullable().meta({ description: 'regression, recovery or test' }),
  run_id: z.uuid().nullable(),
})
const hooks = (path = '') => `/api/v1/projects/{owner}/{repo}/webhooks${path}`
const HookParams = OwnerRepo.extend({ id: z.string().meta({ description: 'the webhook id' }) })
const one = json(z.object({ webhook: WebhookView }), 'the webhook')

/** What the OpenAPI document says of these routes (service/openapi.ts). */
export const webhooksApi: RouteConfig[] = [
  createRoute({
    method: 'post',
    path: hooks(),
    summary: "Add a Slack or generic webhook; a generic one's secret is in this answer only",
    security: SECURITY.project,
    request: { params: OwnerRepo, body: requestJson(NewWebhook) },
    responses: {
      201: json(
        z.object({
          webhook: WebhookView,
          secret: z.string().optional().meta({ description: 'generic webhooks: igwh_…, the HMAC key' }),
        }),
        'created',
      ),
      ...errors(400, 401, 403, 404, 409),
    },
  }),
  createRoute({
    method: 'get',
    path: hooks(),
    summary: "The project's webhooks (no secrets)",
    security: SECURITY.project,
    request: { params: OwnerRepo },
    responses: {
      200: json(z.object({ webhooks: z.array(WebhookView) }), 'the webhooks'),
      ...errors(401, 403, 404),
    },
  }),
  createRoute({
    method: 'get',
    path: hooks('/{id}'),
    summary: 'One webhook (no secrets)',
    security: SECURITY.project,
    request: { params: HookParams },
    responses: { 200: one, ...errors(401, 403, 404) },
  }),
  createRoute({
    method: 'patch',
    path: hooks('/{id}'),
    summary: 'Disable or enable a webhook, or change its events or description',
    security: SECURITY.project,
    request: { params: HookParams, body: requestJson(WebhookChange) },
    responses: { 200: one, ...errors(400, 401, 403, 404) },
  }),
  createRoute({
    method: 'delete',
    path: hooks('/{id}'),
    summary: 'Delete a webhook; its undelivered messages fail',
    security: SECURITY.project,
    request: { params: HookParams },
    responses: {
      200: json(
        z.object({ id: z.string(), deleted: z.literal(true), cancelled: z.number().int() }),
        'deleted, with the number of undelivered messages failed',
      ),
      ...errors(401, 403, 404),
    },
  }),
  createRoute({
    method: 'post',
    path: hooks('/{id}/test'),
    summary: 'Send a test event through the outbox',
    security: SECURITY.project,
    request: { params: HookParams },
    responses: {
      202: json(z.object({ notification: Notification }), 'queued'),
      ...errors(401, 403, 404, 429),
    },
  }),
  createRoute({
    method: 'get',
    path: hooks('/{id}/deliveries'),
    summary: "The webhook's latest deliveries, newest first",
    security: SECURITY.project,
    request: { params: HookParams, query: DeliveriesQuery },
    responses: {
      200: json(z.object({ deliveries: z.array(Delivery) }), 'the deliveries'),
      ...errors(400, 401, 403, 404),
    },
  }),
]
