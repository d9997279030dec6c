// The service client's retry policy against a loopback server that fails on demand.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { ServiceClient, ServiceError } from '../core/service-client.ts'

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void
const servers: ReturnType<typeof createServer>[] = []
afterEach(() => {
  for (const s of servers.splice(0)) s.close()
})

async function serve(handler: Handler): Promise<{ url: string; calls: () => number }> {
  let n = 0
  const s = createServer((req, res) => {
    n++
    req.resume()
    req.on('end', () => handler(req, res, n))
  })
  servers.push(s)
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, calls: () => n }
}

const json = (res: ServerResponse, status: number, body: unknown, headers = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers })
  res.end(JSON.stringify(body))
}

describe('ServiceClient', () => {
  it('retries 503 and 429 (honouring retry-after), then answers', async () => {
    const s = await serve((_req, res, n) => {
      if (n === 1) return json(res, 503, { error: { code: 'down', message: 'down' } })
      if (n === 2)
        return json(res, 429, { error: { code: 'slow', message: 'slow down' } }, { 'retry-after': '0' })
      json(res, 200, { ok: true })
    })
    const retries: { attempt: number; delayMs: number }[] = []
    const c = new ServiceClient({ url: s.url, token: 't', backoffMs: 10, onRetry: (r) => retries.push(r) })
    const r = await c.call<{ ok: boolean }>('GET', '/x')
    expect(r.body.ok).toBe(true)
    expect(s.calls()).toBe(3)
    expect(retries.map((x) => x.attempt)).toEqual([1, 2])
    expect(retries[0]!.delayMs).toBeGreaterThanOrEqual(5)
    expect(retries[1]!.delayMs).toBe(0)
  })

  it('a 4xx is the caller’s mistake: no retry, the code and message of the answer', async () => {
    const s = await serve((_req, res) =>
      json(res, 400, { error: { code: 'invalid_report', message: 'bad field x' } }),
    )
    const c = new ServiceClient({ url: s.url, token: 't', backoffMs: 1 })
    const e = await c.call('POST', '/api/v1/runs', {}).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(ServiceError)
    expect((e as ServiceError).status).toBe(400)
    expect((e as ServiceError).code).toBe('invalid_report')
    expect((e as Error).message).toContain('bad field x')
    expect(s.calls()).toBe(1)
  })

  it('gives up after the bounded attempts on timeouts, saying so', async () => {
    const s = await serve(() => {}) // never answers
    const c = new ServiceClient({ url: s.url, token: null, timeoutMs: 100, attempts: 2, backoffMs: 1 })
    const e = (await c.call('GET', '/x').catch((x: unknown) => x)) as ServiceError
    expect(e.code).toBe('unavailable')
    expect(e.message).toMatch(/no answer within 100 ms \(after 2 attempts\)/)
    expect(s.calls()).toBe(2)
  })

  it('a refused connection is retried and reported', async () => {
    const s = await serve(() => {})
    servers.pop()!.close()
    await new Promise((r) => setTimeout(r, 50))
    const c = new ServiceClient({ url: s.url, token: null, attempts: 2, backoffMs: 1 })
    await expect(c.call('GET', '/x')).rejects.toThrow(/ECONNREFUSED \(after 2 attempts\)/)
  })

  it('rejects a service URL that is not http(s)', () => {
    expect(() => new ServiceClient({ url: 'ftp://x', token: null })).toThrow(
      /expected http:\/\/ or https:\/\//,
    )
    expect(() => new ServiceClient({ url: 'nope', token: null })).toThrow(/is not a URL/)
  })
})
