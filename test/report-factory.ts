// Reports made in memory with known distributions, for the detector's tests: each trial's
// latencies are lognormal around a median you choose.

import type { RequestOutcome } from '../core/bench/client.ts'
import { summarizeTrial } from '../core/bench/summary.ts'
import { parseReport, REPORT_SCHEMA, type Report } from '../core/report.ts'
import { Rng } from '../core/rng.ts'

export interface TrialSpec {
  ttft?: number
  tpot?: number
  requests?: number
  outputTokens?: number
  sigma?: number
  failed?: number
}

export function makeReport(
  seed: number,
  trials: TrialSpec[],
  opts: { benchmark?: string; engineVersion?: string; scenario?: string } = {},
): Report {
  const rng = new Rng(seed)
  const made = trials.map((spec, index) => {
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
      free[w] = start + ttft + tpot * (out - 1)
      outcomes.push({
        sentAt: start,
        endedAt: start + ttft + tpot * (out - 1),
        dispatchDelayMs: null,
        ok: true,
        ttftMs: ttft,
        e2elMs: ttft + tpot * (out - 1),
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
    return summarizeTrial(index, new Date('2026-11-01T00:00:00Z'), outcomes, {
      slo: null,
      gpus: 1,
      gpuHourlyCostUsd: null,
    })
  })
  return parseReport({
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
    environment: {
      model: 'm',
      engine: { name: 'vllm', version: opts.engineVersion ?? '0.11.0' },
      gpu: { model: 'NVIDIA-L4', count: 1 },
      endpoint: { url: 'http://127.0.0.1:8000/v1', api: 'completions' },
      config: {},
      client: { infergate_version: '0.1.0', node_version: 'v24', platform: 'test' },
    },
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
        trials: made,
      },
    ],
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
