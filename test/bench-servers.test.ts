// Real OpenAI-compatible servers misbehave in ways vLLM does not; engine-sim emulates each one
// and the generator's figures must stay exact through all of them.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { benchReport, cli, withSim } from './helpers.ts'

/** engine-sim's count of requests it admitted (vllm:request_success_total). */
async function engineSaw(url: string): Promise<number> {
  const text = await (await fetch(`${url.replace(/\/v1$/, '')}/metrics`)).text()
  return Number(text.match(/^vllm:request_success_total\{[^}]*\} (\d+)$/m)![1])
}

describe('a server that closes kept-alive connections after every stream', () => {
  it('loses no request: those lost on a reused connection are sent again, once, and counted apart', async () => {
    const n = 40
    // Closed loop at 2: each worker writes its next request as soon as a response ends, on the
    // connection the server is about to close (engine-sim closes it 2 ms later). A plain
    // keep-alive client loses every second request there.
    await withSim(['--ttft-ms', '2', '--itl-ms', '1', '--close-after-stream'], async (s) => {
      const { report, result } = await benchReport(s.url, [
        ...['--concurrency', '2', '--requests', String(n), '--output-tokens', '4', '--ignore-eos'],
      ])
      const t = report.scenarios[0]!.trials[0]!
      expect(t.errors).toEqual({})
      expect(t.summary.failed).toBe(0)
      expect(t.summary.completed).toBe(n)
      expect(t.samples.output_tokens).toEqual(Array(n).fill(4))
      // The race did happen, and the retries are reported, not hidden.
      expect(t.summary.retried_requests).toBeGreaterThan(0)
      expect(t.summary.retried_requests).toBeLessThan(n)
      expect(result.stdout).toMatch(/requests sent again on a fresh connection/)
      // The engine saw each request exactly once (warm-up: one per connection, 2): a retry
      // never doubles a request the engine had.
      expect(await engineSaw(s.url)).toBe(n + 2)
    })
  })

  it('a stream cut mid-way is a failure, never retried', async () => {
    await withSim(
      ['--ttft-ms', '2', '--itl-ms', '1', '--disconnect-rate', '0.3', '--seed', '2'],
      async (s) => {
        const { report } = await benchReport(s.url, [
          ...['--concurrency', '2', '--requests', '30', '--output-tokens', '8', '--ignore-eos'],
          ...['--warmup', '0'],
        ])
        const t = report.scenarios[0]!.trials[0]!
        expect(t.errors.disconnect).toBeGreaterThan(0)
        expect(t.summary.retried_requests).toBe(0)
        expect(await engineSaw(s.url)).toBe(30)
      },
    )
  })
})

describe('a server that closes a fresh connection without an answer', () => {
  let server: Server
  let url: string
  let posts = 0
  beforeAll(async () => {
    // Lists a model, then drops every completion request on the floor: each one arrives on a
    // connection of its own (the last one was closed), so nothing excuses it.
    server = createServer((req, res) => {
      if (req.method === 'GET') {
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify({ data: [{ id: 'm', owned_by: 'x' }] }))
        return
      }
      posts++
      req.socket.destroy()
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`
  })
  afterAll(() => new Promise<void>((r) => server.close(() => r())))

  it('is a disconnect, and is not sent again', async () => {
    const r = await cli(['bench', '--url', url, '--requests', '10', '--warmup', '0', '--progress', 'off'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/first requests all failed \(disconnect\): UND_ERR_SOCKET: other side closed/)
    expect(posts).toBe(10)
  })
})

describe('a server that sends usage on its last chunk with choices (llama.cpp)', () => {
  const SIM = ['--ttft-ms', '20', '--itl-ms', '10', '--jitter', '0', '--usage-in-last-chunk']

  it('the closing chunk after the last token is no token: it adds no ITL gap and does not end E2EL', async () => {
    await withSim(SIM, async (s) => {
      const { report } = await benchReport(s.url, [
        ...['--concurrency', '2', '--requests', '8', '--output-tokens', '8', '--ignore-eos'],
      ])
      const t = report.scenarios[0]!.trials[0]!
      const x = t.samples
      expect(t.token_count_source).toBe('usage')
      expect(x.output_tokens).toEqual(Array(8).fill(8))
      for (let i = 0; i < 8; i++) {
        expect(x.itl_ms[i]).toHaveLength(7)
        const sum = x.itl_ms[i]!.reduce((a, b) => a + b, 0)
        expect(sum).toBeCloseTo(x.e2el_ms[i]! - x.ttft_ms[i]!, 1)
        expect(x.tpot_ms[i]).toBeCloseTo((x.e2el_ms[i]! - x.ttft_ms[i]!) / 7, 2)
      }
    })
  })

  it('on chat too (after the role opener, which counts as in vLLM)', async () => {
    await withSim(SIM, async (s) => {
      const { report } = await benchReport(s.url, [
        ...['--endpoint', 'chat', '--requests', '4', '--output-tokens', '6', '--ignore-eos'],
      ])
      const x = report.scenarios[0]!.trials[0]!.samples
      expect(x.output_tokens).toEqual([6, 6, 6, 6])
      expect(x.itl_ms.map((g) => g.length)).toEqual([6, 6, 6, 6])
    })
  })

  it('a natural stop: the closing chunk is the EOS token, and counts', async () => {
    await withSim([...SIM, '--mean-output-tokens', '6', '--seed', '3'], async (s) => {
      const { report } = await benchReport(s.url, ['--concurrency', '2', '--requests', '16'])
      const t = report.scenarios[0]!.trials[0]!
      expect(t.token_count_source).toBe('usage')
      const x = t.samples
      expect(x.output_tokens.some((n) => n > 2 && n < 128)).toBe(true)
      for (let i = 0; i < x.output_tokens.length; i++)
        expect(x.itl_ms[i]).toHaveLength(x.output_tokens[i]! - 1)
    })
  })
})

describe('a server whose error messages a database cannot hold', () => {
  let server: Server
  let url: string
  beforeAll(async () => {
    // Every second completion answers 500 with a NUL, a long text and an emoji where the cut
    // falls; the others stream four tokens.
    const message = `bad\u0000${'x'.repeat(1_998)}🚀${'y'.repeat(20_000)}`
    let n = 0
    server = createServer((req, res) => {
      req.resume()
      if (req.url?.endsWith('/models')) {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":[{"id":"m"}]}')
        return
      }
      if (n++ % 2 === 1) {
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message } }))
        return
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      for (let i = 0; i < 4; i++) {
        const finish = i === 3 ? '"length"' : 'null'
        res.write(`data: {"choices":[{"index":0,"text":"a","finish_reason":${finish}}]}\n\n`)
      }
      res.write('data: {"choices":[],"usage":{"prompt_tokens":8,"completion_tokens":4}}\n\ndata: [DONE]\n\n')
      res.end()
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`
  })
  afterAll(() => new Promise<void>((r) => server.close(() => r())))

  it('still writes the report: what the server said is kept storable', async () => {
    const { report } = await benchReport(url, [
      ...['--concurrency', '1', '--requests', '6', '--output-tokens', '4', '--warmup', '0'],
    ])
    const t = report.scenarios[0]!.trials[0]!
    expect(t.errors).toEqual({ http_500: 3 })
    const shown = t.error_examples[0]!.message
    expect(shown).not.toContain('\u0000')
    expect(shown.isWellFormed()).toBe(true)
    expect(shown.length).toBeLessThanOrEqual(2_000)
  })
})
