// The trial's requests in typed columns (core/bench/record.ts): what goes in comes out, across
// the arrays' growth, and the summary built from them is the one built from the outcomes.
import { describe, expect, it } from 'vitest'
import type { RequestOutcome } from '../core/bench/client.ts'
import { healthWarning, watchGenerator } from '../core/bench/health.ts'
import { TrialRecord } from '../core/bench/record.ts'
import { summarizeTrial } from '../core/bench/summary.ts'
import { Rng } from '../core/rng.ts'

function outcomes(seed: number, n: number): RequestOutcome[] {
  const rng = new Rng(seed)
  return Array.from({ length: n }, (_, i) => {
    const ok = rng.next() < 0.9
    const itlMs = ok ? Array.from({ length: rng.int(40) }, () => rng.next() * 20) : []
    return {
      sentAt: rng.next() * 1e4,
      endedAt: 1e4 + rng.next() * 1e4,
      dispatchDelayMs: rng.next() < 0.5 ? null : rng.next() * 3,
      ok,
      ttftMs: ok ? rng.next() * 100 : -1,
      e2elMs: ok ? 100 + rng.next() * 900 : -1,
      itlMs,
      inputTokens: rng.int(1000),
      outputTokens: itlMs.length + 1,
      tokensFromUsage: rng.next() < 0.5,
      retried: rng.next() < 0.1,
      ...(ok ? {} : { errorKind: 'timeout' as const, errorMessage: `no reply ${i}` }),
    }
  })
}

describe('TrialRecord', () => {
  it('gives back every request as added, across every growth of its arrays', () => {
    const all = outcomes(1, 1000)
    const rec = TrialRecord.of(all)
    expect(rec.length).toBe(1000)
    all.forEach((o, i) => {
      expect([rec.sentAt[i], rec.endedAt[i], rec.ttftMs[i], rec.e2elMs[i]]).toEqual([
        o.sentAt,
        o.endedAt,
        o.ttftMs,
        o.e2elMs,
      ])
      expect(rec.dispatchDelay(i)).toBe(o.dispatchDelayMs)
      expect([rec.inputTokens[i], rec.outputTokens[i]]).toEqual([o.inputTokens, o.outputTokens])
      expect([rec.ok(i), rec.retried(i), rec.tokensFromUsage(i)]).toEqual([
        o.ok,
        !!o.retried,
        o.tokensFromUsage,
      ])
      expect(Array.from(rec.gaps(i))).toEqual(o.itlMs)
      expect(rec.failures.get(i)).toEqual(o.ok ? undefined : { kind: 'timeout', message: o.errorMessage })
    })
  })

  it('leaves out cancelled requests, and the summary of its columns is that of the outcomes', () => {
    const all = outcomes(2, 300)
    all[7]!.cancelled = true
    const rec = TrialRecord.of(all)
    expect(rec.length).toBe(299)
    const ctx = { slo: { ttft_ms: 50 }, gpus: 1, gpuHourlyCostUsd: null }
    expect(summarizeTrial(0, new Date(0), rec, ctx)).toEqual(summarizeTrial(0, new Date(0), all, ctx))
  })

  it('counts requests in flight with one ending before one starting at the same instant', () => {
    const at = (sentAt: number, endedAt: number): RequestOutcome => ({
      ...outcomes(3, 1)[0]!,
      sentAt,
      endedAt,
    })
    const t = summarizeTrial(0, new Date(0), [at(0, 10), at(10, 20), at(5, 15)], {
      slo: null,
      gpus: null,
      gpuHourlyCostUsd: null,
    })
    expect(t.summary.max_concurrent_requests).toBe(2)
  })
})

describe('how busy the generator was', () => {
  it('sees a loop held up by synchronous work, and warns', async () => {
    const stop = watchGenerator()
    await new Promise((r) => setTimeout(r, 20))
    const until = performance.now() + 150
    while (performance.now() < until) {}
    await new Promise((r) => setTimeout(r, 5))
    const h = stop()
    expect(h.busy).toBeGreaterThan(0.6)
    expect(h.cpu).toBeGreaterThan(0.5)
    expect(h.lagP99Ms).toBeGreaterThan(50)
    expect(healthWarning(h, 0.2)).toMatch(/the load generator was busy \d+% of the time/)
  })

  it('an idle loop is no bottleneck', async () => {
    const stop = watchGenerator()
    await new Promise((r) => setTimeout(r, 200))
    const h = stop()
    expect(h.busy).toBeLessThan(0.5)
    expect(healthWarning({ ...h, lagP99Ms: 0 }, 10)).toBeNull()
    // A lag alone counts on a trial long enough that one start-up pause is not its p99.
    expect(healthWarning({ ...h, lagP99Ms: 20 }, 0.5)).toBeNull()
    expect(healthWarning({ ...h, lagP99Ms: 20 }, 5)).toMatch(/event-loop delay p99 20.0 ms/)
  })
})
