// Where requests go: the OpenAI-compatible base URL (…/v1 on vLLM, …/openai/v1 behind KServe),
// the API flavour and the headers every request carries.
import { BenchError } from './errors.ts'

export type Api = 'completions' | 'chat'

export interface Endpoint {
  /** scheme://host:port */
  origin: string
  /** Path prefix without a trailing slash, e.g. /v1 or /openai/v1. */
  basePath: string
  api: Api
  headers: Record<string, string>
}

export function parseBaseUrl(raw: string, flag = '--url'): { origin: string; basePath: string } {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new BenchError(
      `${flag}: not a URL: ${JSON.stringify(raw)} (expected e.g. http://127.0.0.1:8000/v1)`,
    )
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new BenchError(`${flag}: expected an http:// or https:// URL, got ${url.protocol}//`)
  }
  if (url.search || url.hash) throw new BenchError(`${flag}: the base URL must not have a query or fragment`)
  let basePath = url.pathname.replace(/\/+$/, '')
  if (basePath === '') basePath = '/v1'
  if (/\/(chat\/)?completions$/.test(basePath)) {
    throw new BenchError(`${flag}: give the base URL (e.g. …/v1), not a route: ${raw}`)
  }
  return { origin: url.origin, basePath }
}

export function routePath(endpoint: Endpoint): string {
  return `${endpoint.basePath}/${endpoint.api === 'chat' ? 'chat/completions' : 'completions'}`
}

/** The URL as it may be written into a report: no credentials. */
export function displayUrl(endpoint: Endpoint): string {
  return `${endpoint.origin}${endpoint.basePath}`
}
