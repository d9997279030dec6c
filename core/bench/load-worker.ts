// A load worker: one thread with its own event loop, connections and part of a trial's load
// (core/bench/workers.ts hands out the parts and merges what comes back). Its loop is the one
// runLoop of a single-threaded run, so no metric is defined twice; only the share differs.
import { isMainThread, parentPort, workerData } from 'node:worker_threads'
import type { Load, Stop } from '../report.ts'
import { type RequestOutcome, StreamClient } from './client.ts'
import type { Endpoint } from './endpoint.ts'
import { type GeneratorHealth, watchGenerator } from './health.ts'
import { AllFailing, runLoop } from './loops.ts'
import type { RecordColumns } from './record.ts'
import { hrOffsetMs, promptIndex } from './workers.ts'
import { type DatasetEntry, Workload, type WorkloadOptions } from './workload.ts'

export interface WorkerInit {
  endpoint: Endpoint
  timeoutMs: number
  /** This worker's connection cap (its share of the scenario's), null: as many as it needs. */
  connections: number | null
  workload: WorkloadOptions
  dataset: DatasetEntry[] | undefined
}

export type ToWorker =
  | {
      type: 'run'
      id: number
      load: Load
      stop: Stop
      seed: number
      /** Request n is prompt base + n, or indices[n] (warm-up prompts, handed out by the caller). */
      base: number
      indices: number[] | null
      index: number
      of: number
      /** The common start on process.hrtime, in ms (workers.ts hrOffsetMs). */
      t0Hr: number
      /** Closed loop: the request counter all workers of the trial claim numbers from. */
      claim: SharedArrayBuffer
      failFastAfter?: number
    }
  | { type: 'preconnect'; id: number; n: number }
  | { type: 'cancel' }

export type FromWorker =
  | { type: 'ready'; hrOffsetMs: number }
  | { type: 'progress'; ok: number; failed: number }
  | { type: 'done'; id: number; columns: RecordColumns; health: GeneratorHealth }
  | { type: 'failed'; id: number; allFailing: RequestOutcome | null; message: string }
  | { type: 'preconnected'; id: number }

/** How often a worker reports its completed requests to the progress line. */
const PROGRESS_MS = 200

function serve(init: WorkerInit): void {
  const port = parentPort!
  const post = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer)
  const hrOffset = hrOffsetMs()
  const client = new StreamClient(init.endpoint, init.timeoutMs, init.connections)
  const workload = new Workload(init.workload, init.dataset)
  let abort = new AbortController()
  let ok = 0
  let failed = 0
  const flush = () => {
    if (ok + failed === 0) return
    post({ type: 'progress', ok, failed })
    ok = 0
    failed = 0
  }

  async function run(m: Extract<ToWorker, { type: 'run' }>): Promise<void> {
    abort = new AbortController()
    const claimed = new Int32Array(m.claim)
    const ticker = setInterval(flush, PROGRESS_MS)
    const health = watchGenerator()
    try {
      const rec = await runLoop({
        client,
        load: m.load,
        stop: m.stop,
        seed: m.seed,
        request: (n) => workload.request(promptIndex(m, n)),
        onOutcome: (r) => (r.ok ? ok++ : failed++),
        signal: abort.signal,
        failFastAfter: m.failFastAfter,
        share: {
          index: m.index,
          of: m.of,
          claim: () => Atomics.add(claimed, 0, 1),
          t0: m.t0Hr - hrOffset,
        },
      })
      flush()
      const columns = rec.toColumns()
      // Every column's buffer moves to the main thread rather than being copied.
      const buffers = Object.values(columns).flatMap((c) =>
        ArrayBuffer.isView(c) ? [c.buffer as ArrayBuffer] : [],
      )
      post({ type: 'done', id: m.id, columns, health: health() }, buffers)
    } catch (e) {
      health()
      flush()
      const allFailing = e instanceof AllFailing ? e.outcome : null
      post({ type: 'failed', id: m.id, allFailing, message: (e as Error).message ?? String(e) })
    } finally {
      clearInterval(ticker)
    }
  }

  port.on('message', (m: ToWorker) => {
    if (m.type === 'cancel') {
      abort.abort()
      client.cancel()
    } else if (m.type === 'run') void run(m)
    else if (m.type === 'preconnect')
      void client.preconnect(m.n).then(() => post({ type: 'preconnected', id: m.id }))
  })
  post({ type: 'ready', hrOffsetMs: hrOffset })
}

if (!isMainThread && (workerData as { infergateLoadWorker?: WorkerInit } | null)?.infergateLoadWorker) {
  serve((workerData as { infergateLoadWorker: WorkerInit }).infergateLoadWorker)
}
