// GitHub Actions' OIDC tokens, verified so a workflow can post runs without a long-lived secret.
// jose does the cryptography and keeps the issuer's JWKS: cached (10 min), fetched again when a
// token names a key it has not seen (GitHub rotates its signing keys), at most every 30 s.
// The JWKS's address comes from the issuer's discovery document, as OpenID Connect Discovery 1.0
// §4 defines it (GitHub's: https://token.actions.githubusercontent.com/.well-known/openid-configuration).
// Claims: https://docs.github.com/en/actions/reference/security/oidc
import { createRemoteJWKSet, errors, jwtVerify } from 'jose'
import { fetch } from 'undici'
import { z } from 'zod'
import { ApiError } from '../http.ts'

export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com'

export interface OidcConfig {
  /** `iss` of the tokens: GitHub's, or a GitHub Enterprise Server's https://HOST/_services/token. */
  issuer: string
  /** `aud` the workflow asks for with core.getIDToken(audience): this service's own. */
  audience: string
  /** How soon an unknown key may fetch the JWKS again (jose's default, 30 s, unless a test says). */
  jwksCooldownMs?: number
}

/** The claims a decision is made on; GitHub sends more (all kept in `raw` for the log). */
export const GithubClaims = z.object({
  // GitHub's ids are numbers written as strings; a repository's id survives a rename, its name not.
  repository_id: z.string().regex(/^\d+$/),
  repository: z.string().min(1),
  repository_owner_id: z.string().regex(/^\d+$/).optional(),
  ref: z.string().min(1),
  sha: z.string().regex(/^[0-9a-f]{40}$/),
  event_name: z.string().min(1),
  workflow_ref: z.string().min(1),
  job_workflow_ref: z.string().min(1).optional(),
  // Which job holds it: a report must be that job's (service/oidc/policy.ts).
  run_id: z.string().regex(/^\d+$/),
  run_attempt: z.string().regex(/^[1-9]\d*$/),
  actor: z.string().optional(),
})
export type GithubClaims = z.infer<typeof GithubClaims>

/** Whether a bearer token is a JWT (three base64url parts) rather than a project token. */
export const looksLikeJwt = (token: string) => /^eyJ[\w-]*\.[\w-]*\.[\w-]*$/.test(token)

const unauthorized = (why: string) => new ApiError(401, 'unauthorized', `OIDC token refused: ${why}`)
const unavailable = (why: string) =>
  new ApiError(503, 'oidc_unavailable', `OIDC tokens cannot be checked now: ${why}`, null, {
    'retry-after': '10',
  })

const Discovery = z.object({ issuer: z.string(), jwks_uri: z.string().url() })

/** https, or plain http on loopback only (a test's issuer, a developer's). */
export const httpsOrLoopback = (u: URL) =>
  u.protocol === 'https:' ||
  (u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname))

function checkUrl(url: string, what: string): URL {
  const u = new URL(url)
  if (!httpsOrLoopback(u)) throw new Error(`${what} ${url}: expected https://`)
  return u
}

export function createOidcVerifier(config: OidcConfig) {
  const issuer = config.issuer.replace(/\/+$/, '')
  checkUrl(issuer, 'OIDC issuer')
  let keys: Promise<ReturnType<typeof createRemoteJWKSet>> | null = null

  async function discover() {
    const res = await fetch(`${issuer}/.well-known/openid-configuration`, {
      signal: AbortSignal.timeout(5_000),
      headers: { accept: 'application/json' },
    })
    if (!res.ok) throw new Error(`discovery answered ${res.status}`)
    const doc = Discovery.parse(await res.json())
    if (doc.issuer.replace(/\/+$/, '') !== issuer) {
      throw new Error(`discovery names issuer ${doc.issuer}, not ${issuer}`)
    }
    return createRemoteJWKSet(checkUrl(doc.jwks_uri, 'jwks_uri'), {
      timeoutDuration: 5_000,
      cooldownDuration: config.jwksCooldownMs ?? 30_000,
      cacheMaxAge: 10 * 60_000,
    })
  }

  // A failed discovery is kept 5 s, not for good: while the issuer is away, tokens get their 503
  // at once instead of each waiting out a fetch of its own; then the next one tries again.
  const jwks = () => {
    keys ??= discover().catch((e) => {
      setTimeout(() => {
        keys = null
      }, 5_000).unref()
      throw e
    })
    return keys
  }

  /** The token's claims, or a 401 saying why not (a 503 when the issuer cannot be reached). */
  return async function verify(token: string): Promise<GithubClaims> {
    let keySet: Awaited<ReturnType<typeof jwks>>
    try {
      keySet = await jwks()
    } catch (e) {
      throw unavailable(`the issuer's discovery document: ${(e as Error).message}`)
    }
    let payload: unknown
    try {
      ;({ payload } = await jwtVerify(token, keySet, {
        issuer,
        audience: config.audience,
        // GitHub signs with RS256; naming it refuses "none" and any algorithm swap.
        algorithms: ['RS256'],
        requiredClaims: ['exp', 'iat', 'repository_id', 'run_id', 'run_attempt'],
        clockTolerance: 30,
      }))
    } catch (e) {
      if (e instanceof errors.JWTExpired) throw unauthorized('expired')
      if (e instanceof errors.JWTClaimValidationFailed) {
        throw unauthorized(`claim ${e.claim} ${e.reason === 'check_failed' ? 'does not match' : e.reason}`)
      }
      if (e instanceof errors.JWKSNoMatchingKey)
        throw unauthorized('signed with a key the issuer does not publish')
      if (e instanceof errors.JWSSignatureVerificationFailed) throw unauthorized('bad signature')
      if (e instanceof errors.JOSEAlgNotAllowed) throw unauthorized('algorithm not allowed (expected RS256)')
      if (e instanceof errors.JWKSTimeout) throw unavailable("the issuer's JWKS did not answer in 5 s")
      if (e instanceof errors.JWKSInvalid) throw unavailable("the issuer's JWKS is malformed")
      // jose's one generic error is the JWKS's non-200 answer.
      if (e instanceof errors.JOSEError && e.code === 'ERR_JOSE_GENERIC') {
        throw unavailable(`the issuer's JWKS: ${e.message}`)
      }
      if (e instanceof errors.JOSEError) throw unauthorized(`malformed (${e.code})`)
      // Anything else is the JWKS fetch failing (network, 5xx): not the caller's fault.
      throw unavailable(`the issuer's JWKS: ${(e as Error).message}`)
    }
    const claims = GithubClaims.safeParse(payload)
    if (!claims.success) {
      const issue = claims.error.issues[0]!
      throw unauthorized(`claim ${issue.path.join('.')}: ${issue.message}`)
    }
    return claims.data
  }
}

export type OidcVerifier = ReturnType<typeof createOidcVerifier>
