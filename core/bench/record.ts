// A trial's requests kept as columns of typed arrays, in the order they ended. A long run costs
// 57 bytes per request and 8 per inter-token gap (doubling arrays: at most twice that while
// growing), not an object per request and a JS array per stream: a million requests of 128
// tokens fit in about a gigabyte less. The report's samples are built from it once, at the end.
import type { ErrorKind, RequestOutcome } from './client.ts'

const OK = 1
const RETRIED = 2
const FROM_USAGE = 4

function grown<T extends Float64Array | Int32Array | Uint8Array>(a: T, need: number): T {
  if (need <= a.length) return a
  let n = Math.max(16, a.length)
  while (n < need) n *= 2
  const b = new (a.constructor as new (n: number) => T)(n)
  b.set(a)
  return b
}

/** A TrialRecord's contents as structured-clonable columns. */
export interface RecordColumns {
  length: number
  sentAt: Float64Array
  endedAt: Float64Array
  ttftMs: Float64Array
  e2elMs: Float64Array
  dispatchDelayMs: Float64Array
  inputTokens: Int32Array
  outputTokens: Int32Array
  flags: Uint8Array
  itlStart: Float64Array
  itl: Float64Array
  failures: [number, { kind: ErrorKind; message: string }][]
  unsent: number
}

export class TrialRecord {
  /** Requests recorded (completed and failed; cancelled ones are never recorded). */
  length = 0
  sentAt = new Float64Array(0)
  endedAt = new Float64Array(0)
  ttftMs = new Float64Array(0)
  e2elMs = new Float64Array(0)
  /** NaN where there is none (closed loop, or never sent). */
  dispatchDelayMs = new Float64Array(0)
  inputTokens = new Int32Array(0)
  outputTokens = new Int32Array(0)
  private flags = new Uint8Array(0)
  /** Request i's gaps are itl[itlStart[i] .. itlStart[i + 1]). */
  itlStart = new Float64Array(1)
  itl = new Float64Array(0)
  private itlLength = 0
  /** Failed requests: index → kind and the server's words (rare, so kept as objects). */
  readonly failures = new Map<number, { kind: ErrorKind; message: string }>()
  /** Requests due before the trial's deadline that never reached the wire by it (not recorded). */
  unsent = 0

  static of(outcomes: Iterable<RequestOutcome>): TrialRecord {
    const r = new TrialRecord()
    for (const o of outcomes) if (!o.cancelled) r.add(o)
    return r
  }

  add(o: RequestOutcome): void {
    const i = this.length++
    if (i >= this.sentAt.length) this.grow(i + 1)
    this.sentAt[i] = o.sentAt
    this.endedAt[i] = o.endedAt
    this.ttftMs[i] = o.ttftMs
    this.e2elMs[i] = o.e2elMs
    this.dispatchDelayMs[i] = o.dispatchDelayMs ?? Number.NaN
    this.inputTokens[i] = o.inputTokens
    this.outputTokens[i] = o.outputTokens
    this.flags[i] = (o.ok ? OK : 0) | (o.retried ? RETRIED : 0) | (o.tokensFromUsage ? FROM_USAGE : 0)
    const gaps = o.ok ? o.itlMs : []
    this.itl = grown(this.itl, this.itlLength + gaps.length)
    for (let k = 0; k < gaps.length; k++) this.itl[this.itlLength + k] = gaps[k]!
    this.itlLength += gaps.length
    this.itlStart = grown(this.itlStart, i + 2)
    this.itlStart[i + 1] = this.itlLength
    if (!o.ok && o.errorKind) this.failures.set(i, { kind: o.errorKind, message: o.errorMessage ?? '' })
  }

  /** The record as plain columns, cut to length, to post to another thread (buffers transferable). */
  toColumns(): RecordColumns {
    const n = this.length
    return {
      length: n,
      sentAt: this.sentAt.slice(0, n),
      endedAt: this.endedAt.slice(0, n),
      ttftMs: this.ttftMs.slice(0, n),
      e2elMs: this.e2elMs.slice(0, n),
      dispatchDelayMs: this.dispatchDelayMs.slice(0, n),
      inputTokens: this.inputTokens.slice(0, n),
      outputTokens: this.outputTokens.slice(0, n),
      flags: this.flags.slice(0, n),
      itlStart: this.itlStart.slice(0, n + 1),
      itl: this.itl.slice(0, this.itlLength),
      failures: [...this.failures],
      unsent: this.unsent,
    }
  }

  /**
   * Adds another thread's requests after these, its times moved by `shiftMs` onto this thread's
   * clock (the difference of the two threads' performance.timeOrigin).
   */
  append(c: RecordColumns, shiftMs: number): void {
    const base = this.length
    const need = base + c.length
    if (need > this.sentAt.length) this.grow(need)
    for (let k = 0; k < c.length; k++) {
      const i = base + k
      this.sentAt[i] = c.sentAt[k]! + shiftMs
      this.endedAt[i] = c.endedAt[k]! + shiftMs
      this.ttftMs[i] = c.ttftMs[k]!
      this.e2elMs[i] = c.e2elMs[k]!
      this.dispatchDelayMs[i] = c.dispatchDelayMs[k]!
      this.inputTokens[i] = c.inputTokens[k]!
      this.outputTokens[i] = c.outputTokens[k]!
      this.flags[i] = c.flags[k]!
    }
    this.itl = grown(this.itl, this.itlLength + c.itl.length)
    this.itl.set(c.itl, this.itlLength)
    this.itlStart = grown(this.itlStart, need + 1)
    for (let k = 1; k <= c.length; k++) this.itlStart[base + k] = this.itlLength + c.itlStart[k]!
    this.itlLength += c.itl.length
    for (const [k, f] of c.failures) this.failures.set(base + k, f)
    this.unsent += c.unsent
    this.length = need
  }

  private grow(need: number): void {
    this.sentAt = grown(this.sentAt, need)
    this.endedAt = grown(this.endedAt, need)
    this.ttftMs = grown(this.ttftMs, need)
    this.e2elMs = grown(this.e2elMs, need)
    this.dispatchDelayMs = grown(this.dispatchDelayMs, need)
    this.inputTokens = grown(this.inputTokens, need)
    this.outputTokens = grown(this.outputTokens, need)
    this.flags = grown(this.flags, need)
  }

  ok(i: number): boolean {
    return (this.flags[i]! & OK) !== 0
  }
  retried(i: number): boolean {
    return (this.flags[i]! & RETRIED) !== 0
  }
  tokensFromUsage(i: number): boolean {
    return (this.flags[i]! & FROM_USAGE) !== 0
  }
  /** Request i's inter-token gaps, a view (no copy). */
  gaps(i: number): Float64Array {
    return this.itl.subarray(this.itlStart[i]!, this.itlStart[i + 1]!)
  }
  dispatchDelay(i: number): number | null {
    const d = this.dispatchDelayMs[i]!
    return Number.isNaN(d) ? null : d
  }
}
