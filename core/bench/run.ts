// A whole benchmark: preflight the server, then every scenario × trial, then the report. What to
// run (the plan), where (the target) and what surrounds the run (the context: progress, git, CI,
// the host) come in apart: nothing here reads the environment, and a plan can meet two targets.

import { randomInt } from 'node:crypto'
import { storable } from '../limits.ts'
import type { CiContext, GitContext, Load, Report, Scenario, Trial } from '../report.ts'
import { parseReport, REPORT_SCHEMA } from '../report.ts'
import { INFERGATE_VERSION } from '../version.ts'
import { StreamClient } from './client.ts'
import type { Endpoint } from './endpoint.ts'
import { displayUrl, parseBaseUrl } from './endpoint.ts'
import { BenchError, Interrupted } from './errors.ts'
import { AllFailing, FAIL_FAST_AFTER, runLoop } from './loops.ts'
import { type BenchPlan, planScenarios } from './plan.ts'
import type { Progress } from './progress.ts'
import { discoverServer } from './server-info.ts'
import { summarizeTrial } from './summary.ts'
import { type DatasetEntry, loadDataset, Workload } from './workload.ts'

/** Connections an open-loop trial will want: rate × latency (from warmup, else 1 s), with headroom. */
function preconnectCount(
  load: Extract<Load, { mode: 'open' }>,
  requests: number | null,
  e2elS: number | null,
) {
  const want = load.rate === null ? (requests ?? 256) : Math.ceil(load.rate * (e2elS ?? 1) * 1.5)
  return Math.max(1, Math.min(want, load.max_concurrency ?? 512, requests ?? 512, 512))
}

function connectionsFor(load: Load): number | null {
  if (load.mode === 'closed') return load.concurrency
  return load.max_concurrency
}

/** Open loop, --warmup auto: requests warmed on real streams; preconnect opens the rest. */
const OPEN_LOOP_WARMUP = 8

/**
 * Warm-up requests before a scenario, and how many go at once. auto: one per connection the
 * scenario will use, all at once, so every connection is opened and has carried a stream before
 * the first measured request (else connection set-up and cold code paths land on the first TTFTs).
 */
export function warmupFor(
  warmup: number | 'auto',
  load: Load,
  requests: number | null,
): { requests: number; concurrency: number } {
  const cap = requests ?? Number.POSITIVE_INFINITY
  const width =
    load.mode === 'closed'
      ? load.concurrency
      : Math.min(OPEN_LOOP_WARMUP, load.max_concurrency ?? OPEN_LOOP_WARMUP)
  const n = warmup === 'auto' ? Math.min(width, cap) : warmup
  return { requests: n, concurrency: Math.max(1, Math.min(width, n)) }
}

/** The server a plan runs against. */
export interface BenchTarget {
  /** The OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1 or …/openai/v1. */
  url: string
  apiKey: string | null
  /** Extra request headers, names in lower case (Host: … behind an ingress). */
  headers: Record<string, string>
  /** The model to request; null: the first of GET /models. */
  model: string | null
}

/** What surrounds a run, read by the caller (the CLI, the Action) from wherever it lives. */
export interface BenchContext {
  progress: Progress
  /** Aborting it stops the run: what was measured so far becomes the report, marked interrupted. */
  signal?: AbortSignal
  /** The plan's dataset already read and checked (the CLI does it up front, as bad input). */
  dataset?: DatasetEntry[]
  /** The report's git identity, the plan's overrides already applied (withGitOverrides). */
  git: GitContext
  ci: CiContext | null
  /** `linux-x64 runner-7` (core/bench/host.ts). */
  platform: string
  nodeVersion: string
}

export async function runBenchmark(
  plan: BenchPlan,
  target: BenchTarget,
  context: BenchContext,
): Promise<Report> {
  const { workload: w, stop: st } = plan
  const { progress, signal } = context
  const { origin, basePath } = parseBaseUrl(target.url)
  const headers: Record<string, string> = { ...target.headers }
  if (target.apiKey) headers.authorization = `Bearer ${target.apiKey}`
  const endpoint: Endpoint = { origin, basePath, api: w.api, headers }
  const dataset = context.dataset ?? (w.dataset ? loadDataset(w.dataset) : undefined)
  // A server that stays up caches prompt prefixes: identical prompts in every run would make later
  // runs look faster. A seed drawn per run (recorded) keeps them new; --seed pins it to reproduce.
  const seed = w.seed ?? randomInt(2 ** 31)
  const server = await discoverServer(endpoint, target.model)
  progress.info(
    `benchmarking ${server.model} at ${displayUrl(endpoint)} (${w.api}; engine ${server.engine ?? 'unknown'}${server.engineVersion ? ` ${server.engineVersion}` : ''})`,
  )
  const workload = new Workload(
    {
      api: w.api,
      model: server.model,
      input: w.input,
      output: w.output,
      ignoreEos: w.ignoreEos,
      seed,
      seedPinned: w.seed !== null,
      dataset: w.dataset,
      warmup: w.warmup,
    },
    dataset,
  )
  const stop = { requests: st.requests, duration_s: st.durationS, timeout_s: st.timeoutS }
  const summaryCtx = { slo: plan.slo, gpus: plan.gpu.count, gpuHourlyCostUsd: plan.gpu.hourlyCostUsd }
  const scenarios: Scenario[] = []
  // Every trial gets fresh prompts (a running index), so prefix caching never sees a repeat.
  let nextIndex = 0
  let warmupIndex = -1
  let interrupted = signal?.aborted === true
  for (const { name, load } of planScenarios(plan)) {
    if (interrupted) break
    const client = new StreamClient(endpoint, st.timeoutS * 1000, connectionsFor(load))
    const cancel = () => client.cancel()
    signal?.addEventListener('abort', cancel)
    const trials: Trial[] = []
    try {
      let warmupE2elS: number | null = null
      const warmup = warmupFor(w.warmup, load, st.requests)
      if (warmup.requests > 0) {
        progress.info(`${name}: ${warmup.requests} warmup requests`)
        const warm = await guarded(name, () =>
          runLoop({
            client,
            load: { mode: 'closed', concurrency: warmup.concurrency },
            stop: { ...stop, requests: warmup.requests, duration_s: null },
            seed,
            request: () => workload.request(warmupIndex--),
            onOutcome: () => {},
            signal,
            // A failed warm-up request or two is no verdict on the server; the trial's own
            // check catches one that fails everything.
            failFastAfter: FAIL_FAST_AFTER,
          }),
        )
        const ok = warm.filter((r) => r.ok)
        if (ok.length) warmupE2elS = ok.reduce((sum, r) => sum + r.e2elMs, 0) / ok.length / 1000
      }
      if (load.mode === 'open' && !signal?.aborted)
        await client.preconnect(preconnectCount(load, st.requests, warmupE2elS))
      for (let t = 0; t < plan.trials && !signal?.aborted; t++) {
        const label = plan.trials > 1 ? `${name} trial ${t + 1}/${plan.trials}` : name
        progress.startTrial(label, st.requests, st.durationS)
        const startedAt = new Date()
        const base = nextIndex
        const outcomes = await guarded(label, () =>
          runLoop({
            client,
            load,
            stop,
            seed: seed + t,
            request: (n) => workload.request(base + n),
            onOutcome: (r) => progress.request(r.ok),
            signal,
          }),
        ).catch((e) => {
          progress.endTrial('stopped')
          throw e
        })
        nextIndex += outcomes.length
        const trial = summarizeTrial(t, startedAt, outcomes, summaryCtx)
        const m = trial.summary
        const cut = signal?.aborted === true
        progress.endTrial(
          `${m.completed} ok, ${m.failed} failed in ${m.duration_s.toFixed(1)} s${cut ? ' (interrupted)' : ''}`,
        )
        if (cut) {
          // What was measured is kept, marked partial; a trial with nothing completed is dropped.
          if (m.completed > 0) {
            trial.warnings.push(`interrupted: the trial stopped after ${m.completed + m.failed} requests`)
            trials.push(trial)
          }
          break
        }
        if (trial.summary.completed === 0) {
          const ex = trial.error_examples[0]
          throw new BenchError(
            `${label}: every request failed (${ex?.kind ?? 'unknown'}): ${ex?.message ?? ''}`,
          )
        }
        trials.push(trial)
      }
    } finally {
      signal?.removeEventListener('abort', cancel)
      await client.close()
    }
    if (trials.length) scenarios.push({ name, load, stop, trials })
    interrupted = signal?.aborted === true
  }
  if (interrupted && scenarios.length === 0) {
    throw new Interrupted('interrupted before any request completed: no report')
  }

  const report: Report = {
    schema: REPORT_SCHEMA,
    benchmark: plan.name,
    created_at: new Date().toISOString(),
    git: { ...context.git },
    ci: context.ci,
    environment: {
      model: server.model,
      engine: { name: plan.engine ?? server.engine, version: server.engineVersion },
      gpu: { model: plan.gpu.model, count: plan.gpu.count },
      endpoint: { url: displayUrl(endpoint), api: w.api },
      config: plan.config,
      client: {
        infergate_version: INFERGATE_VERSION,
        node_version: context.nodeVersion,
        // The host name is the user's: made storable here, so the report is never refused for it.
        platform: storable(context.platform, 100),
      },
    },
    workload: workload.describe(),
    slo: plan.slo,
    gpu_hourly_cost_usd: plan.gpu.hourlyCostUsd,
    ...(interrupted ? { interrupted: true } : {}),
    scenarios,
  }
  // Never write a report the service would reject.
  return parseReport(report)
}

/** Turns "the first requests all failed" into the one line that names the cause. */
async function guarded<T>(label: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f()
  } catch (e) {
    if (e instanceof AllFailing) {
      throw new BenchError(
        `${label}: the first requests all failed (${e.outcome.errorKind}): ${e.outcome.errorMessage}`,
      )
    }
    throw e
  }
}
