// OIDC from the environment: INFERGATE_OIDC_AUDIENCE turns it on (the audience the workflows
// ask for); INFERGATE_OIDC_ISSUER names a GitHub Enterprise Server's issuer instead of GitHub's.
import { GITHUB_ISSUER, httpsOrLoopback, type OidcConfig } from './verifier.ts'

export function oidcConfigFromEnv(env: NodeJS.ProcessEnv = process.env): OidcConfig | null {
  const audience = env.INFERGATE_OIDC_AUDIENCE?.trim()
  const issuer = env.INFERGATE_OIDC_ISSUER?.trim()
  if (!audience) {
    if (issuer)
      throw new Error('INFERGATE_OIDC_ISSUER: set INFERGATE_OIDC_AUDIENCE too (OIDC is off without it)')
    return null
  }
  const iss = (issuer || GITHUB_ISSUER).replace(/\/+$/, '')
  let url: URL
  try {
    url = new URL(iss)
  } catch {
    throw new Error(`INFERGATE_OIDC_ISSUER: ${JSON.stringify(iss)} is not a URL`)
  }
  if (!httpsOrLoopback(url)) {
    throw new Error(`INFERGATE_OIDC_ISSUER: expected https:// (plain http only on loopback), got ${iss}`)
  }
  return { issuer: iss, audience }
}
