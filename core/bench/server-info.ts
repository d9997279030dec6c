// Before any load: is the server there, what does it serve, which engine is it?
import { request } from 'undici'
import { errorMessageOf } from './client.ts'
import type { Endpoint } from './endpoint.ts'
import { BenchError } from './errors.ts'

export interface ServerInfo {
  model: string
  engine: string | null
  engineVersion: string | null
}

const PREFLIGHT_TIMEOUT_MS = 10_000

export async function discoverServer(endpoint: Endpoint, model: string | null): Promise<ServerInfo> {
  const url = `${endpoint.origin}${endpoint.basePath}/models`
  let status: number
  let text: string
  try {
    const res = await request(url, {
      headers: endpoint.headers,
      headersTimeout: PREFLIGHT_TIMEOUT_MS,
      bodyTimeout: PREFLIGHT_TIMEOUT_MS,
      signal: AbortSignal.timeout(PREFLIGHT_TIMEOUT_MS),
    })
    status = res.statusCode
    text = await res.body.text()
  } catch (e) {
    const err = e as { code?: string; cause?: { code?: string }; message?: string; name?: string }
    const code = err.code ?? err.cause?.code
    const why =
      code === 'ECONNREFUSED'
        ? 'connection refused (is the server running, on that port?)'
        : err.name === 'TimeoutError' || code?.includes('TIMEOUT')
          ? `no answer within ${PREFLIGHT_TIMEOUT_MS / 1000} s`
          : `${code ?? ''} ${err.message ?? e}`.trim()
    throw new BenchError(`cannot reach ${url}: ${why}`)
  }
  let served: { id: string; owned_by?: string }[] = []
  if (status === 200) {
    try {
      served = (JSON.parse(text) as { data: { id: string; owned_by?: string }[] }).data
      if (!Array.isArray(served)) throw new Error()
    } catch {
      throw new BenchError(`GET ${url} did not answer an OpenAI model list: ${text.slice(0, 100)}`)
    }
  } else if (!(model && status === 404)) {
    throw new BenchError(`GET ${url} answered HTTP ${status}: ${errorMessageOf(text)}`)
  }
  let chosen = model
  if (!chosen) {
    if (served.length === 0) throw new BenchError(`${url} lists no model; pass --model`)
    chosen = served[0]!.id
  } else if (served.length > 0 && !served.some((m) => m.id === chosen)) {
    throw new BenchError(
      `--model ${chosen} is not served at ${url} (it serves: ${served.map((m) => m.id).join(', ')})`,
    )
  }
  const owner = served.find((m) => m.id === chosen)?.owned_by ?? null
  return { model: chosen, engine: owner, engineVersion: await engineVersion(endpoint) }
}

/** vLLM answers GET /version at the server root; other servers may not, which is fine. */
async function engineVersion(endpoint: Endpoint): Promise<string | null> {
  try {
    const res = await request(`${endpoint.origin}/version`, {
      headers: endpoint.headers,
      signal: AbortSignal.timeout(2000),
    })
    if (res.statusCode !== 200) {
      await res.body.dump()
      return null
    }
    const v = (await res.body.json()) as { version?: unknown }
    return typeof v.version === 'string' ? v.version : null
  } catch {
    return null
  }
}
