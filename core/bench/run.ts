// A whole benchmark: preflight the server, then every scenario × trial, then the report.

import { randomInt } from 'node:crypto'
import { hostname } from 'node:os'
import { ciContextFromEnv, gitContextFromEnv } from '../ci-context.ts'
import { storable } from '../limits.ts'
import type { Arrival, GitContext, Load, Report, Scenario, Slo, TokenDistribution, Trial } from '../report.ts'
import { parseReport, REPORT_SCHEMA } from '../report.ts'
import { INFERGATE_VERSION } from '../version.ts'
import { StreamClient } from './client.ts'
import type { Api, Endpoint } from './endpoint.ts'
import { displayUrl, parseBaseUrl } from './endpoint.ts'
import { BenchError, Interrupted } from './errors.ts'
import { AllFailing, FAIL_FAST_AFTER, runLoop } from './loops.ts'
import type { Progress } from './progress.ts'
import { discoverServer } from './server-info.ts'
import { summarizeTrial } from './summary.ts'
import { type DatasetEntry, loadDataset, Workload } from './workload.ts'

export interface BenchOptions {
  name: string
  url: string
  api: Api
  model: string | null
  apiKey: string | null
  headers: Record<string, string>
  input: TokenDistribution
  output: TokenDistribution
  dataset: string | null
  ignoreEos: boolean
  /** null: drawn for this run, so its prompts are new to a server that stays up (prefix caches). */
  seed: number | null
  /** Requests before each scenario, or 'auto': one per connection the scenario uses. */
  warmup: number | 'auto'
  /** Closed-loop scenarios, one per level. */
  concurrency: number[]
  /** Open-loop scenarios, one per rate (null = all at once). */
  rates: (number | null)[]
  arrival: Arrival
  burstiness: number
  maxConcurrency: number | null
  requests: number | null
  durationS: number | null
  trials: number
  timeoutS: number
  slo: Slo | null
  gpus: number | null
  gpuModel: string | null
  gpuHourlyCostUsd: number | null
  engine: string | null
  /** Overrides of the git context read from GITHUB_* (for other CI systems and local runs). */
  git: Partial<GitContext>
  config: Record<string, unknown>
}

export function scenarioLoads(o: BenchOptions): { name: string; load: Load }[] {
  const closed = o.concurrency.map((c) => ({
    name: `concurrency-${c}`,
    load: { mode: 'closed', concurrency: c } as Load,
  }))
  const open = o.rates.map((rate) => {
    const shape =
      o.arrival === 'poisson' ? '' : o.arrival === 'gamma' ? `-gamma-${o.burstiness}` : '-constant'
    return {
      name: `rate-${rate ?? 'inf'}${rate === null ? '' : shape}`,
      load: {
        mode: 'open',
        rate,
        arrival: o.arrival,
        burstiness: o.burstiness,
        max_concurrency: o.maxConcurrency,
      } as Load,
    }
  })
  return [...closed, ...open]
}

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

export interface RunControls {
  /** Aborting it stops the run: what was measured so far becomes the report, marked interrupted. */
  signal?: AbortSignal
  /** The --dataset file already read and checked (the CLI does it up front, as bad input). */
  dataset?: DatasetEntry[]
}

export async function runBenchmark(
  o: BenchOptions,
  progress: Progress,
  controls: RunControls = {},
): Promise<Report> {
  const { origin, basePath } = parseBaseUrl(o.url)
  const headers: Record<string, string> = { ...o.headers }
  if (o.apiKey) headers.authorization = `Bearer ${o.apiKey}`
  const endpoint: Endpoint = { origin, basePath, api: o.api, headers }
  const dataset = controls.dataset ?? (o.dataset ? loadDataset(o.dataset) : undefined)
  const signal = controls.signal
  // A server that stays up caches prompt prefixes: identical prompts in every run would make later
  // runs look faster. A seed drawn per run (recorded) keeps them new; --seed pins it to reproduce.
  const seed = o.seed ?? randomInt(2 ** 31)
  const server = await discoverServer(endpoint, o.model)
  progress.info(
    `benchmarking ${server.model} at ${displayUrl(endpoint)} (${o.api}; engine ${server.engine ?? 'unknown'}${server.engineVersion ? ` ${server.engineVersion}` : ''})`,
  )
  const workload = new Workload(
    {
      api: o.api,
      model: server.model,
      input: o.input,
      output: o.output,
      ignoreEos: o.ignoreEos,
      seed,
      seedPinned: o.seed !== null,
      dataset: o.dataset,
      warmup: o.warmup,
    },
    dataset,
  )
  const stop = { requests: o.requests, duration_s: o.durationS, timeout_s: o.timeoutS }
  const summaryCtx = { slo: o.slo, gpus: o.gpus, gpuHourlyCostUsd: o.gpuHourlyCostUsd }
  const scenarios: Scenario[] = []
  // Every trial gets fresh prompts (a running index), so prefix caching never sees a repeat.
  let nextIndex = 0
  let warmupIndex = -1
  let interrupted = signal?.aborted === true
  for (const { name, load } of scenarioLoads(o)) {
    if (interrupted) break
    const client = new StreamClient(endpoint, o.timeoutS * 1000, connectionsFor(load))
    const cancel = () => client.cancel()
    signal?.addEventListener('abort', cancel)
    const trials: Trial[] = []
    try {
      let warmupE2elS: number | null = null
      const warmup = warmupFor(o.warmup, load, o.requests)
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
        await client.preconnect(preconnectCount(load, o.requests, warmupE2elS))
      for (let t = 0; t < o.trials && !signal?.aborted; t++) {
        const label = o.trials > 1 ? `${name} trial ${t + 1}/${o.trials}` : name
        progress.startTrial(label, o.requests, o.durationS)
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

  const git = { ...gitContextFromEnv(), ...definedOnly(o.git) }
  const report: Report = {
    schema: REPORT_SCHEMA,
    benchmark: o.name,
    created_at: new Date().toISOString(),
    git,
    ci: ciContextFromEnv(),
    environment: {
      model: server.model,
      engine: { name: o.engine ?? server.engine, version: server.engineVersion },
      gpu: { model: o.gpuModel, count: o.gpus },
      endpoint: { url: displayUrl(endpoint), api: o.api },
      config: o.config,
      client: { infergate_version: INFERGATE_VERSION, node_version: process.version, platform: platform() },
    },
    workload: workload.describe(),
    slo: o.slo,
    gpu_hourly_cost_usd: o.gpuHourlyCostUsd,
    ...(interrupted ? { interrupted: true } : {}),
    scenarios,
  }
  // Never write a report the service would reject.
  return parseReport(report)
}

function platform(): string {
  return storable(`${process.platform}-${process.arch} ${hostname()}`, 100)
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
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
