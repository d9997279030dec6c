// Failures the benchmark must count by kind and survive: the report is still written.
import { describe, expect, it } from 'vitest'
import { Rng } from '../core/rng.ts'
import { benchReport, withSim } from './helpers.ts'

describe('partial failures are counted by kind', () => {
  it('--fail-rate: HTTP 500s, exactly the seeded ones', async () => {
    const n = 60
    await withSim(['--ttft-ms', '2', '--itl-ms', '1', '--fail-rate', '0.3', '--seed', '11'], async (s) => {
      const { report } = await benchReport(s.url, [
        '--concurrency',
        '4',
        '--requests',
        String(n),
        '--output-tokens',
        '4',
        // No warm-up, so the engine's k-th request is the trial's k-th.
        '--warmup',
        '0',
      ])
      const t = report.scenarios[0]!.trials[0]!
      // engine-sim decides request k's fate with Rng(seed, k); the k-th request it accepts.
      let expected = 0
      for (let k = 0; k < n; k++) if (new Rng(11, k).next() < 0.3) expected++
      expect(expected).toBeGreaterThan(0)
      expect(t.errors).toEqual({ http_500: expected })
      expect(t.summary.failed).toBe(expected)
      expect(t.summary.completed).toBe(n - expected)
      expect(t.samples.ttft_ms.length).toBe(n - expected)
      expect(t.error_examples[0]!.message).toContain('simulated engine failure')
      expect(t.warnings.join()).toContain(`${expected} of ${n} requests failed`)
    })
  })

  it('--disconnect-rate: streams cut mid-way are disconnects, not completions', async () => {
    await withSim(
      ['--ttft-ms', '2', '--itl-ms', '1', '--disconnect-rate', '0.25', '--seed', '5'],
      async (s) => {
        const { report } = await benchReport(s.url, [
          ...['--concurrency', '4', '--requests', '40', '--output-tokens', '16', '--ignore-eos'],
        ])
        const t = report.scenarios[0]!.trials[0]!
        expect(Object.keys(t.errors)).toEqual(['disconnect'])
        expect(t.errors.disconnect).toBeGreaterThan(0)
        expect(t.summary.completed + t.summary.failed).toBe(40)
        // Completed ones are whole: every one of them has all 16 tokens.
        expect(new Set(t.samples.output_tokens)).toEqual(new Set([16]))
      },
    )
  })

  it('--timeout: a stalled request times out, the others complete', async () => {
    await withSim(
      ['--ttft-ms', '2', '--itl-ms', '1', '--stall-ms', '4000', '--stall-rate', '0.5', '--seed', '3'],
      async (s) => {
        const { report } = await benchReport(s.url, [
          ...[
            '--concurrency',
            '8',
            '--requests',
            '16',
            '--output-tokens',
            '8',
            '--ignore-eos',
            '--timeout',
            '0.5',
          ],
        ])
        const t = report.scenarios[0]!.trials[0]!
        expect(Object.keys(t.errors)).toEqual(['timeout'])
        expect(t.errors.timeout).toBeGreaterThan(0)
        expect(t.summary.completed).toBeGreaterThan(0)
        expect(t.summary.completed + t.summary.failed).toBe(16)
        expect(Math.max(...t.samples.e2el_ms)).toBeLessThan(500)
      },
    )
  })

  it('goodput counts only requests within every SLO', async () => {
    await withSim(
      ['--ttft-ms', '5', '--itl-ms', '2', '--jitter', '0', '--stall-ms', '300', '--stall-rate', '0.5'],
      async (s) => {
        const { report } = await benchReport(s.url, [
          ...[
            '--concurrency',
            '4',
            '--requests',
            '20',
            '--output-tokens',
            '6',
            '--ignore-eos',
            '--slo',
            'e2el:200',
          ],
        ])
        const t = report.scenarios[0]!.trials[0]!
        const good = t.samples.e2el_ms.filter((x) => x <= 200).length
        expect(good).toBeGreaterThan(0)
        expect(good).toBeLessThan(20)
        // duration_s is rounded to the millisecond in the report.
        expect((t.summary.request_goodput! * t.summary.duration_s) / good).toBeCloseTo(1, 3)
      },
    )
  })

  it('reports no goodput when most requests failed', async () => {
    await withSim(['--ttft-ms', '2', '--itl-ms', '1', '--fail-rate', '0.6', '--seed', '4'], async (s) => {
      const { report } = await benchReport(s.url, [
        '--requests',
        '30',
        '--output-tokens',
        '3',
        '--slo',
        'ttft:1000',
      ])
      const t = report.scenarios[0]!.trials[0]!
      expect(t.summary.failed).toBeGreaterThan(t.summary.completed)
      expect(t.summary.completed).toBeGreaterThan(0)
      expect(t.summary.request_goodput).toBeNull()
      expect(t.warnings.join()).toContain('no goodput')
    })
  })
})
