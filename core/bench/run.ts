// A whole benchmark: preflight the server, then every scenario × trial, then the report.
import { hostname } from 'node:os'
import { ciContextFromEnv, gitContextFromEnv } from '../ci-context.ts'
import type { Arrival, GitContext, Load, Report, Scenario, Slo, TokenDistribution } from '../report.ts'
import { parseReport, REPORT_SCHEMA } from '../report.ts'
import { INFERGATE_VERSION } from '../version.ts'
import { StreamClient } from './client.ts'
import type { Api, Endpoint } from './endpoint.ts'
import { displayUrl, parseBaseUrl } from './endpoint.ts'
import { BenchError } from './errors.ts'
import { AllFailing, runLoop } from './loops.ts'
import type { Progress } from './progress.ts'
import { discoverServer } from './server-info.ts'
import { summarizeTrial } from './summary.ts'
import { loadDataset, Workload } from './workload.ts'

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
  seed: number
  warmup: number
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

export async function runBenchmark(o: BenchOptions, progress: Progress): Promise<Report> {
  const { origin, basePath } = parseBaseUrl(o.url)
  const headers: Record<string, string> = { ...o.headers }
  if (o.apiKey) headers.authorization = `Bearer ${o.apiKey}`
  const endpoint: Endpoint = { origin, basePath, api: o.api, headers }
  const dataset = o.dataset ? loadDataset(o.dataset) : undefined
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
      seed: o.seed,
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
  for (const { name, load } of scenarioLoads(o)) {
    const client = new StreamClient(endpoint, o.timeoutS * 1000, connectionsFor(load))
    try {
      let warmupE2elS: number | null = null
      if (o.warmup > 0) {
        const c = load.mode === 'closed' ? Math.min(load.concurrency, o.warmup) : Math.min(8, o.warmup)
        progress.info(`${name}: ${o.warmup} warmup requests`)
        const warm = await guarded(name, () =>
          runLoop({
            client,
            load: { mode: 'closed', concurrency: c },
            stop: { ...stop, requests: o.warmup, duration_s: null },
            seed: o.seed,
            request: () => workload.request(warmupIndex--),
            onOutcome: () => {},
          }),
        )
        const ok = warm.filter((r) => r.ok)
        if (ok.length) warmupE2elS = ok.reduce((sum, r) => sum + r.e2elMs, 0) / ok.length / 1000
      }
      if (load.mode === 'open') await client.preconnect(preconnectCount(load, o.requests, warmupE2elS))
      const trials = []
      for (let t = 0; t < o.trials; t++) {
        const label = o.trials > 1 ? `${name} trial ${t + 1}/${o.trials}` : name
        progress.startTrial(label, o.requests, o.durationS)
        const startedAt = new Date()
        const base = nextIndex
        const outcomes = await guarded(label, () =>
          runLoop({
            client,
            load,
            stop,
            seed: o.seed + t,
            request: (n) => workload.request(base + n),
            onOutcome: (r) => progress.request(r.ok),
          }),
        ).catch((e) => {
          progress.endTrial('stopped')
          throw e
        })
        nextIndex += outcomes.length
        const trial = summarizeTrial(t, startedAt, outcomes, summaryCtx)
        const m = trial.summary
        progress.endTrial(`${m.completed} ok, ${m.failed} failed in ${m.duration_s.toFixed(1)} s`)
        if (trial.summary.completed === 0) {
          const ex = trial.error_examples[0]
          throw new BenchError(
            `${label}: every request failed (${ex?.kind ?? 'unknown'}): ${ex?.message ?? ''}`,
          )
        }
        trials.push(trial)
      }
      scenarios.push({ name, load, stop, trials })
    } finally {
      await client.close()
    }
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
    scenarios,
  }
  // Never write a report the service would reject.
  return parseReport(report)
}

function platform(): string {
  return `${process.platform}-${process.arch} ${hostname()}`
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
