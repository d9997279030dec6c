// The outbox's claiming rules on both engines: leases lapse, one key is never delivered twice at
// once, the newest notification of a key wins. And GitHub settings read from the environment.
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { migrateToLatest, openDatabase } from '../service/db/connect.ts'
import { githubConfigFromEnv, publicUrlFromEnv } from '../service/github/config.ts'
import { githubFailure } from '../service/github/failure.ts'
import {
  EVERY_ACCOUNT,
  holdCredential,
  rateLimitLifts,
  releaseCredential,
} from '../service/notifications/holds.ts'
import type { NewNotification } from '../service/notifications/notification.ts'
import { claim, enqueue, markAttemptFailed, markDelivered } from '../service/notifications/outbox.ts'
import { backoffDelay, DEFAULT_OUTBOX, type Failure } from '../service/notifications/worker.ts'
import { createProject } from '../service/projects/repository.ts'
import { engine, freshDatabase } from './db-helpers.ts'

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
beforeEach(async () => {
  await db.deleteFrom('notifications').execute()
  await db.deleteFrom('github_rate_limits').execute()
})

function status(sha: string, state: 'pending' | 'success' = 'success', owner = 'acme'): NewNotification {
  return {
    kind: 'commit_verdict',
    key: `status:${owner.toLowerCase()}/llm@${sha}:chat`,
    payload: {
      owner,
      repo: 'llm',
      sha,
      benchmark: 'chat',
      state,
      conclusion: state === 'pending' ? null : 'success',
      description: state,
      target_url: null,
      summary: null,
    },
  }
}

const ids = (rows: { id: string }[]) => rows.map((r) => r.id)
const stateOf = async (id: string) =>
  (await db.selectFrom('notifications').select('state').where('id', '=', id).executeTakeFirstOrThrow()).state

describe(`outbox on ${engine}`, () => {
  it('claims due notifications once, and again when the lease lapses', async () => {
    const [a, b] = await enqueue(db, projectId, null, [status('aaa'), status('bbb')])
    const first = await claim(db, 10, 300)
    expect(ids(first)).toEqual([a!.id, b!.id])
    expect(first.map((n) => n.attempt)).toEqual([1, 1])
    expect(await claim(db, 10, 300)).toEqual([])
    // The worker died holding them: after the lease they are claimed again, as second attempts.
    await new Promise((r) => setTimeout(r, 400))
    const again = await claim(db, 10, 300)
    expect(ids(again)).toEqual([a!.id, b!.id])
    expect(again.map((n) => n.attempt)).toEqual([2, 2])
  })

  it('delivers only the newest notification of a key, and never beside one in flight', async () => {
    const [old] = await enqueue(db, projectId, null, [status('ccc', 'pending')])
    const [inFlight] = await claim(db, 10, 60_000)
    expect(inFlight!.id).toBe(old!.id)
    const [newer] = await enqueue(db, projectId, null, [status('ccc')])
    // Same key as the one being delivered: it waits.
    expect(await claim(db, 10, 60_000)).toEqual([])
    await markAttemptFailed(db, old!.id, '500 Server Error', new Date())
    // The old one is due again, but the newer one is what GitHub should show: it is taken, the
    // old one superseded.
    const next = await claim(db, 10, 60_000)
    expect(ids(next)).toEqual([newer!.id])
    expect(await stateOf(old!.id)).toBe('superseded')
    await markDelivered(db, newer!.id, { status_id: 1 })
    expect(await stateOf(newer!.id)).toBe('delivered')
    expect(await claim(db, 10, 60_000)).toEqual([])
  })

  it('waits for next_attempt_at, and a failure without a retry is final', async () => {
    const [n] = await enqueue(db, projectId, null, [status('ddd')])
    await claim(db, 1, 60_000)
    await markAttemptFailed(db, n!.id, 'boom', new Date(Date.now() + 60_000))
    expect(await claim(db, 10, 60_000)).toEqual([])
    await markAttemptFailed(db, n!.id, '404 Not Found', null)
    expect(await stateOf(n!.id)).toBe('failed')
  })

  it("a rate limit holds its credential's notifications, for every replica, until it lifts", async () => {
    const [acme] = await enqueue(db, projectId, null, [status('f01')])
    const [other] = await enqueue(db, projectId, null, [status('f02', 'success', 'Other-Org')])
    const limit: Failure = { message: 'limited', retryable: true, notBefore: null, rateLimit: 'secondary' }
    const s = { ...DEFAULT_OUTBOX, rateLimitWaitMs: 300 }
    // As a GitHub App, an installation is one account's: the other accounts' deliveries go on.
    const lifts = await holdCredential(db, 'acme', limit, s, Date.now())
    expect(ids(await claim(db, 10, 60_000))).toEqual([other!.id])
    // A token is one credential for every account.
    await holdCredential(db, EVERY_ACCOUNT, limit, s, Date.now())
    const [later] = await enqueue(db, projectId, null, [status('f03', 'success', 'other-org')])
    expect(await claim(db, 10, 60_000)).toEqual([])
    await new Promise((r) => setTimeout(r, lifts.getTime() - Date.now() + 50))
    expect(ids(await claim(db, 10, 60_000)).sort()).toEqual([acme!.id, later!.id].sort())
  })

  it('repeated limits of a credential double its hold; a delivery after it lifts starts over', async () => {
    const limit: Failure = { message: 'limited', retryable: true, notBefore: null, rateLimit: 'secondary' }
    const s = { ...DEFAULT_OUTBOX, rateLimitWaitMs: 200 }
    const hold = async () => {
      const now = Date.now()
      return (await holdCredential(db, EVERY_ACCOUNT, limit, s, now)).getTime() - now
    }
    expect(await hold()).toBe(200)
    expect(await hold()).toBe(400)
    // Still held: a success elsewhere (a delivery already in flight) does not end the hold.
    await releaseCredential(db, EVERY_ACCOUNT)
    expect(await hold()).toBe(800)
    await new Promise((r) => setTimeout(r, 850))
    await releaseCredential(db, EVERY_ACCOUNT)
    expect(await hold()).toBe(200)
  })

  it.runIf(engine === 'postgres')('concurrent claimers share out the rows without overlap', async () => {
    const many = Array.from({ length: 40 }, (_, i) => status(`e${i.toString(16).padStart(3, '0')}`))
    await enqueue(db, projectId, null, many)
    // Eight claimers on separate connections, each taking rows one at a time until none are left.
    const claimers = Array.from({ length: 8 }, async () => {
      const got: string[] = []
      for (;;) {
        const rows = await claim(db, 1, 60_000)
        if (!rows.length) return got
        got.push(...ids(rows))
      }
    })
    const taken = (await Promise.all(claimers)).flat()
    expect(taken).toHaveLength(40)
    expect(new Set(taken).size).toBe(40)
  })
})

describe('back-off and failures', () => {
  it('doubles from backoffMs up to maxBackoffMs, at most 25% longer', () => {
    const s = { ...DEFAULT_OUTBOX, backoffMs: 1000, maxBackoffMs: 10_000 }
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(a, s, () => 0))).toEqual([1000, 2000, 4000, 8000, 10_000])
    expect(backoffDelay(2, s, () => 1)).toBe(2500)
    expect(backoffDelay(5, s, () => 1)).toBe(10_000)
  })

  const answer = (status: number, headers: Record<string, string> = {}, message = 'Something') =>
    Object.assign(new Error(message), {
      status,
      request: { method: 'POST', url: 'https://api.github.com/repos/a/b/statuses/abc' },
      response: { headers },
    })

  it('tells retryable answers from final ones, and when a rate limit lifts', () => {
    const now = 1_800_000_000_000
    expect(githubFailure(answer(502), now)).toMatchObject({ retryable: true, notBefore: null })
    expect(githubFailure(answer(404), now)).toMatchObject({
      retryable: false,
      message: 'POST /repos/a/b/statuses/abc: Something',
    })
    expect(githubFailure(answer(422), now).retryable).toBe(false)
    // A 403 is a missing permission unless GitHub says it is a rate limit.
    expect(githubFailure(answer(403), now).retryable).toBe(false)
    expect(
      githubFailure(answer(403, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1800000060' }), now),
    ).toMatchObject({
      retryable: true,
      notBefore: 1_800_000_060_000,
    })
    expect(githubFailure(answer(403, { 'retry-after': '30' }), now)).toMatchObject({
      retryable: true,
      notBefore: now + 30_000,
    })
    // A 429 is a rate limit, whatever its headers.
    expect(githubFailure(answer(429, {}), now)).toMatchObject({ retryable: true, rateLimit: 'secondary' })
    // No answer at all: Octokit reports status 500 without a response.
    const network = Object.assign(new Error('connect ECONNREFUSED'), { status: 500 })
    expect(githubFailure(network, now)).toMatchObject({
      retryable: true,
      message: 'network error: connect ECONNREFUSED',
    })
  })

  // GitHub's "Rate limits for the REST API" and "Best practices for using the REST API", with the
  // service's real defaults.
  it('waits out rate limits as GitHub documents them', () => {
    const now = 1_800_000_000_000
    const inS = (s: number) => String(now / 1000 + s)
    const secondaryMessage = 'You have exceeded a secondary rate limit. Please wait a few minutes.'
    const lifts = (f: Failure, strike = 1) => rateLimitLifts(f, strike, DEFAULT_OUTBOX, now) - now
    // Secondary, without retry-after: at least a minute, then exponentially longer, up to an hour.
    const secondary = githubFailure(
      answer(403, { 'x-ratelimit-remaining': '4987', 'x-ratelimit-reset': inS(3000) }, secondaryMessage),
      now,
    )
    expect(secondary).toMatchObject({ retryable: true, rateLimit: 'secondary', notBefore: null })
    expect(secondary.message).toMatch(/\(rate limited\)$/)
    expect([1, 2, 3, 7].map((k) => lifts(secondary, k))).toEqual([60_000, 120_000, 240_000, 3_600_000])
    // A 429 without retry-after: about a minute, not x-ratelimit-reset's hour.
    const tooMany = githubFailure(
      answer(429, { 'x-ratelimit-remaining': '12', 'x-ratelimit-reset': inS(3600) }, secondaryMessage),
      now,
    )
    expect(tooMany.rateLimit).toBe('secondary')
    expect(lifts(tooMany)).toBe(60_000)
    // retry-after, when present, is the wait.
    const after = githubFailure(answer(403, { 'retry-after': '14' }, secondaryMessage), now)
    expect([after.rateLimit, lifts(after), lifts(after, 3)]).toEqual(['secondary', 14_000, 14_000])
    // Primary (remaining 0, on a 403 or a 429): until the reset, at most an hour away.
    for (const code of [403, 429]) {
      const primary = githubFailure(
        answer(
          code,
          { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': inS(1800) },
          'API rate limit exceeded',
        ),
        now,
      )
      expect([primary.rateLimit, lifts(primary)]).toEqual(['primary', 1_800_000])
    }
    const farReset = { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': inS(7200) }
    expect(lifts(githubFailure(answer(403, farReset), now))).toBe(3_600_000)
    // A reset already past (the clocks disagree): waited as if GitHub had given no time.
    const pastReset = { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': inS(-5) }
    expect(lifts(githubFailure(answer(403, pastReset), now), 2)).toBe(120_000)
    // A 403 that says nothing of a rate limit, with calls left, is a missing permission.
    expect(
      githubFailure(
        answer(403, { 'x-ratelimit-remaining': '4999' }, 'Resource not accessible by integration'),
        now,
      ),
    ).toMatchObject({ retryable: false, rateLimit: null })
  })
})

describe('GitHub settings from the environment', () => {
  it('none: no reporting', () => {
    expect(githubConfigFromEnv({})).toBeNull()
  })

  it('a token, with an Enterprise Server API URL', () => {
    const c = githubConfigFromEnv({
      INFERGATE_GITHUB_TOKEN: 'ghp_x',
      INFERGATE_GITHUB_API_URL: 'https://ghe.example.com/api/v3/',
    })
    expect(c).toMatchObject({
      apiUrl: 'https://ghe.example.com/api/v3',
      auth: { kind: 'token', token: 'ghp_x' },
    })
  })

  it('an App, its key inline (with escaped line breaks) or from a file', () => {
    const pem = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs1', format: 'pem' })
      .toString()
    const inline = githubConfigFromEnv({
      INFERGATE_GITHUB_APP_ID: '123',
      INFERGATE_GITHUB_APP_PRIVATE_KEY: pem.replaceAll('\n', '\\n'),
    })
    expect(inline?.auth).toEqual({ kind: 'app', appId: 123, privateKey: pem })
    const file = join(mkdtempSync(join(tmpdir(), 'infergate-key-')), 'app.pem')
    writeFileSync(file, pem)
    expect(
      githubConfigFromEnv({ INFERGATE_GITHUB_APP_ID: '123', INFERGATE_GITHUB_APP_PRIVATE_KEY_FILE: file })
        ?.auth,
    ).toEqual(inline?.auth)
  })

  it('errors name the variable', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [
        { INFERGATE_GITHUB_TOKEN: 'x', INFERGATE_GITHUB_APP_ID: '1' },
        /INFERGATE_GITHUB_TOKEN or INFERGATE_GITHUB_APP_ID/,
      ],
      [{ INFERGATE_GITHUB_APP_ID: 'my-app' }, /^INFERGATE_GITHUB_APP_ID: expected the App's numeric id/],
      [{ INFERGATE_GITHUB_APP_ID: '1' }, /no private key: set INFERGATE_GITHUB_APP_PRIVATE_KEY/],
      [
        { INFERGATE_GITHUB_APP_ID: '1', INFERGATE_GITHUB_APP_PRIVATE_KEY: 'hello' },
        /^INFERGATE_GITHUB_APP_PRIVATE_KEY: not a PEM/,
      ],
      [
        { INFERGATE_GITHUB_APP_ID: '1', INFERGATE_GITHUB_APP_PRIVATE_KEY_FILE: '/nonexistent.pem' },
        /^INFERGATE_GITHUB_APP_PRIVATE_KEY_FILE: cannot read/,
      ],
      [
        { INFERGATE_GITHUB_TOKEN: 'x', INFERGATE_GITHUB_API_URL: 'ghe.example.com' },
        /^INFERGATE_GITHUB_API_URL: not an http\(s\) URL/,
      ],
    ]
    for (const [env, message] of cases) expect(() => githubConfigFromEnv(env)).toThrow(message)
    expect(() => publicUrlFromEnv({ INFERGATE_PUBLIC_URL: 'infergate' })).toThrow(
      /^INFERGATE_PUBLIC_URL: not an http/,
    )
    expect(publicUrlFromEnv({ INFERGATE_PUBLIC_URL: 'https://ig.example.com/' })).toBe(
      'https://ig.example.com',
    )
  })
})
