// A GitHub Actions OIDC issuer on loopback, speaking what the real one does:
// - /.well-known/openid-configuration and /.well-known/jwks, as
//   https://token.actions.githubusercontent.com serves them (OpenID Connect Discovery 1.0);
// - the runner's token endpoint (ACTIONS_ID_TOKEN_REQUEST_URL), which @actions/core's getIDToken
//   calls with `&audience=` and the ACTIONS_ID_TOKEN_REQUEST_TOKEN bearer and reads `{ value }`;
// - RS256 tokens with GitHub's claim set and lifetime (5 minutes, nbf 10 minutes back), as in
//   https://docs.github.com/en/actions/reference/security/oidc ("Example subject claims").
// Keys rotate on demand (a new kid published beside the old, as GitHub does); JWKS fetches are
// counted so a test can see the cache at work; `down` makes the issuer answer 503.
import { randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose'

export interface RunContext {
  repository: string
  repository_id: string
  ref: string
  sha: string
  event_name: string
  workflow?: string
  /** GITHUB_RUN_ID and GITHUB_RUN_ATTEMPT of the job (default 1234, 1). */
  run_id?: string
  run_attempt?: string
}

interface Key {
  kid: string
  privateKey: CryptoKey
  jwk: JWK
}

async function newKey(): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
  const kid = randomUUID().replaceAll('-', '').slice(0, 27)
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } }
}

export class FakeOidcIssuer {
  url = ''
  jwksFetches = 0
  /** Discovery documents asked for, answered or not. */
  discoveryFetches = 0
  /** Tokens handed out by the runner's endpoint. */
  issued: string[] = []
  down = false
  /** What the runner's endpoint signs for (the job's context). */
  job: RunContext | null = null
  readonly requestToken = `runner-${randomUUID()}`
  #keys: Key[] = []
  #server: Server | null = null

  async start(): Promise<this> {
    this.#keys = [await newKey()]
    this.#server = createServer((req, res) => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' })
        res.end(JSON.stringify(body))
      }
      const url = new URL(req.url!, this.url)
      if (url.pathname === '/.well-known/openid-configuration') this.discoveryFetches++
      if (this.down) return send(503, { message: 'unavailable' })
      if (url.pathname === '/.well-known/openid-configuration') {
        return send(200, {
          issuer: this.url,
          jwks_uri: `${this.url}/.well-known/jwks`,
          subject_types_supported: ['public', 'pairwise'],
          response_types_supported: ['id_token'],
          claims_supported: [
            'sub',
            'aud',
            'exp',
            'iat',
            'iss',
            'jti',
            'nbf',
            'ref',
            'sha',
            'repository',
            'repository_id',
            'repository_owner',
            'repository_owner_id',
            'run_id',
            'run_number',
            'run_attempt',
            'actor',
            'actor_id',
            'workflow',
            'workflow_ref',
            'workflow_sha',
            'head_ref',
            'base_ref',
            'event_name',
            'ref_type',
            'ref_protected',
            'environment',
            'job_workflow_ref',
            'repository_visibility',
            'runner_environment',
          ],
          id_token_signing_alg_values_supported: ['RS256'],
          scopes_supported: ['openid'],
        })
      }
      if (url.pathname === '/.well-known/jwks') {
        this.jwksFetches++
        return send(200, { keys: this.#keys.map((k) => k.jwk) })
      }
      if (url.pathname === '/idtoken') {
        if (req.headers.authorization !== `Bearer ${this.requestToken}`)
          return send(401, { message: 'bad token' })
        const audience = url.searchParams.get('audience')
        if (!this.job || !audience) return send(400, { message: 'no job or audience' })
        void this.sign(this.job, { audience }).then((value) => {
          this.issued.push(value)
          send(200, { count: 1, value })
        })
        return
      }
      send(404, { message: 'not found' })
    })
    await new Promise<void>((r) => this.#server!.listen(0, '127.0.0.1', r))
    this.url = `http://127.0.0.1:${(this.#server!.address() as AddressInfo).port}`
    return this
  }

  /** ACTIONS_ID_TOKEN_REQUEST_URL: GitHub's carries a query already (getIDToken appends `&audience=`). */
  get requestUrl() {
    return `${this.url}/idtoken?api-version=2.0`
  }

  /** Publishes a new key beside the old and signs with it from now on. */
  async rotate(): Promise<void> {
    this.#keys.unshift(await newKey())
  }

  /** A token for a job, with GitHub's claims; options break it the ways tests need. */
  async sign(
    job: RunContext,
    o: {
      audience: string
      issuer?: string
      /** Seconds from now; GitHub's tokens last 300 s. */
      expiresIn?: number
      key?: CryptoKey
      kid?: string
      extra?: Record<string, unknown>
    },
  ): Promise<string> {
    const now = Math.floor(Date.now() / 1000)
    const [owner] = job.repository.split('/')
    const workflowPath = `${job.repository}/.github/workflows/${job.workflow ?? 'bench.yml'}@${job.ref}`
    const key = this.#keys[0]!
    return new SignJWT({
      sub: `repo:${job.repository}:ref:${job.ref}`,
      ref: job.ref,
      sha: job.sha,
      repository: job.repository,
      repository_owner: owner,
      repository_owner_id: '65',
      repository_id: job.repository_id,
      repository_visibility: 'private',
      run_id: job.run_id ?? '1234',
      run_number: '10',
      run_attempt: job.run_attempt ?? '1',
      runner_environment: 'self-hosted',
      actor: 'octocat',
      actor_id: '12',
      workflow: 'bench',
      workflow_ref: workflowPath,
      workflow_sha: job.sha,
      job_workflow_ref: workflowPath,
      head_ref: '',
      base_ref: '',
      event_name: job.event_name,
      ref_type: job.ref.startsWith('refs/tags/') ? 'tag' : 'branch',
      ref_protected: 'false',
      ...o.extra,
    })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: o.kid ?? key.kid, x5t: key.kid })
      .setJti(randomUUID())
      .setIssuer(o.issuer ?? this.url)
      .setAudience(o.audience)
      .setIssuedAt(now)
      .setNotBefore(now - 600)
      .setExpirationTime(now + (o.expiresIn ?? 300))
      .sign(o.key ?? key.privateKey)
  }

  close(): Promise<void> {
    return new Promise((r) => (this.#server ? this.#server.close(() => r()) : r()))
  }
}
