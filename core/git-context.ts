// The git identity of a local checkout, for reports made outside GitHub Actions (which have no
// GITHUB_* variables to read it from): the repository from the origin remote, the commit, the
// branch. Read with the git binary, which knows every layout (worktrees, submodules, packed refs).
import { execFile } from 'node:child_process'
import type { GitContext } from './report.ts'

export interface Checkout {
  repository: string | null
  sha: string
  /** null when HEAD is detached. */
  branch: string | null
  ref: string | null
  /** Tracked files changed since the commit: what was measured may not be the commit. */
  dirty: boolean
}

const OWNER_REPO = /^[^/\s]+\/[^/\s]+$/

/**
 * owner/repo of a remote URL, in the forms git accepts: https://host/owner/repo(.git) (with or
 * without credentials), ssh://git@host(:port)/owner/repo.git, git://…, and scp-like
 * git@host:owner/repo.git. Local paths and file:// have no owner: null.
 */
export function repositoryOfRemote(remote: string): string | null {
  const url = remote.trim()
  let path: string
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      return null
    }
    if (!['https:', 'http:', 'ssh:', 'git:', 'git+ssh:', 'ssh+git:'].includes(parsed.protocol)) return null
    path = decodeURIComponent(parsed.pathname)
  } else {
    // scp-like: [user@]host:path, where the host has no slash before the colon.
    const m = url.match(/^(?:[^@/\s]+@)?[^:/\s]+:(?!\/\/)(.+)$/)
    if (!m) return null
    path = m[1]!
  }
  const parts = path
    .replace(/\/+$/, '')
    .replace(/\.git$/, '')
    .split('/')
    .filter(Boolean)
  const repository = parts.length === 2 ? parts.join('/') : null
  return repository && OWNER_REPO.test(repository) ? repository : null
}

function git(cwd: string, args: string[]): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(
      'git',
      args,
      // Never wait on a credential prompt or a hung filesystem: a few seconds, then no answer.
      { cwd, timeout: 10_000, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } },
      (error, stdout) => resolve(error ? null : stdout.trim()),
    )
  })
}

/** The checkout at cwd, or null when cwd is not in one (or git is not installed). */
export async function readCheckout(cwd: string): Promise<Checkout | null> {
  const sha = await git(cwd, ['rev-parse', '--verify', '-q', 'HEAD'])
  if (!sha) return null
  const [ref, remote, status] = await Promise.all([
    git(cwd, ['symbolic-ref', '-q', 'HEAD']),
    git(cwd, ['remote', 'get-url', 'origin']),
    git(cwd, ['status', '--porcelain', '--untracked-files=no']),
  ])
  return {
    repository: remote ? repositoryOfRemote(remote) : null,
    sha,
    ref: ref || null,
    branch: ref?.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : null,
    dirty: status !== null && status !== '',
  }
}

const sameCommit = (a: string, b: string) => a.startsWith(b) || b.startsWith(a)

/**
 * The report's git fields with the flags over them, and the checkout filling what is still
 * null. The commit, branch and ref describe HEAD, so they fill only a report of HEAD's commit (or
 * of no commit): a report of another commit keeps its own. Answers which fields the checkout gave.
 */
export function fillGitContext(
  report: GitContext,
  flags: Partial<GitContext>,
  checkout: Checkout | null,
): { git: GitContext; filled: (keyof GitContext)[] } {
  const git: GitContext = { ...report }
  for (const [k, v] of Object.entries(flags) as [keyof GitContext, never][]) if (v !== undefined) git[k] = v
  const filled: (keyof GitContext)[] = []
  if (!checkout) return { git, filled }
  const fill = <K extends keyof GitContext>(key: K, value: GitContext[K]) => {
    if (git[key] !== null || value === null) return
    git[key] = value
    filled.push(key)
  }
  fill('repository', checkout.repository)
  if (git.sha !== null && !sameCommit(git.sha, checkout.sha)) return { git, filled }
  fill('sha', checkout.sha)
  fill('branch', checkout.branch)
  // A ref of another branch than the report's would contradict it.
  if (git.branch === checkout.branch) fill('ref', checkout.ref)
  return { git, filled }
}
