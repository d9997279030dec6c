// `infergate import`: another tool's result file becomes a valid report with the right values in
// the right units, imports compare, aggregates-only imports compare at trial level and say so,
// and bad input is refused naming the field. Fixtures: test/fixtures/import/ (make-fixtures.ts
// writes them, shaped from the upstream code cited in core/import/*.ts: vLLM main at 009e6d4a,
// guidellm v0.7.3, AIPerf main at db4f6397, inference-perf v0.6.1).
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { compareRuns } from '../core/detect/compare.ts'
import { parseComparison } from '../core/detect/comparison.ts'
import { ImportError, type ImportOptions, importFile } from '../core/import/index.ts'
import { parseReport, REPORT_SCHEMA, type Report } from '../core/report.ts'
import { ValidationError } from '../core/validation.ts'
import { createProject } from '../service/projects/repository.ts'
import { insertRun, loadComparable, loadRun } from '../service/runs/repository.ts'
import { migratedDatabase } from './db-helpers.ts'
import { cli, tempDir } from './helpers.ts'
import { makeReport } from './report-factory.ts'

const FIXTURES = join(import.meta.dirname, 'fixtures/import')
const fixture = (name: string) => join(FIXTURES, name)
const json = (name: string) => JSON.parse(readFileSync(fixture(name), 'utf8'))

const options: ImportOptions = {
  benchmark: 'imported',
  gpus: 1,
  gpuModel: 'NVIDIA-L4',
  gpuHourlyCostUsd: null,
  git: {
    repository: 'acme/llm',
    sha: 'abc1234',
    ref: null,
    branch: 'main',
    base_branch: null,
    pr_number: null,
    event_name: null,
  },
  ci: null,
  now: new Date('2026-11-05T10:00:00Z'),
}

/** A fixture changed in a temporary copy. */
function changed(name: string, change: (j: Record<string, unknown>) => void): string {
  const j = json(name)
  change(j)
  const p = join(tempDir(), name.split('/').pop()!)
  writeFileSync(p, JSON.stringify(j))
  return p
}

const only = (r: Report) => r.scenarios[0]!.trials[0]!

describe('vLLM (vllm bench serve --save-result)', () => {
  it('--save-detailed: every request a sample, seconds made milliseconds', () => {
    const r = importFile('vllm', fixture('vllm-detailed.json'), options)
    expect(parseReport(JSON.parse(JSON.stringify(r)))).toEqual(r)
    expect(r.schema).toBe(REPORT_SCHEMA)
    expect(r.source).toEqual({ tool: 'vllm', version: null, samples: 'per_request' })
    expect(r.environment.model).toBe('meta-llama/Llama-3.1-8B-Instruct')
    expect(r.environment.endpoint.api).toBe('chat') // backend openai-chat
    // request_rate inf under --max-concurrency 8: the closed loop bench --concurrency 8 runs.
    expect(r.scenarios.map((s) => [s.name, s.load])).toEqual([
      ['concurrency-8', { mode: 'closed', concurrency: 8 }],
    ])
    const t = only(r)
    // By hand, from the fixture: ttfts[0] = 0.039745 s, itls[0][0..1] = 0.010193, 0.011153 s,
    // latencies[0] = 0.370714 s, output_lens[0] = 32, input_lens[0] = 515.
    const raw = json('vllm-detailed.json')
    expect(raw.ttfts[0]).toBe(0.039745)
    expect(t.samples.ttft_ms[0]).toBe(39.745)
    expect(t.samples.itl_ms[0]!.slice(0, 2)).toEqual([10.193, 11.153])
    expect(t.samples.itl_ms[0]).toHaveLength(31)
    expect(t.samples.e2el_ms[0]).toBe(370.714)
    expect(t.samples.tpot_ms[0]).toBeCloseTo((370.714 - 39.745) / 31, 3)
    expect([t.samples.input_tokens[0], t.samples.output_tokens[0]]).toEqual([515, 32])
    // start_times are perf_counter seconds: 1734.25 first, 1734.620714 the 9th request.
    expect(raw.start_times[8]).toBe(1734.620714)
    expect(t.samples.start_ms[8]).toBe(370.714)
    // 200 requests, errors[66] and errors[133] "Internal Server Error": aiohttp's reason phrase.
    expect(t.summary.completed).toBe(198)
    expect(t.samples.ttft_ms).toHaveLength(198)
    expect(t.errors).toEqual({ http_500: 2 })
    expect(t.error_examples).toEqual([{ kind: 'http_500', message: 'Internal Server Error' }])
    // Computed from the samples, they agree with vLLM's own statistics (numpy's conventions).
    expect(t.summary.median_ttft_ms).toBeCloseTo(raw.median_ttft_ms, 2)
    expect(t.summary.p99_tpot_ms).toBeCloseTo(raw.p99_tpot_ms, 2)
    expect(t.summary.duration_s).toBe(raw.duration)
    expect(t.summary.total_output_tokens).toBe(raw.total_output_tokens)
    expect(t.summary.output_throughput).toBeCloseTo(raw.output_throughput, 6)
    expect(t.summary.max_output_tokens_per_s).toBe(606)
    expect(t.summary.output_throughput_per_gpu).toBeCloseTo(raw.output_throughput, 6)
    expect(t.started_at).toBe('2026-11-01T12:00:00.000Z') // date 20261101-120000, read as UTC
  })

  it('a v0.11-era detailed file (no failed, start_times, latencies): E2EL from the gaps, send times unrecorded', () => {
    const p = changed('vllm-detailed.json', (j) => {
      for (const k of ['failed', 'start_times', 'latencies', 'queue_times', 'max_concurrent_requests'])
        delete j[k]
    })
    const r = importFile('vllm', p, options)
    expect(r.source).toEqual({
      tool: 'vllm',
      version: null,
      samples: 'per_request',
      unrecorded: ['start_ms'],
    })
    const t = only(r)
    const raw = json('vllm-detailed.json')
    const gaps = (raw.itls[0] as number[]).reduce((a, b) => a + b, 0)
    expect(t.samples.e2el_ms[0]).toBeCloseTo((raw.ttfts[0] + gaps) * 1000, 3)
    expect(t.samples.start_ms.every((x) => x === 0)).toBe(true)
    expect(t.summary.failed).toBe(2) // num_prompts − completed
    expect(t.summary.max_concurrent_requests).toBeNull() // no send times to count them from
    expect(t.warnings.join()).toMatch(/E2EL is TTFT plus the inter-token gaps/)
  })

  it('without --save-detailed: aggregates only, vLLM’s statistics, the report says so', () => {
    const r = importFile('vllm', fixture('vllm-aggregate.json'), options)
    expect(r.source).toEqual({ tool: 'vllm', version: null, samples: 'aggregate' })
    const t = only(r)
    expect(t.samples.ttft_ms).toEqual([])
    expect(t.summary.completed).toBe(198)
    // By hand from the fixture: median_ttft_ms 61.1905, p99_ttft_ms 81.23013 (ms already).
    expect(t.summary.median_ttft_ms).toBe(61.191)
    expect(t.summary.p99_ttft_ms).toBe(81.23)
    expect(t.summary.p90_ttft_ms).toBeNull() // --metric-percentiles 99 (vLLM's default)
    expect(t.summary.median_e2el_ms).toBeNull() // --percentile-metrics ttft,tpot,itl (default)
    expect(t.errors).toEqual({ unknown: 2 })
    expect(t.warnings.join()).toMatch(/without --save-detailed/)
  })
})

describe('guidellm (v0.7.3 benchmarks.json)', () => {
  it('a benchmark per strategy, requests as samples, request_latency seconds made ms', () => {
    const r = importFile('guidellm', fixture('guidellm.json'), options)
    expect(r.source).toEqual({
      tool: 'guidellm',
      version: '0.7.3',
      samples: 'per_request',
      unrecorded: ['itl_ms', 'dispatch_delay_ms'],
    })
    expect(r.environment.model).toBe('Qwen/Qwen3-0.6B')
    expect(r.environment.endpoint).toEqual({ url: 'http://localhost:8000', api: 'chat' })
    expect(r.environment.client.platform).toBe('Linux-6.8.0-x86_64-with-glibc2.39')
    expect(r.scenarios.map((s) => s.name)).toEqual(['concurrency-4', 'rate-5-constant'])
    const t = only(r)
    // By hand: requests.successful[0]: time_to_first_token_ms 46.893, request_latency 0.203196 s,
    // prompt_tokens 255, output_tokens 16.
    expect(t.samples.ttft_ms[0]).toBe(46.893)
    expect(t.samples.e2el_ms[0]).toBe(203.196)
    expect([t.samples.input_tokens[0], t.samples.output_tokens[0]]).toEqual([255, 16])
    expect(t.samples.tpot_ms[0]).toBeCloseTo((203.196 - 46.893) / 15, 3)
    expect(t.samples.itl_ms.every((g) => g.length === 0)).toBe(true)
    expect(t.summary.completed).toBe(40)
    // httpx's "Server error '500 Internal Server Error' for url …"
    expect(t.errors).toEqual({ http_500: 1 })
    expect(t.summary.median_ttft_ms).toBeCloseTo(
      json('guidellm.json').benchmarks[0].metrics.time_to_first_token_ms.successful.median,
      3,
    )
  })

  it('with requests sampled (sample_size), aggregates only: guidellm’s distributions, a warning says why', () => {
    const p = changed('guidellm.json', (j) => {
      const b = (j.benchmarks as { requests: { successful: unknown[] } }[])[0]!
      b.requests.successful = b.requests.successful.slice(0, 10)
    })
    const r = importFile('guidellm', p, options)
    expect(r.source?.samples).toBe('aggregate')
    const t = only(r)
    const m = json('guidellm.json').benchmarks[0].metrics
    expect(t.samples.ttft_ms).toEqual([])
    expect(t.summary.completed).toBe(40)
    expect(t.summary.p99_ttft_ms).toBeCloseTo(m.time_to_first_token_ms.successful.percentiles.p99, 3)
    // inter_token_latency_ms is vLLM's TPOT; request_latency seconds → ms.
    expect(t.summary.median_tpot_ms).toBeCloseTo(m.inter_token_latency_ms.successful.median, 3)
    expect(t.summary.median_e2el_ms).toBeCloseTo(m.request_latency.successful.median * 1000, 3)
    expect(t.warnings.join()).toMatch(/guidellm kept 10 of 40 successful requests/)
  })
})

describe('AIPerf (profile_export_aiperf.json, profile_export.jsonl)', () => {
  it('the artifact directory: profiling records as samples, warm-up left out, units by each record’s unit', () => {
    const r = importFile('aiperf', fixture('aiperf'), options)
    expect(r.source).toEqual({ tool: 'aiperf', version: null, samples: 'per_request' })
    expect(r.scenarios[0]!.name).toBe('concurrency-4')
    expect(r.workload).toMatchObject({ seed: 7, seed_pinned: true, warmup_requests: 2 })
    const t = only(r)
    expect(t.summary.completed).toBe(27) // 30 records: 2 warm-up, 1 error
    expect(t.errors).toEqual({ http_500: 1 })
    // The third line (the first profiling record): TTFT 34.903 ms, latency 124.901 ms,
    // inter_chunk_latency [9.186, …] ms, 130 input tokens; request_start_ns is epoch ns.
    const first = readFileSync(fixture('aiperf/profile_export.jsonl'), 'utf8').split('\n')[2]!
    const rec = JSON.parse(first)
    expect(rec.metadata.benchmark_phase).toBe('profiling')
    expect(rec.metrics.time_to_first_token.value).toBeCloseTo(34.903, 9)
    const i = t.samples.ttft_ms.indexOf(34.903)
    expect(i).toBeGreaterThanOrEqual(0)
    expect(t.samples.e2el_ms[i]).toBe(124.901)
    expect(t.samples.itl_ms[i]![0]).toBe(9.186)
    expect(t.samples.input_tokens[i]).toBe(130)
    const starts = readFileSync(fixture('aiperf/profile_export.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((l) => l.metadata.benchmark_phase === 'profiling' && !l.error)
      .map((l) => l.metadata.request_start_ns as number)
    expect(t.samples.start_ms[i]).toBeCloseTo((rec.metadata.request_start_ns - Math.min(...starts)) / 1e6, 3)
  })

  it('the JSON alone: aggregates only, avg the mean, p50 the median, converted by unit (sec → ms)', () => {
    const dir = join(tempDir(), 'run')
    mkdirSync(dir)
    const j = json('aiperf/profile_export_aiperf.json')
    j.request_latency = { ...j.request_latency, unit: 'sec', p50: j.request_latency.p50 / 1000 }
    writeFileSync(join(dir, 'profile_export_aiperf.json'), JSON.stringify(j))
    const r = importFile('aiperf', join(dir, 'profile_export_aiperf.json'), options)
    expect(r.source?.samples).toBe('aggregate')
    const t = only(r)
    const raw = json('aiperf/profile_export_aiperf.json')
    expect(t.summary.median_ttft_ms).toBeCloseTo(raw.time_to_first_token.p50, 3)
    expect(t.summary.mean_tpot_ms).toBeCloseTo(raw.inter_token_latency.avg, 3)
    expect(t.summary.median_itl_ms).toBeCloseTo(raw.inter_chunk_latency.p50, 3)
    expect(t.summary.median_e2el_ms).toBeCloseTo(raw.request_latency.p50, 3)
    expect(t.summary.duration_s).toBe(raw.benchmark_duration.avg)
  })
})

describe('inference-perf (v0.6.1 report directory)', () => {
  it('one stage with the per-request file: samples, seconds made ms', () => {
    const r = importFile('inference-perf', fixture('inference-perf'), options)
    expect(r.source).toEqual({
      tool: 'inference-perf',
      version: null,
      samples: 'per_request',
      unrecorded: ['dispatch_delay_ms'],
    })
    expect(r.environment.model).toBe('meta-llama/Llama-3.1-8B-Instruct')
    expect(r.environment.endpoint.api).toBe('completions')
    expect(r.workload.ignore_eos).toBe(true)
    expect(r.scenarios.map((s) => s.name)).toEqual(['rate-5-constant'])
    const t = only(r)
    // By hand: start_time 8123.5, end_time 8123.738843, first token time 8123.540345 (seconds).
    expect(t.samples.ttft_ms[0]).toBe(40.345)
    expect(t.samples.e2el_ms[0]).toBe(238.843)
    expect(t.samples.itl_ms[0]![0]).toBe(10.368)
    expect(t.samples.input_tokens[0]).toBe(201)
    expect(t.summary.completed).toBe(24)
    expect(t.errors).toEqual({ http_500: 1 })
  })

  it('several stages: the per-request file has no stage ids, so aggregates only, and it says why', () => {
    const dir = join(tempDir(), 'reports')
    cpSync(fixture('inference-perf'), dir, { recursive: true })
    cpSync(join(dir, 'stage_0_lifecycle_metrics.json'), join(dir, 'stage_1_lifecycle_metrics.json'))
    const r = importFile('inference-perf', dir, options)
    expect(r.source?.samples).toBe('aggregate')
    // Two stages of one load are two trials of one scenario.
    expect(r.scenarios.map((s) => [s.name, s.trials.length])).toEqual([['rate-5-constant', 2]])
    const t = only(r)
    const stage = json('inference-perf/stage_0_lifecycle_metrics.json')
    expect(t.summary.median_ttft_ms).toBeCloseTo(stage.successes.latency.time_to_first_token.median * 1000, 2)
    expect(t.summary.p99_e2el_ms).toBeCloseTo(stage.successes.latency.request_latency.p99 * 1000, 2)
    expect(t.warnings.join()).toMatch(/has no stage ids and this run had 2 stages/)
  })

  it('the summary alone is refused: it has no load', () => {
    expect(() =>
      importFile('inference-perf', fixture('inference-perf/summary_lifecycle_metrics.json'), options),
    ).toThrow(/the summary has no load .* import the report directory or a stage_N_lifecycle_metrics.json/)
  })
})

describe('bad input: named errors', () => {
  const refusal = (f: () => unknown) => {
    try {
      f()
    } catch (e) {
      expect(e).toBeInstanceOf(ImportError)
      return (e as Error).message
    }
    throw new Error('accepted')
  }

  it('a field of the wrong type is named by its path', () => {
    const g = changed('guidellm.json', (j) => {
      ;(j.benchmarks as { metrics: Record<string, unknown> }[])[0]!.metrics.time_to_first_token_ms = 5
    })
    expect(refusal(() => importFile('guidellm', g, options))).toBe(
      `${g}: benchmarks[0].metrics.time_to_first_token_ms: expected an object, got 5`,
    )
    const v = changed('vllm-detailed.json', (j) => {
      ;(j.ttfts as unknown[])[3] = 'x'
    })
    expect(refusal(() => importFile('vllm', v, options))).toBe(
      `${v}: ttfts[3]: expected a number ≥ 0, got "x"`,
    )
    const short = changed('vllm-detailed.json', (j) => {
      ;(j.itls as unknown[]).pop()
    })
    expect(refusal(() => importFile('vllm', short, options))).toBe(
      `${short}: itls: expected 200 entries (one per request sent, like ttfts), got 199`,
    )
  })

  it('another tool’s file names the first field missing', () => {
    expect(refusal(() => importFile('vllm', fixture('guidellm.json'), options))).toMatch(
      /guidellm.json: duration: expected a number > 0, got nothing \(the field is missing\)$/,
    )
    expect(refusal(() => importFile('guidellm', fixture('vllm-detailed.json'), options))).toMatch(
      /vllm-detailed.json: benchmarks: expected an array, got nothing/,
    )
  })

  it('an AIPerf unit that is not a time is refused', () => {
    const dir = join(tempDir(), 'run')
    mkdirSync(dir)
    const j = json('aiperf/profile_export_aiperf.json')
    j.time_to_first_token.unit = 'tokens'
    writeFileSync(join(dir, 'profile_export_aiperf.json'), JSON.stringify(j))
    expect(refusal(() => importFile('aiperf', dir, options))).toMatch(
      /profile_export_aiperf.json: time_to_first_token.unit: expected a time unit \(ns, us, ms, sec\), got "tokens"/,
    )
  })

  it('the CLI: exit 2, one line naming the field, and no output file', async () => {
    const dir = tempDir()
    const out = join(dir, 'r.json')
    const g = changed('guidellm.json', (j) => {
      ;(j.benchmarks as { metrics: Record<string, unknown> }[])[0]!.metrics.time_to_first_token_ms = 'fast'
    })
    const r = await cli(['import', '--format', 'guidellm', g, '--out', out])
    expect(r.code).toBe(2)
    expect(r.stderr.trim()).toBe(
      `infergate import: error: ${g}: benchmarks[0].metrics.time_to_first_token_ms: expected an object, got "fast"`,
    )
    expect(existsSync(out)).toBe(false)
    const notJson = join(dir, 'x.json')
    writeFileSync(notJson, '{"duration": ')
    for (const [args, message] of [
      [['import', '--format', 'vllm', notJson], /x.json: not JSON/],
      [['import', '--format', 'vllm', join(dir, 'missing.json')], /missing.json: cannot read/],
      [
        ['import', '--format', 'lmeval', notJson],
        /--format: expected one of vllm, guidellm, aiperf, inference-perf/,
      ],
      [['import', notJson], /--format is required/],
      [
        ['import', '--format', 'vllm', notJson, '--requests', notJson],
        /--requests: only for aiperf and inference-perf/,
      ],
    ] as const) {
      const res = await cli([...args])
      expect(res.code, args.join(' ')).toBe(2)
      expect(res.stderr).toMatch(message)
      expect(res.stderr.trim().split('\n')).toHaveLength(1)
    }
  })

  it('a report the schema refuses is the importer’s bug, not bad input', () => {
    // A benchmark name the report cannot hold is caught by the schema after the mapping.
    expect(() =>
      importFile('vllm', fixture('vllm-detailed.json'), { ...options, benchmark: 'bad name' }),
    ).toThrow(ValidationError)
    expect(() =>
      importFile('vllm', fixture('vllm-detailed.json'), { ...options, benchmark: 'bad name' }),
    ).toThrow(/a bug in the vllm importer/)
  })
})

describe('imports compare', () => {
  async function imported(dir: string, format: string, file: string, name: string): Promise<string> {
    const out = join(dir, name)
    const r = await cli([
      'import',
      '--format',
      format,
      fixture(file),
      '--out',
      out,
      '--gpu-model',
      'NVIDIA-L4',
    ])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(new RegExp(`^report written to ${out} \\(${format}: `))
    return out
  }

  it('two vLLM --save-detailed imports: TPOT 25% slower is a regression, on the per-request samples', async () => {
    const dir = tempDir()
    const base = await imported(dir, 'vllm', 'vllm-detailed.json', 'base.json')
    const slow = await imported(dir, 'vllm', 'vllm-detailed-slow.json', 'slow.json')
    const args = ['compare', '--baseline', base, '--candidate', slow, '--min-baseline-runs', '1']
    const r = await cli(args)
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/^default: regression \(against 1 baseline runs\)/)
    expect(r.stdout).toMatch(/tpot_ms .* ✖ regression/)
    const c = parseComparison(JSON.parse((await cli([...args, '--json'])).stdout))
    const tpot = c.metrics.find((m) => m.metric === 'tpot_ms')!
    expect(tpot.p_value).not.toBeNull() // Mann-Whitney on the samples
    expect(tpot.candidate.n).toBe(198)
    expect(c.warnings.join()).not.toMatch(/no per-request samples/)
  })

  it('two guidellm imports: TTFT 30% slower is a regression in both scenarios', async () => {
    const dir = tempDir()
    const base = await imported(dir, 'guidellm', 'guidellm.json', 'base.json')
    const slow = await imported(dir, 'guidellm', 'guidellm-slow.json', 'slow.json')
    const r = await cli([
      'compare',
      '--baseline',
      base,
      '--candidate',
      slow,
      '--min-baseline-runs',
      '1',
      '--json',
    ])
    expect(r.code).toBe(1)
    const c = parseComparison(JSON.parse(r.stdout))
    expect(c.status).toBe('regression')
    for (const s of ['concurrency-4', 'rate-5-constant']) {
      const ttft = c.metrics.find((m) => m.scenario === s && m.metric === 'ttft_ms')!
      expect(ttft.verdict, s).toBe('regression')
      expect(ttft.delta_pct!).toBeGreaterThan(20)
      // guidellm keeps no per-token times: no ITL values, no verdict on them.
      expect(c.metrics.find((m) => m.scenario === s && m.metric === 'itl_ms')!.verdict).toBe(
        'insufficient_data',
      )
    }
  })

  it('aggregates-only imports compare at trial level only, and the comparison says so', async () => {
    const dir = tempDir()
    const base = await imported(dir, 'vllm', 'vllm-aggregate.json', 'base.json')
    const slow = await imported(dir, 'vllm', 'vllm-aggregate-slow.json', 'slow.json')
    const r = await cli([
      'compare',
      '--baseline',
      base,
      '--candidate',
      slow,
      '--min-baseline-runs',
      '1',
      '--json',
    ])
    expect(r.code).toBe(1)
    const c = parseComparison(JSON.parse(r.stdout))
    expect(c.warnings).toContain(
      `scenario concurrency-8: no per-request samples in ${slow}, ${base} (aggregates only): latencies compared on trial medians against the run-to-run noise alone, no Mann-Whitney`,
    )
    const tpot = c.metrics.find((m) => m.metric === 'tpot_ms')!
    expect(tpot.verdict).toBe('regression')
    expect([tpot.u, tpot.p_value, tpot.p_adjusted, tpot.hl_shift]).toEqual([null, null, null, null])
    expect(tpot.p_noise!).toBeLessThan(0.01)
    expect([tpot.baseline.n, tpot.candidate.n]).toEqual([1, 1]) // one median a side
    const table = await cli(['compare', '--baseline', base, '--candidate', slow, '--min-baseline-runs', '1'])
    expect(table.stdout).toMatch(/warning: scenario concurrency-8: no per-request samples/)
  })
})

describe('the regression service stores imports', () => {
  it('an import is stored and read back unchanged, its source with it (the detector reads it there)', async () => {
    const { db, close } = await migratedDatabase()
    try {
      const { project } = await createProject(db, 'acme', 'imports')
      for (const [format, file] of [
        ['vllm', 'vllm-detailed.json'],
        ['vllm', 'vllm-aggregate.json'],
        ['guidellm', 'guidellm.json'],
      ] as const) {
        const report = importFile(format, fixture(file), options)
        const { id } = await insertRun(db, project.id, report)
        expect((await loadRun(db, id))?.report, file).toEqual(report)
        const [run] = await loadComparable(db, [id])
        expect(run!.report.source, file).toEqual(report.source)
      }
    } finally {
      await close()
    }
  })
})

describe('the detector without per-request samples', () => {
  /** A report made aggregates-only: its samples dropped, its summaries kept, as an import of a tool's statistics. */
  const aggregate = (r: Report): Report =>
    parseReport({
      ...r,
      source: { tool: 'vllm', version: null, samples: 'aggregate' },
      scenarios: r.scenarios.map((s) => ({
        ...s,
        trials: s.trials.map((t) => ({
          ...t,
          samples: {
            start_ms: [],
            ttft_ms: [],
            tpot_ms: [],
            e2el_ms: [],
            itl_ms: [],
            input_tokens: [],
            output_tokens: [],
            dispatch_delay_ms: null,
          },
        })),
      })),
    })

  it('falls back to trial medians: no Mann-Whitney, the noise test decides, the change is the medians’', () => {
    const baselines = [1, 2, 3].map((i) => ({ id: `b${i}`, report: makeReport(i, [{ ttft: 50 }]) }))
    const slow = makeReport(9, [{ ttft: 75 }])
    const pooled = compareRuns({ id: 'pr', report: slow }, baselines)
    const trialLevel = compareRuns({ id: 'pr', report: aggregate(slow) }, baselines)
    const row = (c: typeof pooled) => c.metrics.find((m) => m.metric === 'ttft_ms')!
    expect(row(pooled).p_value).not.toBeNull()
    expect(row(pooled).candidate.n).toBe(300)
    expect(row(trialLevel).p_value).toBeNull()
    expect(row(trialLevel).u).toBeNull()
    expect(row(trialLevel).candidate.n).toBe(1)
    expect(row(trialLevel).baseline.n).toBe(3)
    expect(row(trialLevel).verdict).toBe('regression')
    // The change: the geometric mean of the trial medians, as for a throughput.
    const median = (r: Report) => r.scenarios[0]!.trials[0]!.summary.median_ttft_ms!
    const gm = Math.exp(baselines.reduce((a, b) => a + Math.log(median(b.report)), 0) / 3)
    expect(row(trialLevel).delta_pct!).toBeCloseTo((median(slow) / gm - 1) * 100, 6)
    expect(trialLevel.warnings.join()).toMatch(/no per-request samples in pr \(aggregates only\)/)
    // Tails and throughputs are judged as always.
    const tail = (c: typeof pooled) => c.metrics.find((m) => m.metric === 'p99_e2el_ms')!
    expect(tail(trialLevel).p_noise).toBe(tail(pooled).p_noise)
    // A baseline without samples makes both sides trial-level too.
    const mixed = compareRuns({ id: 'pr', report: slow }, [
      ...baselines.slice(0, 2),
      { id: 'b3', report: aggregate(baselines[2]!.report) },
    ])
    expect(row(mixed).p_value).toBeNull()
    expect(mixed.warnings.join()).toMatch(/no per-request samples in b3/)
  })
})

describe('the report schema, for imports', () => {
  const base = () => JSON.parse(JSON.stringify(makeReport(1, [{ requests: 20 }]))) as Record<string, unknown>
  const refusal = (v: unknown) => {
    try {
      parseReport(v)
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError)
      return (e as Error).message
    }
    throw new Error('accepted')
  }

  it('reports without source still validate, as before', () => {
    const r = base()
    expect(r.source).toBeUndefined()
    expect(() => parseReport(r)).not.toThrow()
    // A v1 report (no v2 field) still reads.
    expect(() => parseReport({ ...r, schema: 'infergate.report/v1' })).not.toThrow()
  })

  it('aggregate: samples must be empty; per_request: one per completed request, as always', () => {
    const r = base()
    expect(refusal({ ...r, source: { tool: 'vllm', version: null, samples: 'aggregate' } })).toMatch(
      /scenarios\[0\]\.trials\[0\]\.samples\.ttft_ms: expected no samples \(source\.samples is aggregate\), got 20/,
    )
    const t = (r.scenarios as { trials: { summary: { completed: number } }[] }[])[0]!.trials[0]!
    t.summary.completed = 19
    expect(refusal(r)).toMatch(
      /scenarios\[0\]\.trials\[0\]\.summary\.completed: expected 20 \(the number of samples\), got 19/,
    )
  })

  it('source is v2 only, its unrecorded columns hold placeholders only', () => {
    const r = base()
    const source = { tool: 'vllm', version: null, samples: 'per_request' }
    expect(refusal({ ...r, schema: 'infergate.report/v1', source })).toMatch(
      /source: not part of infergate.report\/v1/,
    )
    expect(refusal({ ...r, source: { ...source, unrecorded: ['start_ms'] } })).toMatch(
      /samples\.start_ms: expected all 0 \(source\.unrecorded lists start_ms\)/,
    )
    expect(refusal({ ...r, source: { ...source, samples: 'some' } })).toMatch(/source\.samples/)
  })

  it('max_output_tokens_per_s and max_concurrent_requests may be null (a tool that did not record them)', () => {
    const r = base()
    const s = (r.scenarios as { trials: { summary: Record<string, unknown> }[] }[])[0]!.trials[0]!.summary
    s.max_output_tokens_per_s = null
    s.max_concurrent_requests = null
    expect(() => parseReport(r)).not.toThrow()
  })
})

describe('docs', () => {
  const doc = readFileSync(join(import.meta.dirname, '../docs/import.md'), 'utf8')

  it('docs/import.md shows every flag of import and export, as their --help prints them', async () => {
    for (const command of ['import', 'export']) {
      const help = await cli([command, '--help'])
      expect(help.code).toBe(0)
      const options = help.stdout.slice(0, help.stdout.indexOf('\nExamples:'))
      expect(doc, command).toContain(options.trim())
    }
  })

  it('the README links it', () => {
    const readme = readFileSync(join(import.meta.dirname, '../README.md'), 'utf8')
    expect(readme).toContain('[docs/import.md](docs/import.md)')
  })

  it('make-fixtures.ts writes the fixtures in the repository', () => {
    // Run in a copy so the test never rewrites the tree; the output must be the checked-in bytes.
    const dir = join(tempDir(), 'import')
    mkdirSync(dir)
    cpSync(fixture('make-fixtures.ts'), join(dir, 'make-fixtures.ts'))
    const text = readFileSync(join(dir, 'make-fixtures.ts'), 'utf8').replaceAll(
      "'../../../core/",
      `'${join(import.meta.dirname, '../core/')}`,
    )
    writeFileSync(join(dir, 'make-fixtures.ts'), text)
    return import(join(dir, 'make-fixtures.ts')).then(() => {
      for (const f of [
        'vllm-detailed.json',
        'guidellm.json',
        'aiperf/profile_export.jsonl',
        'inference-perf/config.yaml',
      ])
        expect(readFileSync(join(dir, f), 'utf8'), f).toBe(readFileSync(fixture(f), 'utf8'))
      rmSync(dir, { recursive: true })
    })
  })
})
