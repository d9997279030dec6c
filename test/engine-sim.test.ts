import { connect } from 'node:net'
// engine-sim speaks vLLM's wire protocol: the test double every other test trusts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type EngineSim, phaseFactor, startEngineSim } from '../engine-sim/server.ts'

let sim: EngineSim
beforeAll(async () => {
  sim = await startEngineSim({ port: 0, ttftMs: 5, itlMs: 1, jitter: 0, maxModelLen: 200, maxNumSeqs: 2 })
})
afterAll(() => sim.close())

const post = (path: string, body: unknown) =>
  fetch(`${sim.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })

const events = async (res: Response) =>
  (await res.text())
    .split('\n\n')
    .filter(Boolean)
    .map((e) => e.replace(/^data: /, ''))

const MODEL = 'sim-llama-3-8b'

describe('routes', () => {
  it('lists the model', async () => {
    const body = (await (await fetch(`${sim.url}/models`)).json()) as any
    expect(body.data[0]).toMatchObject({ id: MODEL, object: 'model', owned_by: 'vllm' })
  })

  it('serves the same routes under KServe’s /openai/v1 prefix', async () => {
    const base = sim.url.replace(/\/v1$/, '')
    const res = await fetch(`${base}/openai/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, prompt: 'hi', max_tokens: 2 }),
    })
    expect(res.status).toBe(200)
    expect((await fetch(`${base}/openai/v1/models`)).status).toBe(200)
  })

  it('answers /health and 404 elsewhere', async () => {
    const base = sim.url.replace(/\/v1$/, '')
    expect((await fetch(`${base}/health`)).status).toBe(200)
    expect((await fetch(`${base}/v2/nothing`)).status).toBe(404)
  })
})

describe('streaming', () => {
  it('completions: one chunk per token, the usage chunk on request, then [DONE]', async () => {
    const res = await post('/completions', {
      model: MODEL,
      prompt: 'a b c',
      max_tokens: 5,
      ignore_eos: true,
      stream: true,
      stream_options: { include_usage: true },
    })
    expect(res.headers.get('content-type')).toContain('text/event-stream')
    const ev = await events(res)
    expect(ev.at(-1)).toBe('[DONE]')
    const chunks = ev.slice(0, -1).map((e) => JSON.parse(e))
    const tokens = chunks.filter((c) => c.choices.length > 0)
    expect(tokens).toHaveLength(5)
    expect(tokens[0].object).toBe('text_completion')
    expect(tokens.at(-1).choices[0].finish_reason).toBe('length')
    expect(tokens.slice(0, -1).every((c) => c.choices[0].finish_reason === null)).toBe(true)
    expect(chunks.at(-1)).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 },
    })
  })

  it('no usage chunk without include_usage', async () => {
    const ev = await events(
      await post('/completions', { model: MODEL, prompt: 'x', max_tokens: 3, stream: true }),
    )
    expect(ev.slice(0, -1).some((e) => e.includes('"usage"'))).toBe(false)
  })

  it('chat: the role first, then content deltas', async () => {
    const ev = await events(
      await post('/chat/completions', {
        model: MODEL,
        messages: [{ role: 'user', content: 'hello there' }],
        max_completion_tokens: 3,
        ignore_eos: true,
        stream: true,
      }),
    )
    const chunks = ev.slice(0, -1).map((e) => JSON.parse(e))
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' })
    expect(chunks.slice(1).map((c) => typeof c.choices[0].delta.content)).toEqual([
      'string',
      'string',
      'string',
    ])
    expect(chunks[0].object).toBe('chat.completion.chunk')
  })
})

describe('stopping', () => {
  it('a natural stop ends with the EOS chunk: no text, finish_reason stop, counted in usage', async () => {
    const stopSim = await startEngineSim({
      port: 0,
      ttftMs: 1,
      itlMs: 0,
      jitter: 0,
      meanOutputTokens: 3,
      seed: 1,
    })
    try {
      let seen = 0
      for (let i = 0; i < 20 && seen < 3; i++) {
        const res = await fetch(`${stopSim.url}/completions`, {
          method: 'POST',
          body: JSON.stringify({
            model: MODEL,
            prompt: 'x',
            max_tokens: 50,
            stream: true,
            stream_options: { include_usage: true },
          }),
        })
        const chunks = (await events(res)).slice(0, -1).map((e) => JSON.parse(e))
        const tokens = chunks.filter((c) => c.choices.length > 0)
        const last = tokens.at(-1).choices[0]
        if (last.finish_reason !== 'stop') continue
        seen++
        expect(last.text).toBe('')
        expect(chunks.at(-1).usage.completion_tokens).toBe(tokens.length)
      }
      expect(seen).toBe(3)
    } finally {
      await stopSim.close()
    }
  })

  it('a client that stops reading and goes away frees its slot (backpressure)', async () => {
    // An answer far larger than the socket buffers, from an engine with no delays: the server
    // must wait for the client to drain, and the client never will.
    const big = await startEngineSim({ port: 0, ttftMs: 0, itlMs: 0, jitter: 0, maxModelLen: 1_000_000 })
    try {
      const base = new URL(big.url)
      const body = JSON.stringify({
        model: MODEL,
        prompt: 'x',
        max_tokens: 500_000,
        ignore_eos: true,
        stream: true,
      })
      const sock = connect(Number(base.port), base.hostname)
      sock.write(
        `POST /v1/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
      )
      sock.pause()
      const running = async () =>
        Number(
          (await (await fetch(`${base.origin}/metrics`)).text()).match(
            /^vllm:num_requests_running\{[^}]*\} (\d+)$/m,
          )![1],
        )
      for (let i = 0; i < 40 && (await running()) === 0; i++) await new Promise((r) => setTimeout(r, 25))
      expect(await running()).toBe(1)
      await new Promise((r) => setTimeout(r, 200))
      sock.destroy()
      // The slot comes free once the server sees the close; poll for it (a loaded machine is slow).
      let n = 1
      for (let i = 0; i < 40 && n !== 0; i++) {
        await new Promise((r) => setTimeout(r, 50))
        n = await running()
      }
      expect(n).toBe(0)
    } finally {
      await big.close()
    }
  })
})

describe('servers in the wild', () => {
  it('--usage-in-last-chunk: usage rides on the closing chunk (no text, finish_reason), even unasked', async () => {
    const s = await startEngineSim({ port: 0, ttftMs: 1, itlMs: 0, jitter: 0, usageInLastChunk: true })
    try {
      const res = await fetch(`${s.url}/completions`, {
        method: 'POST',
        body: JSON.stringify({ model: MODEL, prompt: 'a b', max_tokens: 3, ignore_eos: true, stream: true }),
      })
      const ev = await events(res)
      expect(ev.at(-1)).toBe('[DONE]')
      const chunks = ev.slice(0, -1).map((e) => JSON.parse(e))
      // Three tokens, then the closing chunk: no choices: [] chunk anywhere.
      expect(chunks).toHaveLength(4)
      expect(chunks.every((c) => c.choices.length === 1)).toBe(true)
      expect(chunks.slice(0, 3).map((c) => [c.choices[0].text !== '', c.choices[0].finish_reason])).toEqual([
        [true, null],
        [true, null],
        [true, null],
      ])
      expect(chunks[3].choices[0]).toMatchObject({ text: '', finish_reason: 'length' })
      expect(chunks[3].usage).toEqual({ prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 })
      expect(chunks.slice(0, 3).some((c) => 'usage' in c)).toBe(false)
    } finally {
      await s.close()
    }
  })

  it('--close-after-stream: says keep-alive, closes anyway, and never sees a request sent on the doomed connection', async () => {
    const s = await startEngineSim({ port: 0, ttftMs: 1, itlMs: 0, jitter: 0, closeAfterStream: true })
    try {
      const base = new URL(s.url)
      const body = JSON.stringify({
        model: MODEL,
        prompt: 'x',
        max_tokens: 2,
        ignore_eos: true,
        stream: true,
      })
      const request = `POST /v1/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`
      const sock = connect(Number(base.port), base.hostname)
      let text = ''
      let again = false
      const closed = new Promise<void>((resolve) => sock.once('close', () => resolve()))
      sock.on('error', () => {})
      sock.on('data', (c: Buffer) => {
        text += c.toString()
        // As a keep-alive client does: the next request goes out the moment the answer ends.
        if (!again && text.includes('data: [DONE]') && text.endsWith('0\r\n\r\n')) {
          again = true
          sock.write(request)
        }
      })
      sock.write(request)
      await closed
      expect(text).toMatch(/^connection: keep-alive\r$/im)
      expect(text).toMatch(/^keep-alive: timeout=5, max=100\r$/im)
      expect(again).toBe(true)
      // One answer on the connection, and the engine admitted only the first request.
      expect(text.match(/HTTP\/1.1 200/g)).toHaveLength(1)
      expect(s.scheduler.requestsTotal).toBe(1)
    } finally {
      await s.close()
    }
  })
})

describe('a slow node phase', () => {
  it('is a factor on every delay inside the phase, repeating when asked', () => {
    const p = { after_s: 10, for_s: 5, by_pct: 20, every_s: 60 }
    expect(phaseFactor(p, 0, 9_999)).toBe(1)
    expect(phaseFactor(p, 0, 10_000)).toBeCloseTo(1.2, 12)
    expect(phaseFactor(p, 0, 14_999)).toBeCloseTo(1.2, 12)
    expect(phaseFactor(p, 0, 15_000)).toBe(1)
    expect(phaseFactor(p, 0, 72_000)).toBeCloseTo(1.2, 12)
    expect(phaseFactor({ ...p, every_s: null }, 0, 72_000)).toBe(1)
    expect(phaseFactor(null, 0, 12_000)).toBe(1)
  })

  it('two sims given one epoch slow down together, and speed up together', async () => {
    const epochMs = Date.now()
    const slowPhase = { after_s: 0, for_s: 0.8, by_pct: 100, every_s: null }
    const sims = await Promise.all(
      [0, 1].map(() => startEngineSim({ port: 0, ttftMs: 100, itlMs: 1, jitter: 0, slowPhase, epochMs })),
    )
    const ttft = async (s: EngineSim) => {
      const t0 = performance.now()
      const res = await fetch(`${s.url}/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: MODEL, prompt: 'hi', max_tokens: 1, stream: true }),
      })
      await res.text()
      return performance.now() - t0
    }
    try {
      const during = await Promise.all(sims.map(ttft))
      await new Promise((r) => setTimeout(r, Math.max(0, epochMs + 850 - Date.now())))
      const after = await Promise.all(sims.map(ttft))
      // 200 ms inside the phase, 100 ms after it: a wide margin for a loaded machine.
      for (const x of during) expect(x).toBeGreaterThanOrEqual(198)
      for (const x of after) expect(x).toBeLessThan(190)
    } finally {
      await Promise.all(sims.map((s) => s.close()))
    }
  })
})

describe('non-streaming', () => {
  it('returns the whole answer with usage', async () => {
    const res = await post('/chat/completions', {
      model: MODEL,
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 4,
      ignore_eos: true,
    })
    const body = (await res.json()) as any
    expect(body.object).toBe('chat.completion')
    expect(body.choices[0].message.content.trim().split(' ')).toHaveLength(4)
    expect(body.usage.completion_tokens).toBe(4)
  })

  it('completions default to 16 tokens like vLLM', async () => {
    const body = (await (
      await post('/completions', { model: MODEL, prompt: 'x', ignore_eos: true })
    ).json()) as any
    expect(body.usage.completion_tokens).toBe(16)
  })
})

describe('OpenAI-style errors', () => {
  const cases: [string, string, unknown, number, RegExp][] = [
    ['malformed JSON', '/completions', '{"model":', 400, /JSON decode error/],
    ['no model', '/completions', { prompt: 'x' }, 400, /model/],
    [
      'unknown model',
      '/completions',
      { model: 'gpt-9', prompt: 'x' },
      404,
      /The model `gpt-9` does not exist/,
    ],
    ['no prompt', '/completions', { model: MODEL }, 400, /prompt/],
    [
      'bad max_tokens',
      '/completions',
      { model: MODEL, prompt: 'x', max_tokens: 0 },
      400,
      /max_tokens must be at least 1/,
    ],
    [
      'stream_options without stream',
      '/completions',
      { model: MODEL, prompt: 'x', stream_options: { include_usage: true } },
      400,
      /Stream options/,
    ],
    ['empty messages', '/chat/completions', { model: MODEL, messages: [] }, 400, /messages/],
    [
      'bad role',
      '/chat/completions',
      { model: MODEL, messages: [{ role: 'robot', content: 'x' }] },
      400,
      /role/,
    ],
    [
      'over the context',
      '/completions',
      { model: MODEL, prompt: 'x', max_tokens: 500 },
      400,
      /maximum context length is 200 tokens/,
    ],
  ]
  for (const [what, path, body, status, message] of cases) {
    it(what, async () => {
      const res = await post(path, body)
      expect(res.status).toBe(status)
      const err = ((await res.json()) as any).error
      expect(err.message).toMatch(message)
      expect(err.code).toBe(status)
      expect(err.type).toBe(status === 404 ? 'NotFoundError' : 'BadRequestError')
    })
  }
})

describe('scheduler and /metrics', () => {
  it('queues beyond max-num-seqs and exposes the vLLM gauges and counters', async () => {
    const before = await (await fetch(`${sim.url.replace(/\/v1$/, '')}/metrics`)).text()
    const gen = (t: string) => Number(t.match(/^vllm:generation_tokens_total\{[^}]*\} (\d+)/m)![1])
    const slow = () =>
      post('/completions', { model: MODEL, prompt: 'a b', max_tokens: 150, ignore_eos: true, stream: true })
    // A queued request gets no headers until it runs, so look before awaiting the responses.
    const responses = [slow(), slow(), slow()]
    await new Promise((r) => setTimeout(r, 40))
    const during = await (await fetch(`${sim.url.replace(/\/v1$/, '')}/metrics`)).text()
    expect(during).toMatch(/^vllm:num_requests_running\{model_name="sim-llama-3-8b"\} 2$/m)
    expect(during).toMatch(/^vllm:num_requests_waiting\{model_name="sim-llama-3-8b"\} 1$/m)
    const kv = Number(during.match(/^vllm:kv_cache_usage_perc\{[^}]*\} ([\d.e-]+)$/m)![1])
    expect(kv).toBeGreaterThan(0)
    expect(during).toMatch(/^# TYPE vllm:prompt_tokens_total counter$/m)
    await Promise.all(responses.map(async (r) => (await r).text()))
    const after = await (await fetch(`${sim.url.replace(/\/v1$/, '')}/metrics`)).text()
    expect(gen(after) - gen(before)).toBe(450)
    expect(after).toMatch(/^vllm:num_requests_running\{[^}]*\} 0$/m)
  })
})
