// Open loop: requests leave on the planned schedule, whatever the server does.

import { performance } from 'node:perf_hooks'
import { describe, expect, it } from 'vitest'
import { arrivalSchedule, interArrival } from '../core/bench/arrivals.ts'
import { StreamClient } from '../core/bench/client.ts'
import { Rng } from '../core/rng.ts'
import { mean, std } from '../core/stats.ts'
import { SIM_DEFAULTS, startEngineSim } from '../engine-sim/server.ts'
import { benchReport, median, withSim } from './helpers.ts'

const diffs = (xs: number[]) => xs.slice(1).map((x, i) => x - xs[i]!)

/**
 * Each send minus its dispatch delay is its planned time, on the clock of the first send. The
 * samples are in the order sent, which is the schedule's unless load workers (npm run
 * test:workers) sent two close requests out of order, so planned times are compared sorted.
 */
function expectSentOnSchedule(start: number[], delays: number[], plannedAt: number[]) {
  expect(start.length).toBe(plannedAt.length)
  const first = start.indexOf(0)
  const implied = start.map((s, i) => s - delays[i]! + delays[first]!).sort((a, b) => a - b)
  implied.forEach((x, i) => {
    expect(x).toBeCloseTo(plannedAt[i]!, 0)
  })
}

describe('open-loop arrivals', () => {
  it('Poisson at a rate: sends follow the seeded schedule, scaled to exactly N / rate; gaps are exponential', async () => {
    await withSim(['--ttft-ms', '5', '--itl-ms', '2'], async (s) => {
      const { report } = await benchReport(s.url, [
        ...['--rate', '40', '--requests', '150', '--seed', '3', '--output-tokens', '5', '--ignore-eos'],
      ])
      const sc = report.scenarios[0]!
      expect(sc.name).toBe('rate-40')
      expect(sc.load).toEqual({
        mode: 'open',
        rate: 40,
        arrival: 'poisson',
        burstiness: 1,
        schedule: 'exact',
        max_concurrency: null,
      })
      const t = sc.trials[0]!
      // The planned schedule, rebuilt from the seed: each send = planned + its dispatch delay.
      const next = arrivalSchedule({ rate: 40, arrival: 'poisson', burstiness: 1, exact: true, seed: 3 }, 150)
      const plannedAt = t.samples.start_ms.map(() => next())
      expect(plannedAt[149]).toBeCloseTo((149 * 1000) / 40, 6)
      const delays = t.samples.dispatch_delay_ms!
      expectSentOnSchedule(t.samples.start_ms, delays, plannedAt)
      const g = diffs(t.samples.start_ms)
      expect(std(g) / mean(g)).toBeGreaterThan(0.75)
      expect(std(g) / mean(g)).toBeLessThan(1.25)
      expect(t.summary.mean_dispatch_delay_ms).not.toBeNull()
      // What was sent: 149 gaps over the span of the sends, off 40 only by the dispatch delays.
      const span = (t.samples.start_ms[149]! - t.samples.start_ms[0]!) / 1000
      expect(t.summary.achieved_rate).toBeCloseTo(149 / span, 3)
      expect(Math.abs(t.summary.achieved_rate! / 40 - 1)).toBeLessThan(0.01)
    })
  })

  it('--schedule drawn: the gaps exactly as drawn, their sum off N / rate', async () => {
    await withSim(['--ttft-ms', '5', '--itl-ms', '2'], async (s) => {
      const { report } = await benchReport(s.url, [
        ...['--rate', '40', '--requests', '150', '--seed', '3', '--output-tokens', '5', '--ignore-eos'],
        ...['--schedule', 'drawn'],
      ])
      const sc = report.scenarios[0]!
      expect(sc.load).toMatchObject({ mode: 'open', schedule: 'drawn' })
      const t = sc.trials[0]!
      const gap = interArrival(40, 'poisson', 1, new Rng(3, 0xa771))
      const plannedAt = [0]
      for (let i = 1; i < t.samples.start_ms.length; i++) plannedAt.push(plannedAt[i - 1]! + gap())
      const delays = t.samples.dispatch_delay_ms!
      expectSentOnSchedule(t.samples.start_ms, delays, plannedAt)
      // This seed's draw spans 3,725 ms × a factor far enough from 1 to tell the modes apart.
      expect(Math.abs(plannedAt[149]! / ((149 * 1000) / 40) - 1)).toBeGreaterThan(0.02)
    })
  })

  it('a slow server does not slow the arrival clock (no coordinated omission)', async () => {
    // Every request takes ~1 s; at 50 req/s, 40 requests must still all leave within ~0.8 s.
    await withSim(['--ttft-ms', '1000', '--itl-ms', '1', '--jitter', '0'], async (s) => {
      const { report } = await benchReport(s.url, [
        ...[
          '--rate',
          '50',
          '--arrival',
          'constant',
          '--requests',
          '40',
          '--output-tokens',
          '2',
          '--ignore-eos',
        ],
      ])
      const t = report.scenarios[0]!.trials[0]!
      expect(t.summary.max_concurrent_requests).toBeGreaterThan(30)
      expect(Math.max(...t.samples.start_ms)).toBeLessThan(39 * 20 + 100)
      expect(median(diffs(t.samples.start_ms))).toBeGreaterThan(19)
      expect(median(diffs(t.samples.start_ms))).toBeLessThan(21)
      expect(Math.min(...t.samples.ttft_ms)).toBeGreaterThanOrEqual(1000)
    })
  })

  it('--max-concurrency holds requests back and the wait shows as dispatch delay', async () => {
    await withSim(['--ttft-ms', '200', '--itl-ms', '1', '--jitter', '0'], async (s) => {
      const { report } = await benchReport(s.url, [
        ...[
          '--rate',
          'inf',
          '--max-concurrency',
          '2',
          '--requests',
          '6',
          '--output-tokens',
          '2',
          '--ignore-eos',
        ],
      ])
      const t = report.scenarios[0]!.trials[0]!
      expect(report.scenarios[0]!.name).toBe('rate-inf')
      expect(t.summary.max_concurrent_requests).toBe(2)
      expect(Math.max(...t.samples.dispatch_delay_ms!)).toBeGreaterThanOrEqual(2 * 200)
    })
  })

  it('a rate the loop cannot keep up with still stops at the deadline and reads responses meanwhile', async () => {
    await withSim(['--ttft-ms', '1', '--itl-ms', '1', '--jitter', '0'], async (s) => {
      const { report } = await benchReport(s.url, [
        ...['--rate', '100000', '--duration', '0.5', '--output-tokens', '2', '--ignore-eos'],
      ])
      const t = report.scenarios[0]!.trials[0]!
      expect(t.summary.completed).toBeGreaterThan(10)
      // Nothing reaches the wire after the deadline, not even a request handed to the pool in
      // time that then waited on a connection (a SYN dropped by a full accept queue waits 1 s).
      // start_ms counts from the first send, at or after the trial's start (0.01 ms: clocks of
      // two threads).
      expect(Math.max(...t.samples.start_ms)).toBeLessThanOrEqual(500.01)
      // Every arrival due is accounted for: sent, or counted as not sent by the deadline.
      const sum = t.summary
      expect(sum.completed + sum.failed + sum.unsent_requests!).toBe(100000 * 0.5)
      expect(sum.unsent_requests!).toBeGreaterThan(0)
      expect(t.warnings.join('\n')).toMatch(/requests due before the --duration deadline had not been sent/)
      // Behind schedule from the start: the lag is recorded, not hidden.
      expect(t.summary.max_dispatch_delay_ms!).toBeGreaterThan(1)
    })
  })

  it('--duration stops issuing at the deadline and lets in-flight requests finish', async () => {
    await withSim(['--ttft-ms', '5', '--itl-ms', '5', '--jitter', '0'], async (s) => {
      const { report } = await benchReport(s.url, [
        ...[
          '--rate',
          '20',
          '--arrival',
          'constant',
          '--duration',
          '1',
          '--output-tokens',
          '40',
          '--ignore-eos',
        ],
      ])
      const t = report.scenarios[0]!.trials[0]!
      expect(t.summary.completed).toBe(20)
      expect(t.summary.failed).toBe(0)
      expect(t.summary.unsent_requests).toBe(0)
      expect(report.scenarios[0]!.stop).toEqual({ requests: null, duration_s: 1, timeout_s: 300 })
    })
  })
})

describe('the deadline at the socket', () => {
  it('a request still queued for a connection when the deadline passes is never written', async () => {
    const sim = await startEngineSim({ port: 0, ttftMs: 300, itlMs: 1, jitter: 0 })
    let seen = 0
    sim.server.on('request', () => seen++)
    const u = new URL(sim.url)
    // One connection: the second request waits in the pool behind the first's 300 ms.
    const client = new StreamClient(
      { origin: u.origin, basePath: '/v1', api: 'completions', headers: {} },
      10_000,
      1,
    )
    const req = {
      body: JSON.stringify({
        model: SIM_DEFAULTS.model,
        prompt: 'x',
        max_tokens: 2,
        stream: true,
        ignore_eos: true,
      }),
      inputTokensEstimate: 1,
      maxTokens: 2,
    }
    try {
      const first = client.send(req, null)
      client.sendBy = performance.now() + 50
      const second = await client.send(req, performance.now())
      expect(second).toMatchObject({ cancelled: true, unsent: true, ok: false })
      const r = await first
      expect(r.ok).toBe(true)
      expect(seen).toBe(1)
      // The next trial's deadline is its own: the client sends again.
      client.sendBy = Number.POSITIVE_INFINITY
      expect((await client.send(req, null)).ok).toBe(true)
      expect(seen).toBe(2)
    } finally {
      await client.close()
      await sim.close()
    }
  })
})
