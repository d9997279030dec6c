// How the service reaches GitHub, from its environment: a token, or a GitHub App (whose
// installation tokens Octokit fetches and caches), and the API's base URL (GitHub Enterprise
// Server, or a test double). No credentials: no reporting, and the service says so once.
import { createPrivateKey } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { DEFAULT_OUTBOX, type OutboxSettings } from '../notifications/worker.ts'

export type GithubAuth = { kind: 'token'; token: string } | { kind: 'app'; appId: number; privateKey: string }

export interface GithubConfig {
  /** The REST API root: https://api.github.com, or https://HOST/api/v3 on Enterprise Server. */
  apiUrl: string
  auth: GithubAuth
  /** Per request: a hung GitHub costs one attempt, not the worker. */
  timeoutMs: number
  outbox: OutboxSettings
}

export const DEFAULT_API_URL = 'https://api.github.com'

type Env = Record<string, string | undefined>

function privateKeyFrom(env: Env): string {
  const inline = env.INFERGATE_GITHUB_APP_PRIVATE_KEY
  const file = env.INFERGATE_GITHUB_APP_PRIVATE_KEY_FILE
  if (inline && file) {
    throw new Error('set INFERGATE_GITHUB_APP_PRIVATE_KEY or INFERGATE_GITHUB_APP_PRIVATE_KEY_FILE, not both')
  }
  let pem: string
  let from: string
  if (file) {
    from = 'INFERGATE_GITHUB_APP_PRIVATE_KEY_FILE'
    try {
      pem = readFileSync(file, 'utf8')
    } catch (e) {
      throw new Error(`${from}: cannot read ${file}: ${(e as Error).message}`)
    }
  } else if (inline) {
    from = 'INFERGATE_GITHUB_APP_PRIVATE_KEY'
    // Secrets stores often flatten the PEM's line breaks into "\n".
    pem = inline.replaceAll('\\n', '\n')
  } else {
    throw new Error(
      'INFERGATE_GITHUB_APP_ID is set but no private key: set INFERGATE_GITHUB_APP_PRIVATE_KEY (the .pem text) or INFERGATE_GITHUB_APP_PRIVATE_KEY_FILE',
    )
  }
  try {
    createPrivateKey(pem)
  } catch {
    throw new Error(`${from}: not a PEM private key (download one from the App's settings page)`)
  }
  return pem
}

/** The GitHub settings in `env`, or null when none are set; errors name the variable. */
export function githubConfigFromEnv(env: Env = process.env): GithubConfig | null {
  const token = env.INFERGATE_GITHUB_TOKEN
  const appId = env.INFERGATE_GITHUB_APP_ID
  if (token && appId) {
    throw new Error('set INFERGATE_GITHUB_TOKEN or INFERGATE_GITHUB_APP_ID (with its private key), not both')
  }
  if (!token && !appId) return null
  const apiUrl = (env.INFERGATE_GITHUB_API_URL || DEFAULT_API_URL).replace(/\/+$/, '')
  try {
    const u = new URL(apiUrl)
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error()
  } catch {
    throw new Error(
      `INFERGATE_GITHUB_API_URL: not an http(s) URL: ${apiUrl} (e.g. https://github.example.com/api/v3)`,
    )
  }
  let auth: GithubAuth
  if (token) {
    auth = { kind: 'token', token }
  } else {
    const id = Number(appId)
    if (!Number.isInteger(id) || id <= 0) {
      throw new Error(`INFERGATE_GITHUB_APP_ID: expected the App's numeric id, got ${JSON.stringify(appId)}`)
    }
    auth = { kind: 'app', appId: id, privateKey: privateKeyFrom(env) }
  }
  return { apiUrl, auth, timeoutMs: 10_000, outbox: DEFAULT_OUTBOX }
}

/** The service's own address for links from GitHub (INFERGATE_PUBLIC_URL), or null. */
export function publicUrlFromEnv(env: Env = process.env): string | null {
  const raw = env.INFERGATE_PUBLIC_URL
  if (!raw) return null
  try {
    const u = new URL(raw)
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error()
  } catch {
    throw new Error(`INFERGATE_PUBLIC_URL: not an http(s) URL: ${raw}`)
  }
  return raw.replace(/\/+$/, '')
}
