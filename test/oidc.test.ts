// GitHub OIDC tokens at the service, on both engines, against a local issuer (test/fakes/
// oidc-issuer.ts) signing GitHub's claim set: a bound repository's workflows post runs without
// a stored secret; every bad token is a 401 that writes nothing; the policy keeps pull
// requests' runs out of baselines.
import { writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { serve } from '@hono/node-server'
import { generateKeyPair } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseReport, type Report } from '../core/report.ts'
import { createApp, DEFAULT_CONFIG } from '../service/app.ts'
import { migrateToLatest, openDatabase } from '../service/db/connect.ts'
import { engine, freshDatabase } from './db-helpers.ts'
import { FakeOidcIssuer, type RunContext } from './fakes/oidc-issuer.ts'
import { cli, tempDir } from './helpers.ts'
import { ciIdentity, makeReport } from './report-factory.ts'

const ADMIN = 'admin-secret'
const AUDIENCE = 'https://infergate.test'
const REPO_ID = '74'
let db: ReturnType<typeof openDatabase>
let drop: () => Promise<void>
let app: ReturnType<typeof createApp>
let issuer: FakeOidcIssuer
let projectToken: string

const call = (method: string, path: string, token?: string, body?: unknown) =>
  app.request(path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })

const runsStored = async () =>
  Number((await db.selectFrom('runs').select(db.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)

beforeAll(async () => {
  issuer = await new FakeOidcIssuer().start()
  const fresh = await freshDatabase()
  drop = fresh.drop
  db = openDatabase(fresh.target)
  await migrateToLatest(db)
  app = createApp(db, {
    ...DEFAULT_CONFIG,
    adminToken: ADMIN,
    oidc: { issuer: issuer.url, audience: AUDIENCE, jwksCooldownMs: 0 },
  })
  const created = await call('POST', '/api/v1/projects', ADMIN, { owner: 'acme', repo: 'llm' })
  projectToken = ((await created.json()) as { token: string }).token
  const bound = await call('PUT', '/api/v1/projects/acme/llm/oidc', ADMIN, {
    repository_id: REPO_ID,
    baseline_refs: ['refs/heads/main'],
  })
  expect(bound.status, await bound.clone().text()).toBe(200)
})
afterAll(async () => {
  await db.destroy()
  await drop()
  await issuer.close()
})

const sha = (c: string) => c.repeat(40)
const MAIN: RunContext = {
  repository: 'acme/llm',
  repository_id: REPO_ID,
  ref: 'refs/heads/main',
  sha: sha('a'),
  event_name: 'push',
}

let ciRun = 5000
function report(git: Partial<Report['git']>): Report {
  const r = makeReport(ciRun, [{}])
  return parseReport({
    ...r,
    git: {
      ...r.git,
      repository: 'acme/llm',
      event_name: 'push',
      branch: 'main',
      sha: sha('a'),
      pr_number: null,
      ...git,
    },
    ci: ciIdentity(ciRun++),
  })
}

// A token is its job's, and a report must be the same job's (its ci.run_id): by default a token is
// for the run the next report() makes (tokens are made first in each call below).
const token = (job: Partial<RunContext> = {}, o: Partial<Parameters<FakeOidcIssuer['sign']>[1]> = {}) =>
  issuer.sign({ ...MAIN, run_id: String(ciRun), ...job }, { audience: AUDIENCE, ...o })

describe(`GitHub OIDC on ${engine}`, () => {
  it("a push's token on main posts a run: the project is the bound repository's", async () => {
    const res = await call('POST', '/api/v1/runs', await token(), report({}))
    expect(res.status, await res.clone().text()).toBe(201)
    const { id } = (await res.json()) as { id: string }
    // The token reads back what it wrote; the JWKS was fetched once for both requests.
    const read = await call('GET', `/api/v1/runs/${id}`, await token())
    expect(read.status).toBe(200)
    expect(issuer.jwksFetches).toBe(1)
  })

  it('expired, wrong audience, wrong issuer, unknown repository, tampered, foreign key, alg none: 401, nothing written', async () => {
    const before = await runsStored()
    const good = await token()
    const [h, p, s] = good.split('.')
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString())
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...claims, repository_id: '75' })).toString('base64url')}.${s}`
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${p}.`
    const { privateKey: foreign } = await generateKeyPair('RS256')
    const cases: [string, string, RegExp][] = [
      ['expired', await token({}, { expiresIn: -120 }), /expired/],
      ['wrong audience', await token({}, { audience: 'https://elsewhere.test' }), /claim aud/],
      [
        'wrong issuer',
        await token({}, { issuer: 'https://token.actions.githubusercontent.com' }),
        /claim iss/,
      ],
      [
        'unknown repository',
        await token({ repository: 'evil/fork', repository_id: '999' }),
        /no project is bound to repository evil\/fork \(id 999\)/,
      ],
      ['tampered', tampered, /bad signature/],
      ['signed with a key the issuer never published', await token({}, { key: foreign }), /bad signature/],
      [
        'a kid the issuer does not publish',
        await token({}, { kid: 'nope' }),
        /key the issuer does not publish/,
      ],
      ['alg none', unsigned, /OIDC token refused/],
    ]
    for (const [what, bad, why] of cases) {
      const res = await call('POST', '/api/v1/runs', bad, report({}))
      expect(res.status, what).toBe(401)
      const body = (await res.json()) as { error: { message: string } }
      expect(body.error.message, what).toMatch(why)
    }
    expect(await runsStored()).toBe(before)
  })

  it("a pull request's token posts its own PR's runs only, and they never become baselines", async () => {
    const pr = { ref: 'refs/pull/7/merge', sha: sha('e'), event_name: 'pull_request' }
    const notPr = await call(
      'POST',
      '/api/v1/runs',
      await token(pr),
      report({ branch: 'main', sha: sha('f') }),
    )
    expect(notPr.status).toBe(403)
    expect(((await notPr.json()) as { error: { message: string } }).error.message).toMatch(
      /^git\.pr_number: /,
    )
    const otherPr = await call(
      'POST',
      '/api/v1/runs',
      await token(pr),
      report({ pr_number: 8, branch: 'x', base_branch: 'main' }),
    )
    expect(otherPr.status).toBe(403)
    const own = await call(
      'POST',
      '/api/v1/runs',
      await token(pr),
      report({
        pr_number: 7,
        branch: 'feature',
        base_branch: 'main',
        sha: sha('f'),
        event_name: 'pull_request',
      }),
    )
    expect(own.status, await own.clone().text()).toBe(201)
    const prRun = ((await own.json()) as { id: string }).id
    // The next run on main is compared with main's runs: the PR's is not among them.
    const next = await call('POST', '/api/v1/runs', await token({ sha: sha('b') }), report({ sha: sha('b') }))
    expect(next.status).toBe(201)
    const { comparison } = (await next.json()) as { comparison: { baseline_run_ids: string[] } }
    expect(comparison.baseline_run_ids.length).toBeGreaterThan(0)
    expect(comparison.baseline_run_ids).not.toContain(prRun)
  })

  it('a push elsewhere than baseline_refs, or a report naming another branch or commit than the token: 403', async () => {
    const before = await runsStored()
    const feature = { ref: 'refs/heads/feature', sha: sha('c') }
    const cases: [string, string, Report, RegExp][] = [
      [
        'a branch not in baseline_refs',
        await token(feature),
        report({ branch: 'feature', sha: sha('c') }),
        /ref refs\/heads\/feature may not write baselines/,
      ],
      [
        'another branch than the token',
        await token(),
        report({ branch: 'release' }),
        /^git\.branch: "release" is not the token's/,
      ],
      ['another commit than the token', await token(), report({ sha: sha('d') }), /^git\.sha: /],
    ]
    for (const [what, t, r, why] of cases) {
      const res = await call('POST', '/api/v1/runs', t, r)
      expect(res.status, what).toBe(403)
      expect(((await res.json()) as { error: { message: string } }).error.message, what).toMatch(why)
    }
    // A push's pending status names its own commit only.
    const status = await call('POST', '/api/v1/statuses', await token(), {
      sha: sha('9'),
      benchmark: 'chat',
      state: 'pending',
    })
    expect(status.status).toBe(403)
    expect(await runsStored()).toBe(before)
  })

  it("a report must be the token's own job's, and only push, schedule and dispatch write baselines", async () => {
    const before = await runsStored()
    // Another job's CI identity: a PR could take a nightly's run id and make its real post a "re-post".
    const stolen = await token({}, {})
    ciRun++
    const other = await call('POST', '/api/v1/runs', stolen, report({}))
    expect(other.status).toBe(403)
    expect(((await other.json()) as { error: { message: string } }).error.message).toMatch(
      /^ci: the report is not this job's \(the token's run \d+, attempt 1; the report's \d+, attempt 1\)/,
    )
    // workflow_run (the usual way to benchmark a fork's head) runs on main's ref: no baseline.
    for (const event of ['workflow_run', 'issue_comment', 'repository_dispatch']) {
      const res = await call('POST', '/api/v1/runs', await token({ event_name: event }), report({}))
      expect(res.status, event).toBe(403)
      expect(((await res.json()) as { error: { message: string } }).error.message, event).toMatch(
        new RegExp(
          `^event ${event} may not write baselines \\(this project's baseline_events: push, schedule, workflow_dispatch\\)`,
        ),
      )
    }
    expect(await runsStored()).toBe(before)
    // The same events may post a pull request's run (a maintainer's /benchmark): compared only.
    const pr = await call(
      'POST',
      '/api/v1/runs',
      await token({ event_name: 'issue_comment' }),
      report({ pr_number: 12, branch: 'feature', base_branch: 'main', sha: sha('7') }),
    )
    expect(pr.status, await pr.clone().text()).toBe(201)
    // A renamed repository keeps its binding: the token names the new name, and so does the report.
    const renamed = await call(
      'POST',
      '/api/v1/runs',
      await token({ repository: 'acme/serving', sha: sha('8') }),
      report({ repository: 'acme/serving', sha: sha('8') }),
    )
    expect(renamed.status, await renamed.clone().text()).toBe(201)
  })

  it("restricts by ref, event and workflow; settings, pins and the binding stay with the project's token", async () => {
    const tight = await call('PUT', '/api/v1/projects/acme/llm/oidc', ADMIN, {
      repository_id: REPO_ID,
      refs: ['refs/heads/main', 'refs/pull/*'],
      events: ['push', 'pull_request'],
      workflows: ['acme/llm/.github/workflows/bench.yml@*'],
    })
    expect(tight.status).toBe(200)
    const refused: [string, string, RegExp][] = [
      ['ref', await token({ ref: 'refs/tags/v1' }), /ref refs\/tags\/v1 may not post/],
      ['event', await token({ event_name: 'workflow_dispatch' }), /event workflow_dispatch may not post/],
      [
        'workflow',
        await token({ workflow: 'other.yml' }),
        /workflow acme\/llm\/\.github\/workflows\/other\.yml@refs\/heads\/main may not post/,
      ],
    ]
    for (const [what, t, why] of refused) {
      const res = await call('GET', '/api/v1/projects/acme/llm/benchmarks', t)
      expect(res.status, what).toBe(403)
      expect(((await res.json()) as { error: { message: string } }).error.message, what).toMatch(why)
    }
    expect((await call('GET', '/api/v1/projects/acme/llm/benchmarks', await token())).status).toBe(200)
    const settings = await call('PUT', '/api/v1/projects/acme/llm/settings', await token(), {})
    expect(settings.status).toBe(403)
    expect((await call('GET', '/api/v1/projects/acme/llm/oidc', await token())).status).toBe(403)
    expect(
      (await call('PUT', '/api/v1/projects/acme/llm/oidc', projectToken, { repository_id: '1' })).status,
    ).toBe(401)
    const read = await call('GET', '/api/v1/projects/acme/llm/oidc', projectToken)
    expect(await read.json()).toMatchObject({
      oidc: { repository_id: REPO_ID, baseline_refs: ['refs/heads/main'] },
    })
  })

  it('a repository is bound to one project; bad bindings are named', async () => {
    await call('POST', '/api/v1/projects', ADMIN, { owner: 'acme', repo: 'other' })
    const taken = await call('PUT', '/api/v1/projects/acme/other/oidc', ADMIN, { repository_id: REPO_ID })
    expect(taken.status).toBe(409)
    const bad = await call('PUT', '/api/v1/projects/acme/other/oidc', ADMIN, {
      repository_id: 'acme/llm',
      refs: [''],
    })
    expect(bad.status).toBe(400)
    const { error } = (await bad.json()) as { error: { details: { issues: { path: string }[] } } }
    expect([...new Set(error.details.issues.map((i) => i.path))].sort()).toEqual(['refs[0]', 'repository_id'])
    expect(
      (await call('PUT', '/api/v1/projects/acme/absent/oidc', ADMIN, { repository_id: '5' })).status,
    ).toBe(404)
  })

  it('keys rotate: a token signed with a new key is verified after one more JWKS fetch', async () => {
    const fetched = issuer.jwksFetches
    await issuer.rotate()
    const res = await call('GET', '/api/v1/projects/acme/llm/benchmarks', await token())
    expect(res.status).toBe(200)
    expect(issuer.jwksFetches).toBe(fetched + 1)
    // Tokens of the old key still verify while the issuer publishes it.
    expect((await call('GET', '/api/v1/projects/acme/llm/benchmarks', await token())).status).toBe(200)
    expect(issuer.jwksFetches).toBe(fetched + 1)
  })

  it('an issuer that cannot be reached: 503 with Retry-After, not 401, nothing written', async () => {
    // A fresh app has no keys cached; its first token needs the issuer.
    const cold = createApp(db, { ...DEFAULT_CONFIG, oidc: { issuer: issuer.url, audience: AUDIENCE } })
    issuer.down = true
    try {
      const before = await runsStored()
      const res = await cold.request('/api/v1/runs', {
        method: 'POST',
        headers: { authorization: `Bearer ${await token()}`, 'content-type': 'application/json' },
        body: JSON.stringify(report({})),
      })
      expect(res.status).toBe(503)
      expect(res.headers.get('retry-after')).toBe('10')
      expect(await runsStored()).toBe(before)
      // The failure is kept a few seconds: the next token does not wait on the issuer again.
      const asked = issuer.discoveryFetches
      const again = await cold.request('/api/v1/projects/acme/llm/benchmarks', {
        headers: { authorization: `Bearer ${await token()}` },
      })
      expect(again.status).toBe(503)
      expect(issuer.discoveryFetches).toBe(asked)
    } finally {
      issuer.down = false
    }
  })

  it('without INFERGATE_OIDC_AUDIENCE a JWT is refused, saying why', async () => {
    const plain = createApp(db, DEFAULT_CONFIG)
    const res = await plain.request('/api/v1/projects/acme/llm/benchmarks', {
      headers: { authorization: `Bearer ${await token()}` },
    })
    expect(res.status).toBe(401)
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(
      /INFERGATE_OIDC_AUDIENCE/,
    )
  })

  it("infergate upload in a job without a token: the job's OIDC token, for --service's origin by default", async () => {
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 })
    await new Promise((r) => server.once('listening', r))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      const file = join(tempDir(), 'report.json')
      issuer.job = { ...MAIN, sha: sha('5'), run_id: String(ciRun) }
      writeFileSync(file, JSON.stringify(report({ sha: sha('5') })))
      const runner = {
        ACTIONS_ID_TOKEN_REQUEST_URL: issuer.requestUrl,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: issuer.requestToken,
      }
      // The audience is the service's INFERGATE_OIDC_AUDIENCE, not this URL's origin: refused, named.
      const wrong = await cli(['upload', file, '--service', url], runner)
      expect(wrong.code, wrong.stderr).toBe(2)
      expect(wrong.stderr).toContain('OIDC token refused: claim aud does not match')
      const ok = await cli(['upload', file, '--service', url, '--oidc-audience', AUDIENCE], runner)
      expect(ok.code, ok.stderr).toBe(0)
      expect(ok.stdout).toMatch(/^run [0-9a-f-]{36}/)
      // Outside a job (no runner endpoint) and without a token: told what to give.
      const none = await cli(['upload', file, '--service', url], {})
      expect(none.code).toBe(2)
      expect(none.stderr).toContain('--token is required')
    } finally {
      server.close()
    }
  })
})
