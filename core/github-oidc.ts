// The job's GitHub Actions OIDC token, asked of the runner as @actions/core's getIDToken does
// (GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=…, with $ACTIONS_ID_TOKEN_REQUEST_TOKEN as the
// bearer; the answer is {"value": "<jwt>"}), for the CLI, which does not load the Actions
// toolkit. https://docs.github.com/en/actions/reference/security/oidc
import { fetch } from 'undici'

/** The audience when none is given: the service's origin, e.g. https://infergate.example.com. */
export function oidcAudienceOf(serviceUrl: string): string {
  try {
    return new URL(serviceUrl).origin
  } catch {
    return serviceUrl
  }
}

/** A function giving a fresh token per call, or null outside a job allowed one (id-token: write). */
export function githubOidcToken(env: NodeJS.ProcessEnv, audience: string): (() => Promise<string>) | null {
  const url = env.ACTIONS_ID_TOKEN_REQUEST_URL
  const bearer = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN
  if (!url || !bearer) return null
  return async () => {
    const res = await fetch(`${url}&audience=${encodeURIComponent(audience)}`, {
      headers: { authorization: `Bearer ${bearer}`, accept: 'application/json' },
      signal: AbortSignal.timeout(10_000),
    })
    if (!res.ok) throw new Error(`the runner's OIDC token endpoint answered ${res.status}`)
    const value = ((await res.json()) as { value?: unknown } | null)?.value
    if (typeof value !== 'string' || !value) throw new Error("the runner's OIDC token endpoint gave no token")
    return value
  }
}
