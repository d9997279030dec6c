// The report contract: what bench writes validates, and bad input is refused with the field named.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SimProcess } from '../cli/spawn-sim.ts'
import { ciContextFromEnv, gitContextFromEnv } from '../core/ci-context.ts'
import { parseReport, REPORT_SCHEMA, type Report } from '../core/report.ts'
import { ValidationError } from '../core/validation.ts'
import { benchReport, sim, tempDir } from './helpers.ts'

let s: SimProcess
let report: Report
beforeAll(async () => {
  s = await sim(['--ttft-ms', '3', '--itl-ms', '1'])
  ;({ report } = await benchReport(s.url, [
    ...['--concurrency', '1,3', '--trials', '2', '--requests', '5', '--output-tokens', '4', '--ignore-eos'],
    ...['--name', 'llama-8b', '--gpus', '2', '--gpu-model', 'NVIDIA-L4', '--gpu-hourly-cost', '0.8'],
  ]))
})
afterAll(() => s?.stop())

const clone = (r: Report): Record<string, unknown> => JSON.parse(JSON.stringify(r))
const refusal = (value: unknown) => {
  try {
    parseReport(value)
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError)
    return (e as ValidationError).message
  }
  throw new Error('accepted')
}

describe('a written report', () => {
  it('has every scenario and trial, with the schema tag', () => {
    expect(report.schema).toBe(REPORT_SCHEMA)
    expect(report.scenarios.map((x) => [x.name, x.trials.length])).toEqual([
      ['concurrency-1', 2],
      ['concurrency-3', 2],
    ])
    expect(report.environment.gpu).toEqual({ model: 'NVIDIA-L4', count: 2 })
  })

  it('derives per-GPU throughput and cost per million output tokens', () => {
    const m = report.scenarios[1]!.trials[0]!.summary
    expect(m.output_throughput_per_gpu).toBeCloseTo(m.output_throughput / 2, 6)
    const cost = (0.8 * 2 * (m.duration_s / 3600) * 1e6) / m.total_output_tokens
    expect(m.cost_per_million_output_tokens! / cost).toBeCloseTo(1, 2)
  })
})

describe('validation on read', () => {
  it('refuses another schema version', () => {
    expect(refusal({ ...clone(report), schema: 'infergate.report/v2' })).toMatch(/^invalid report: schema: /)
  })

  it('refuses infinite, negative and non-numeric latencies, naming the sample', () => {
    for (const bad of [Number.POSITIVE_INFINITY, -1, '12']) {
      const r = clone(report) as unknown as Report
      ;(r.scenarios[0]!.trials[1]!.samples.ttft_ms as unknown[])[2] = bad
      expect(refusal(r)).toContain(
        'scenarios[0].trials[1].samples.ttft_ms[2]: expected a finite non-negative number',
      )
    }
  })

  it('refuses 1e999 in JSON (it parses as Infinity)', () => {
    const text = JSON.stringify(report).replace(/"e2el_ms":\[[0-9.]+/, '"e2el_ms":[1e999')
    expect(refusal(JSON.parse(text))).toMatch(/scenarios\[0\]\.trials\[0\]\.samples\.e2el_ms\[0\]/)
  })

  it('refuses sample columns of different lengths', () => {
    const r = clone(report) as unknown as Report
    r.scenarios[0]!.trials[0]!.samples.output_tokens.pop()
    expect(refusal(r)).toContain('scenarios[0].trials[0].samples.output_tokens: expected 5 entries')
  })

  it('refuses a bad benchmark name and duplicate scenarios', () => {
    expect(refusal({ ...clone(report), benchmark: 'has space' })).toContain('benchmark: expected')
    const r = clone(report) as unknown as Report
    r.scenarios[1]!.name = r.scenarios[0]!.name
    expect(refusal(r)).toContain('scenarios[1].name: duplicate scenario name')
  })

  it('refuses numbers that disagree with each other', () => {
    let r = clone(report) as unknown as Report
    r.scenarios[0]!.trials[0]!.summary.failed = 3
    expect(refusal(r)).toContain(
      'scenarios[0].trials[0].summary.failed: expected 0 (the sum of errors), got 3',
    )
    r = clone(report) as unknown as Report
    r.scenarios[0]!.trials[0]!.samples.tpot_ms[1] = null
    expect(refusal(r)).toContain(
      'scenarios[0].trials[0].samples.tpot_ms[1]: expected null exactly where output_tokens ≤ 1',
    )
    r = clone(report) as unknown as Report
    r.scenarios[0]!.trials[0]!.samples.dispatch_delay_ms = [0, 0, 0, 0, 0]
    expect(refusal(r)).toContain(
      'scenarios[0].trials[0].samples.dispatch_delay_ms: expected null in a closed-loop scenario',
    )
    r = clone(report) as unknown as Report
    r.scenarios[0]!.stop = { requests: null, duration_s: null, timeout_s: 1 }
    expect(refusal(r)).toContain('scenarios[0].stop.requests: expected requests or duration_s')
    r = clone(report) as unknown as Report
    r.workload.output_tokens = { mean: 4, stddev: 0, min: 5, max: 9 }
    expect(refusal(r)).toContain('workload.output_tokens.mean: expected min ≤ mean ≤ max')
  })

  it('refuses missing fields by path', () => {
    const r = clone(report) as unknown as Report
    delete (r.scenarios[0]!.trials[0]!.summary as Partial<Report['scenarios'][0]['trials'][0]['summary']>)
      .p99_ttft_ms
    expect(refusal(r)).toContain('scenarios[0].trials[0].summary.p99_ttft_ms')
  })
})

describe('git and CI context from the runner', () => {
  it('a pull_request event reports the head sha, not the merge sha', () => {
    const event = join(tempDir(), 'event.json')
    writeFileSync(
      event,
      JSON.stringify({
        pull_request: { number: 42, head: { sha: 'abc123', ref: 'feat' }, base: { ref: 'main' } },
      }),
    )
    const env = {
      GITHUB_REPOSITORY: 'acme/llm',
      GITHUB_SHA: 'merge999',
      GITHUB_REF: 'refs/pull/42/merge',
      GITHUB_REF_NAME: '42/merge',
      GITHUB_HEAD_REF: 'feat',
      GITHUB_BASE_REF: 'main',
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_EVENT_PATH: event,
      GITHUB_RUN_ID: '777',
      GITHUB_RUN_ATTEMPT: '2',
      GITHUB_WORKFLOW: 'perf',
      GITHUB_JOB: 'bench',
      GITHUB_SERVER_URL: 'https://github.com',
    }
    expect(gitContextFromEnv(env)).toEqual({
      repository: 'acme/llm',
      sha: 'abc123',
      ref: 'refs/pull/42/merge',
      branch: 'feat',
      base_branch: 'main',
      pr_number: 42,
      event_name: 'pull_request',
    })
    expect(ciContextFromEnv(env)).toEqual({
      provider: 'github',
      run_id: '777',
      run_attempt: 2,
      workflow: 'perf',
      job: 'bench',
      server_url: 'https://github.com',
    })
  })

  it('a push reports its own sha and branch, and no base branch', () => {
    const env = {
      GITHUB_REPOSITORY: 'acme/llm',
      GITHUB_SHA: 'def456',
      GITHUB_REF: 'refs/heads/main',
      GITHUB_REF_NAME: 'main',
      GITHUB_EVENT_NAME: 'push',
    }
    expect(gitContextFromEnv(env)).toMatchObject({
      sha: 'def456',
      branch: 'main',
      base_branch: null,
      pr_number: null,
    })
    expect(ciContextFromEnv(env)).toBeNull()
  })

  it('bench writes the context into the report, with flags overriding it', async () => {
    const dir = tempDir()
    const out = join(dir, 'r.json')
    const { cli } = await import('./helpers.ts')
    const r = await cli(
      [
        'bench',
        '--url',
        s.url,
        '--requests',
        '2',
        '--output-tokens',
        '2',
        '--progress',
        'off',
        '--out',
        out,
        '--git-branch',
        'override',
      ],
      {
        GITHUB_REPOSITORY: 'acme/llm',
        GITHUB_SHA: 'f00',
        GITHUB_REF_NAME: 'main',
        GITHUB_EVENT_NAME: 'push',
        GITHUB_RUN_ID: '5',
      },
    )
    expect(r.code).toBe(0)
    const written = parseReport(JSON.parse((await import('node:fs')).readFileSync(out, 'utf8')))
    expect(written.git).toMatchObject({
      repository: 'acme/llm',
      sha: 'f00',
      branch: 'override',
      event_name: 'push',
    })
    expect(written.ci).toMatchObject({ run_id: '5', run_attempt: 1 })
  })
})
