// GitHub reporting end to end: the service (real HTTP, real Octokit) against a fake GitHub REST
// API on loopback. Reports go in through the API; what GitHub received is read from the fake's
// record of calls and state.
import { createHash, generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { commentMarker } from '../core/render/markdown.ts'
import { parseReport, type Report } from '../core/report.ts'
import { ServiceClient } from '../core/service-client.ts'
import { DEFAULT_CONFIG, type ServiceConfig } from '../service/app.ts'
import { type DatabaseTarget, openDatabase } from '../service/db/connect.ts'
import type { GithubAuth } from '../service/github/config.ts'
import type { Log } from '../service/log.ts'
import { type NotificationView, notificationsOfRun } from '../service/notifications/outbox.ts'
import type { OutboxSettings } from '../service/notifications/worker.ts'
import { type RunningService, startService } from '../service/server.ts'
import { engine, freshDatabase } from './db-helpers.ts'
import { type Call, type FakeGithub as Fake, FakeGithub, type Fault } from './fakes/github-api.ts'
import { ciIdentity, makeReport } from './report-factory.ts'

const ADMIN = 'admin-secret'
const TOKEN = 'ghp_test_token'
const FAST: OutboxSettings = {
  pollMs: 50,
  leaseMs: 10_000,
  maxAttempts: 4,
  backoffMs: 150,
  maxBackoffMs: 2_000,
  maxRateLimitHolds: 24,
  // GitHub's minute without retry-after, shortened (outbox.test.ts checks the real default).
  rateLimitWaitMs: 400,
}

const sha = (n: number) => createHash('sha1').update(`commit ${n}`).digest('hex')

let ciRun = 5000
function report(seed: number, git: Partial<Report['git']>, tpot = 10): Report {
  const r = makeReport(seed, [{ tpot, requests: 200 }], { benchmark: 'chat' })
  return parseReport({
    ...r,
    git: { ...r.git, repository: 'acme/llm', sha: sha(seed), ...git },
    ci: { ...ciIdentity(ciRun++), server_url: 'https://github.test' },
  })
}
const onMain = (seed: number) => report(seed, { branch: 'main', event_name: 'push', ref: 'refs/heads/main' })
const onPr = (seed: number, pr: number, tpot = 10) =>
  report(
    seed,
    {
      branch: 'feature',
      base_branch: 'main',
      pr_number: pr,
      event_name: 'pull_request',
      ref: `refs/pull/${pr}/merge`,
    },
    tpot,
  )

interface Harness {
  service: RunningService
  client: ServiceClient
  logs: { level: string; msg: string; fields: Record<string, unknown> }[]
  run(id: string): Promise<{ notifications: NotificationView[] }>
  /** Waits until every notification of the run has left the pending state. */
  settled(id: string, timeoutMs?: number): Promise<NotificationView[]>
}

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  const errors: unknown[] = []
  while (cleanups.length) await cleanups.pop()!().catch((e: unknown) => errors.push(e))
  if (errors.length) throw new AggregateError(errors, 'cleanup failed')
})

async function fakeGithub(
  options: ConstructorParameters<typeof FakeGithub>[0] = { token: TOKEN },
): Promise<Fake> {
  const fake = await new FakeGithub(options).start()
  cleanups.push(() => fake.close())
  return fake
}

async function database(): Promise<DatabaseTarget> {
  const fresh = await freshDatabase()
  cleanups.push(fresh.drop)
  return fresh.target
}

async function serve(
  target: DatabaseTarget,
  fake: Fake | null,
  o: {
    auth?: GithubAuth
    outbox?: Partial<OutboxSettings>
    token?: string
    publicUrl?: string | null
  } = {},
): Promise<Harness & { projectToken: string }> {
  const logs: Harness['logs'] = []
  const log: Log = (level, msg, fields = {}) => logs.push({ level, msg, fields })
  const config: ServiceConfig = {
    ...DEFAULT_CONFIG,
    adminToken: ADMIN,
    publicUrl: o.publicUrl === undefined ? 'https://infergate.test' : o.publicUrl,
    github: fake
      ? {
          apiUrl: fake.url,
          auth: o.auth ?? { kind: 'token', token: TOKEN },
          timeoutMs: 400,
          outbox: { ...FAST, ...o.outbox },
        }
      : null,
  }
  const service = await startService(target, config, { host: '127.0.0.1', port: 0 }, log)
  let stopped = false
  const stop = service.close
  service.close = async () => {
    if (stopped) return
    stopped = true
    await stop()
  }
  cleanups.push(() => service.close())
  let projectToken = o.token
  if (!projectToken) {
    const res = await fetch(`${service.url}/api/v1/projects`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ owner: 'acme', repo: 'llm' }),
    })
    expect(res.status).toBe(201)
    projectToken = ((await res.json()) as { token: string }).token
  }
  const client = new ServiceClient({ url: service.url, token: projectToken, attempts: 1 })
  const run = async (id: string) =>
    (await client.call<{ notifications: NotificationView[] }>('GET', `/api/v1/runs/${id}`)).body
  const settled = async (id: string, timeoutMs = 15_000) => {
    const until = Date.now() + timeoutMs
    for (;;) {
      const { notifications } = await run(id)
      if (notifications.every((n) => n.state !== 'pending')) return notifications
      if (Date.now() > until) throw new Error(`still pending: ${JSON.stringify(notifications)}`)
      await new Promise((r) => setTimeout(r, 25))
    }
  }
  return { service, client, logs, run, settled, projectToken }
}

/** Three runs on main, so that pull requests have a baseline. */
async function baseline(h: Harness, first = 1): Promise<string[]> {
  const ids: string[] = []
  for (let i = 0; i < 3; i++) {
    const posted = await h.client.postReport(onMain(first + i))
    ids.push(posted.id)
    await h.settled(posted.id)
  }
  return ids
}

/** Polls `done` until it holds, or fails the test after `timeoutMs`. */
async function eventually(what: string, done: () => boolean | Promise<boolean>, timeoutMs = 10_000) {
  const until = Date.now() + timeoutMs
  while (!(await done())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** A PGlite that outlives its service must be on disk; a Postgres database outlives it anyway. */
async function durableDatabase(): Promise<DatabaseTarget> {
  const target = await database()
  if (engine !== 'pglite') return target
  const dir = mkdtempSync(join(tmpdir(), 'infergate-outbox-'))
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }))
  return { dataDir: dir }
}

/** A run's notifications read straight from the database, with no service running. */
async function openRun(target: DatabaseTarget, runId: string): Promise<NotificationView[]> {
  const db = openDatabase(target)
  try {
    return await notificationsOfRun(db, runId)
  } finally {
    await db.destroy()
  }
}

describe(`GitHub reporting on ${engine}`, () => {
  it('a base-branch run gets a commit status on its SHA and no comment', async () => {
    const fake = await fakeGithub()
    const h = await serve(await database(), fake)
    const posted = await h.client.postReport(onMain(1))
    const [status] = await h.settled(posted.id)
    expect(status).toMatchObject({
      kind: 'commit_verdict',
      state: 'delivered',
      attempts: 1,
      last_error: null,
    })
    expect(fake.comments).toHaveLength(0)
    expect(fake.statuses).toEqual([
      expect.objectContaining({
        repo: 'acme/llm',
        sha: sha(1),
        state: 'success',
        context: 'infergate/chat',
        description: 'No baseline yet: this run starts the history',
        // The run's page, signed: it opens without the project's token (test/dashboard.test.ts).
        target_url: expect.stringMatching(
          new RegExp(`^https://infergate\\.test/runs/${posted.id}\\?expires=\\d+&sig=[\\w-]{43}$`),
        ),
      }),
    ])
    expect(fake.calls.every((c) => c.authorization === `token ${TOKEN}`)).toBe(true)
  })

  it('a PR gets one sticky comment, created then updated, and statuses on each head SHA', async () => {
    const fake = await fakeGithub()
    const h = await serve(await database(), fake)
    const base = await baseline(h)
    const first = await h.client.postReport(onPr(10, 7))
    // Queued with the run, in its transaction.
    expect(first.notifications.map((n) => n.kind)).toEqual(['commit_verdict', 'pr_comment'])
    expect((await h.settled(first.id)).map((n) => [n.kind, n.state])).toEqual([
      ['commit_verdict', 'delivered'],
      ['pr_comment', 'delivered'],
    ])
    // The PR's second push decodes 25% slower.
    const second = await h.client.postReport(onPr(11, 7, 12.5))
    const notes = await h.settled(second.id)
    expect(notes.map((n) => n.state)).toEqual(['delivered', 'delivered'])
    expect(notes[1]!.result).toMatchObject({ action: 'updated' })

    expect(fake.callsTo('POST', /\/issues\/7\/comments$/)).toHaveLength(1)
    expect(fake.callsTo('PATCH', /\/issues\/comments\/\d+$/)).toHaveLength(1)
    expect(fake.comments).toHaveLength(1)
    const body = fake.comments[0]!.body
    expect(body.startsWith(commentMarker('chat'))).toBe(true)
    expect(body).toContain('🔴 regression')
    expect(body).toContain('TPOT')
    // It says which push it describes: the second.
    expect(body).toContain(`<sub>commit \`${sha(11).slice(0, 7)}\` · `)
    // The baseline runs are listed by the commits they measured.
    for (const id of base) {
      const sha7 = (
        (await h.client.call<{ report: Report }>('GET', `/api/v1/runs/${id}`)).body.report.git.sha ?? ''
      ).slice(0, 7)
      expect(body).toContain(`\`${sha7}\``)
    }
    const prStatuses = fake.statuses.filter((s) => s.sha === sha(10) || s.sha === sha(11))
    expect(prStatuses.map((s) => [s.sha, s.state])).toEqual([
      [sha(10), 'success'],
      [sha(11), 'failure'],
    ])
    expect(prStatuses[1]!.description).toMatch(/^Regression: TPOT \+2\d\.\d% \(concurrency-8\)$/)
  })

  it('finds its comment among hundreds by paging through them', async () => {
    const fake = await fakeGithub()
    const h = await serve(await database(), fake)
    fake.seedComments(
      'acme/llm',
      9,
      Array.from({ length: 230 }, (_, i) => `LGTM ${i}`),
    )
    await h.settled((await h.client.postReport(onPr(20, 9))).id)
    fake.seedComments('acme/llm', 9, ['one more'])
    await h.settled((await h.client.postReport(onPr(21, 9))).id)
    const pages = fake
      .callsTo('GET', /\/issues\/9\/comments$/)
      .map((c) => [c.query.page ?? '1', c.query.per_page])
    // First delivery: three pages without a marker, then a create; second: found on page 3.
    expect(pages).toEqual([
      ['1', '100'],
      ['2', '100'],
      ['3', '100'],
      ['1', '100'],
      ['2', '100'],
      ['3', '100'],
    ])
    expect(fake.callsTo('POST', /\/issues\/9\/comments$/)).toHaveLength(1)
    expect(fake.callsTo('PATCH', /\/issues\/comments\/\d+$/)).toHaveLength(1)
  })

  it('retries 5xx and timeouts with doubling back-off, and honours rate limits', async () => {
    const fake = await fakeGithub()
    const h = await serve(await database(), fake)
    fake.fail({ method: 'POST', path: /\/statuses\// }, { status: 500 })
    fake.fail({ method: 'POST', path: /\/statuses\// }, { hang: true })
    fake.fail({ method: 'POST', path: /\/statuses\// }, { status: 502 })
    const posted = await h.client.postReport(onMain(30))
    const [note] = await h.settled(posted.id)
    expect(note).toMatchObject({ state: 'delivered', attempts: 4, last_error: null })
    const tries = fake.callsTo('POST', /\/statuses\//)
    expect(tries.map((c) => c.status)).toEqual([500, -1, 502, 201])
    // Attempt n+1 waits at least backoffMs·2^(n−1) after attempt n ended (a hang ends at the
    // 400 ms timeout).
    const gaps = tries.slice(1).map((c, i) => c.at - tries[i]!.at)
    expect(gaps[0]).toBeGreaterThanOrEqual(FAST.backoffMs)
    expect(gaps[1]).toBeGreaterThanOrEqual(400 + 2 * FAST.backoffMs)
    expect(gaps[2]).toBeGreaterThanOrEqual(4 * FAST.backoffMs)
    expect(h.logs.filter((l) => l.msg === 'notification will be retried')).toHaveLength(3)

    // Primary rate limit: 403 with x-ratelimit-reset (epoch seconds); secondary: retry-after.
    fake.fail({ method: 'POST', path: /\/statuses\// }, { rateLimitResetInS: 1 })
    fake.fail({ method: 'POST', path: /\/statuses\// }, { secondary: 403, retryAfterS: 1 })
    const limited = await h.client.postReport(onMain(31))
    const [after] = await h.settled(limited.id)
    expect(after).toMatchObject({ state: 'delivered', attempts: 3 })
    const [a, b, c] = fake.callsTo('POST', /\/statuses\//).slice(-3)
    expect([a!.status, b!.status, c!.status]).toEqual([403, 403, 201])
    // The reset is a whole second in the future (rounded up), retry-after is 1 s.
    expect(b!.at - a!.at).toBeGreaterThanOrEqual(950)
    expect(c!.at - b!.at).toBeGreaterThanOrEqual(1000)
  })

  it('gives up after the bounded attempts, or at once on a 404, and shows the last error', async () => {
    const fake = await fakeGithub()
    const h = await serve(await database(), fake)
    fake.fail({ method: 'POST', path: /\/statuses\// }, { status: 500 }, FAST.maxAttempts)
    fake.missingPrs.add('acme/llm#404')
    const posted = await h.client.postReport(onPr(40, 404))
    const [status, comment] = await h.settled(posted.id)
    expect(status).toMatchObject({ kind: 'commit_verdict', state: 'failed', attempts: FAST.maxAttempts })
    expect(status!.last_error).toMatch(/^POST \/repos\/acme\/llm\/statuses\/[0-9a-f]{40}: Server Error/)
    expect(comment).toMatchObject({ kind: 'pr_comment', state: 'failed', attempts: 1 })
    expect(comment!.last_error).toMatch(/GET \/repos\/acme\/llm\/issues\/404\/comments: Not Found/)
    expect(fake.callsTo('POST', /\/statuses\//)).toHaveLength(FAST.maxAttempts)
    expect(h.logs.filter((l) => l.msg === 'notification failed')).toHaveLength(2)
  })

  it('loses nothing across a restart: what was owed is delivered by the next start', async () => {
    const fake = await fakeGithub()
    const target = await durableDatabase()
    // GitHub is down for the first service's whole life.
    const down = await fakeGithub()
    down.fail({}, { status: 502 }, 1000)
    const first = await serve(target, down, { outbox: { backoffMs: 300 } })
    const posted = await first.client.postReport(onPr(50, 5))
    const until = Date.now() + 10_000
    while ((await first.run(posted.id)).notifications.some((n) => n.attempts === 0) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 25))
    }
    await first.service.close()
    const owed = (await openRun(target, posted.id)).map((n) => [n.state, n.last_error])
    expect(owed).toEqual([
      ['pending', expect.stringMatching(/Bad Gateway/)],
      ['pending', expect.stringMatching(/Bad Gateway/)],
    ])

    const second = await serve(target, fake, { token: first.projectToken })
    const delivered = await second.settled(posted.id)
    expect(delivered.map((n) => n.state)).toEqual(['delivered', 'delivered'])
    expect(fake.statuses.map((s) => s.sha)).toEqual([sha(50)])
    expect(fake.callsTo('POST', /\/issues\/5\/comments$/)).toHaveLength(1)
  })

  it('announces pending before the benchmark, then the verdict on the same commit', async () => {
    const fake = await fakeGithub()
    const h = await serve(await database(), fake)
    const head = sha(60)
    const { queued } = await h.client.postStatus({
      benchmark: 'chat',
      sha: head,
      state: 'pending',
      target_url: 'https://github.test/acme/llm/actions/runs/1',
    })
    expect(queued).toBe(1)
    const until = Date.now() + 10_000
    while (fake.statuses.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20))
    const r = report(60, { pr_number: 3, event_name: 'pull_request', base_branch: 'main', branch: 'f' })
    await h.settled((await h.client.postReport(r)).id)
    expect(fake.statuses.map((s) => [s.sha, s.context, s.state, s.description])).toEqual([
      [head, 'infergate/chat', 'pending', 'Benchmarking…'],
      [head, 'infergate/chat', 'success', 'No baseline yet: this run starts the history'],
    ])
    // Bad input is refused with the field named, and nothing is queued.
    const bad = await fetch(`${h.service.url}/api/v1/statuses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.projectToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ benchmark: 'chat', sha: 'not-a-sha', state: 'pending' }),
    })
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(
      /^invalid status: sha:/,
    )
    expect(fake.statuses).toHaveLength(2)
  })

  it('as a GitHub App: check runs instead of statuses, one installation token reused', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const fake = await fakeGithub({
      app: {
        id: 4242,
        publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        installations: { 'acme/llm': 77 },
      },
    })
    // GitHub hands out PKCS#1 keys ("BEGIN RSA PRIVATE KEY").
    const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()
    const h = await serve(await database(), fake, { auth: { kind: 'app', appId: 4242, privateKey: pem } })
    const head = sha(70)
    await h.client.postStatus({ benchmark: 'chat', sha: head, state: 'pending' })
    const until = Date.now() + 10_000
    while (fake.checkRuns.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20))
    expect(fake.checkRuns.map((r) => [r.name, r.status, r.conclusion])).toEqual([
      ['infergate/chat', 'in_progress', null],
    ])
    const r = report(70, { pr_number: 4, event_name: 'pull_request', base_branch: 'main', branch: 'f' })
    const notes = await h.settled((await h.client.postReport(r)).id)
    expect(notes.map((n) => n.state)).toEqual(['delivered', 'delivered'])
    // The open check run is completed, with the comparison as its summary.
    expect(fake.checkRuns).toHaveLength(1)
    expect(fake.checkRuns[0]).toMatchObject({
      head_sha: head,
      status: 'completed',
      conclusion: 'neutral',
      app_id: 4242,
    })
    expect(fake.checkRuns[0]!.output.summary).toContain(commentMarker('chat'))
    expect(fake.statuses).toHaveLength(0)
    expect(fake.comments).toHaveLength(1)
    // Three deliveries, one installation lookup and one token: the App's JWT only buys tokens.
    expect(fake.callsTo('GET', /\/installation$/)).toHaveLength(1)
    expect(fake.callsTo('POST', /\/access_tokens$/)).toHaveLength(1)
    const repoCalls = fake.calls.filter(
      (c) => c.path.startsWith('/repos/acme/llm/') && !c.path.endsWith('/installation'),
    )
    expect(repoCalls.every((c) => /^token ghs_/.test(c.authorization ?? ''))).toBe(true)
  })

  it('without credentials: said once at start, runs stored, nothing queued', async () => {
    const h = await serve(await database(), null)
    expect(h.logs.filter((l) => l.msg.startsWith('not reporting to GitHub'))).toHaveLength(1)
    const posted = await h.client.postReport(onPr(80, 8))
    expect(posted.notifications).toEqual([])
    expect((await h.run(posted.id)).notifications).toEqual([])
    expect(await h.client.postStatus({ benchmark: 'chat', sha: sha(80), state: 'pending' })).toEqual({
      queued: 0,
    })
  })

  it.runIf(engine === 'postgres')('two replicas deliver each notification once', async () => {
    const fake = await fakeGithub()
    const target = await database()
    const a = await serve(target, fake)
    const b = await serve(target, fake, { token: a.projectToken })
    // Six PRs, two pushes each, posted to both replicas at once.
    const posted = await Promise.all(
      Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).client.postReport(onPr(100 + i, 20 + (i % 6)))),
    )
    const notes = (await Promise.all(posted.map((p) => a.settled(p.id, 30_000)))).flat()
    expect(notes.every((n) => n.state === 'delivered' || n.state === 'superseded')).toBe(true)
    // Each PR has exactly one comment, created once, whatever the interleaving.
    for (let pr = 20; pr < 26; pr++) {
      expect(fake.callsTo('POST', new RegExp(`/issues/${pr}/comments$`))).toHaveLength(1)
    }
    expect(fake.comments).toHaveLength(6)
    // Every status was sent once: one per commit, each by one replica.
    expect(fake.statuses.map((s) => s.sha).sort()).toEqual(posted.map((_, i) => sha(100 + i)).sort())
    const deliveries = [...a.logs, ...b.logs].filter((l) => l.msg === 'notification delivered')
    expect(new Set(deliveries.map((d) => d.fields.id)).size).toBe(deliveries.length)
    expect(new Set(deliveries.map((d) => a.logs.includes(d)))).toEqual(new Set([true, false]))
  })
})

// GitHub's "Rate limits for the REST API": a primary limit (x-ratelimit-remaining 0) lifts at
// x-ratelimit-reset; a secondary one after retry-after when given, else after at least a minute,
// longer on repeats. It limits the credential, so nothing at all may go out with it meanwhile.
describe(`GitHub's rate limits on ${engine}`, () => {
  const WAIT = FAST.rateLimitWaitMs
  const limitedAnswer = (c: Call) => c.answerHeaders['x-ratelimit-limit'] !== undefined

  /** When GitHub said the limit a call was answered with lifts. */
  function liftsAt(c: Call): number {
    const h = c.answerHeaders
    if (h['retry-after'] !== undefined) return c.at + Number(h['retry-after']) * 1000
    if (h['x-ratelimit-remaining'] === '0') return Number(h['x-ratelimit-reset']) * 1000
    return c.at + WAIT
  }

  const limits: [string, Fault][] = [
    ['a secondary limit (403) with retry-after', { secondary: 403, retryAfterS: 1 }],
    ['a secondary limit (403) without retry-after', { secondary: 403 }],
    [
      'a secondary limit (429) without retry-after, its reset an hour away',
      { secondary: 429, resetInS: 3600 },
    ],
    ['a primary limit (403, remaining 0)', { rateLimitResetInS: 1 }],
    ['a primary limit (429, remaining 0)', { rateLimitResetInS: 1, status: 429 }],
  ]
  for (const [name, fault] of limits) {
    it(`${name}: no call goes out until it lifts, then each notification arrives once`, async () => {
      const fake = await fakeGithub()
      const h = await serve(await database(), fake)
      fake.fail({ method: 'POST', path: /\/statuses\// }, fault)
      const first = await h.client.postReport(onMain(200))
      await eventually('the rate limit', () => fake.calls.some(limitedAnswer))
      // Two PRs' notifications queue up behind the limit, all with the same token.
      const others = [await h.client.postReport(onPr(201, 31)), await h.client.postReport(onPr(202, 32))]
      const notes = (await Promise.all([first, ...others].map((p) => h.settled(p.id, 8_000)))).flat()
      expect(notes.map((n) => n.state)).toEqual(Array(5).fill('delivered'))
      const limited = fake.calls.find(limitedAnswer)!
      const lifts = liftsAt(limited)
      expect(lifts - limited.at).toBeGreaterThanOrEqual(WAIT)
      const later = fake.calls.filter((c) => c !== limited && c.at >= limited.at)
      expect(later.length).toBeGreaterThanOrEqual(5)
      expect(later.filter((c) => c.at < lifts).map((c) => `${c.method} ${c.path}`)).toEqual([])
      expect(fake.statuses.map((s) => s.sha).sort()).toEqual([sha(200), sha(201), sha(202)].sort())
      expect(fake.callsTo('POST', /\/issues\/3[12]\/comments$/)).toHaveLength(2)
      expect(h.logs.filter((l) => l.msg === 'GitHub rate limit: holding deliveries')).toHaveLength(1)
    })
  }

  it('a secondary limit without retry-after, again and again: each wait doubles', async () => {
    const fake = await fakeGithub()
    const h = await serve(await database(), fake)
    fake.fail({ method: 'POST', path: /\/statuses\// }, { secondary: 403 }, 3)
    const [note] = await h.settled((await h.client.postReport(onMain(210))).id)
    expect(note).toMatchObject({ state: 'delivered', attempts: 4, last_error: null })
    const tries = fake.callsTo('POST', /\/statuses\//)
    expect(tries.map((c) => c.status)).toEqual([403, 403, 403, 201])
    const gaps = tries.slice(1).map((c, i) => c.at - tries[i]!.at)
    expect(gaps[0]).toBeGreaterThanOrEqual(WAIT)
    expect(gaps[1]).toBeGreaterThanOrEqual(2 * WAIT)
    expect(gaps[2]).toBeGreaterThanOrEqual(4 * WAIT)
  })

  it('through 5xx, timeouts and every kind of rate limit, each notification arrives once', async () => {
    const fake = await fakeGithub()
    const h = await serve(await database(), fake)
    // More failures than FAST.maxAttempts: waiting out a rate limit is not a failed attempt.
    const faults: Fault[] = [
      { status: 500 },
      { secondary: 403 },
      { hang: true },
      { secondary: 429, resetInS: 3600 },
      { rateLimitResetInS: 1 },
      { status: 502 },
      { secondary: 403, retryAfterS: 1 },
      { rateLimitResetInS: 1, status: 429 },
    ]
    for (const f of faults) fake.fail({}, f)
    const posted = await h.client.postReport(onPr(220, 40))
    const notes = await h.settled(posted.id, 30_000)
    expect(notes.map((n) => [n.kind, n.state])).toEqual([
      ['commit_verdict', 'delivered'],
      ['pr_comment', 'delivered'],
    ])
    expect(fake.calls.filter((c) => c.status !== 200 && c.status !== 201)).toHaveLength(faults.length)
    expect(fake.statuses.map((s) => s.sha)).toEqual([sha(220)])
    expect(fake.callsTo('POST', /\/issues\/40\/comments$/).filter((c) => c.status === 201)).toHaveLength(1)
    expect(fake.comments).toHaveLength(1)
  })

  it('a rate limit outlives a restart: the next start sends nothing until it lifts', async () => {
    const fake = await fakeGithub()
    const target = await durableDatabase()
    fake.fail({ method: 'POST', path: /\/statuses\// }, { secondary: 403, retryAfterS: 2 })
    const first = await serve(target, fake)
    const held = await first.client.postReport(onMain(230))
    await eventually('the limit recorded', async () =>
      (await first.run(held.id)).notifications.some((n) => n.last_error?.includes('rate limit')),
    )
    await first.service.close()
    const second = await serve(target, fake, { token: first.projectToken })
    const next = await second.client.postReport(onMain(231))
    for (const id of [held.id, next.id]) {
      expect((await second.settled(id)).map((n) => n.state)).toEqual(['delivered'])
    }
    const limited = fake.calls.find(limitedAnswer)!
    const later = fake.calls.filter((c) => c !== limited && c.at >= limited.at)
    expect(later.map((c) => c.status)).toEqual([201, 201])
    expect(Math.min(...later.map((c) => c.at))).toBeGreaterThanOrEqual(liftsAt(limited))
  })

  it('a 403 that is not a rate limit is a missing permission: failed at once', async () => {
    const fake = await fakeGithub()
    const h = await serve(await database(), fake)
    fake.fail({ method: 'POST', path: /\/statuses\// }, { status: 403 })
    const [note] = await h.settled((await h.client.postReport(onMain(240))).id)
    expect(note).toMatchObject({ state: 'failed', attempts: 1 })
    expect(note!.last_error).toMatch(/Resource not accessible by integration/)
  })
})

it(`without INFERGATE_PUBLIC_URL the comment and the status link to the CI run (${engine})`, async () => {
  const fake = await fakeGithub()
  const h = await serve(await database(), fake, { publicUrl: null })
  const r = onPr(250, 42)
  const notes = await h.settled((await h.client.postReport(r)).id)
  expect(notes.map((n) => n.state)).toEqual(['delivered', 'delivered'])
  const runUrl = `https://github.test/acme/llm/actions/runs/${r.ci!.run_id}`
  expect(fake.statuses[0]!.target_url).toBe(runUrl)
  expect(fake.comments[0]!.body).toContain(`](${runUrl})`)
})
