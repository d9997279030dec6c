// Admission to the ingest's database work. Each ingest holds at most one pooled connection at a
// time; the gate keeps the number of ingests at work below the pool's size, so reads (and the
// outbox) always find a connection, and makes the rest wait in a bounded queue. A full queue, or
// a wait longer than the limit, is a fast and honest 503 with Retry-After (the Action's client
// retries it), never a request stuck until the pool's connection timeout says 500.
import { ApiError } from '../http.ts'

export interface GateSettings {
  /** Ingests at work at once. */
  concurrency: number
  /** Ingests that may wait for a turn. */
  queue: number
  /** The longest an ingest waits for its turn. */
  queueTimeoutMs: number
}

export interface IngestGate {
  run<T>(work: () => Promise<T>): Promise<T>
  readonly active: number
  readonly waiting: number
}

interface Waiter {
  start(): void
  timer: NodeJS.Timeout
}

export function createIngestGate(s: GateSettings): IngestGate {
  let active = 0
  const queue: Waiter[] = []
  // A moving average of an ingest's time, for a Retry-After that means something.
  let averageMs = 100

  const busy = (why: string) => {
    const wait = ((queue.length / s.concurrency + 1) * averageMs) / 1000
    const retryAfter = String(Math.min(60, Math.max(1, Math.ceil(wait))))
    return new ApiError(503, 'busy', `the service is at capacity (${why}); retry later`, null, {
      'retry-after': retryAfter,
    })
  }

  // The turn is handed over, not left free: a run() arriving before the woken waiter resumes
  // must not take it too.
  const next = () => {
    const w = queue.shift()
    if (!w) return
    clearTimeout(w.timer)
    active++
    w.start()
  }

  async function run<T>(work: () => Promise<T>): Promise<T> {
    if (active >= s.concurrency) {
      if (queue.length >= s.queue) throw busy(`${queue.length} ingests waiting`)
      await new Promise<void>((resolve, reject) => {
        const w: Waiter = {
          start: resolve,
          timer: setTimeout(() => {
            queue.splice(queue.indexOf(w), 1)
            reject(busy(`no turn within ${s.queueTimeoutMs} ms`))
          }, s.queueTimeoutMs),
        }
        queue.push(w)
      })
    } else active++
    const started = performance.now()
    try {
      return await work()
    } finally {
      averageMs = 0.9 * averageMs + 0.1 * (performance.now() - started)
      active--
      next()
    }
  }

  return {
    run,
    get active() {
      return active
    },
    get waiting() {
      return queue.length
    },
  }
}
