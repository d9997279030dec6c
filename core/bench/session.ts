// One server under a plan: found and described (its model, engine), then, per scenario, its
// connections warmed and its trials run. A one-server benchmark (run.ts) and an A/B benchmark
// (ab.ts) are both loops over these; only the order of trials and the report around them differ.
import { randomInt } from 'node:crypto'
import { storable } from '../limits.ts'
import type { CiContext, Environment, GitContext, Load, Trial } from '../report.ts'
import { INFERGATE_VERSION } from '../version.ts'
import { StreamClient } from './client.ts'
import { displayUrl, type Endpoint, parseBaseUrl } from './endpoint.ts'
import { BenchError } from './errors.ts'
import { type GeneratorHealth, watchGenerator } from './health.ts'
import { AllFailing, FAIL_FAST_AFTER, runLoop } from './loops.ts'
import type { BenchPlan, PlannedScenario } from './plan.ts'
import type { Progress } from './progress.ts'
import type { TrialRecord } from './record.ts'
import { discoverServer, type ServerInfo } from './server-info.ts'
import { summarizeTrial } from './summary.ts'
import { LoadWorkers, promptIndex, splitShares, type WorkerRun, workersFor } from './workers.ts'
import { type DatasetEntry, loadDataset, Workload } from './workload.ts'

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

/**
 * The run's dataset (read now unless the caller already did) and its seed. A server that stays up
 * caches prompt prefixes: identical prompts in every run would make later runs look faster, so a
 * seed drawn per run (recorded) keeps them new; --seed pins it to reproduce a run.
 */
export function runInputs(
  plan: BenchPlan,
  context: BenchContext,
): { dataset?: DatasetEntry[]; seed: number } {
  const w = plan.workload
  return {
    dataset: context.dataset ?? (w.dataset ? loadDataset(w.dataset) : undefined),
    seed: w.seed ?? randomInt(2 ** 31),
  }
}

/** A server found, and the workload its requests are built from. */
export interface Server {
  endpoint: Endpoint
  info: ServerInfo
  workload: Workload
}

/**
 * Finds the server's model and engine. Its workload draws prompts from `seed` and an index, so
 * two servers given the same seed are sent the same prompts (what an A/B block compares).
 */
export async function openServer(
  plan: BenchPlan,
  target: BenchTarget,
  seed: number,
  dataset: DatasetEntry[] | undefined,
  progress: Progress,
  label = '',
): Promise<Server> {
  const w = plan.workload
  const { origin, basePath } = parseBaseUrl(target.url)
  const headers: Record<string, string> = { ...target.headers }
  if (target.apiKey) headers.authorization = `Bearer ${target.apiKey}`
  const endpoint: Endpoint = { origin, basePath, api: w.api, headers }
  const info = await discoverServer(endpoint, target.model)
  progress.info(
    `${label}benchmarking ${info.model} at ${displayUrl(endpoint)} (${w.api}; engine ${info.engine ?? 'unknown'}${info.engineVersion ? ` ${info.engineVersion}` : ''})`,
  )
  const workload = new Workload(
    {
      api: w.api,
      model: info.model,
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
  return { endpoint, info, workload }
}

/** The report's environment for a server measured under a plan. */
export function environmentOf(plan: BenchPlan, server: Server, context: BenchContext): Environment {
  return {
    model: server.info.model,
    engine: { name: plan.engine ?? server.info.engine, version: server.info.engineVersion },
    gpu: { model: plan.gpu.model, count: plan.gpu.count },
    endpoint: { url: displayUrl(server.endpoint), api: plan.workload.api },
    config: plan.config,
    client: {
      infergate_version: INFERGATE_VERSION,
      node_version: context.nodeVersion,
      // The host name is the user's: made storable here, so the report is never refused for it.
      platform: storable(context.platform, 100),
    },
  }
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

export interface TrialRun {
  /** The trial, or null when it was interrupted before any request completed. */
  trial: Trial | null
  /** The run was interrupted during this trial. */
  cut: boolean
  /** Prompts used (completed or failed): the next trial's prompts start after them. */
  used: number
}

/** One server × one scenario: its connections, warmed once, then its trials. */
export class ScenarioSession {
  // Fields, not parameter properties: Node runs this file by stripping types, which cannot.
  private readonly plan: BenchPlan
  readonly scenario: PlannedScenario
  private readonly progress: Progress
  private readonly signal: AbortSignal | undefined
  /** This thread's loop, or load workers (plan.workers > 1), made ready on first use. */
  private readonly load: Promise<LoadEngine>
  private readonly stop: { requests: number | null; duration_s: number | null; timeout_s: number }
  private readonly summaryCtx: Parameters<typeof summarizeTrial>[3]

  constructor(
    plan: BenchPlan,
    server: Server,
    scenario: PlannedScenario,
    progress: Progress,
    signal: AbortSignal | undefined,
  ) {
    this.plan = plan
    this.scenario = scenario
    this.progress = progress
    this.signal = signal
    const st = plan.stop
    this.load = loadEngine(plan, server, scenario.load, signal)
    // Until it is needed: a failure to start workers is the first warm-up's or trial's error.
    this.load.catch(() => {})
    this.stop = { requests: st.requests, duration_s: st.durationS, timeout_s: st.timeoutS }
    this.summaryCtx = { slo: plan.slo, gpus: plan.gpu.count, gpuHourlyCostUsd: plan.gpu.hourlyCostUsd }
  }

  /** Warm-up requests (prompts from `nextWarmupIndex`, never measured), then open-loop preconnects. */
  async warm(seed: number, nextWarmupIndex: () => number, label = this.scenario.name): Promise<void> {
    const { load } = this.scenario
    let warmupE2elS: number | null = null
    const warmup = warmupFor(this.plan.workload.warmup, load, this.plan.stop.requests)
    if (warmup.requests > 0) {
      this.progress.info(`${label}: ${warmup.requests} warmup requests`)
      const engine = await this.load
      const indices = Array.from({ length: warmup.requests }, nextWarmupIndex)
      const { record: warm } = await guarded(label, () =>
        engine.run({
          load: { mode: 'closed', concurrency: warmup.concurrency },
          stop: { ...this.stop, requests: warmup.requests, duration_s: null },
          seed,
          base: 0,
          indices,
          onProgress: () => {},
          signal: this.signal,
          // A failed warm-up request or two is no verdict on the server; the trial's own
          // check catches one that fails everything.
          failFastAfter: FAIL_FAST_AFTER,
        }),
      )
      let sum = 0
      let ok = 0
      for (let i = 0; i < warm.length; i++) {
        if (!warm.ok(i)) continue
        sum += warm.e2elMs[i]!
        ok++
      }
      if (ok) warmupE2elS = sum / ok / 1000
    }
    if (load.mode === 'open' && !this.signal?.aborted)
      await (await this.load).preconnect(preconnectCount(load, this.plan.stop.requests, warmupE2elS))
  }

  /** One trial: prompts from `promptBase` on, arrivals from `seed`. Throws when every request failed. */
  async trial(index: number, label: string, promptBase: number, seed: number): Promise<TrialRun> {
    const st = this.plan.stop
    this.progress.startTrial(label, st.requests, st.durationS)
    const startedAt = new Date()
    const engine = await this.load
    const health = watchGenerator()
    const { record: outcomes, health: loops } = await guarded(label, () =>
      engine.run({
        load: this.scenario.load,
        stop: this.stop,
        seed,
        base: promptBase,
        onProgress: (ok, failed) => {
          for (let i = 0; i < ok; i++) this.progress.request(true)
          for (let i = 0; i < failed; i++) this.progress.request(false)
        },
        signal: this.signal,
      }),
    ).catch((e) => {
      health()
      this.progress.endTrial('stopped')
      throw e
    })
    // The process's CPU, and the busiest loop: the workers', when they carried the load.
    const measured = health()
    const trial = summarizeTrial(index, startedAt, outcomes, this.summaryCtx, { ...measured, ...loops })
    trial.summary.generator_workers = engine.size
    const m = trial.summary
    const cut = this.signal?.aborted === true
    this.progress.endTrial(
      `${m.completed} ok, ${m.failed} failed in ${m.duration_s.toFixed(1)} s${cut ? ' (interrupted)' : ''}`,
    )
    if (cut) {
      // What was measured is kept, marked partial; a trial with nothing completed is dropped.
      if (m.completed === 0) return { trial: null, cut, used: outcomes.length }
      trial.warnings.push(`interrupted: the trial stopped after ${m.completed + m.failed} requests`)
      return { trial, cut, used: outcomes.length }
    }
    if (m.completed === 0) {
      const ex = trial.error_examples[0]
      throw new BenchError(`${label}: every request failed (${ex?.kind ?? 'unknown'}): ${ex?.message ?? ''}`)
    }
    return { trial, cut, used: outcomes.length }
  }

  async close(): Promise<void> {
    await (await this.load.catch(() => null))?.close()
  }
}

/** What carries a scenario's load: this thread's loop, or load workers (workers.ts). */
interface LoadEngine {
  readonly size: number
  /** The busiest loop's health is null when it is this thread's (the caller measures it). */
  run(r: WorkerRun): Promise<{ record: TrialRecord; health: Omit<GeneratorHealth, 'cpu'> | null }>
  preconnect(n: number): Promise<void>
  close(): Promise<void>
}

async function loadEngine(
  plan: BenchPlan,
  server: Server,
  load: Load,
  signal: AbortSignal | undefined,
): Promise<LoadEngine> {
  const timeoutMs = plan.stop.timeoutS * 1000
  const w = workersFor(load, plan.workers)
  if (w > 1) {
    const caps = connectionsFor(load)
    return LoadWorkers.start(w, (i) => ({
      endpoint: server.endpoint,
      timeoutMs,
      connections: caps === null ? null : splitShares(caps, w)[i]!,
      workload: server.workload.options,
      dataset: server.workload.entries,
    }))
  }
  const client = new StreamClient(server.endpoint, timeoutMs, connectionsFor(load))
  const cancel = () => client.cancel()
  signal?.addEventListener('abort', cancel)
  return {
    size: 1,
    run: async (r) => ({
      record: await runLoop({
        client,
        load: r.load,
        stop: r.stop,
        seed: r.seed,
        request: (n) => server.workload.request(promptIndex(r, n)),
        onOutcome: (o) => r.onProgress(o.ok ? 1 : 0, o.ok ? 0 : 1),
        signal: r.signal,
        failFastAfter: r.failFastAfter,
      }),
      health: null,
    }),
    preconnect: (n) => client.preconnect(n),
    close: async () => {
      signal?.removeEventListener('abort', cancel)
      await client.close()
    },
  }
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
