// The metrics page reader against Python's official prometheus_client parser (the reference
// answers: test/fixtures/exposition.py, command at its top), then what it must refuse, and the
// vLLM figures and histogram quantiles read from such pages.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ExpositionError, familyOf, parseExposition } from '../core/telemetry/exposition.ts'
import { histogramDelta, histogramQuantile } from '../core/telemetry/histogram.ts'
import { matchesAll, parseMatchers } from '../core/telemetry/matchers.ts'
import { readEngine } from '../core/telemetry/vllm.ts'

interface Case {
  case: string
  text: string
  samples: {
    name: string
    labels: Record<string, string>
    value: number | string
    timestamp_ms: number | null
  }[]
}
const cases = JSON.parse(
  readFileSync(new URL('./fixtures/exposition.json', import.meta.url), 'utf8'),
) as Case[]
const num = (v: number | string) => (typeof v === 'number' ? v : Number(v.replace('Inf', 'Infinity')))

describe('parseExposition, against prometheus_client', () => {
  for (const c of cases) {
    it(c.case, () => {
      const got = parseExposition(c.text).samples
      expect(
        got.map((s) => ({ name: s.name, labels: { ...s.labels }, timestamp_ms: s.timestampMs })),
      ).toEqual(c.samples.map((s) => ({ name: s.name, labels: s.labels, timestamp_ms: s.timestamp_ms })))
      got.forEach((s, i) => {
        expect(s.value).toBe(num(c.samples[i]!.value))
      })
    })
  }

  it('keeps a label named __proto__ as a label', () => {
    const [s] = parseExposition('a{__proto__="p"} 1').samples
    expect(Object.keys(s!.labels)).toEqual(['__proto__'])
    expect(Object.getOwnPropertyDescriptor(s!.labels, '__proto__')?.value).toBe('p')
  })

  it('reads TYPE and HELP, and each sample family', () => {
    const page = parseExposition(cases.find((c) => c.case === 'vllm')!.text)
    expect(page.types.get('vllm:time_to_first_token_seconds')).toBe('histogram')
    expect(page.help.get('vllm:num_requests_waiting')).toBe('Number of requests waiting to be processed.')
    expect(familyOf('vllm:time_to_first_token_seconds_bucket', page.types)).toBe(
      'vllm:time_to_first_token_seconds',
    )
    expect(familyOf('vllm:num_requests_running', page.types)).toBe('vllm:num_requests_running')
  })

  it.each([
    ['a{l="v"', 'expected , or }'],
    ['a{l="v} 1', 'unterminated'],
    ['a{l=v} 1', 'quoted value'],
    ['a{l="v",l="w"} 1', 'given twice'],
    ['a one', 'bad value'],
    ['a 1 2 3', 'unexpected'],
    ['a 1 1.5', 'bad timestamp'],
    ['a{l="\\q"} 1', 'bad escape'],
    ['9a 1', 'metric name'],
    ['a', 'no value'],
    ['# TYPE a widget', 'unknown metric type'],
  ])('refuses %j, naming the line', (line, why) => {
    const text = `ok 1\n${line}\n`
    let err: unknown
    try {
      parseExposition(text)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ExpositionError)
    expect((err as ExpositionError).line).toBe(2)
    expect((err as Error).message).toContain(why)
  })
})

describe('readEngine', () => {
  const vllm = cases.find((c) => c.case === 'vllm')!.text
  it('adds up the engines (data-parallel ranks) and averages their KV usage', () => {
    const r = readEngine(parseExposition(vllm), 'meta-llama/Llama-3.1-8B-Instruct')
    expect(r.engines).toBe(2)
    expect(r.gauges).toEqual({ running: 21, waiting: 3, kvUsage: (0.4375 + 0.25) / 2 })
    expect(r.counters.prefixQueries).toBe(2_000_000)
    expect(r.counters.prefixHits).toBe(800_000)
    expect(r.counters.preemptions).toBe(7)
    expect(r.counters.specDrafts).toBeNull()
    expect(r.histograms.ttft).toEqual({
      sum: 3,
      count: 50,
      buckets: [
        { le: 0.001, count: 1 },
        { le: 0.04, count: 15 },
        { le: 0.08, count: 38 },
        { le: Number.POSITIVE_INFINITY, count: 50 },
      ],
    })
    expect(r.legacyNames).toBe(false)
  })

  it('reads the older names when the current ones are missing', () => {
    const old = vllm
      .replaceAll('vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc')
      .replaceAll('vllm:prefix_cache_hits_total', 'vllm:gpu_prefix_cache_hits_total')
    const r = readEngine(parseExposition(old), 'meta-llama/Llama-3.1-8B-Instruct')
    expect(r.gauges.kvUsage).toBeCloseTo(0.34375, 12)
    expect(r.counters.prefixHits).toBe(800_000)
    expect(r.legacyNames).toBe(true)
  })

  it('keeps to the served model when the page labels several', () => {
    const two = `${vllm}\nvllm:num_requests_running{engine="0",model_name="other"} 100\n`
    expect(readEngine(parseExposition(two), 'meta-llama/Llama-3.1-8B-Instruct').gauges.running).toBe(21)
    expect(readEngine(parseExposition(two), 'other').gauges.running).toBe(100)
  })
})

describe('histograms', () => {
  // R: the same linear interpolation as PromQL's histogram_quantile, by hand for these buckets.
  const h = {
    sum: 3,
    count: 50,
    buckets: [
      { le: 0.04, count: 10 },
      { le: 0.08, count: 40 },
      { le: Infinity, count: 50 },
    ],
  }
  it('interpolates within the bucket, and answers the highest finite bound past it', () => {
    expect(histogramQuantile(h, 0.1)).toBeCloseTo(0.02, 12) // rank 5 of the first 10 in [0, 0.04]
    expect(histogramQuantile(h, 0.5)).toBeCloseTo(0.04 + 0.04 * (15 / 30), 12)
    expect(histogramQuantile(h, 0.99)).toBe(0.08)
    expect(histogramQuantile({ sum: 0, count: 0, buckets: [] }, 0.5)).toBeNull()
  })
  it('takes deltas, and refuses a restart', () => {
    const before = {
      sum: 1,
      count: 20,
      buckets: [
        { le: 0.04, count: 5 },
        { le: 0.08, count: 15 },
        { le: Infinity, count: 20 },
      ],
    }
    expect(histogramDelta(before, h)).toEqual({
      sum: 2,
      count: 30,
      buckets: [
        { le: 0.04, count: 5 },
        { le: 0.08, count: 25 },
        { le: Infinity, count: 30 },
      ],
    })
    expect(histogramDelta(h, before)).toBeNull()
  })
})

describe('label matchers', () => {
  it('matches as PromQL does: anchored regexes, a missing label reads as ""', () => {
    const m = parseMatchers('{pod=~"llama-.*", namespace="ml", UUID!="GPU-2", zone!~".+"}', '--gpu-selector')
    expect(matchesAll({ pod: 'llama-0', namespace: 'ml', UUID: 'GPU-1' }, m)).toBe(true)
    expect(matchesAll({ pod: 'xllama-0', namespace: 'ml', UUID: 'GPU-1' }, m)).toBe(false)
    expect(matchesAll({ pod: 'llama-0', namespace: 'ml', UUID: 'GPU-2' }, m)).toBe(false)
    expect(matchesAll({ pod: 'llama-0', namespace: 'ml', zone: 'a' }, m)).toBe(false)
  })
  it.each([
    ['pod', 'expected =, !=, =~ or !~'],
    ['pod="x" ns="y"', 'expected , between'],
    ['pod=x', 'quoted value'],
    ['pod=~"("', 'bad regular expression'],
    ['pod="x', 'unterminated'],
  ])('refuses %j naming the flag', (text, why) => {
    expect(() => parseMatchers(text, '--gpu-selector')).toThrow(/^--gpu-selector: .*/)
    expect(() => parseMatchers(text, '--gpu-selector')).toThrow(why)
  })
})
