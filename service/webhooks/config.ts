// Where webhooks may point, and how they are delivered. The service posts to URLs its users
// give it, from inside their network: by default only to public https addresses (no loopback,
// private, link-local or metadata address, checked again on every connection, so a DNS answer
// that changes cannot slip one in), and Slack's only to Slack.
import { DEFAULT_OUTBOX, type OutboxSettings } from '../notifications/worker.ts'

export interface WebhookConfig {
  /** Hosts a Slack incoming webhook may be on: https://<host>/services/… */
  slackHosts: string[]
  /**
   * Host names (or IP literals) exempt from the private-address rule: a receiver inside the
   * cluster, e.g. alerts.monitoring.svc. Still https only.
   */
  privateHosts: string[]
  /**
   * Development and tests only: http:// and https:// on loopback (127.0.0.0/8, ::1, localhost)
   * for either kind, a Slack URL included.
   */
  allowLoopback: boolean
  /** Per request, body included: a hung receiver costs one attempt, not the worker. */
  timeoutMs: number
  outbox: OutboxSettings
}

export const DEFAULT_WEBHOOKS: WebhookConfig = {
  slackHosts: ['hooks.slack.com'],
  privateHosts: [],
  allowLoopback: false,
  timeoutMs: 10_000,
  outbox: DEFAULT_OUTBOX,
}

type Env = Record<string, string | undefined>

const list = (raw: string | undefined) =>
  (raw ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean)

/**
 * The webhook settings in `env`: INFERGATE_WEBHOOK_PRIVATE_HOSTS and INFERGATE_SLACK_WEBHOOK_HOSTS
 * (comma-separated host names, added to the defaults). Errors name the variable.
 */
export function webhookConfigFromEnv(env: Env = process.env): WebhookConfig {
  const hostPattern = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$|^[0-9a-f:.]+$/
  const hosts = (name: string) => {
    const out = list(env[name])
    const bad = out.find((h) => !hostPattern.test(h))
    if (bad !== undefined)
      throw new Error(`${name}: not a host name: ${JSON.stringify(bad)} (e.g. alerts.example.com)`)
    return out
  }
  return {
    ...DEFAULT_WEBHOOKS,
    slackHosts: [...new Set([...DEFAULT_WEBHOOKS.slackHosts, ...hosts('INFERGATE_SLACK_WEBHOOK_HOSTS')])],
    privateHosts: hosts('INFERGATE_WEBHOOK_PRIVATE_HOSTS'),
  }
}
