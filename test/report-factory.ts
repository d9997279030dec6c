// Reports made in memory with known distributions, for the detector's tests: each trial's
// latencies are lognormal around a median you choose.

import type { RequestOutcome } from '../core/bench/client.ts'
import { summarizeTrial } from '../core/bench/summary.ts'
import {
  type Arm,
  type ArmName,
  type Environment,
  type Paired,
  parseReport,
  REPORT_SCHEMA,
  type Report,
  type Trial,
} from '../core/report.ts'
import { Rng } from '../core/rng.ts'

export interface TrialSpec {
  ttft?: number
  tpot?: number
  requests?: number
  outputTokens?: number
  sigma?: number
  failed?: number
  /** A share of requests pausing `ms` once mid-stream (a stall: the tail moves, the median not). */
  stall?: { share: number; ms: number }
}

const STARTED = Date.parse('2026-11-01T00:00:00Z')

/** One trial: lognormal latencies around the spec's medians, drawn from `rng`. */
function makeTrial(rng: Rng, spec: TrialSpec, index: number, startedAt = new Date(STARTED)): Trial {
  const n = spec.requests ?? 300
  const out = spec.outputTokens ?? 64
  const sigma = spec.sigma ?? 0.25
  const outcomes: RequestOutcome[] = []
  // A closed loop of 8 workers: each request starts when its worker's previous one ended, so
  // throughput follows latency.
  const free = new Array<number>(8).fill(0)
  let at = 0
  for (let i = 0; i < n; i++) {
    const w = free.indexOf(Math.min(...free))
    const start = free[w]!
    const ttft = (spec.ttft ?? 50) * Math.exp(sigma * rng.normal())
    const tpot = (spec.tpot ?? 10) * Math.exp(sigma * rng.normal())
    const itl = Array.from({ length: out - 1 }, () => tpot)
    // Drawn only when asked, so reports without stalls keep their random numbers.
    const stalled = spec.stall && rng.next() < spec.stall.share ? spec.stall.ms : 0
    if (stalled) itl[itl.length >> 1]! += stalled
    const e2el = ttft + tpot * (out - 1) + stalled
    free[w] = start + e2el
    outcomes.push({
      sentAt: start,
      endedAt: start + e2el,
      dispatchDelayMs: null,
      ok: true,
      ttftMs: ttft,
      e2elMs: e2el,
      itlMs: itl,
      inputTokens: 128,
      outputTokens: out,
      tokensFromUsage: true,
    })
    at = Math.max(at, free[w]!)
  }
  for (let i = 0; i < (spec.failed ?? 0); i++) {
    outcomes.push({
      sentAt: at,
      endedAt: at + 1,
      dispatchDelayMs: null,
      ok: false,
      ttftMs: -1,
      e2elMs: -1,
      itlMs: [],
      inputTokens: 128,
      outputTokens: 0,
      tokensFromUsage: false,
      errorKind: 'http_500',
      errorMessage: 'HTTP 500: boom',
    })
  }
  return summarizeTrial(index, startedAt, outcomes, { slo: null, gpus: 1, gpuHourlyCostUsd: null })
}

function environment(engineVersion = '0.11.0'): Environment {
  return {
    model: 'm',
    engine: { name: 'vllm', version: engineVersion },
    gpu: { model: 'NVIDIA-L4', count: 1 },
    endpoint: { url: 'http://127.0.0.1:8000/v1', api: 'completions' },
    config: {},
    client: { infergate_version: '0.1.0', node_version: 'v24', platform: 'test' },
  }
}

/** The report around its trials (one scenario), as makeReport has always made it. */
function reportAround(
  seed: number,
  trials: Trial[],
  opts: { benchmark?: string; engineVersion?: string; scenario?: string },
): Report {
  return {
    schema: REPORT_SCHEMA,
    benchmark: opts.benchmark ?? 'bench',
    created_at: '2026-11-01T00:00:00.000Z',
    git: {
      repository: 'acme/llm',
      sha: `sha${seed}`,
      ref: null,
      branch: 'main',
      base_branch: null,
      pr_number: null,
      event_name: 'push',
    },
    ci: null,
    environment: environment(opts.engineVersion),
    workload: {
      source: 'synthetic',
      dataset: null,
      input_tokens: { mean: 128, stddev: 0, min: 1, max: 1000 },
      output_tokens: { mean: 64, stddev: 0, min: 1, max: 1000 },
      ignore_eos: true,
      seed: 0,
      warmup_requests: 0,
    },
    slo: null,
    gpu_hourly_cost_usd: null,
    scenarios: [
      {
        name: opts.scenario ?? 'concurrency-8',
        load: { mode: 'closed', concurrency: 8 },
        stop: { requests: 300, duration_s: null, timeout_s: 300 },
        trials,
      },
    ],
  }
}

export function makeReport(
  seed: number,
  trials: TrialSpec[],
  opts: { benchmark?: string; engineVersion?: string; scenario?: string } = {},
): Report {
  const rng = new Rng(seed)
  const made = trials.map((spec, index) => makeTrial(rng, spec, index))
  return parseReport(reportAround(seed, made, opts))
}

/** One block of an A/B run: a trial of each arm, in the order given (default: alternating). */
export interface BlockSpec {
  baseline: TrialSpec
  candidate: TrialSpec
  order?: 'baseline-first' | 'candidate-first'
}

/**
 * A v2 A/B report (`arms`, `paired`): the blocks' trials in the order they ran, indexed 0, 1, …
 * across blocks, each with its arm and block. Without an order, blocks alternate which arm goes
 * first (baseline in block 0), as counterbalanced runs do. The report is a pull request's: the
 * candidate is its head (sha<seed>), the baseline its base (base<seed>). `baselineEngineVersion`
 * makes the arms' environments differ.
 */
export function makePairedReport(
  seed: number,
  blocks: BlockSpec[],
  opts: {
    benchmark?: string
    engineVersion?: string
    baselineEngineVersion?: string
    scenario?: string
    paired?: Partial<Paired>
  } = {},
): Report {
  const rng = new Rng(seed)
  const trials: Trial[] = []
  blocks.forEach((b, block) => {
    const order = b.order ?? (block % 2 ? 'candidate-first' : 'baseline-first')
    const first: ArmName = order === 'baseline-first' ? 'baseline' : 'candidate'
    for (const arm of [first, first === 'baseline' ? 'candidate' : 'baseline'] as const) {
      const index = trials.length
      const t = makeTrial(rng, b[arm], index, new Date(STARTED + index * 60_000))
      trials.push({ ...t, arm, block })
    }
  })
  const r = reportAround(seed, trials, opts)
  const arms: Arm[] = [
    {
      name: 'baseline',
      environment: environment(opts.baselineEngineVersion ?? opts.engineVersion),
      git: { sha: `base${seed}`, ref: 'refs/heads/main' },
    },
    { name: 'candidate', environment: r.environment, git: { sha: `sha${seed}`, ref: 'refs/pull/1/merge' } },
  ]
  return parseReport({
    ...r,
    git: {
      ...r.git,
      ref: 'refs/pull/1/merge',
      branch: 'feat',
      base_branch: 'main',
      pr_number: 1,
      event_name: 'pull_request',
    },
    arms,
    paired: {
      order: 'counterbalanced',
      max_blocks: blocks.length,
      time_budget_s: null,
      stopped: 'budget',
      ...opts.paired,
    },
  })
}

/** A GitHub Actions CI identity (run id, attempt 1): what makes a re-post idempotent. */
export function ciIdentity(runId: number | string): NonNullable<Report['ci']> {
  return {
    provider: 'github',
    run_id: String(runId),
    run_attempt: 1,
    workflow: null,
    job: null,
    server_url: null,
  }
}
