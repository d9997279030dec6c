// The dashboard in a real browser (Debian's chromium through playwright-core) against a real
// `infergate serve` with seeded runs: pages load without console errors (a CSP violation is
// one), charts draw the points the data holds, clicks go project → benchmark → run, the PR
// comment's signed link opens its run without a token while an expired or edited one is
// refused, and no page answers for another project's token. Screenshots of every page are kept
// in test-artifacts/dashboard/ (not committed) to look at.
import { existsSync, mkdirSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Report } from '../core/report.ts'
import { ecdf } from '../service/web/charts.ts'
import { runLinkQuery, signRunLink } from '../service/web/links.ts'
import { engine } from './db-helpers.ts'
import { FakeGithub } from './fakes/github-api.ts'
import { ciIdentity, makePairedReport, makeReport } from './report-factory.ts'
import { type ServeProcess, serveDatabase, startServe } from './serve-process.ts'

const CHROMIUM = process.env.INFERGATE_CHROMIUM ?? '/usr/bin/chromium'
const ARTIFACTS = join(import.meta.dirname, '../test-artifacts/dashboard')
const SECRET = 'a-link-secret-for-the-tests-0123456789'
// Without a browser here: said, not passed silently; in CI (.ci/run installs it) a failure.
const haveBrowser = existsSync(CHROMIUM) || process.env.CI === 'true'
if (!haveBrowser)
  console.warn(`dashboard tests skipped: no browser at ${CHROMIUM} (apt-get install chromium)`)

async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as { port: number }).port
  await new Promise((r) => s.close(r))
  return port
}

const BASE_RUNS = 10
const T0 = Date.parse('2026-11-01T00:00:00Z')

/** A run of two scenarios (concurrency 8 and 16), two trials each, TTFT around `ttft`. */
function twoScenarios(seed: number, ttft: number): Report {
  const a = makeReport(seed, [
    { ttft, requests: 300 },
    { ttft, requests: 300 },
  ])
  const b = makeReport(seed + 1000, [
    { ttft: ttft * 1.6, tpot: 14, requests: 300 },
    { ttft: ttft * 1.6, tpot: 14, requests: 300 },
  ])
  a.scenarios.push({ ...b.scenarios[0]!, name: 'concurrency-16', load: { mode: 'closed', concurrency: 16 } })
  a.ci = ciIdentity(seed)
  a.created_at = new Date(T0 + seed * 3_600_000).toISOString()
  a.git = { ...a.git, sha: seed.toString(16).padStart(40, 'a') }
  return a
}

describe.skipIf(!haveBrowser)(`the dashboard in a browser, on ${engine}`, () => {
  let serve: ServeProcess
  let github: FakeGithub
  let browser: Browser
  let drop: () => Promise<void>
  let token = ''
  let otherToken = ''
  const runIds: string[] = []
  let prRun = ''
  let prReport: Report
  const reports = new Map<string, Report>()

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true })
    github = await new FakeGithub({ token: 'ghp_dash' }).start()
    const db = await serveDatabase()
    drop = db.drop
    const port = await freePort()
    serve = await startServe(
      {
        ...db.env,
        INFERGATE_GITHUB_TOKEN: 'ghp_dash',
        INFERGATE_GITHUB_API_URL: github.url,
        INFERGATE_PUBLIC_URL: `http://127.0.0.1:${port}`,
        INFERGATE_LINK_SECRET: SECRET,
      },
      [...db.args, '--port', String(port)],
    )
    const admin = { authorization: 'Bearer adm', 'content-type': 'application/json' }
    const create = async (owner: string, repo: string) => {
      const r = await fetch(`${serve.url}/api/v1/projects`, {
        method: 'POST',
        headers: admin,
        body: JSON.stringify({ owner, repo }),
      })
      return ((await r.json()) as { token: string }).token
    }
    token = await create('acme', 'llm')
    otherToken = await create('other', 'repo')
    const post = async (r: Report) => {
      const res = await fetch(`${serve.url}/api/v1/runs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(r),
      })
      expect(res.status).toBe(201)
      const id = ((await res.json()) as { id: string }).id
      reports.set(id, r)
      return id
    }
    for (let i = 0; i < BASE_RUNS; i++) runIds.push(await post(twoScenarios(i + 1, 50)))
    prReport = twoScenarios(BASE_RUNS + 1, 75)
    prReport.git = {
      ...prReport.git,
      branch: 'slow-kv',
      base_branch: 'main',
      pr_number: 7,
      event_name: 'pull_request',
    }
    prRun = await post(prReport)
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
  })

  afterAll(async () => {
    await browser?.close()
    await serve?.stop()
    await github?.close()
    await drop?.()
  })

  /** A page that fails the test on any console error or uncaught exception. */
  async function open(context: BrowserContext): Promise<{ page: Page; errors: string[] }> {
    const page = await context.newPage()
    const errors: string[] = []
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text())
    })
    page.on('pageerror', (e) => errors.push(e.message))
    return { page, errors }
  }

  async function signedIn(as: string): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    const { page, errors } = await open(context)
    await page.goto(`${serve.url}/`)
    expect(page.url()).toContain('/sign-in')
    await page.fill('input[name=token]', as)
    await page.click('button[type=submit]')
    return { context, page, errors }
  }

  it('signs in, and goes project → benchmark history → run by clicks; every chart has its points', async () => {
    const { context, page, errors } = await signedIn(token)
    try {
      expect(new URL(page.url()).pathname).toBe('/p/acme/llm')
      await expect(page.locator('h1').textContent()).resolves.toBe('acme/llm')
      const cookie = (await context.cookies()).find((c) => c.name === 'infergate_token')!
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' })
      expect(await page.evaluate('document.cookie')).toBe('')
      await expect(page.locator('section.benchmark tbody tr').count()).resolves.toBe(2)
      await expect(page.locator('ul.verdicts').textContent()).resolves.toContain('PR #7')
      await page.screenshot({ path: join(ARTIFACTS, 'project.png'), fullPage: true })

      await page.click('section.benchmark h2 a')
      await page.waitForSelector('figure[data-chart=history][data-points] canvas')
      expect(new URL(page.url()).pathname).toBe('/p/acme/llm/benchmarks/bench')
      const history = page.locator('figure[data-chart=history]')
      await expect(history.count()).resolves.toBe(2)
      // Every run: ten on main and the PR's, in both scenarios.
      for (const n of await history.evaluateAll((els) => els.map((e) => e.getAttribute('data-points'))))
        expect(n).toBe(String(BASE_RUNS + 1))
      await page.screenshot({ path: join(ARTIFACTS, 'history.png'), fullPage: true })

      // The filters are the URL: p99 of TPOT, shared as a link.
      await page.selectOption('select[name=metric]', 'tpot')
      await page.selectOption('select[name=stat]', 'p99')
      await page.click('form.filters button')
      await page.waitForSelector('figure[data-chart=history][data-points] canvas')
      expect(new URL(page.url()).searchParams.get('metric')).toBe('tpot')
      expect(new URL(page.url()).searchParams.get('stat')).toBe('p99')
      // A date range: the seeded runs are an hour apart from 01:00 on 2026-11-01; a day later, none.
      const later = new URL(page.url())
      later.searchParams.set('from', '2026-11-02')
      const none = await page.goto(later.toString())
      expect(none!.status()).toBe(200)
      await expect(
        page.locator('figure[data-chart=history]').first().getAttribute('data-points'),
      ).resolves.toBe('0')
      // A bad date is a 400 page naming the parameter (fetched with the page's cookie, outside it).
      const bad = await page.request.get(`${serve.url}/p/acme/llm/benchmarks/bench?from=yesterday`)
      expect(bad.status()).toBe(400)
      expect(await bad.text()).toContain('from:')
      await page.goBack()
      await page.waitForSelector('figure[data-chart=history][data-points] canvas')

      // Hover shows the run; a click opens it.
      const over = page.locator('figure[data-chart=history] .u-over').first()
      const box = (await over.boundingBox())!
      await page.mouse.move(box.x + box.width - 2, box.y + box.height / 2)
      await expect(page.locator('.tooltip').first().textContent()).resolves.toContain('PR #7')
      await Promise.all([
        page.waitForURL(/\/runs\//),
        page.mouse.click(box.x + box.width - 2, box.y + box.height / 2),
      ])
      expect(new URL(page.url()).pathname).toBe(`/runs/${prRun}`)

      await page.waitForSelector('figure[data-chart=ecdf][data-points] canvas')
      await expect(page.locator('p.status').textContent()).resolves.toMatch(/regression/i)
      const charts = await page
        .locator('figure[data-chart=ecdf]')
        .evaluateAll((els) => els.map((e) => [e.getAttribute('data-metric'), e.getAttribute('data-points')]))
      expect(charts).toHaveLength(6)
      // The points drawn are the ECDF points of the candidate's and the baseline runs' requests.
      const baseline = runIds.slice(-5).map((id) => reports.get(id)!)
      const want = prReport.scenarios.flatMap((s) =>
        (['ttft_ms', 'tpot_ms', 'e2el_ms'] as const).map((k) => {
          const of = (r: Report) =>
            r.scenarios
              .find((x) => x.name === s.name)!
              .trials.flatMap((t) =>
                (t.samples[k] as (number | null)[]).flatMap((v) => (v !== null && v > 0 ? [v] : [])),
              )
          return [k, String(ecdf(of(prReport)).x.length + ecdf(baseline.flatMap(of)).x.length)]
        }),
      )
      expect(charts).toEqual(want)
      for (const [, n] of charts) expect(Number(n)).toBeGreaterThan(400)
      await expect(page.locator('figure[data-chart=curve]').getAttribute('data-points')).resolves.toBe('2')
      await expect(page.locator('table.trials').count()).resolves.toBe(2)
      await page.screenshot({ path: join(ARTIFACTS, 'run.png'), fullPage: true })
      expect(errors).toEqual([])
    } finally {
      await context.close()
    }
  })

  it("an A/B run's page shows its two arms and the block-by-block ratios", async () => {
    const ab = makePairedReport(
      77,
      Array.from({ length: 4 }, () => ({ baseline: { ttft: 50 }, candidate: { ttft: 60 } })),
    )
    ab.ci = ciIdentity(777)
    ab.created_at = new Date(T0 + 100 * 3_600_000).toISOString()
    ab.git = { ...ab.git, sha: 'c'.repeat(40), pr_number: 8 }
    const res = await fetch(`${serve.url}/api/v1/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(ab),
    })
    expect(res.status).toBe(201)
    const { id } = (await res.json()) as { id: string }
    const { context, page, errors } = await signedIn(token)
    try {
      await page.goto(`${serve.url}/runs/${id}`)
      await page.waitForSelector('figure[data-chart=ecdf][data-points] canvas')
      const rows = await page.locator('table.blocks tbody tr').allTextContents()
      expect(rows).toHaveLength(4)
      // The first column after the block: who ran first, alternating; then TTFT p50's ratio.
      expect(rows.map((r) => r.match(/^\d(baseline|candidate)/)![1])).toEqual([
        'baseline',
        'candidate',
        'baseline',
        'candidate',
      ])
      for (const r of rows)
        expect(Number(r.match(/^\d(?:baseline|candidate)(\d\.\d{3})/)![1])).toBeGreaterThan(1.1)
      // Distributions of the run's own arms: baseline arm against candidate arm.
      await expect(page.locator('.scenario-charts').first().textContent()).resolves.toBeTruthy()
      await expect(page.locator('table.trials tr.spread').count()).resolves.toBe(2)
      await page.screenshot({ path: join(ARTIFACTS, 'run-ab.png'), fullPage: true })
      expect(errors).toEqual([])
    } finally {
      await context.close()
    }
  })

  it('pins and unpins a baseline from its page', async () => {
    const { context, page, errors } = await signedIn(token)
    try {
      await page.goto(`${serve.url}/p/acme/llm/benchmarks/bench/baselines`)
      await page.check(`input[value="${runIds[2]}"]`)
      await page.check(`input[value="${runIds[3]}"]`)
      await page.click('text=Pin the checked runs')
      await expect(page.locator('[role=status]').textContent()).resolves.toBe('Pinned.')
      await expect(page.locator('tr.pinned').count()).resolves.toBe(2)
      await page.screenshot({ path: join(ARTIFACTS, 'baselines.png'), fullPage: true })
      // The detector settings in force, the project's own marked as such.
      const put = await fetch(`${serve.url}/api/v1/projects/acme/llm/settings`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ alpha: 0.01 }),
      })
      expect(put.status).toBe(200)
      await page.reload()
      await expect(page.locator('tr:has(th:text-is("alpha"))').textContent()).resolves.toMatch(
        /0\.01\s*set for this project/,
      )
      await expect(page.locator('tr:has(th:text-is("min_effect_pct"))').textContent()).resolves.toContain(
        'default',
      )
      await page.click('button:has-text("Unpin")')
      await expect(page.locator('tr.pinned').count()).resolves.toBe(0)
      expect(errors).toEqual([])
    } finally {
      await context.close()
    }
  })

  it("the PR comment's signed link opens its run without a token; an expired or edited one is refused", async () => {
    const until = Date.now() + 15_000
    while (!github.comments.some((c) => c.issue_number === 7) && Date.now() < until)
      await new Promise((r) => setTimeout(r, 50))
    const comment = github.comments.find((c) => c.issue_number === 7)!
    const link = comment.body.match(/\[full comparison\]\((http[^)]+)\)/)![1]!
    expect(link).toMatch(
      new RegExp(`^http://127\\.0\\.0\\.1:\\d+/runs/${prRun}\\?expires=\\d+&sig=[\\w-]{43}$`),
    )
    // Valid for the default 90 days.
    const days = (Number(link.match(/expires=(\d+)/)![1]) * 1000 - Date.now()) / 86_400_000
    expect(days).toBeGreaterThan(89.9)
    expect(days).toBeLessThanOrEqual(90)
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    try {
      const { page, errors } = await open(context)
      const res = await page.goto(link)
      expect(res!.status()).toBe(200)
      await page.waitForSelector('figure[data-chart=ecdf][data-points] canvas')
      await expect(page.locator('.notice').textContent()).resolves.toContain('Read-only')
      // Read-only: no sign-out, no link into the project's other pages.
      await expect(page.locator('a[href^="/p/"]').count()).resolves.toBe(0)
      await page.screenshot({ path: join(ARTIFACTS, 'run-signed-link.png'), fullPage: true })
      expect(errors).toEqual([])

      const expired = signRunLink(Buffer.from(SECRET), prRun, new Date(Date.now() - 1000))
      const old = await page.goto(`${serve.url}/runs/${prRun}?${runLinkQuery(expired)}`)
      expect(old!.status()).toBe(403)
      await expect(page.locator('h1').textContent()).resolves.toBe('This link has expired')
      await page.screenshot({ path: join(ARTIFACTS, 'link-expired.png') })
      const edited = link.replace(/expires=(\d+)/, (_, e) => `expires=${Number(e) + 1}`)
      const bad = await page.goto(edited)
      expect(bad!.status()).toBe(403)
      await expect(page.locator('h1').textContent()).resolves.toBe('This link is not valid')
      // A genuine link of one run opens no other.
      const other = await page.goto(link.replace(prRun, runIds[0]!))
      expect(other!.status()).toBe(403)
    } finally {
      await context.close()
    }
  })

  it("no page answers for another project's token", async () => {
    const { context, page } = await signedIn(otherToken)
    try {
      expect(new URL(page.url()).pathname).toBe('/p/other/repo')
      await expect(page.locator('main').textContent()).resolves.toContain('No runs yet')
      for (const path of ['/p/acme/llm', '/p/acme/llm/benchmarks/bench', `/runs/${prRun}`]) {
        const res = await page.goto(`${serve.url}${path}`)
        expect(res!.status(), path).toBe(404)
        await expect(page.locator('h1').textContent()).resolves.toBe('Not found')
      }
      // Signed out, a page sends you to sign in, and back to it after.
      await page.goto(`${serve.url}/p/other/repo`)
      await page.click('text=Sign out')
      const res = await page.goto(`${serve.url}/runs/${prRun}`)
      expect(new URL(page.url()).pathname).toBe('/sign-in')
      expect(res!.status()).toBe(200)
      await page.fill('input[name=token]', token)
      await page.click('button[type=submit]')
      expect(new URL(page.url()).pathname).toBe(`/runs/${prRun}`)
      // A wrong token: said, and no cookie set.
      await page.click('text=Sign out')
      await page.goto(`${serve.url}/sign-in`)
      await page.fill('input[name=token]', 'igt_wrong')
      await page.click('button[type=submit]')
      await expect(page.locator('[role=alert]').textContent()).resolves.toContain('not a project token')
      expect((await context.cookies()).some((c) => c.name === 'infergate_token')).toBe(false)
    } finally {
      await context.close()
    }
  })

  it('answers with the security headers, and assets from the service itself', async () => {
    const res = await fetch(`${serve.url}/sign-in`)
    const csp = res.headers.get('content-security-policy')!
    expect(csp).toContain("script-src 'self'")
    expect(csp).toContain("frame-ancestors 'none'")
    expect(csp).not.toContain('unsafe-inline')
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    const page = await res.text()
    const assets = [...page.matchAll(/(?:href|src)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!)
    expect(assets.length).toBeGreaterThan(0)
    for (const a of assets) {
      const r = await fetch(`${serve.url}${a}`)
      expect(r.status, a).toBe(200)
      expect(r.headers.get('cache-control')).toContain('immutable')
    }
    // A cross-site form post is refused (hono/csrf), whatever it carries.
    const forged = await fetch(`${serve.url}/sign-out`, {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
    })
    expect(forged.status).toBe(403)
  })
})
