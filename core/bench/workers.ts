// Load generation across threads, so a run can use every core of the runner: each load worker
// (load-worker.ts) owns its share of the connections and of the schedule, and the trial is
// merged back into one TrialRecord on this thread's clock. Shares: a closed loop's concurrency
// is split (the request numbers come from one shared counter, so `--requests` still means the
// trial's total); an open loop's one arrival process is drawn whole by every worker, and worker
// i sends requests n with n mod W = i, at the same planned instants a single thread would use.
import { performance } from 'node:perf_hooks'
import { Worker } from 'node:worker_threads'
import type { Load, Stop } from '../report.ts'
import type { RequestOutcome } from './client.ts'
import type { GeneratorHealth } from './health.ts'
import type { FromWorker, ToWorker, WorkerInit } from './load-worker.ts'
import { AllFailing } from './loops.ts'
import { TrialRecord } from './record.ts'

/** Sources run the worker from its .ts file; the bundles ship it beside themselves as .js. */
const WORKER_URL = import.meta.url.endsWith('.ts')
  ? new URL('./load-worker.ts', import.meta.url)
  : new URL('./load-worker.js', import.meta.url)

/**
 * process.hrtime (one monotonic clock for every thread of the process) minus this thread's
 * performance.now(). Times cross between threads on hrtime, so the merge does not rest on every
 * thread's performance.now() sharing one origin (in Node 24 they do, within 0.01 ms).
 */
export function hrOffsetMs(): number {
  const a = performance.now()
  const h = Number(process.hrtime.bigint()) / 1e6
  const b = performance.now()
  return h - (a + b) / 2
}

/**
 * The prompt of a run's request n: base + n, or the n-th of the warm-up's indices. One rule for
 * this thread's loop and the workers', so request n carries the same prompt on either.
 */
export function promptIndex(r: { base: number; indices?: number[] | null }, n: number): number {
  return r.indices ? r.indices[n]! : r.base + n
}

/** The schedule starts this long after it is handed out, so no worker begins late. */
const START_AHEAD_MS = 20
/**
 * Each worker's young generation. V8 sizes it as three semi-spaces, so this is the 8 MiB
 * semi-space the CLI's bin flag (--max-semi-space-size=8) gives its main thread; left alone, a
 * worker's new space grows to 64 MiB under a stream of chunks (measured, Node 24).
 */
const WORKER_YOUNG_GENERATION_MB = 24

/** n split W ways: the first n mod W parts get one more. */
export function splitShares(n: number, w: number): number[] {
  return Array.from({ length: w }, (_, i) => Math.floor(n / w) + (i < n % w ? 1 : 0))
}

/** How many workers a load can use: never more than it has connections to share out. */
export function workersFor(load: Load, wanted: number): number {
  const cap = load.mode === 'closed' ? load.concurrency : (load.max_concurrency ?? Number.POSITIVE_INFINITY)
  return Math.max(1, Math.min(wanted, cap))
}

/** Worker i's part of the load. */
function shareOf(load: Load, i: number, w: number): Load {
  if (load.mode === 'closed') return { ...load, concurrency: splitShares(load.concurrency, w)[i]! }
  if (load.max_concurrency === null) return load
  return { ...load, max_concurrency: splitShares(load.max_concurrency, w)[i]! }
}

interface Member {
  worker: Worker
  /** This thread's clock minus the worker's: add to the worker's times. */
  shiftMs: number
}

export interface WorkerRun {
  load: Load
  stop: Stop
  seed: number
  base: number
  indices?: number[]
  failFastAfter?: number
  onProgress(ok: number, failed: number): void
  signal?: AbortSignal
}

export class LoadWorkers {
  private readonly members: Member[]
  private nextId = 0
  private readonly pending = new Map<number, { left: number; done: (m: FromWorker, from: Member) => void }>()
  private onProgress: ((ok: number, failed: number) => void) | null = null
  private fault: Error | null = null

  private constructor(members: Member[]) {
    this.members = members
    for (const m of members) {
      m.worker.on('message', (msg: FromWorker) => this.receive(msg, m))
      m.worker.on('error', (e) => this.crash(e))
      m.worker.on('exit', (code) => {
        if (code !== 0) this.crash(new Error(`a load worker exited with code ${code}`))
      })
    }
  }

  /** Starts `count` workers (each with `init` and its share of the connections). */
  static async start(count: number, init: (i: number) => WorkerInit): Promise<LoadWorkers> {
    const members = await Promise.all(
      Array.from(
        { length: count },
        (_, i) =>
          new Promise<Member>((resolve, reject) => {
            const worker = new Worker(WORKER_URL, {
              workerData: { infergateLoadWorker: init(i) },
              resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
            })
            worker.once('error', reject)
            worker.once('message', (m: FromWorker) => {
              worker.off('error', reject)
              if (m.type !== 'ready') return reject(new Error(`a load worker said ${m.type} first`))
              resolve({ worker, shiftMs: m.hrOffsetMs - hrOffsetMs() })
            })
          }),
      ),
    )
    return new LoadWorkers(members)
  }

  get size(): number {
    return this.members.length
  }

  private receive(msg: FromWorker, from: Member): void {
    if (msg.type === 'ready') return
    if (msg.type === 'progress') {
      this.onProgress?.(msg.ok, msg.failed)
      return
    }
    this.pending.get(msg.id)?.done(msg, from)
  }

  private crash(e: Error): void {
    this.fault ??= e
    for (const p of this.pending.values())
      p.done({ type: 'failed', id: -1, allFailing: null, message: e.message }, this.members[0]!)
  }

  /** Sends one message to every worker (each its own, by index) and waits for every answer. */
  private all(
    make: (i: number, id: number) => ToWorker,
    each: (m: FromWorker, from: Member) => void,
  ): Promise<void> {
    if (this.fault) return Promise.reject(this.fault)
    const id = this.nextId++
    return new Promise((resolve) => {
      this.pending.set(id, {
        left: this.members.length,
        done: (m, from) => {
          each(m, from)
          const p = this.pending.get(id)
          if (!p) return
          if (--p.left === 0 || ('id' in m && m.id === -1)) {
            this.pending.delete(id)
            resolve()
          }
        },
      })
      this.members.forEach((m, i) => {
        m.worker.postMessage(make(i, id))
      })
    })
  }

  async preconnect(n: number): Promise<void> {
    const shares = splitShares(n, this.members.length)
    await this.all(
      (i, id) => ({ type: 'preconnect', id, n: shares[i]! }),
      () => {},
    )
  }

  /** One trial (or warm-up) across the workers: their records merged, the busiest loop's health. */
  async run(r: WorkerRun): Promise<{ record: TrialRecord; health: Omit<GeneratorHealth, 'cpu'> }> {
    const w = this.members.length
    const claim = new SharedArrayBuffer(4)
    const t0Hr = hrOffsetMs() + performance.now() + START_AHEAD_MS
    const record = new TrialRecord()
    const health = { busy: 0, lagP99Ms: 0 }
    let allFailing: RequestOutcome | null = null
    let failure: string | null = null
    const cancel = () => {
      for (const m of this.members) m.worker.postMessage({ type: 'cancel' } satisfies ToWorker)
    }
    r.signal?.addEventListener('abort', cancel)
    this.onProgress = r.onProgress
    try {
      await this.all(
        (i, id) => ({
          type: 'run',
          id,
          load: shareOf(r.load, i, w),
          stop: r.stop,
          seed: r.seed,
          base: r.base,
          indices: r.indices ?? null,
          index: i,
          of: w,
          t0Hr,
          claim,
          failFastAfter: r.failFastAfter,
        }),
        (m, from) => {
          if (m.type === 'done') {
            record.append(m.columns, from.shiftMs)
            health.busy = Math.max(health.busy, m.health.busy)
            health.lagP99Ms = Math.max(health.lagP99Ms, m.health.lagP99Ms)
          } else if (m.type === 'failed') {
            // One worker's loop gave up: the others stop too, as one loop would have.
            if (m.allFailing) allFailing ??= m.allFailing
            else failure ??= m.message
            cancel()
          }
        },
      )
    } finally {
      r.signal?.removeEventListener('abort', cancel)
      this.onProgress = null
    }
    if (failure) throw new Error(`load worker: ${failure}`)
    if (allFailing) throw new AllFailing(allFailing)
    return { record, health }
  }

  async close(): Promise<void> {
    await Promise.all(this.members.map((m) => m.worker.terminate()))
  }
}
