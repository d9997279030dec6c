// The benchmark plan: an infergate.yaml and bench's flags are two spellings of one plan, refused
// by the same rules in each one's own names (the YAML key and its line, the flag), flags over a
// --config file; and runBenchmark takes git, CI and the host from its context, never the process.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseFlags } from '../cli/args.ts'
import { benchSpec, planFromFlags } from '../cli/commands/bench.ts'
import { resolvePlan } from '../core/bench/plan.ts'
import { createProgress } from '../core/bench/progress.ts'
import { runBenchmark } from '../core/bench/run.ts'
import { formatIssue, parseConfig } from '../core/config/load.ts'
import { planFromConfig } from '../core/config/plan.ts'
import { validateConfig } from '../core/config/validate.ts'
import type { GitContext } from '../core/report.ts'
import { type EngineSim, startEngineSim } from '../engine-sim/server.ts'
import { tempDir } from './helpers.ts'

const URL_FLAG = ['--url', 'http://127.0.0.1:9/v1']
const flags = (...argv: string[]) => planFromFlags(parseFlags(benchSpec, [...URL_FLAG, ...argv]).values, {})
const yaml = (text: string) => {
  const { config, issues } = parseConfig(text, 'existing')
  if (!config) throw new Error(issues.map((i) => formatIssue('f.yaml', i)).join('\n'))
  return planFromConfig(config)
}

/** validate's errors on the file, as `infergate validate` prints them. */
function validated(text: string): string[] {
  const path = join(tempDir(), 'f.yaml')
  writeFileSync(path, text)
  return validateConfig(path, 'existing')
    .issues.filter((i) => i.severity === 'error')
    .map((i) => formatIssue('f.yaml', i))
}

const HEAD = 'benchmark: chat-8b\nmodel: {name: m}\n'

describe('one plan, written two ways', () => {
  it('every workload key and its flag give deep-equal plans', () => {
    const fromYaml = yaml(`${HEAD}resources: {gpus: 2}
engine: {tensor_parallel: 2}
workload:
  endpoint: chat
  input_tokens: {mean: 256, stddev: 32, min: 64, max: 512}
  output_tokens: 64
  dataset: prompts.jsonl
  seed: 7
  warmup: 2
  rate: [2, inf]
  arrival: gamma
  burstiness: 0.5
  max_concurrency: 16
  requests: 50
  trials: 3
  timeout_s: 60
slo: {ttft_ms: 500, tpot_ms: 40}
gpu_hourly_cost: 2.5
`)
    const fromFlags = flags(
      ...['--name', 'chat-8b', '--endpoint', 'chat', '--input-tokens', '256', '--input-stddev', '32'],
      ...['--input-min', '64', '--input-max', '512', '--output-tokens', '64', '--dataset', 'prompts.jsonl'],
      ...['--ignore-eos', '--seed', '7', '--warmup', '2', '--rate', '2,inf', '--arrival', 'gamma'],
      ...['--burstiness', '0.5', '--max-concurrency', '16', '--requests', '50', '--trials', '3'],
      ...['--timeout', '60', '--slo', 'ttft:500,tpot:40', '--gpus', '2', '--gpu-hourly-cost', '2.5'],
      ...['--engine', 'vllm'],
    ).plan
    expect(fromFlags).toEqual(fromYaml)
    expect(fromYaml).toMatchObject({
      workload: { input: { mean: 256, stddev: 32, min: 64, max: 512 }, seed: 7, warmup: 2 },
      load: { concurrency: [], rates: [2, null], arrival: 'gamma', burstiness: 0.5, maxConcurrency: 16 },
      stop: { requests: 50, durationS: null, timeoutS: 60 },
    })
  })

  it('and the defaults agree (the config differs only where docs/config.md says so)', () => {
    const fromYaml = yaml(`${HEAD}workload: {duration_s: 30}\n`)
    expect(flags('--name', 'chat-8b', '--duration', '30', '--ignore-eos', '--engine', 'vllm').plan).toEqual(
      fromYaml,
    )
    expect(fromYaml).toMatchObject({
      workload: { api: 'completions', input: { mean: 512, min: 1 }, output: { mean: 128 }, seed: null },
      load: { concurrency: [1], rates: [] },
      stop: { requests: null, durationS: 30, timeoutS: 300 },
      trials: 1,
    })
  })
})

describe('a rule refused in the writer’s own names', () => {
  it('from YAML: the key, on its line', () => {
    expect(validated(`${HEAD}workload:\n  input_tokens: {mean: 100, min: 200, max: 150}\n`)).toEqual([
      'f.yaml:4:29: error: workload.input_tokens.min: 200 is above workload.input_tokens.max (150)',
    ])
    expect(validated(`${HEAD}workload:\n  rate: [1]\n  arrival: constant\n  burstiness: 2\n`)).toEqual([
      'f.yaml:6:3: error: workload.burstiness: applies to workload.arrival gamma, not constant',
    ])
    expect(validated(`${HEAD}workload:\n  rate: [inf]\n`)).toEqual([
      'f.yaml:4:3: error: workload.rate: inf sends every request at once: give workload.requests',
    ])
    expect(validated(`${HEAD}workload:\n  concurrency: [1]\n  timeout_s: 3000000\n`)).toEqual([
      'f.yaml:5:3: error: workload.timeout_s: expected a number > 0 and ≤ 2147483, got 3000000',
    ])
    expect(validated(`${HEAD}workload:\n  concurrency: [4, 4]\n`)).toEqual([
      'f.yaml:4:3: error: workload.concurrency: scenario concurrency-4 is listed twice',
    ])
  })

  it('from flags: the flag', () => {
    expect(() => flags('--input-tokens', '100', '--input-min', '200', '--input-max', '150')).toThrow(
      /^--input-min: 200 is above --input-max \(150\)$/,
    )
    expect(() => flags('--rate', '1', '--arrival', 'constant', '--burstiness', '2')).toThrow(
      /^--burstiness: applies to --arrival gamma, not constant$/,
    )
    expect(() => flags('--input-tokens', '100', '--input-max', '50')).toThrow(
      /^--input-tokens: 100 must lie between --input-min \(1\) and --input-max \(50\)$/,
    )
  })

  it('in code: the field', () => {
    expect(() => resolvePlan({ concurrency: [], rates: [] })).toThrow(
      /^concurrency: no scenario: give concurrency or rates$/,
    )
  })
})

describe('bench --config: flags over the file', () => {
  const file = (text: string) => {
    const path = join(tempDir(), 'infergate.yaml')
    writeFileSync(path, text)
    return path
  }

  it("the file's plan, then each flag given over it", () => {
    const path = file(`${HEAD}workload:
  concurrency: [1, 2]
  requests: 6
  input_tokens: 64
  output_tokens: {mean: 4, max: 8}
  seed: 3
`)
    const { plan, target } = flags('--config', path, '--requests', '3', '--output-max', '16', '--rate', '5')
    expect(plan).toEqual(
      yaml(`${HEAD}workload:
  rate: [5]
  requests: 3
  input_tokens: 64
  output_tokens: {mean: 4, max: 16}
  seed: 3
`),
    )
    // The file's model is the one requested, unless --model says otherwise.
    expect(target.model).toBe('m')
    expect(flags('--config', path, '--model', 'other').target.model).toBe('other')
  })

  it('a refusal names each field as it was given: the flag, or the key and its line', () => {
    const path = file(
      `${HEAD}workload:\n  input_tokens: {mean: 100, max: 150}\n  rate: [1]\n  burstiness: 2\n`,
    )
    expect(() => flags('--config', path, '--input-min', '200')).toThrow(
      /^--input-min: 200 is above workload\.input_tokens\.max \(150\)$/,
    )
    expect(() => flags('--config', path, '--arrival', 'constant')).toThrow(
      new RegExp(
        `^--config: ${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:6:3: error: workload\\.burstiness: applies to --arrival gamma, not constant$`,
      ),
    )
  })
})

describe('runBenchmark', () => {
  let sim: EngineSim
  beforeAll(async () => {
    sim = await startEngineSim({ port: 0, ttftMs: 1, itlMs: 1, jitter: 0 })
  })
  afterAll(() => sim.close())

  it('takes git, CI and the host from its context, never from process.env', async () => {
    const saved = process.env
    const read = new Set<string>()
    const env: NodeJS.ProcessEnv = {
      ...saved,
      GITHUB_SHA: 'f'.repeat(40),
      GITHUB_REPOSITORY: 'env/repo',
      GITHUB_REF_NAME: 'env-branch',
      GITHUB_RUN_ID: '99',
      INFERGATE_API_KEY: 'from-env',
    }
    // Every read of a variable the old code took from the process is noted.
    process.env = new Proxy(env, {
      get(target, key) {
        if (typeof key === 'string' && /^(GITHUB_|INFERGATE_|OPENAI_)/.test(key)) read.add(key)
        return Reflect.get(target, key)
      },
    })
    const git: GitContext = {
      repository: 'ctx/repo',
      sha: 'c'.repeat(40),
      ref: null,
      branch: 'ctx-branch',
      base_branch: null,
      pr_number: null,
      event_name: null,
    }
    try {
      const plan = resolvePlan({ concurrency: [1], requests: 2, output: { mean: 2 }, warmup: 0 })
      const report = await runBenchmark(
        plan,
        { url: sim.url, apiKey: null, headers: {}, model: null },
        {
          progress: createProgress('off'),
          git,
          ci: null,
          platform: 'test-os host',
          nodeVersion: 'v0.0.0-test',
        },
      )
      expect(report.git).toEqual(git)
      expect(report.ci).toBeNull()
      expect(report.environment.client).toMatchObject({
        platform: 'test-os host',
        node_version: 'v0.0.0-test',
      })
      expect([...read]).toEqual([])
    } finally {
      process.env = saved
    }
  })
})
