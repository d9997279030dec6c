// The report contract: what bench writes validates, and bad input is refused with the field named.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SimProcess } from '../cli/spawn-sim.ts'
import { ciContextFromEnv, gitContextFromEnv } from '../core/ci-context.ts'
import { parseReport, REPORT_SCHEMA, type Report } from '../core/report.ts'
import { ValidationError } from '../core/validation.ts'
import { benchReport, sim, tempDir } from './helpers.ts'
import { makePairedReport, makeReport } from './report-factory.ts'

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
    expect(refusal({ ...clone(report), schema: 'infergate.report/v3' })).toMatch(/^invalid report: schema: /)
    expect(refusal({ ...clone(report), schema: undefined })).toMatch(/^invalid report: schema: /)
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

describe('schema v2: A/B runs', () => {
  const paired = () =>
    clone(
      makePairedReport(
        5,
        [
          { baseline: { requests: 4 }, candidate: { requests: 4, tpot: 12 } },
          { baseline: { requests: 4 }, candidate: { requests: 4, tpot: 12 } },
          { baseline: { requests: 4 }, candidate: { requests: 4, tpot: 12 }, order: 'candidate-first' },
        ],
        { baselineEngineVersion: '0.10.0' },
      ),
    ) as unknown as Report
  const trials = (r: Report) => r.scenarios[0]!.trials

  it('records both arms, each with its environment, and every trial its arm and block', () => {
    const r = parseReport(paired())
    expect(r.schema).toBe('infergate.report/v2')
    expect(r.arms!.map((a) => [a.name, a.environment.engine.version, a.git.sha])).toEqual([
      ['baseline', '0.10.0', 'base5'],
      ['candidate', '0.11.0', 'sha5'],
    ])
    expect(r.environment).toEqual(r.arms![1]!.environment)
    expect(r.paired).toEqual({
      order: 'counterbalanced',
      max_blocks: 3,
      time_budget_s: null,
      stopped: 'budget',
    })
    expect(trials(r).map((t) => [t.index, t.block, t.arm])).toEqual([
      [0, 0, 'baseline'],
      [1, 0, 'candidate'],
      [2, 1, 'candidate'],
      [3, 1, 'baseline'],
      [4, 2, 'candidate'],
      [5, 2, 'baseline'],
    ])
    // Keyed as the schema lists them: the arm and block right after the index.
    expect(Object.keys(trials(r)[0]!).slice(0, 4)).toEqual(['index', 'arm', 'block', 'started_at'])
  })

  it('bench writes v2; a v1 report is still read, as v1', () => {
    expect(makeReport(1, [{ requests: 3 }]).schema).toBe('infergate.report/v2')
    const v1 = parseReport({ ...clone(report), schema: 'infergate.report/v1' })
    expect(v1.schema).toBe('infergate.report/v1')
    expect(v1.arms).toBeUndefined()
    expect(v1.scenarios[0]!.trials[0]).not.toHaveProperty('arm')
  })

  it('a v1 report may not carry arms, paired, or a trial arm or block', () => {
    const r = { ...paired(), schema: 'infergate.report/v1' }
    const message = refusal(r)
    expect(message).toContain('arms: not part of infergate.report/v1 (A/B runs are infergate.report/v2)')
    expect(message).toContain('paired: not part of infergate.report/v1')
    expect(message).toContain('scenarios[0].trials[0].arm: not part of infergate.report/v1')
    expect(message).toContain('scenarios[0].trials[0].block: not part of infergate.report/v1')
    const one = clone(makeReport(1, [{ requests: 3 }, { requests: 3 }])) as unknown as Report
    one.schema = 'infergate.report/v1'
    one.scenarios[0]!.trials[1]!.block = 0
    expect(refusal(one)).toBe(
      'invalid report: scenarios[0].trials[1].block: not part of infergate.report/v1 (A/B runs are infergate.report/v2)',
    )
  })

  it('arms and paired come together', () => {
    const r = paired()
    delete r.paired
    expect(refusal(r)).toBe('invalid report: paired: expected with arms: how the blocks were run')
    const s = paired()
    delete s.arms
    for (const t of trials(s)) {
      delete t.arm
      delete t.block
    }
    expect(refusal(s)).toBe('invalid report: paired: expected only with arms (an A/B run)')
  })

  it('refuses anything but one baseline arm and one candidate arm', () => {
    let r = paired()
    r.arms!.pop()
    expect(refusal(r)).toContain('arms: expected two arms, one baseline and one candidate')
    r = paired()
    r.arms!.push(r.arms![1]!)
    expect(refusal(r)).toContain('arms: expected two arms, one baseline and one candidate')
    r = paired()
    r.arms![1]!.name = 'baseline'
    expect(refusal(r)).toBe(
      'invalid report: arms[1].name: duplicate arm baseline (expected one baseline and one candidate)',
    )
    r = paired()
    ;(r.arms![0] as { name: string }).name = 'control'
    expect(refusal(r)).toMatch(/^invalid report: arms\[0\]\.name: /)
    r = paired()
    r.arms![0]!.git.sha = 'x\u0000'
    expect(refusal(r)).toMatch(/^invalid report: arms\[0\]\.git\.sha: contains a NUL/)
  })

  it("the top-level environment is the candidate arm's, wherever it is listed", () => {
    const r = paired()
    r.arms!.reverse()
    expect(parseReport(r).arms!.map((a) => a.name)).toEqual(['candidate', 'baseline'])
    // Equal as JSON: key order aside.
    const { model, ...rest } = r.environment
    r.environment = { ...rest, model }
    expect(parseReport(r).environment.model).toBe('m')
    r.environment.engine.version = '0.10.0'
    expect(refusal(r)).toBe(
      "invalid report: environment: expected the candidate arm's environment (arms[0].environment)",
    )
  })

  it('every trial of an A/B run has its arm and block, and only there', () => {
    let r = paired()
    delete trials(r)[3]!.arm
    expect(refusal(r)).toBe(
      'invalid report: scenarios[0].trials[3].arm: expected on every trial of an A/B run (the report has arms)',
    )
    r = paired()
    delete trials(r)[5]!.block
    expect(refusal(r)).toContain('scenarios[0].trials[5].block: expected on every trial of an A/B run')
    const one = clone(makeReport(1, [{ requests: 3 }])) as unknown as Report
    trials(one)[0]!.arm = 'candidate'
    expect(refusal(one)).toBe(
      'invalid report: scenarios[0].trials[0].arm: expected only in an A/B run (a report with arms)',
    )
    r = paired()
    trials(r)[0]!.block = -1
    expect(refusal(r)).toMatch(/^invalid report: scenarios\[0\]\.trials\[0\]\.block: /)
    r = paired()
    trials(r)[0]!.block = 2 ** 31
    expect(refusal(r)).toMatch(/^invalid report: scenarios\[0\]\.trials\[0\]\.block: /)
  })

  it('a block holds each arm at most once; trial indices stay unique', () => {
    let r = paired()
    trials(r)[3]!.arm = 'candidate'
    expect(refusal(r)).toBe(
      'invalid report: scenarios[0].trials[3].arm: duplicate candidate trial in block 1 (a block holds one trial of each arm)',
    )
    // A block cut short (the run was stopped) holds one arm.
    r = paired()
    trials(r).pop()
    expect(trials(parseReport(r)).at(-1)).toMatchObject({ block: 2, arm: 'candidate' })
    r = paired()
    trials(r)[1]!.index = 0
    expect(refusal(r)).toBe('invalid report: scenarios[0].trials[1].index: duplicate trial index 0')
  })

  it('refuses a paired section out of its bounds', () => {
    let r = paired()
    r.paired!.max_blocks = 0
    expect(refusal(r)).toMatch(/^invalid report: paired\.max_blocks: /)
    r = paired()
    r.paired!.time_budget_s = -1
    expect(refusal(r)).toMatch(/^invalid report: paired\.time_budget_s: /)
    r = paired()
    ;(r.paired as { stopped: string }).stopped = 'bored'
    expect(refusal(r)).toMatch(/^invalid report: paired\.stopped: /)
    r = paired()
    r.paired = { ...r.paired!, order: 'random', time_budget_s: 600, stopped: 'time' }
    expect(parseReport(r).paired).toEqual({
      order: 'random',
      max_blocks: 3,
      time_budget_s: 600,
      stopped: 'time',
    })
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
