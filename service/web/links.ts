// Read-only links to one run's pages, for people without the project's token: the PR comment
// and the commit status point at them when the service has a public URL. A link is an HMAC
// over the run and an expiry with the service's link secret; nothing is stored per link, so
// one cannot be revoked before it expires except by changing the secret, which voids them all.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Database } from '../db/database.ts'
import { MIN_SECRET_BYTES } from '../defaults.ts'
import { RUN_ID } from '../runs/repository.ts'

/** The stored secret's name in service_secrets. */
const LINK_SECRET = 'dashboard-links'

export { MIN_SECRET_BYTES }

/**
 * The secret links are signed with: the one given (INFERGATE_LINK_SECRET), else the database's,
 * made on first use. Replicas racing to make it agree on one: the first insert wins, and all
 * read it back.
 */
export async function linkSecret(db: Kysely<Database>, given: string | null): Promise<Buffer> {
  if (given !== null) {
    const b = Buffer.from(given, 'utf8')
    if (b.length < MIN_SECRET_BYTES) throw new Error(`a link secret needs at least ${MIN_SECRET_BYTES} bytes`)
    return b
  }
  await db
    .insertInto('service_secrets')
    .values({ name: LINK_SECRET, value: randomBytes(32) })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute()
  const row = await db
    .selectFrom('service_secrets')
    .select('value')
    .where('name', '=', LINK_SECRET)
    .executeTakeFirstOrThrow()
  return Buffer.from(row.value)
}

export interface RunLink {
  run: string
  /** Unix seconds. */
  expires: number
  sig: string
}

// Versioned, so a later link format cannot be mistaken for this one.
const message = (run: string, expires: number) => `infergate-run-link:v1:${run}:${expires}`
const mac = (secret: Buffer, run: string, expires: number) =>
  createHmac('sha256', secret).update(message(run, expires)).digest('base64url')

export function signRunLink(secret: Buffer, run: string, expiresAt: Date): RunLink {
  const expires = Math.floor(expiresAt.getTime() / 1000)
  return { run, expires, sig: mac(secret, run, expires) }
}

/** The link's query string, for the run's page path. */
export function runLinkQuery(link: RunLink): string {
  return `expires=${link.expires}&sig=${link.sig}`
}

export type LinkCheck = { ok: true } | { ok: false; reason: 'invalid' | 'expired' }

const EXPIRES = /^\d{1,12}$/
const SIG = /^[A-Za-z0-9_-]{43}$/ // 32 bytes in base64url, unpadded

/**
 * Whether a link, as it came in (query strings: anything at all), opens `run` now. The
 * signature is checked before the expiry, so a link whose expiry was edited is "invalid",
 * and "expired" means a genuine link that is too old.
 */
export function checkRunLink(
  secret: Buffer,
  given: { run: string; expires: string | undefined; sig: string | undefined },
  now: Date = new Date(),
): LinkCheck {
  const { run, expires, sig } = given
  if (!RUN_ID.test(run) || !expires || !EXPIRES.test(expires) || !sig || !SIG.test(sig)) {
    return { ok: false, reason: 'invalid' }
  }
  const want = Buffer.from(mac(secret, run, Number(expires)), 'base64url')
  const got = Buffer.from(sig, 'base64url')
  if (got.length !== want.length || !timingSafeEqual(got, want)) return { ok: false, reason: 'invalid' }
  if (Number(expires) * 1000 <= now.getTime()) return { ok: false, reason: 'expired' }
  return { ok: true }
}
