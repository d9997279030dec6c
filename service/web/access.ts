// Who may see a page. A person signs in with the project's token, kept in an httpOnly,
// SameSite=Strict cookie (Secure behind https) so no script of any page can read it; or opens
// a signed read-only link (links.ts) to one run. A page of another project answers as if it did
// not exist, like the API's.
import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import type { Env } from '../env.ts'
import { type Project, projectById, projectByName, projectByToken } from '../projects/repository.ts'
import { projectOfRun, RUN_ID } from '../runs/repository.ts'
import { checkRunLink } from './links.ts'

export const SESSION_COOKIE = 'infergate_token'
/** A sign-in lasts a working week; the token itself does not expire. */
const SESSION_MAX_AGE_S = 7 * 24 * 3600

/** A page that cannot be shown, with the page that says why (pages/error.ts renders it). */
export class PageError extends Error {
  readonly status: 400 | 403 | 404
  readonly title: string
  constructor(status: 400 | 403 | 404, title: string, message: string) {
    super(message)
    this.status = status
    this.title = title
  }
}

const notFound = (what: string) => new PageError(404, 'Not found', `There is no ${what} here.`)

/** https as the browser sees it: the request's own scheme, or the proxy's in front of it. */
function secure(c: Context<Env>): boolean {
  const forwarded = c.req.header('x-forwarded-proto')?.split(',')[0]?.trim()
  return (forwarded ?? new URL(c.req.url).protocol.replace(':', '')) === 'https'
}

export function signIn(c: Context<Env>, token: string): void {
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: 'Strict',
    secure: secure(c),
    path: '/',
    maxAge: SESSION_MAX_AGE_S,
  })
}

export function signOut(c: Context<Env>): void {
  deleteCookie(c, SESSION_COOKIE, { path: '/', secure: secure(c) })
}

/** The project of the signed-in token, or null (no cookie, or a token no longer known). */
export async function signedInProject(c: Context<Env>): Promise<Project | null> {
  const token = getCookie(c, SESSION_COOKIE)
  if (!token || token.length > 200) return null
  return projectByToken(c.get('db'), token)
}

/**
 * The project of /p/:owner/:repo pages: the signed-in one, if it is that one. Signed out: null
 * (the route sends the person to sign in); signed in to another project: not found.
 */
export async function projectPageAccess(c: Context<Env>): Promise<Project | null> {
  const project = await signedInProject(c)
  if (!project) return null
  const owner = c.req.param('owner') ?? ''
  const repo = c.req.param('repo') ?? ''
  const asked = await projectByName(c.get('db'), owner, repo)
  if (!asked || asked.id !== project.id) throw notFound(`project ${owner}/${repo}`)
  return project
}

export interface RunAccess {
  project: Project
  /** Through a signed link: read-only, and links on the page stay within the run. */
  viaLink: boolean
  /** The link's query string, carried to the run's other views. */
  linkQuery: string | null
}

/**
 * Who opens /runs/:id: a signed link (expires and sig in the query), else the signed-in project,
 * if the run is its. Null: signed out and no link. A bad link gets its own page, not a 500.
 */
export async function runPageAccess(c: Context<Env>, id: string): Promise<RunAccess | null> {
  const db = c.get('db')
  const expires = c.req.query('expires')
  const sig = c.req.query('sig')
  if (expires !== undefined || sig !== undefined) {
    const check = checkRunLink(await c.get('linkSecret')(), { run: id, expires, sig })
    if (!check.ok) {
      throw check.reason === 'expired'
        ? new PageError(
            403,
            'This link has expired',
            `The link to this run expired on ${new Date(Number(expires) * 1000).toISOString().slice(0, 10)}. Sign in with the project's token to see it, or ask for a new link.`,
          )
        : new PageError(
            403,
            'This link is not valid',
            'The link was changed or was signed with another secret. Sign in with the project token to see the run.',
          )
    }
    const projectId = await projectOfRun(db, id)
    const project = projectId ? await projectById(db, projectId) : null
    if (!project) throw notFound('run of that id')
    return { project, viaLink: true, linkQuery: `expires=${expires}&sig=${sig}` }
  }
  const project = await signedInProject(c)
  if (!project) return null
  if (!RUN_ID.test(id) || (await projectOfRun(db, id)) !== project.id) throw notFound('run of that id')
  return { project, viaLink: false, linkQuery: null }
}

/** Where to go after signing in: a path on this site only, never another origin. */
export function localPath(next: string | undefined): string {
  return next && /^\/(?![/\\])[^\s]*$/.test(next) ? next : '/'
}
