// The service's HTTP API through app.request(), on both engines.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseComparison } from '../core/detect/comparison.ts'
import { parseReport, type Report } from '../core/report.ts'
import { createApp, DEFAULT_CONFIG } from '../service/app.ts'
import { migrateToLatest, openDatabase } from '../service/db/connect.ts'
import { engine, freshDatabase } from './db-helpers.ts'
import { ciIdentity, makePairedReport, makeReport, type TrialSpec } from './report-factory.ts'

const ADMIN = 'admin-secret'
let db: ReturnType<typeof openDatabase>
let drop: () => Promise<void>
let app: ReturnType<typeof createApp>
beforeAll(async () => {
  const fresh = await freshDatabase()
  drop = fresh.drop
  db = openDatabase(fresh.target)
  await migrateToLatest(db)
  app = createApp(db, { ...DEFAULT_CONFIG, adminToken: ADMIN, bodyLimitBytes: 2 * 1024 * 1024 })
})
afterAll(async () => {
  await db.destroy()
  await drop()
})

const call = (method: string, path: string, token?: string, body?: unknown) =>
  app.request(path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  })

async function newProject(repo: string): Promise<string> {
  const res = await call('POST', '/api/v1/projects', ADMIN, { owner: 'acme', repo })
  expect(res.status).toBe(201)
  return ((await res.json()) as { token: string }).token
}

let ciRun = 1000
function report(
  repo: string,
  spec: TrialSpec,
  git: Partial<Report['git']> = {},
  at = '2026-11-01T00:00:00.000Z',
): Report {
  const r = makeReport(ciRun, [spec])
  return parseReport({
    ...r,
    created_at: at,
    git: { ...r.git, repository: `acme/${repo}`, event_name: 'push', branch: 'main', ...git },
    ci: ciIdentity(ciRun++),
  })
}

describe(`API on ${engine}`, () => {
  it('health and readiness', async () => {
    expect((await call('GET', '/healthz')).status).toBe(200)
    const ready = await call('GET', '/readyz')
    expect(ready.status).toBe(200)
    expect(await ready.json()).toEqual({ status: 'ready' })
  })

  it('projects: admin only, fields named, no duplicates', async () => {
    expect((await call('POST', '/api/v1/projects', undefined, { owner: 'a', repo: 'b' })).status).toBe(401)
    expect((await call('POST', '/api/v1/projects', 'wrong', { owner: 'a', repo: 'b' })).status).toBe(401)
    const bad = await call('POST', '/api/v1/projects', ADMIN, { owner: 'a b', repo: 'x' })
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain(
      'owner: expected a GitHub owner name',
    )
    await newProject('dup')
    const again = await call('POST', '/api/v1/projects', ADMIN, { owner: 'acme', repo: 'dup' })
    expect(again.status).toBe(409)
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('project_exists')
  })

  it('an A/B run: compared between its own arms with no history, stored with its blocks, not a baseline', async () => {
    const token = await newProject('paired')
    // Two base-branch runs, not enough for a history verdict; the A/B run needs none.
    for (const at of ['2026-11-01T00:00:00.000Z', '2026-11-02T00:00:00.000Z']) {
      expect((await call('POST', '/api/v1/runs', token, report('paired', {}, {}, at))).status).toBe(201)
    }
    const blocks = Array.from({ length: 4 }, () => ({ baseline: { tpot: 10 }, candidate: { tpot: 13 } }))
    const ab = makePairedReport(77, blocks)
    const r = parseReport({ ...ab, git: { ...ab.git, repository: 'acme/paired' }, ci: ciIdentity(ciRun++) })
    const posted = await call('POST', '/api/v1/runs', token, r)
    expect(posted.status).toBe(201)
    const body = (await posted.json()) as { id: string; comparison: unknown }
    const c = parseComparison(body.comparison)
    expect(c.mode).toBe('paired')
    expect(c.status).toBe('regression')
    expect(c.baseline_run_ids).toEqual([])
    expect(c.metrics.find((m) => m.metric === 'tpot_ms')!.noise_source).toBe('blocks')
    // Read back as posted, blocks and arms included; compared again from storage, the same verdict.
    const stored = await call('GET', `/api/v1/runs/${body.id}`, token)
    expect(parseReport(((await stored.json()) as { report: unknown }).report)).toEqual(r)
    const again = await call('GET', `/api/v1/runs/${body.id}/comparison?baseline=current`, token)
    const recomputed = parseComparison(await again.json())
    expect(recomputed.metrics.map((m) => [m.metric, m.verdict])).toEqual(
      c.metrics.map((m) => [m.metric, m.verdict]),
    )
    // A later base-branch run is not compared against the A/B run (A/B runs are no baseline).
    const later = await call(
      'POST',
      '/api/v1/runs',
      token,
      report('paired', {}, {}, '2026-11-09T00:00:00.000Z'),
    )
    const laterC = parseComparison(((await later.json()) as { comparison: unknown }).comparison)
    expect(laterC.baseline_run_ids).not.toContain(body.id)
    // Nor can it be pinned as one.
    const pin = await call('POST', '/api/v1/projects/acme/paired/baselines', token, {
      benchmark: r.benchmark,
      run_ids: [body.id],
    })
    expect(pin.status).toBe(400)
    expect(((await pin.json()) as { error: { message: string } }).error.message).toMatch(
      /^run_ids\[0\]: run .* is an A\/B run/,
    )
  })

  it('ingest: 201 with the comparison, the same body again on a re-post', async () => {
    const token = await newProject('ingest')
    const r = report('ingest', {})
    const first = await call('POST', '/api/v1/runs', token, r)
    expect(first.status).toBe(201)
    const body = (await first.json()) as { id: string; comparison: unknown }
    expect(parseComparison(body.comparison).status).toBe('no_baseline')
    const second = await call('POST', '/api/v1/runs', token, r)
    expect(second.status).toBe(200)
    expect(await second.json()).toEqual(body)
    const got = await call('GET', `/api/v1/runs/${body.id}`, token)
    expect(((await got.json()) as { report: Report }).report).toEqual(r)
  })

  it('refuses bad input with the field named, and loses nothing', async () => {
    const token = await newProject('bad-input')
    expect((await call('POST', '/api/v1/runs', 'nope', report('bad-input', {}))).status).toBe(401)
    const notJson = await call('POST', '/api/v1/runs', token, '{"schema":')
    expect(notJson.status).toBe(400)
    expect(((await notJson.json()) as { error: { code: string } }).error.code).toBe('invalid_json')
    const inf = JSON.stringify(report('bad-input', {})).replace(/"ttft_ms":\[[0-9.]+/, '"ttft_ms":[1e999')
    const res = await call('POST', '/api/v1/runs', token, inf)
    expect(res.status).toBe(400)
    const err = ((await res.json()) as { error: { code: string; details: { issues: { path: string }[] } } })
      .error
    expect(err.code).toBe('invalid_report')
    expect(err.details.issues[0]!.path).toBe('scenarios[0].trials[0].samples.ttft_ms[0]')
    const other = await call('POST', '/api/v1/runs', token, report('someone-else', {}))
    expect(other.status).toBe(403)
    const big = await call('POST', '/api/v1/runs', token, report('bad-input', { requests: 20000 }))
    expect(big.status).toBe(413)
    const stored = await db.selectFrom('runs').select(db.fn.countAll().as('n')).executeTakeFirstOrThrow()
    const project = await db
      .selectFrom('projects')
      .select('id')
      .where('repo', '=', 'bad-input')
      .executeTakeFirstOrThrow()
    const mine = await db.selectFrom('runs').select('id').where('project_id', '=', project.id).execute()
    expect(mine).toEqual([])
    expect(Number(stored.n)).toBeGreaterThan(0)
  })

  it('a PR run is judged against the latest runs of its base branch', async () => {
    const token = await newProject('gate')
    const mainIds: string[] = []
    const mainReports: Report[] = []
    const mainBodies: unknown[] = []
    for (let i = 0; i < 6; i++) {
      mainReports.push(report('gate', { ttft: 50 }, {}, `2026-11-0${i + 1}T00:00:00.000Z`))
      const res = await call('POST', '/api/v1/runs', token, mainReports[i])
      const b = (await res.json()) as { id: string }
      mainIds.push(b.id)
      mainBodies.push(b)
    }
    // A run on another branch is no baseline.
    await call(
      'POST',
      '/api/v1/runs',
      token,
      report('gate', { ttft: 10 }, { branch: 'dev' }, '2026-11-08T00:00:00.000Z'),
    )
    const pr = report(
      'gate',
      { ttft: 70 },
      { branch: 'feature', base_branch: 'main', pr_number: 7, event_name: 'pull_request' },
      '2026-11-09T00:00:00.000Z',
    )
    const res = await call('POST', '/api/v1/runs', token, pr)
    const body = (await res.json()) as { id: string; comparison: unknown }
    const comparison = parseComparison(body.comparison)
    expect(comparison.status).toBe('regression')
    expect(comparison.baseline_run_ids).toEqual(mainIds.slice(-5))
    expect(comparison.metrics.find((m) => m.metric === 'ttft_ms')!.verdict).toBe('regression')
    const again = await call('GET', `/api/v1/runs/${body.id}/comparison`, token)
    expect(await again.json()).toEqual(body.comparison)

    // Dashboards: the metric over time, with each run's verdict.
    const all = await call(
      'GET',
      '/api/v1/projects/acme/gate/series?benchmark=bench&scenario=concurrency-8&metric=ttft',
      token,
    )
    const points = (
      (await all.json()) as { points: { run_id: string; value: number; verdict: string | null }[] }
    ).points
    expect(points.map((p) => p.run_id).slice(0, 6)).toEqual(mainIds)
    expect(points.at(-1)).toMatchObject({ run_id: body.id, verdict: 'regression' })
    expect(points.at(-1)!.value).toBeGreaterThan(60)
    const main = await call(
      'GET',
      '/api/v1/projects/acme/gate/series?benchmark=bench&scenario=concurrency-8&metric=ttft&stat=p99&branch=main&limit=3',
      token,
    )
    const mainPoints = ((await main.json()) as { points: { run_id: string }[] }).points
    expect(mainPoints.map((p) => p.run_id)).toEqual(mainIds.slice(-3))
    const bad = await call(
      'GET',
      '/api/v1/projects/acme/gate/series?benchmark=bench&scenario=x&metric=latency',
      token,
    )
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain('metric')
    const overview = await call('GET', '/api/v1/projects/acme/gate/benchmarks', token)
    const { benchmarks } = (await overview.json()) as {
      benchmarks: { benchmark: string; scenarios: { name: string; run_id: string }[] }[]
    }
    expect(benchmarks).toHaveLength(1)
    expect(benchmarks[0]!.scenarios).toEqual([
      expect.objectContaining({ name: 'concurrency-8', run_id: body.id }),
    ])

    // A late upload of an older main run changes what run 2 would be compared with today, but a
    // re-post of run 2 still answers what its first post answered.
    await call('POST', '/api/v1/runs', token, report('gate', { ttft: 50 }, {}, '2026-10-31T00:00:00.000Z'))
    const repost = await call('POST', '/api/v1/runs', token, mainReports[1])
    expect(repost.status).toBe(200)
    expect(await repost.json()).toEqual(mainBodies[1])
  })

  it("a project's detector settings: validated, stored, used by later comparisons", async () => {
    const token = await newProject('tuned')
    const put = (body: unknown) => call('PUT', '/api/v1/projects/acme/tuned/settings', token, body)
    const errorOf = async (res: Response) =>
      ((await res.json()) as { error: { message: string } }).error.message
    const unknownKey = await put({ min_effect: 5 })
    expect(unknownKey.status).toBe(400)
    expect(await errorOf(unknownKey)).toContain('min_effect')
    const negative = await put({ min_effect_pct_by_metric: { ttft_ms: -1 } })
    expect(negative.status).toBe(400)
    expect(await errorOf(negative)).toContain('min_effect_pct_by_metric.ttft_ms')
    const badMetric = await put({ gated_metrics: ['ttft_ms', 'latency'] })
    expect(await errorOf(badMetric)).toContain('gated_metrics[1]')
    const initial = await call('GET', '/api/v1/projects/acme/tuned/settings', token)
    expect(await initial.json()).toMatchObject({
      settings: {},
      effective: { alpha: 0.01, min_effect_pct: 2, fail_on_inconclusive: false },
    })

    for (let i = 0; i < 5; i++) {
      await call(
        'POST',
        '/api/v1/runs',
        token,
        report('tuned', { ttft: 50 }, {}, `2026-11-0${i + 1}T00:00:00.000Z`),
      )
    }
    const pr = (n: number) =>
      report(
        'tuned',
        { ttft: 60 },
        { branch: 'f', base_branch: 'main', pr_number: n, event_name: 'pull_request' },
        '2026-11-09T00:00:00.000Z',
      )
    const before = parseComparison(
      ((await (await call('POST', '/api/v1/runs', token, pr(1))).json()) as { comparison: unknown })
        .comparison,
    )
    expect(before.metrics.find((m) => m.metric === 'ttft_ms')!.verdict).toBe('regression')

    // TTFT moves a lot on this project's hardware: only 25% counts.
    const ok = await put({ min_effect_pct_by_metric: { ttft_ms: 25 } })
    expect(ok.status).toBe(200)
    expect(await ok.json()).toMatchObject({
      effective: { min_effect_pct: 2, min_effect_pct_by_metric: { ttft_ms: 25, p99_ttft_ms: 10 } },
    })
    const after = parseComparison(
      ((await (await call('POST', '/api/v1/runs', token, pr(2))).json()) as { comparison: unknown })
        .comparison,
    )
    expect(['unchanged', 'inconclusive']).toContain(
      after.metrics.find((m) => m.metric === 'ttft_ms')!.verdict,
    )
    // The project's own minimum effect over the tails' defaults.
    expect(after.settings.min_effect_pct_by_metric).toMatchObject({ ttft_ms: 25, p99_ttft_ms: 10 })
    // Another project's token cannot read or change them.
    const other = await newProject('tuned-other')
    expect((await call('PUT', '/api/v1/projects/acme/tuned/settings', other, {})).status).toBe(404)
  })

  it('a pinned baseline overrides the automatic choice until unpinned', async () => {
    const token = await newProject('pins')
    const ids: string[] = []
    for (let i = 0; i < 6; i++) {
      const res = await call(
        'POST',
        '/api/v1/runs',
        token,
        report('pins', {}, {}, `2026-11-0${i + 1}T00:00:00.000Z`),
      )
      ids.push(((await res.json()) as { id: string }).id)
    }
    const pr = report(
      'pins',
      {},
      { branch: 'f', base_branch: 'main', pr_number: 3, event_name: 'pull_request' },
      '2026-11-09T00:00:00.000Z',
    )
    const { id } = (await (await call('POST', '/api/v1/runs', token, pr)).json()) as { id: string }
    // ?baseline=current compares again against the baseline as it stands now…
    const baselineIds = async () =>
      parseComparison(
        await (await call('GET', `/api/v1/runs/${id}/comparison?baseline=current`, token)).json(),
      ).baseline_run_ids
    // …while the plain link (the PR comment's, the Action's comparison-url) is the comparison
    // the verdict was made from, whatever happened to the baseline since.
    const storedIds = async () =>
      parseComparison(await (await call('GET', `/api/v1/runs/${id}/comparison`, token)).json())
        .baseline_run_ids
    expect(await baselineIds()).toEqual(ids.slice(-5))

    const pin = await call('POST', '/api/v1/projects/acme/pins/baselines', token, {
      benchmark: 'bench',
      run_ids: ids.slice(0, 3),
    })
    expect(pin.status).toBe(200)
    expect(await baselineIds()).toEqual(ids.slice(0, 3))
    expect(await storedIds()).toEqual(ids.slice(-5))
    const unknown = await call('GET', `/api/v1/runs/${id}/comparison?baseline=yesterday`, token)
    expect(unknown.status).toBe(400)

    const bad = await call('POST', '/api/v1/projects/acme/pins/baselines', token, {
      benchmark: 'bench',
      run_ids: [ids[0], '00000000-0000-4000-8000-000000000000'],
    })
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(
      /^run_ids\[1\]: no run/,
    )
    expect(await baselineIds()).toEqual(ids.slice(0, 3))

    const unpin = await call('DELETE', '/api/v1/projects/acme/pins/baselines?benchmark=bench', token)
    expect(await unpin.json()).toEqual({ benchmark: 'bench', unpinned: 3 })
    expect(await baselineIds()).toEqual(ids.slice(-5))
  })

  it('base-branch runs of another workload are no baseline: the comparison says so', async () => {
    const token = await newProject('workload')
    for (let i = 0; i < 4; i++) {
      await call('POST', '/api/v1/runs', token, report('workload', {}, {}, `2026-11-0${i + 1}T00:00:00.000Z`))
    }
    const pr = report(
      'workload',
      { ttft: 20 },
      { branch: 'f', base_branch: 'main', pr_number: 9, event_name: 'pull_request' },
      '2026-11-08T00:00:00.000Z',
    )
    const longer = parseReport({
      ...pr,
      workload: { ...pr.workload, output_tokens: { mean: 512, stddev: 0, min: 512, max: 512 } },
    })
    const res = await call('POST', '/api/v1/runs', token, longer)
    const comparison = parseComparison(((await res.json()) as { comparison: unknown }).comparison)
    expect(comparison.status).toBe('no_baseline')
    expect(comparison.baseline_run_ids).toEqual([])
    expect(comparison.warnings[0]).toBe(
      '4 base-branch run(s) measured another workload (workload.output_tokens) and are left out of the baseline',
    )
    // The same workload still has its baseline.
    const same = await call('POST', '/api/v1/runs', token, { ...pr, ci: ciIdentity(ciRun++) })
    const kept = parseComparison(((await same.json()) as { comparison: unknown }).comparison)
    expect(kept.baseline_run_ids).toHaveLength(4)
  })

  it("a project's token cannot see another project's runs", async () => {
    const a = await newProject('iso-a')
    const b = await newProject('iso-b')
    const res = await call('POST', '/api/v1/runs', a, report('iso-a', {}))
    const { id } = (await res.json()) as { id: string }
    expect((await call('GET', `/api/v1/runs/${id}`, a)).status).toBe(200)
    expect((await call('GET', `/api/v1/runs/${id}`, b)).status).toBe(404)
    expect((await call('GET', `/api/v1/runs/${id}/comparison`, b)).status).toBe(404)
    expect((await call('GET', '/api/v1/runs/not-a-uuid', a)).status).toBe(404)
    expect((await call('GET', '/api/v1/projects/acme/iso-a/benchmarks', b)).status).toBe(404)
    expect((await call('GET', '/api/v1/projects/acme/iso-a/benchmarks', a)).status).toBe(200)
  })
})
