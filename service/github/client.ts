// Octokit (@actions/github's build: REST methods and pagination) authenticated as the
// configuration says. As a GitHub App, each repository's installation is looked up once and its
// Octokit kept: @octokit/auth-app caches the installation token until it expires.
import { GitHub } from '@actions/github/lib/utils'
import { createAppAuth } from '@octokit/auth-app'
import { INFERGATE_VERSION } from '../../core/version.ts'
import type { Log } from '../log.ts'
import type { GithubConfig } from './config.ts'

export type Octokit = InstanceType<typeof GitHub>

export interface GithubAccess {
  /** Token: commit statuses. App: check runs, which also carry the comparison's markdown. */
  readonly mode: 'token' | 'app'
  readonly appId: number | null
  forRepo(owner: string, repo: string): Promise<Octokit>
  /** Drops what is remembered about a repository (its installation was removed or changed). */
  forget(owner: string, repo: string): void
}

/** fetch with a deadline on the whole exchange, body included. */
function fetchWithin(ms: number): typeof fetch {
  return (input, init) => {
    const deadline = AbortSignal.timeout(ms)
    return fetch(input, {
      ...init,
      signal: init?.signal ? AbortSignal.any([init.signal, deadline]) : deadline,
    })
  }
}

export function githubAccess(config: GithubConfig, log: Log): GithubAccess {
  const base = {
    baseUrl: config.apiUrl,
    userAgent: `infergate/${INFERGATE_VERSION}`,
    request: { fetch: fetchWithin(config.timeoutMs) },
    log: {
      debug: () => {},
      info: () => {},
      warn: (message: string) => log('warn', 'github', { message }),
      error: (message: string) => log('error', 'github', { message }),
    },
  }
  const { auth } = config
  if (auth.kind === 'token') {
    const octokit = new GitHub({ ...base, auth: auth.token })
    return { mode: 'token', appId: null, forRepo: async () => octokit, forget: () => {} }
  }
  const { appId, privateKey } = auth
  const app = new GitHub({ ...base, authStrategy: createAppAuth, auth: { appId, privateKey } })
  const byInstallation = new Map<number, Octokit>()
  const byRepo = new Map<string, Promise<Octokit>>()
  const repoKey = (owner: string, repo: string) => `${owner}/${repo}`.toLowerCase()
  async function installationOf(owner: string, repo: string): Promise<Octokit> {
    const { data } = await app.rest.apps.getRepoInstallation({ owner, repo })
    let octokit = byInstallation.get(data.id)
    if (!octokit) {
      octokit = new GitHub({
        ...base,
        authStrategy: createAppAuth,
        auth: { appId, privateKey, installationId: data.id },
      })
      byInstallation.set(data.id, octokit)
    }
    return octokit
  }
  return {
    mode: 'app',
    appId,
    forRepo(owner, repo) {
      const key = repoKey(owner, repo)
      let found = byRepo.get(key)
      if (!found) {
        found = installationOf(owner, repo)
        byRepo.set(key, found)
        // A failed lookup is not remembered: the next attempt asks again.
        found.catch(() => byRepo.delete(key))
      }
      return found
    },
    forget(owner, repo) {
      byRepo.delete(repoKey(owner, repo))
    },
  }
}
