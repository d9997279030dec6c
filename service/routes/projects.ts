import { Hono } from 'hono'
import { createMiddleware } from 'hono/factory'
import { z } from 'zod'
import { learnPriors, NoisePriors } from '../../core/detect/noise-prior.ts'
import { effectiveSettings, ProjectSettings } from '../../core/detect/settings.ts'
import { text } from '../../core/limits.ts'
import { BENCHMARK_NAME } from '../../core/report.ts'
import { issuesOf } from '../../core/validation.ts'
import { requireAdmin, requireProject, requireProjectToken } from '../auth.ts'
import type { Env } from '../env.ts'
import { ApiError, invalid, jsonBody } from '../http.ts'
import { createRoute, errors, json, OwnerRepo, type RouteConfig, requestJson, SECURITY } from '../openapi.ts'
import { createProject, projectByName, updateSettings } from '../projects/repository.ts'
import { benchmarks, series } from '../runs/history.ts'
import { pinChosenRuns, unpinBaseline } from '../runs/pins.ts'
import { learnsPriors, priorsFor } from '../runs/priors.ts'

export const projects = new Hono<Env>()

// GitHub's own rules: an owner is 1–39 letters, digits or single inner hyphens (an Enterprise
// Server's may hold `_`); a repository is 1–100 of letters, digits, `.`, `_`, `-`, but not `.`
// or `..` (GitHub refuses them: they are path segments).
const NewProject = z.object({
  owner: z
    .string()
    .regex(/^[A-Za-z0-9](?:[A-Za-z0-9_]|-(?=[A-Za-z0-9_]))*$/, 'expected a GitHub owner name')
    .max(39, 'expected a GitHub owner name (at most 39 characters)'),
  repo: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,100}$/, 'expected a GitHub repository name')
    .refine((r) => r !== '.' && r !== '..', 'expected a GitHub repository name (not . or ..)'),
})

/** Creates a project and its first token; the token is in this answer only. */
projects.post('/', requireAdmin, async (c) => {
  const parsed = NewProject.safeParse(await jsonBody(c))
  if (!parsed.success) throw invalid('project', issuesOf(parsed.error))
  const db = c.get('db')
  const { owner, repo } = parsed.data
  // GitHub names are case-insensitive: Acme/Serving is acme/serving.
  const exists = await projectByName(db, owner, repo)
  const taken = () =>
    new ApiError(
      409,
      'project_exists',
      `project ${exists ? `${exists.owner}/${exists.repo}` : `${owner}/${repo}`} exists already`,
    )
  if (exists) throw taken()
  const created = await createProject(db, owner, repo).catch((e) => {
    if ((e as { code?: string }).code === '23505') throw taken() // created meanwhile
    throw e
  })
  return c.json(created, 201)
})

/** Reads of a project need that project's token; any other project looks absent. */
export const ownProject = createMiddleware<Env>(async (c, next) => {
  const p = c.get('project')
  const same = (a: string, b: string | undefined) => a.toLowerCase() === b?.toLowerCase()
  if (!same(p.owner, c.req.param('owner')) || !same(p.repo, c.req.param('repo'))) {
    throw new ApiError(404, 'project_not_found', `no project ${c.req.param('owner')}/${c.req.param('repo')}`)
  }
  await next()
})

projects.get('/:owner/:repo/benchmarks', requireProject, ownProject, async (c) =>
  c.json({ benchmarks: await benchmarks(c.get('db'), c.get('project').id) }),
)

const LATENCY = ['ttft', 'tpot', 'itl', 'e2el'] as const

const STATS = ['mean', 'median', 'std', 'p90', 'p95', 'p99'] as const
const Benchmark = z
  .string()
  .regex(BENCHMARK_NAME, 'expected a benchmark name (1-100 of letters, digits, . _ -)')
const SeriesQuery = z.object({
  benchmark: Benchmark,
  scenario: text(100).min(1),
  metric: z.enum([
    ...LATENCY,
    'output_throughput',
    'request_throughput',
    'request_goodput',
    'total_token_throughput',
  ]),
  stat: z.enum(STATS).default('median'),
  branch: text(255).min(1).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
})

/** Points for a chart: one per run (the median of its trials), oldest first, with the run's verdict. */
projects.get('/:owner/:repo/series', requireProject, ownProject, async (c) => {
  const parsed = SeriesQuery.safeParse(c.req.query())
  if (!parsed.success) throw invalid('query', issuesOf(parsed.error))
  const q = parsed.data
  const latency = (LATENCY as readonly string[]).includes(q.metric)
  const points = await series(c.get('db'), c.get('project').id, {
    benchmark: q.benchmark,
    scenario: q.scenario,
    key: latency ? `${q.stat}_${q.metric}_ms` : q.metric,
    metric: latency ? `${q.metric}_ms` : q.metric,
    branch: q.branch ?? null,
    limit: q.limit,
  })
  return c.json({ points })
})

const PriorsQuery = z.object({ benchmark: Benchmark })

/**
 * The block noise of the project's earlier A/B runs of a benchmark: the learned prior the Action's
 * stop rule uses (service/runs/priors.ts). Empty unless the project's paired_noise_prior is learned.
 */
projects.get('/:owner/:repo/noise-priors', requireProject, ownProject, async (c) => {
  const parsed = PriorsQuery.safeParse(c.req.query())
  if (!parsed.success) throw invalid('query', issuesOf(parsed.error))
  const project = c.get('project')
  const { benchmark } = parsed.data
  const priors = learnsPriors(project.settings)
    ? await priorsFor(c.get('db'), project.id, benchmark)
    : learnPriors(benchmark, [])
  return c.json(priors)
})

const Pin = z.object({
  benchmark: Benchmark,
  run_ids: z.array(z.uuid()).min(1).max(50),
})

/** Pins a benchmark's baseline to chosen runs of this project (replacing any earlier pin). */
projects.post('/:owner/:repo/baselines', requireProject, ownProject, requireProjectToken, async (c) => {
  const parsed = Pin.safeParse(await jsonBody(c))
  if (!parsed.success) throw invalid('baseline', issuesOf(parsed.error))
  const { benchmark, run_ids } = parsed.data
  const refused = await pinChosenRuns(c.get('db'), c.get('project').id, benchmark, run_ids)
  if (refused) throw new ApiError(400, 'invalid_baseline', refused)
  return c.json({ benchmark, run_ids: [...new Set(run_ids)] })
})

/** Unpins: the benchmark's baseline is chosen automatically again. */
projects.delete('/:owner/:repo/baselines', requireProject, ownProject, requireProjectToken, async (c) => {
  const parsed = z.object({ benchmark: Benchmark }).safeParse(c.req.query())
  if (!parsed.success) throw invalid('query', issuesOf(parsed.error))
  const { benchmark } = parsed.data
  const unpinned = await unpinBaseline(c.get('db'), c.get('project').id, benchmark)
  return c.json({ benchmark, unpinned })
})

/** The detector's settings of this project: what was set, and every value in force. */
projects.get('/:owner/:repo/settings', requireProject, ownProject, (c) => {
  const settings = c.get('project').settings
  return c.json({ settings, effective: effectiveSettings(settings) })
})

/** Replaces the project's settings; later comparisons use them (stored ones stay as made). */
projects.put('/:owner/:repo/settings', requireProject, ownProject, requireProjectToken, async (c) => {
  const parsed = ProjectSettings.safeParse(await jsonBody(c))
  if (!parsed.success) throw invalid('settings', issuesOf(parsed.error))
  await updateSettings(c.get('db'), c.get('project').id, parsed.data)
  return c.json({ settings: parsed.data, effective: effectiveSettings(parsed.data) })
})

const SettingsDoc = ProjectSettings.meta({ id: 'ProjectSettings' })
const SettingsAnswer = z.object({ settings: SettingsDoc, effective: z.record(z.string(), z.unknown()) })
const project = (path: string) => `/api/v1/projects/{owner}/{repo}${path}`

/** What the OpenAPI document says of these routes (service/openapi.ts). */
export const projectsApi: RouteConfig[] = [
  createRoute({
    method: 'post',
    path: '/api/v1/projects',
    summary: 'Create a project and its first token (shown in this answer only)',
    security: SECURITY.admin,
    request: { body: requestJson(NewProject) },
    responses: {
      201: json(
        z.object({
          project: z.object({ id: z.string(), owner: z.string(), repo: z.string(), settings: SettingsDoc }),
          token: z.string().meta({ description: 'igt_…, stored hashed' }),
        }),
        'created',
      ),
      ...errors(400, 401, 403, 409),
    },
  }),
  createRoute({
    method: 'get',
    path: project('/benchmarks'),
    summary: "Each benchmark's scenarios with the summary of their latest run",
    security: SECURITY.projectOrOidc,
    request: { params: OwnerRepo },
    responses: {
      200: json(
        z.object({
          benchmarks: z.array(
            z.object({
              benchmark: z.string(),
              scenarios: z.array(
                z.object({
                  name: z.string(),
                  run_id: z.uuid(),
                  sha: z.string().nullable(),
                  time: z.string(),
                  summary: z.record(z.string(), z.number().nullable()),
                }),
              ),
            }),
          ),
        }),
        'the benchmarks',
      ),
      ...errors(401, 403, 404),
    },
  }),
  createRoute({
    method: 'get',
    path: project('/series'),
    summary: 'One point per run (the median of its trials), oldest first, with its verdict',
    security: SECURITY.projectOrOidc,
    request: { params: OwnerRepo, query: SeriesQuery },
    responses: {
      200: json(
        z.object({
          points: z.array(
            z.object({
              run_id: z.uuid(),
              sha: z.string().nullable(),
              branch: z.string().nullable(),
              pr_number: z.number().int().nullable(),
              time: z.string(),
              value: z.number().nullable(),
              verdict: z.string().nullable(),
              noise_pct: z.number().nullable(),
            }),
          ),
        }),
        'the series',
      ),
      ...errors(400, 401, 403, 404),
    },
  }),
  createRoute({
    method: 'get',
    path: project('/noise-priors'),
    summary: "The block noise of the project's earlier A/B runs of a benchmark",
    security: SECURITY.projectOrOidc,
    request: { params: OwnerRepo, query: PriorsQuery },
    responses: { 200: json(NoisePriors, 'the learned priors'), ...errors(400, 401, 403, 404) },
  }),
  createRoute({
    method: 'post',
    path: project('/baselines'),
    summary: "Pin a benchmark's baseline to chosen runs",
    security: SECURITY.project,
    request: { params: OwnerRepo, body: requestJson(Pin) },
    responses: {
      200: json(z.object({ benchmark: z.string(), run_ids: z.array(z.uuid()) }), 'pinned'),
      ...errors(400, 401, 403, 404),
    },
  }),
  createRoute({
    method: 'delete',
    path: project('/baselines'),
    summary: 'Unpin: the baseline is chosen automatically again',
    security: SECURITY.project,
    request: { params: OwnerRepo, query: z.object({ benchmark: Benchmark }) },
    responses: {
      200: json(z.object({ benchmark: z.string(), unpinned: z.number().int() }), 'unpinned'),
      ...errors(400, 401, 403, 404),
    },
  }),
  createRoute({
    method: 'get',
    path: project('/settings'),
    summary: "The detector's settings: what was set, and every value in force",
    security: SECURITY.projectOrOidc,
    request: { params: OwnerRepo },
    responses: { 200: json(SettingsAnswer, 'the settings'), ...errors(401, 403, 404) },
  }),
  createRoute({
    method: 'put',
    path: project('/settings'),
    summary: "Replace the project's detector settings",
    security: SECURITY.project,
    request: { params: OwnerRepo, body: requestJson(SettingsDoc) },
    responses: { 200: json(SettingsAnswer, 'the settings now'), ...errors(400, 401, 403, 404) },
  }),
]
