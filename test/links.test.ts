// Signed read-only links to a run: what opens, what is refused and why, and one secret for
// every replica on the same database (PGlite here, Postgres in CI).
import type { Kysely } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../service/db/database.ts'
import { checkRunLink, linkSecret, runLinkQuery, signRunLink } from '../service/web/links.ts'
import { migratedDatabase } from './db-helpers.ts'

const RUN = '6f6b1f8e-6a1c-4a35-9d0e-2c1f0b9a7e13'
const SECRET = Buffer.from('k'.repeat(32))
const at = (iso: string) => new Date(iso)

describe('a signed run link', () => {
  const link = signRunLink(SECRET, RUN, new Date(1_800_000_000_000))
  const given = { run: link.run, expires: String(link.expires), sig: link.sig }

  it('is HMAC-SHA256 over the run and its expiry', () => {
    // python3 -c "import hmac,hashlib,base64; print(base64.urlsafe_b64encode(hmac.new(b'k'*32,
    //   b'infergate-run-link:v1:6f6b1f8e-6a1c-4a35-9d0e-2c1f0b9a7e13:1800000000',
    //   hashlib.sha256).digest()).rstrip(b'=').decode())"
    expect(link).toEqual({
      run: RUN,
      expires: 1_800_000_000,
      sig: 'm4f46u3sQFaBkpoGvoHQzcJsEyEEK1x1Gdx4cuxVEtk',
    })
    expect(runLinkQuery(link)).toBe('expires=1800000000&sig=m4f46u3sQFaBkpoGvoHQzcJsEyEEK1x1Gdx4cuxVEtk')
  })

  it('opens its run until it expires, then is expired', () => {
    expect(checkRunLink(SECRET, given, at('2026-12-03T12:00:00Z'))).toEqual({ ok: true })
    expect(checkRunLink(SECRET, given, new Date(1_800_000_000_000))).toEqual({ ok: false, reason: 'expired' })
  })

  it('is invalid for another run, another expiry, another secret or an edited signature', () => {
    const now = at('2026-12-03T12:00:00Z')
    const other = '7f6b1f8e-6a1c-4a35-9d0e-2c1f0b9a7e13'
    expect(checkRunLink(SECRET, { ...given, run: other }, now).ok).toBe(false)
    // A longer life by editing the expiry is refused as invalid, not honoured.
    expect(checkRunLink(SECRET, { ...given, expires: '1900000000' }, now)).toEqual({
      ok: false,
      reason: 'invalid',
    })
    expect(checkRunLink(Buffer.from('j'.repeat(32)), given, now)).toEqual({ ok: false, reason: 'invalid' })
    const flipped = `${given.sig.slice(0, -1)}${given.sig.endsWith('A') ? 'B' : 'A'}`
    expect(checkRunLink(SECRET, { ...given, sig: flipped }, now)).toEqual({ ok: false, reason: 'invalid' })
  })

  it('refuses what is not a link at all without throwing', () => {
    const now = at('2026-12-03T12:00:00Z')
    for (const bad of [
      { ...given, expires: undefined },
      { ...given, sig: undefined },
      { ...given, expires: '-1' },
      { ...given, expires: '1e12' },
      { ...given, expires: '9'.repeat(40) },
      { ...given, sig: `${given.sig}=` },
      { ...given, sig: '' },
      { ...given, run: '../etc/passwd' },
      { ...given, run: '' },
    ]) {
      expect(checkRunLink(SECRET, bad, now), JSON.stringify(bad)).toEqual({ ok: false, reason: 'invalid' })
    }
  })
})

describe('the link secret', () => {
  let db: Kysely<Database>
  let close: () => Promise<void>
  beforeAll(async () => {
    ;({ db, close } = await migratedDatabase())
  })
  afterAll(() => close())

  it('is made once and shared: replicas starting together agree on one', async () => {
    const secrets = await Promise.all(Array.from({ length: 5 }, () => linkSecret(db, null)))
    expect(secrets[0]!.length).toBe(32)
    for (const s of secrets) expect(s.equals(secrets[0]!)).toBe(true)
    expect((await linkSecret(db, null)).equals(secrets[0]!)).toBe(true)
    expect(await db.selectFrom('service_secrets').select('name').execute()).toEqual([
      { name: 'dashboard-links' },
    ])
  })

  it('is the one given when there is one, and a short one is refused', async () => {
    expect((await linkSecret(db, 's'.repeat(32))).toString()).toBe('s'.repeat(32))
    await expect(linkSecret(db, 'short')).rejects.toThrow('at least 32 bytes')
  })
})
