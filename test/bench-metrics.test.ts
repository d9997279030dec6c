// bench against engine-sim, both as processes on loopback: the measured metrics must match
// the timings engine-sim was told to produce. Lower bounds are strict (nothing can be faster
// than the simulated schedule); upper bounds leave room for a noisy 2-core machine.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SimProcess } from '../cli/spawn-sim.ts'
import type { Report } from '../core/report.ts'
import { benchReport, median, sim, withSim } from './helpers.ts'

const TTFT = 80
const ITL = 15
const OUT = 20

describe('metric definitions against known timings', () => {
  let s: SimProcess
  let report: Report
  beforeAll(async () => {
    s = await sim(['--ttft-ms', String(TTFT), '--itl-ms', String(ITL), '--jitter', '0'])
    ;({ report } = await benchReport(s.url, [
      ...['--concurrency', '4', '--requests', '24', '--ignore-eos'],
      ...['--input-tokens', '100', '--output-tokens', String(OUT), '--name', 'defs'],
    ]))
  })
  afterAll(() => s?.stop())

  it('TTFT is the first token time', () => {
    const t = report.scenarios[0]!.trials[0]!
    expect(t.samples.ttft_ms.length).toBe(24)
    expect(Math.min(...t.samples.ttft_ms)).toBeGreaterThanOrEqual(TTFT)
    expect(median(t.samples.ttft_ms)).toBeLessThan(TTFT + 10)
  })

  it('TPOT = (E2EL − TTFT)/(output − 1) and equals the simulated ITL', () => {
    const s = report.scenarios[0]!.trials[0]!.samples
    for (let i = 0; i < s.ttft_ms.length; i++) {
      expect(s.output_tokens[i]).toBe(OUT)
      expect(s.tpot_ms[i]).toBeCloseTo((s.e2el_ms[i]! - s.ttft_ms[i]!) / (OUT - 1), 2)
    }
    const tpot = median(s.tpot_ms as number[])
    expect(tpot).toBeGreaterThanOrEqual(ITL - 0.5)
    expect(tpot).toBeLessThan(ITL * 1.1)
  })

  it('ITL has one gap per token after the first, summing to E2EL − TTFT', () => {
    const s = report.scenarios[0]!.trials[0]!.samples
    for (let i = 0; i < s.ttft_ms.length; i++) {
      expect(s.itl_ms[i]!.length).toBe(OUT - 1)
      const sum = s.itl_ms[i]!.reduce((a, b) => a + b, 0)
      expect(sum).toBeCloseTo(s.e2el_ms[i]! - s.ttft_ms[i]!, 1)
    }
  })

  it('summary keys follow vLLM and agree with the samples', () => {
    const t = report.scenarios[0]!.trials[0]!
    const m = t.summary
    expect(m.completed).toBe(24)
    expect(m.failed).toBe(0)
    expect(m.total_output_tokens).toBe(24 * OUT)
    expect(m.output_throughput).toBeCloseTo(m.total_output_tokens / m.duration_s, 0)
    expect(m.request_throughput).toBeCloseTo(24 / m.duration_s, 1)
    expect(m.median_ttft_ms).toBeCloseTo(median(t.samples.ttft_ms), 2)
    expect(m.max_concurrent_requests).toBe(4)
    expect(t.token_count_source).toBe('usage')
    // Prompt tokens come from the server's usage: 100 synthetic words are 100 simulated tokens.
    expect(new Set(t.samples.input_tokens)).toEqual(new Set([100]))
    // Closed loop: no arrival schedule, so no dispatch delay.
    expect(t.samples.dispatch_delay_ms).toBeNull()
    expect(m.mean_dispatch_delay_ms).toBeNull()
    // ~4 requests of ~(80 + 19 × 15) ms each in flight: duration covers 6 rounds.
    expect(m.duration_s).toBeGreaterThanOrEqual((6 * (TTFT + (OUT - 1) * ITL)) / 1000)
  })

  it('the report names the benchmark, model and engine', () => {
    expect(report.benchmark).toBe('defs')
    expect(report.environment.model).toBe('sim-llama-3-8b')
    expect(report.environment.engine).toEqual({ name: 'vllm', version: 'engine-sim-0.1.0' })
    expect(report.environment.endpoint.url).toBe(s.url)
  })
})

describe('engine behaviours the benchmark must see', () => {
  it('chat through the KServe /openai/v1 prefix measures the same way', async () => {
    await withSim(['--ttft-ms', '40', '--itl-ms', '10', '--jitter', '0'], async (s) => {
      const url = s.url.replace(/\/v1$/, '/openai/v1')
      const { report } = await benchReport(url, [
        ...['--endpoint', 'chat', '--requests', '6', '--output-tokens', '8', '--ignore-eos'],
      ])
      const t = report.scenarios[0]!.trials[0]!
      expect(t.samples.output_tokens).toEqual([8, 8, 8, 8, 8, 8])
      expect(Math.min(...t.samples.ttft_ms)).toBeGreaterThanOrEqual(40)
      // vLLM's chat stream opens with a role-only chunk sent with the first token; like vLLM's
      // benchmark, every chunk with choices counts: 1 + 8 chunks, 8 gaps.
      expect(t.samples.itl_ms.every((gaps) => gaps.length === 8)).toBe(true)
      expect(report.environment.endpoint).toEqual({ url, api: 'chat' })
    })
  })

  it('requests beyond --max-num-seqs queue, and TTFT shows it', async () => {
    await withSim(
      ['--ttft-ms', '30', '--itl-ms', '10', '--jitter', '0', '--max-num-seqs', '2'],
      async (s) => {
        const { report } = await benchReport(s.url, [
          ...['--concurrency', '6', '--requests', '12', '--output-tokens', '10', '--ignore-eos'],
        ])
        const ttft = [...report.scenarios[0]!.trials[0]!.samples.ttft_ms].sort((a, b) => a - b)
        // 2 run at once; each takes ~30 + 9 × 10 = 120 ms, so the 5th and 6th wait two turns.
        expect(ttft[0]).toBeLessThan(30 + 60)
        expect(ttft[ttft.length - 1]).toBeGreaterThanOrEqual(30 + 2 * 120)
      },
    )
  })

  it('prefill time grows TTFT with the prompt length', async () => {
    await withSim(
      ['--ttft-ms', '20', '--itl-ms', '5', '--jitter', '0', '--prefill-ms-per-1k-tokens', '100'],
      async (s) => {
        const { report } = await benchReport(s.url, [
          ...['--requests', '4', '--input-tokens', '2000', '--output-tokens', '4', '--ignore-eos'],
        ])
        const ttft = report.scenarios[0]!.trials[0]!.samples.ttft_ms
        expect(Math.min(...ttft)).toBeGreaterThanOrEqual(20 + 200)
        expect(median(ttft)).toBeLessThan(20 + 200 + 20)
      },
    )
  })

  it('an answer that stops on EOS ends with an empty chunk that still counts: TPOT is not biased', async () => {
    await withSim(
      ['--ttft-ms', '20', '--itl-ms', '10', '--jitter', '0', '--mean-output-tokens', '8'],
      async (s) => {
        const { report } = await benchReport(s.url, [
          '--concurrency',
          '4',
          '--requests',
          '24',
          '--output-tokens',
          '64',
        ])
        const t = report.scenarios[0]!.trials[0]!.samples
        const idx = t.output_tokens.flatMap((n, i) => (n > 2 && n < 64 ? [i] : []))
        expect(idx.length).toBeGreaterThan(5)
        for (const i of idx) expect(t.itl_ms[i]!.length).toBe(t.output_tokens[i]! - 1)
        // Without the EOS chunk, E2EL would end one 10 ms gap early and TPOT read about
        // (n − 2)/(n − 1) × 10 ≈ 8.6 ms on these short answers. (Medians: single requests can be
        // read late by a loaded machine.)
        const tpot = median(idx.map((i) => t.tpot_ms[i]!))
        expect(tpot).toBeGreaterThanOrEqual(9.5)
        expect(tpot).toBeLessThan(11)
      },
    )
  })

  it('without --ignore-eos answers stop early, at seeded lengths', async () => {
    await withSim(
      ['--itl-ms', '1', '--ttft-ms', '1', '--mean-output-tokens', '10', '--seed', '7'],
      async (s) => {
        const run = () => benchReport(s.url, ['--requests', '30', '--output-tokens', '50'])
        const a = (await run()).report.scenarios[0]!.trials[0]!.samples.output_tokens
        expect(Math.max(...a)).toBeLessThanOrEqual(50)
        expect(new Set(a).size).toBeGreaterThan(5)
        expect(median(a)).toBeLessThan(20)
      },
    )
  })
})
