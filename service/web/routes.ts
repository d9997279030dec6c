// The dashboard's pages: server-rendered HTML read from the same repository functions as the
// API. Forms post with the cookie; hono/csrf refuses a post from another origin, and the cookie
// is SameSite=Strict besides. Every refusal is a page with the reason, never a 500.
import { type Context, Hono } from 'hono'
import { csrf } from 'hono/csrf'
import { secureHeaders } from 'hono/secure-headers'
import { z } from 'zod'
import { BENCHMARK_NAME } from '../../core/report.ts'
import type { Env } from '../env.ts'
import { bodyText } from '../http.ts'
import { projectByToken } from '../projects/repository.ts'
import { pinChosenRuns, unpinBaseline } from '../runs/pins.ts'
import { loadComparable, loadRunPage, RUN_ID, storedComparison } from '../runs/repository.ts'
import {
  localPath,
  PageError,
  projectPageAccess,
  runPageAccess,
  signedInProject,
  signIn,
  signOut,
} from './access.ts'
import { assets } from './assets.ts'
import type { Html } from './html.ts'
import { baselinesPage } from './pages/baselines.ts'
import { HistoryQuery, historyPage } from './pages/history.ts'
import { projectPage } from './pages/project.ts'
import { runPage } from './pages/run.ts'
import { errorPage, signInPage } from './pages/sign-in.ts'
import { benchmarkPath, projectPath } from './paths.ts'

/** Forms are a token or a few run ids: anything larger is not one of ours. */
const FORM_LIMIT = 16 * 1024

export const web = new Hono<Env>()

web.use(
  secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
      objectSrc: ["'none'"],
    },
    xFrameOptions: 'DENY',
    referrerPolicy: 'same-origin',
  }),
)
web.use(csrf())
web.route('/assets', assets)

const send = (c: Context<Env>, h: Html, status: 200 | 400 | 401 | 403 | 404 = 200) =>
  c.html(h.value, status, { 'cache-control': 'no-store' })

const toSignIn = (c: Context<Env>) =>
  c.redirect(`/sign-in?next=${encodeURIComponent(c.req.path + (new URL(c.req.url).search || ''))}`, 303)

async function form(c: Context<Env>): Promise<URLSearchParams> {
  return new URLSearchParams(await bodyText(c, FORM_LIMIT))
}

web.get('/', async (c) => {
  const project = await signedInProject(c)
  return project ? c.redirect(projectPath(project), 303) : toSignIn(c)
})

web.get('/sign-in', (c) => send(c, signInPage(localPath(c.req.query('next')), null)))

web.post('/sign-in', async (c) => {
  const f = await form(c)
  const token = f.get('token')?.trim() ?? ''
  const next = localPath(f.get('next') ?? undefined)
  const project = token && token.length <= 200 ? await projectByToken(c.get('db'), token) : null
  if (!project) return send(c, signInPage(next, 'That token is not a project token of this service.'), 401)
  signIn(c, token)
  return c.redirect(next === '/' ? projectPath(project) : next, 303)
})

web.post('/sign-out', (c) => {
  signOut(c)
  return c.redirect('/sign-in', 303)
})

web.get('/p/:owner/:repo', async (c) => {
  const project = await projectPageAccess(c)
  if (!project) return toSignIn(c)
  return send(c, await projectPage(c.get('db'), project))
})

const benchmarkParam = (c: Context<Env>) => {
  const b = c.req.param('benchmark') ?? ''
  // A name no report could have is no benchmark of any project: not found before any query.
  if (!BENCHMARK_NAME.test(b)) throw new PageError(404, 'Not found', `There is no benchmark ${b} here.`)
  return b
}

web.get('/p/:owner/:repo/benchmarks/:benchmark', async (c) => {
  const project = await projectPageAccess(c)
  if (!project) return toSignIn(c)
  const parsed = HistoryQuery.safeParse(c.req.query())
  if (!parsed.success) {
    const i = parsed.error.issues[0]!
    throw new PageError(400, 'Bad query', `${i.path.join('.')}: ${i.message}`)
  }
  return send(c, await historyPage(c.get('db'), project, benchmarkParam(c), parsed.data, c.get('config')))
})

web.get('/p/:owner/:repo/benchmarks/:benchmark/baselines', async (c) => {
  const project = await projectPageAccess(c)
  if (!project) return toSignIn(c)
  const done = c.req.query('done')
  const message =
    done === 'pinned' ? 'Pinned.' : done === 'unpinned' ? 'Unpinned: the baseline is automatic again.' : null
  return send(c, await baselinesPage(c.get('db'), project, benchmarkParam(c), c.get('config'), message))
})

const RunIds = z.array(z.string().regex(RUN_ID)).min(1).max(50)

web.post('/p/:owner/:repo/benchmarks/:benchmark/baselines/pin', async (c) => {
  const project = await projectPageAccess(c)
  if (!project) return toSignIn(c)
  const benchmark = benchmarkParam(c)
  const ids = RunIds.safeParse((await form(c)).getAll('run'))
  if (!ids.success) throw new PageError(400, 'Nothing pinned', 'Check between 1 and 50 runs to pin.')
  const refused = await pinChosenRuns(c.get('db'), project.id, benchmark, ids.data)
  if (refused) throw new PageError(400, 'Nothing pinned', refused)
  return c.redirect(`${benchmarkPath(project, benchmark)}/baselines?done=pinned`, 303)
})

web.post('/p/:owner/:repo/benchmarks/:benchmark/baselines/unpin', async (c) => {
  const project = await projectPageAccess(c)
  if (!project) return toSignIn(c)
  const benchmark = benchmarkParam(c)
  await unpinBaseline(c.get('db'), project.id, benchmark)
  return c.redirect(`${benchmarkPath(project, benchmark)}/baselines?done=unpinned`, 303)
})

web.get('/runs/:id', async (c) => {
  const id = c.req.param('id')
  const access = await runPageAccess(c, id)
  if (!access) return toSignIn(c)
  const db = c.get('db')
  const [report, comparison] = await Promise.all([loadRunPage(db, id), storedComparison(db, id)])
  if (!report) throw new PageError(404, 'Not found', 'There is no run of that id here.')
  const baselineIds = comparison?.mode === 'history' ? comparison.baseline_run_ids : []
  const baselines = (await loadComparable(db, baselineIds)).map((r) => r.report)
  return send(c, runPage({ id, report, comparison, baselines }, access))
})

/** A refusal as its page (the app's error handler calls this first). */
export function pageErrorResponse(c: Context<Env>, e: PageError) {
  return send(c, errorPage(e.title, e.message, false), e.status)
}

export const notFoundPage = (c: Context<Env>) =>
  send(c, errorPage('Not found', `There is no page ${c.req.path} here.`, false), 404)
