// A GitHub REST API on loopback for the service's tests: the real Octokit talks to it through
// the configured base URL. It keeps the state a PR shows (comments, commit statuses, check runs),
// authenticates like GitHub (a token, or an App's RS256 JWT exchanged for installation tokens),
// paginates with Link headers, records every call, and fails on demand. It serves pull requests
// and repository files too, for the Action (a comment's PR, the base's config at a commit).
import { createHash, createPublicKey, createVerify, type KeyObject, randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Call {
  method: string
  path: string
  query: Record<string, string>
  body: Record<string, unknown> | null
  authorization: string | null
  /** When the request arrived (Date.now()). */
  at: number
  status: number
  /** The headers of a fault's answer (retry-after, x-ratelimit-*): when its limit lifts. */
  answerHeaders: Record<string, string>
}

export type Fault =
  /** 403: a permission the token lacks ("Resource not accessible by integration"). */
  | { status: 500 | 502 | 403 | 404 | 422 }
  /** GitHub's primary rate limit: 403 (or 429), x-ratelimit-remaining 0, reset at epoch seconds. */
  | { rateLimitResetInS: number; status?: 403 | 429 }
  /**
   * A secondary rate limit: 403 or 429 saying so, with calls left in the hour; retry-after only
   * when given, as GitHub's docs say it "might be present".
   */
  | { secondary: 403 | 429; retryAfterS?: number; resetInS?: number }
  /** No answer at all, until the client gives up. */
  | { hang: true }

interface Comment {
  id: number
  repo: string
  issue_number: number
  body: string
  user: { login: string; type: string }
}

interface Status {
  id: number
  repo: string
  sha: string
  state: string
  context: string
  description: string | null
  target_url: string | null
}

interface CheckRun {
  id: number
  repo: string
  head_sha: string
  name: string
  status: string
  conclusion: string | null
  details_url: string | null
  output: { title?: string; summary?: string }
  app_id: number
}

export interface FakeGithubOptions {
  /** Token mode: the token the service must present. */
  token?: string
  /** App mode: the App's id and the public half of its key; installation per "owner/repo". */
  app?: { id: number; publicKeyPem: string; installations: Record<string, number> }
}

const STATUS_STATES = new Set(['error', 'failure', 'pending', 'success'])

type Who = { kind: 'token' } | { kind: 'app' } | { kind: 'installation'; id: number }
type Answer = [number, unknown, Record<string, string>?]
interface Routed {
  call: Call
  url: URL
  who: Who
  m: RegExpMatchArray
}

export class FakeGithub {
  readonly calls: Call[] = []
  readonly comments: Comment[] = []
  readonly statuses: Status[] = []
  readonly checkRuns: CheckRun[] = []
  /** PRs answered 404 (deleted, or a repository the token cannot see). */
  readonly missingPrs = new Set<string>()
  /** Pull requests by "owner/repo#number", for GET /repos/{owner}/{repo}/pulls/{number}. */
  readonly pulls = new Map<
    string,
    { head: { sha: string; ref: string }; base: { ref: string; sha?: string } }
  >()
  /**
   * Repository files by "owner/repo@ref:path" (ref: a commit SHA or a branch), for GET
   * /repos/{owner}/{repo}/contents/{path}?ref={ref}; without ref, GitHub reads the default
   * branch, here "main".
   */
  readonly files = new Map<string, string>()
  /** Installation tokens issued: token → installation id. */
  readonly installationTokens = new Map<string, number>()
  url = ''
  #server: Server | null = null
  #faults: { match: (c: Call) => boolean; fault: Fault }[] = []
  #hung: ServerResponse[] = []
  #nextId = 1000
  readonly #options: FakeGithubOptions
  readonly #appKey: KeyObject | null

  constructor(options: FakeGithubOptions) {
    this.#options = options
    this.#appKey = options.app ? createPublicKey(options.app.publicKeyPem) : null
  }

  async start(): Promise<this> {
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((e) => this.#send(res, 500, { message: String(e) }))
    })
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.#server!.address() as AddressInfo).port}`
    return this
  }

  async close(): Promise<void> {
    for (const res of this.#hung) res.destroy()
    this.#server?.closeAllConnections()
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()) ?? resolve())
  }

  /** The next `times` calls that `match` get `fault` instead of their answer. */
  fail(match: { method?: string; path?: RegExp }, fault: Fault, times = 1): void {
    for (let i = 0; i < times; i++) {
      this.#faults.push({
        match: (c) =>
          (!match.method || c.method === match.method) && (!match.path || match.path.test(c.path)),
        fault,
      })
    }
  }

  /** Comments someone else wrote, to make the service page through them. */
  seedComments(repo: string, pr: number, bodies: string[]): void {
    for (const body of bodies) {
      this.comments.push({
        id: this.#nextId++,
        repo,
        issue_number: pr,
        body,
        user: { login: 'octocat', type: 'User' },
      })
    }
  }

  /** A file of `repo` at `ref`, for the contents endpoint. */
  setFile(repo: string, ref: string, path: string, text: string): void {
    this.files.set(`${repo}@${ref}:${path}`, text)
  }

  callsTo(method: string, path: RegExp): Call[] {
    return this.calls.filter((c) => c.method === method && path.test(c.path))
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url)
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const text = Buffer.concat(chunks).toString('utf8')
    const call: Call = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      body: text ? (JSON.parse(text) as Record<string, unknown>) : null,
      authorization: req.headers.authorization ?? null,
      at: Date.now(),
      status: 0,
      answerHeaders: {},
    }
    this.calls.push(call)
    const faultAt = this.#faults.findIndex((f) => f.match(call))
    if (faultAt >= 0) {
      const { fault } = this.#faults.splice(faultAt, 1)[0]!
      return this.#fault(res, call, fault)
    }
    const [status, body, headers] = this.#route(call, url)
    call.status = status
    this.#send(res, status, body, headers)
  }

  #fault(res: ServerResponse, call: Call, fault: Fault): void {
    if ('hang' in fault) {
      call.status = -1
      this.#hung.push(res)
      return
    }
    const [status, message, headers] = this.#faultAnswer(fault)
    call.status = status
    call.answerHeaders = headers
    this.#send(res, status, { message, documentation_url: 'https://docs.github.com/rest' }, headers)
  }

  /** The answer GitHub gives for `fault`: rate limits with the headers its docs describe. */
  #faultAnswer(fault: Exclude<Fault, { hang: true }>): [number, string, Record<string, string>] {
    const resetIn = (s: number) => String(Math.ceil(Date.now() / 1000 + s))
    if ('rateLimitResetInS' in fault) {
      return [
        fault.status ?? 403,
        'API rate limit exceeded for installation.',
        {
          'x-ratelimit-limit': '5000',
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': resetIn(fault.rateLimitResetInS),
        },
      ]
    }
    if ('secondary' in fault) {
      return [
        fault.secondary,
        'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
        {
          'x-ratelimit-limit': '5000',
          'x-ratelimit-remaining': '4987',
          'x-ratelimit-reset': resetIn(fault.resetInS ?? 3600),
          ...(fault.retryAfterS === undefined ? {} : { 'retry-after': String(fault.retryAfterS) }),
        },
      ]
    }
    const message = {
      500: 'Server Error',
      502: 'Bad Gateway',
      403: 'Resource not accessible by integration',
      404: 'Not Found',
      422: 'Validation Failed',
    }
    // GitHub sends its rate-limit headers on every answer: a 403 with calls left is no limit.
    const headers: Record<string, string> =
      fault.status === 403
        ? { 'x-ratelimit-limit': '5000', 'x-ratelimit-remaining': '4999', 'x-ratelimit-reset': resetIn(3600) }
        : {}
    return [fault.status, message[fault.status], headers]
  }

  #send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    if (res.headersSent || res.destroyed) return
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers })
    res.end(body === null ? '' : JSON.stringify(body))
  }

  /** Who the Authorization header speaks for: the token, an App (JWT) or an installation. */
  #who(call: Call): Who | null {
    const m = call.authorization?.match(/^(?:token|bearer)\s+(\S+)$/i)
    if (!m) return null
    const credential = m[1]!
    if (this.#options.token && credential === this.#options.token) return { kind: 'token' }
    const installation = this.installationTokens.get(credential)
    if (installation !== undefined) return { kind: 'installation', id: installation }
    if (this.#appKey && this.#validJwt(credential)) return { kind: 'app' }
    return null
  }

  #validJwt(jwt: string): boolean {
    const [header, payload, signature] = jwt.split('.')
    if (!header || !payload || !signature) return false
    const verifier = createVerify('RSA-SHA256')
    verifier.update(`${header}.${payload}`)
    if (!verifier.verify(this.#appKey!, Buffer.from(signature, 'base64url'))) return false
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {
      iss?: unknown
      exp?: number
    }
    return String(claims.iss) === String(this.#options.app!.id) && (claims.exp ?? 0) * 1000 > Date.now()
  }

  #route(call: Call, url: URL): Answer {
    const who = this.#who(call)
    if (!who) return [401, { message: 'Bad credentials' }]
    for (const [method, pattern, handler] of this.#routes) {
      const m = call.path.match(pattern)
      if (m && call.method === method) return handler({ call, url, who, m })
    }
    return [404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' }]
  }

  // GitHub App endpoints take the App's JWT; repository endpoints a token or an installation's.
  readonly #routes: [string, RegExp, (r: Routed) => Answer][] = [
    ['GET', /^\/repos\/([^/]+)\/([^/]+)\/installation$/, (r) => this.#installation(r)],
    ['POST', /^\/app\/installations\/(\d+)\/access_tokens$/, (r) => this.#accessToken(r)],
    ['GET', /^\/repos\/([^/]+)\/([^/]+)\/pulls\/(\d+)$/, (r) => this.#repo(r, () => this.#pull(r))],
    ['GET', /^\/repos\/([^/]+)\/([^/]+)\/contents\/(.+)$/, (r) => this.#repo(r, () => this.#content(r))],
    [
      'GET',
      /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments$/,
      (r) => this.#repo(r, () => this.#listComments(r)),
    ],
    [
      'POST',
      /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments$/,
      (r) => this.#repo(r, () => this.#createComment(r)),
    ],
    [
      'PATCH',
      /^\/repos\/([^/]+)\/([^/]+)\/issues\/comments\/(\d+)$/,
      (r) => this.#repo(r, () => this.#updateComment(r)),
    ],
    [
      'POST',
      /^\/repos\/([^/]+)\/([^/]+)\/statuses\/([0-9a-f]+)$/,
      (r) => this.#repo(r, () => this.#createStatus(r)),
    ],
    [
      'GET',
      /^\/repos\/([^/]+)\/([^/]+)\/commits\/([^/]+)\/check-runs$/,
      (r) => this.#checks(r, () => this.#listCheckRuns(r)),
    ],
    [
      'POST',
      /^\/repos\/([^/]+)\/([^/]+)\/check-runs$/,
      (r) => this.#checks(r, () => this.#createCheckRun(r)),
    ],
    [
      'PATCH',
      /^\/repos\/([^/]+)\/([^/]+)\/check-runs\/(\d+)$/,
      (r) => this.#checks(r, () => this.#updateCheckRun(r)),
    ],
  ]

  #installation({ who, m }: Routed): Answer {
    if (who.kind !== 'app') return [401, { message: 'A JSON web token could not be decoded' }]
    const id = this.#options.app?.installations[`${m[1]}/${m[2]}`]
    return id === undefined ? [404, { message: 'Not Found' }] : [200, { id, app_id: this.#options.app!.id }]
  }

  #accessToken({ who, m }: Routed): Answer {
    if (who.kind !== 'app') return [401, { message: 'A JSON web token could not be decoded' }]
    const token = `ghs_${randomBytes(12).toString('hex')}`
    this.installationTokens.set(token, Number(m[1]))
    const expires_at = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z')
    return [201, { token, expires_at, permissions: { checks: 'write', pull_requests: 'write' } }]
  }

  /** A repository endpoint: a token, or a token of the installation that holds the repository. */
  #repo({ who, m }: Routed, then: () => Answer): Answer {
    if (who.kind === 'app')
      return [403, { message: 'Apps act on repositories through an installation token' }]
    if (who.kind === 'installation' && this.#options.app?.installations[`${m[1]}/${m[2]}`] !== who.id) {
      return [404, { message: 'Not Found' }]
    }
    return then()
  }

  /** Check runs: only a GitHub App may write them. */
  #checks(r: Routed, then: () => Answer): Answer {
    if (r.who.kind !== 'installation')
      return this.#repo(r, () => [403, { message: 'You must authenticate via a GitHub App.' }])
    return this.#repo(r, then)
  }

  #pull({ m }: Routed): Answer {
    const pr = this.pulls.get(`${m[1]}/${m[2]}#${m[3]}`)
    return pr ? [200, { number: Number(m[3]), state: 'open', ...pr }] : [404, { message: 'Not Found' }]
  }

  /**
   * "Get repository content" for a file, as GitHub documents it
   * (https://docs.github.com/en/rest/repos/contents#get-repository-content): 200 with the file's
   * `content` in base64 (GitHub wraps it in lines of 60 characters) and `encoding: "base64"`;
   * 404 `{"message": "Not Found"}` for a path the ref does not have. Octokit sends the path as
   * one URL-encoded segment (slashes as %2F); GitHub takes both forms.
   */
  #content({ url, m }: Routed): Answer {
    const repo = `${m[1]}/${m[2]}`
    const path = decodeURIComponent(m[3]!)
    const ref = url.searchParams.get('ref') ?? 'main'
    const text = this.files.get(`${repo}@${ref}:${path}`)
    if (text === undefined) {
      return [
        404,
        {
          message: 'Not Found',
          documentation_url: 'https://docs.github.com/rest/repos/contents#get-repository-content',
          status: '404',
        },
      ]
    }
    const bytes = Buffer.from(text, 'utf8')
    const sha = createHash('sha1')
      .update(Buffer.concat([Buffer.from(`blob ${bytes.length}\0`), bytes]))
      .digest('hex')
    const api = `https://api.github.test/repos/${repo}/contents/${path}?ref=${ref}`
    return [
      200,
      {
        type: 'file',
        encoding: 'base64',
        size: bytes.length,
        name: path.split('/').at(-1),
        path,
        content: `${(bytes.toString('base64').match(/.{1,60}/g) ?? []).join('\n')}\n`,
        sha,
        url: api,
        git_url: `https://api.github.test/repos/${repo}/git/blobs/${sha}`,
        html_url: `https://github.test/${repo}/blob/${ref}/${path}`,
        download_url: `https://raw.githubusercontent.test/${repo}/${ref}/${path}`,
        _links: {
          self: api,
          git: `https://api.github.test/repos/${repo}/git/blobs/${sha}`,
          html: `https://github.test/${repo}/blob/${ref}/${path}`,
        },
      },
    ]
  }

  #listComments({ url, m }: Routed): Answer {
    const repo = `${m[1]}/${m[2]}`
    const pr = Number(m[3])
    if (this.missingPrs.has(`${repo}#${pr}`)) return [404, { message: 'Not Found' }]
    const all = this.comments.filter((c) => c.repo === repo && c.issue_number === pr)
    const perPage = Number(url.searchParams.get('per_page') ?? 30)
    const page = Number(url.searchParams.get('page') ?? 1)
    const headers: Record<string, string> = {}
    if (page * perPage < all.length) {
      const next = new URL(url)
      next.searchParams.set('page', String(page + 1))
      headers.link = `<${next}>; rel="next"`
    }
    return [200, all.slice((page - 1) * perPage, page * perPage).map((c) => this.#comment(c)), headers]
  }

  #createComment({ call, m }: Routed): Answer {
    const repo = `${m[1]}/${m[2]}`
    const pr = Number(m[3])
    if (this.missingPrs.has(`${repo}#${pr}`)) return [404, { message: 'Not Found' }]
    if (typeof call.body?.body !== 'string') return [422, { message: 'Validation Failed' }]
    const c: Comment = {
      id: this.#nextId++,
      repo,
      issue_number: pr,
      body: call.body.body,
      user: { login: 'infergate[bot]', type: 'Bot' },
    }
    this.comments.push(c)
    return [201, this.#comment(c)]
  }

  #updateComment({ call, m }: Routed): Answer {
    const c = this.comments.find((x) => x.repo === `${m[1]}/${m[2]}` && x.id === Number(m[3]))
    if (!c) return [404, { message: 'Not Found' }]
    if (typeof call.body?.body !== 'string') return [422, { message: 'Validation Failed' }]
    c.body = call.body.body
    return [200, this.#comment(c)]
  }

  #createStatus({ call, m }: Routed): Answer {
    const body = call.body ?? {}
    const description = (body.description as string | undefined) ?? null
    if (!STATUS_STATES.has(String(body.state)) || (description?.length ?? 0) > 140) {
      return [422, { message: 'Validation Failed' }]
    }
    const s: Status = {
      id: this.#nextId++,
      repo: `${m[1]}/${m[2]}`,
      sha: m[3]!,
      state: String(body.state),
      context: String(body.context ?? 'default'),
      description,
      target_url: (body.target_url as string | undefined) ?? null,
    }
    this.statuses.push(s)
    return [201, s]
  }

  #listCheckRuns({ url, m }: Routed): Answer {
    let runs = this.checkRuns.filter((r) => r.repo === `${m[1]}/${m[2]}` && r.head_sha === m[3])
    const name = url.searchParams.get('check_name')
    const appId = url.searchParams.get('app_id')
    if (name) runs = runs.filter((r) => r.name === name)
    if (appId) runs = runs.filter((r) => String(r.app_id) === appId)
    // filter=latest (GitHub's default): the most recent run of each name.
    runs = [...runs].reverse().filter((r, i, all) => all.findIndex((x) => x.name === r.name) === i)
    return [200, { total_count: runs.length, check_runs: runs.map((r) => this.#checkRun(r)) }]
  }

  #createCheckRun({ call, m }: Routed): Answer {
    const body = call.body ?? {}
    const r: CheckRun = {
      id: this.#nextId++,
      repo: `${m[1]}/${m[2]}`,
      head_sha: String(body.head_sha),
      name: String(body.name),
      status: String(body.status ?? 'queued'),
      conclusion: (body.conclusion as string | undefined) ?? null,
      details_url: (body.details_url as string | undefined) ?? null,
      output: (body.output as CheckRun['output'] | undefined) ?? {},
      app_id: this.#options.app!.id,
    }
    if (r.status === 'completed' && !r.conclusion) return [422, { message: 'Validation Failed' }]
    this.checkRuns.push(r)
    return [201, this.#checkRun(r)]
  }

  #updateCheckRun({ call, m }: Routed): Answer {
    const r = this.checkRuns.find((x) => x.repo === `${m[1]}/${m[2]}` && x.id === Number(m[3]))
    if (!r) return [404, { message: 'Not Found' }]
    const body = call.body ?? {}
    for (const field of ['status', 'conclusion', 'details_url', 'output'] as const) {
      if (body[field] !== undefined) Object.assign(r, { [field]: body[field] })
    }
    return [200, this.#checkRun(r)]
  }

  #comment(c: Comment) {
    return {
      id: c.id,
      body: c.body,
      user: c.user,
      html_url: `https://github.test/${c.repo}/pull/${c.issue_number}#issuecomment-${c.id}`,
    }
  }

  #checkRun(r: CheckRun) {
    return { ...r, html_url: `https://github.test/${r.repo}/runs/${r.id}` }
  }
}
