// The trial's metrics reader against a real /metrics server on loopback: a reading before the
// trial, one per interval, one after; a missing endpoint is told apart from a slow one.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { type Reading, ScrapeFailure, Scraper, scrapeOnce } from '../core/telemetry/scraper.ts'

let server: Server | null = null
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()))
  server = null
})

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  server = createServer(handler)
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`
}

describe('Scraper', () => {
  it('reads at start, every interval, and at stop, in time order', async () => {
    let n = 0
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' })
      res.end(`# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running ${n++}`)
    })
    const readings: Reading[] = []
    const s = new Scraper({ url, headers: {} }, 50, (r) => readings.push(r))
    await s.start()
    expect(readings).toHaveLength(1)
    await new Promise((r) => setTimeout(r, 330))
    await s.stop()
    const values = readings.map((r) => r.exposition.samples[0]!.value)
    expect(values.length).toBeGreaterThanOrEqual(5)
    expect(values).toEqual(values.map((_, i) => i))
    for (let i = 1; i < readings.length; i++) expect(readings[i]!.atMs).toBeGreaterThan(readings[i - 1]!.atMs)
    expect(s.failures).toBe(0)
  })

  it('says a 404, a refused connection and a non-metrics page are absent, a slow one is not', async () => {
    const url = await serve((req, res) => {
      if (req.url === '/slow') return void setTimeout(() => res.end('a 1'), 1000)
      if (req.url === '/html') return void res.end('<html></html>')
      res.writeHead(404).end()
    })
    const fails = async (u: string, timeout = 2000) =>
      scrapeOnce({ url: u, headers: {} }, timeout).then(
        () => null,
        (e: unknown) => e as ScrapeFailure,
      )
    const notFound = await fails(url)
    expect(notFound).toBeInstanceOf(ScrapeFailure)
    expect([notFound!.message, notFound!.absent]).toEqual(['HTTP 404', true])
    const html = await fails(url.replace('/metrics', '/html'))
    expect(html!.absent).toBe(true)
    expect(html!.message).toMatch(/^not the Prometheus text format: line 1/)
    const slow = await fails(url.replace('/metrics', '/slow'), 200)
    expect([slow!.message, slow!.absent]).toEqual(['no answer within 200 ms', false])
    const refused = await fails('http://127.0.0.1:1/metrics')
    expect([refused!.message, refused!.absent]).toEqual(['connection refused', true])
  })
})
