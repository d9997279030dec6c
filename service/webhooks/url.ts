// Which URLs a webhook may have, one rule for the API that stores them and the deliverer that
// posts to them (a stored URL is checked again before each delivery: the service's settings may
// have changed since). The rule is against server-side request forgery: the service sits inside
// its users' network, and a webhook must not make it post to what only that network reaches —
// loopback, private ranges, link-local (cloud metadata at 169.254.169.254), and the like. IP
// literals are checked here; names are checked as they resolve, at every connection
// (guardedLookup), so a DNS answer that changes after the check cannot slip one in.
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns'
import { BlockList, isIP } from 'node:net'
import type { WebhookConfig } from './config.ts'

export type WebhookKind = 'slack' | 'generic'

export type UrlPolicy = Pick<WebhookConfig, 'slackHosts' | 'privateHosts' | 'allowLoopback'>

export const MAX_URL_LENGTH = 2048

// IANA's special-purpose registries (RFC 6890 and later): nothing a public receiver is on.
const NOT_PUBLIC_V4: [string, number][] = [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local: cloud metadata services
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and broadcast
]
const NOT_PUBLIC_V6: [string, number][] = [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard
  ['2001::', 23], // IETF protocol assignments (Teredo, ORCHID…)
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4: embeds an IPv4 address of any kind
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
]

// An IPv4-mapped IPv6 address (::ffff:10.0.0.1) is checked against the IPv4 rules by BlockList.
const notPublic = new BlockList()
for (const [net, prefix] of NOT_PUBLIC_V4) notPublic.addSubnet(net, prefix, 'ipv4')
for (const [net, prefix] of NOT_PUBLIC_V6) notPublic.addSubnet(net, prefix, 'ipv6')
const loopback = new BlockList()
loopback.addSubnet('127.0.0.0', 8, 'ipv4')
loopback.addAddress('::1', 'ipv6')

/** The IPv4 address a NAT64 address (64:ff9b::/96) stands for, else null. */
function nat64Embedded(address: string): string | null {
  const m = address.toLowerCase().match(/^64:ff9b::(?:([0-9a-f]{1,4}):([0-9a-f]{1,4})|(\d+\.\d+\.\d+\.\d+))$/)
  if (!m) return null
  if (m[3]) return m[3]
  const hi = Number.parseInt(m[1]!, 16)
  const lo = Number.parseInt(m[2]!, 16)
  return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.')
}

const family = (address: string) => (isIP(address) === 6 ? 'ipv6' : 'ipv4')

export const isLoopbackAddress = (address: string) =>
  isIP(address) !== 0 && loopback.check(address, family(address))

/** Whether a service may post to `address` (an IP) under `policy`; `host`: the name it came from. */
export function addressAllowed(address: string, policy: UrlPolicy, host: string = address): boolean {
  if (policy.privateHosts.includes(host.toLowerCase())) return true
  if (policy.allowLoopback && isLoopbackAddress(address)) return true
  const v = isIP(address)
  if (v === 0) return false
  if (notPublic.check(address, family(address))) return false
  const embedded = v === 6 ? nat64Embedded(address) : null
  return embedded === null || !notPublic.check(embedded, 'ipv4')
}

const bare = (hostname: string) => hostname.replace(/^\[|\]$/g, '').toLowerCase()
const isLocalhostName = (host: string) => host === 'localhost' || host.endsWith('.localhost')

// Slack's incoming webhooks: https://hooks.slack.com/services/T…/B…/<secret>
// (https://api.slack.com/messaging/webhooks).
const SLACK_PATH = /^\/services\/[A-Za-z0-9]+\/[A-Za-z0-9]+\/[A-Za-z0-9]+$/

/** Why `raw` cannot be a webhook of `kind` under `policy`, or null when it can. */
export function urlProblem(kind: WebhookKind, raw: string, policy: UrlPolicy): string | null {
  if (raw.length > MAX_URL_LENGTH) return `expected at most ${MAX_URL_LENGTH} characters`
  let u: URL
  try {
    u = new URL(raw)
  } catch {
    return 'expected an absolute https:// URL'
  }
  const host = bare(u.hostname)
  const onLoopback = policy.allowLoopback && (isLocalhostName(host) || isLoopbackAddress(host))
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && onLoopback)) return 'expected an https:// URL'
  if (u.username || u.password)
    return 'must not hold credentials (user:password@): the signature authenticates'
  if (u.hash) return 'must not have a #fragment'
  if (kind === 'slack') {
    if (!onLoopback && !policy.slackHosts.includes(host)) {
      return `expected a Slack incoming webhook URL (https://${policy.slackHosts[0] ?? 'hooks.slack.com'}/services/…)`
    }
    if (!SLACK_PATH.test(u.pathname) || u.search) {
      return 'expected a Slack incoming webhook URL (…/services/T…/B…/…, as Slack shows it)'
    }
    return null
  }
  if (onLoopback) return null
  if (policy.privateHosts.includes(host)) return null
  if (isLocalhostName(host)) return 'refused: localhost is not a public address'
  if (isIP(host) && !addressAllowed(host, policy)) {
    return `refused: ${host} is not a public address (loopback, private, link-local or reserved)`
  }
  return null
}

/**
 * A webhook's URL as the API shows it: a Slack URL's last segment is its secret (Slack revokes
 * leaked ones), a query string often holds a token. Neither is shown.
 */
export function displayUrl(kind: WebhookKind, raw: string): string {
  try {
    const u = new URL(raw)
    if (kind === 'slack') {
      const segments = u.pathname.split('/')
      segments[segments.length - 1] = '…'
      return `${u.origin}${segments.join('/')}`
    }
    // Receivers often carry their secret in the path (Zapier, n8n, Teams): only its first
    // segment is shown.
    const [first, ...rest] = u.pathname.split('/').filter(Boolean)
    const hidden = rest.length > 0 || u.search !== ''
    return `${u.origin}${first ? `/${first}` : ''}${hidden ? '/…' : ''}`
  } catch {
    return '(invalid URL)'
  }
}

/** An address a webhook may not reach: refused before the connection opens, for good. */
export class AddressRefused extends Error {
  readonly code = 'EWEBHOOKREFUSED'
  constructor(host: string, address: string) {
    super(`refused: ${host} resolves to ${address}, which is not a public address`)
  }
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void
type Resolver = (
  host: string,
  options: LookupOptions & { all: true },
  cb: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void

/**
 * A `lookup` for net.connect that refuses the connection when any address the name resolves to
 * is not allowed: the check is on the address actually connected to, not on an earlier answer.
 */
export function guardedLookup(policy: UrlPolicy, resolve: Resolver = dnsLookup as unknown as Resolver) {
  return (host: string, options: LookupOptions, cb: LookupCallback) => {
    resolve(host, { ...options, all: true }, (err, addresses) => {
      if (err) return cb(err, [])
      const refused = addresses.find((a) => !addressAllowed(a.address, policy, host))
      if (refused) return cb(new AddressRefused(host, refused.address) as NodeJS.ErrnoException, [])
      if (options.all) return cb(null, addresses)
      const first = addresses[0]
      if (!first) return cb(Object.assign(new Error(`${host}: no address`), { code: 'ENOTFOUND' }), [])
      cb(null, first.address, first.family)
    })
  }
}
