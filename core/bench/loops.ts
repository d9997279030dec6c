// The two load shapes. Closed loop: N workers, each sends its next request when the last one
// ends. Open loop: requests leave at planned times whatever the server does, so a slow server
// cannot slow the arrival clock (coordinated omission); the lag is recorded as dispatch delay.
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep, setImmediate as yieldToLoop } from 'node:timers/promises'
import type { Load, Stop } from '../report.ts'
import { arrivalSchedule } from './arrivals.ts'
import type { RequestOutcome, StreamClient } from './client.ts'
import { TrialRecord } from './record.ts'
import type { PreparedRequest } from './workload.ts'

export interface LoopContext {
  client: StreamClient
  load: Load
  stop: Stop
  seed: number
  /** The request to send as the n-th of this trial. */
  request(n: number): PreparedRequest
  onOutcome(r: RequestOutcome): void
  /** Aborted when the run is interrupted: no request is sent after it (the client cancels those in flight). */
  signal?: AbortSignal
  /** Requests that must all fail before the loop gives up (default: FAIL_FAST_AFTER, at most the trial's). */
  failFastAfter?: number
  /**
   * This loop's part of a trial spread over several load workers (core/bench/workers.ts). Closed
   * loop: its share of the concurrency, the request numbers claimed from a counter all of them
   * share. Open loop: the whole schedule is drawn by each, and this one sends requests n with
   * n mod `of` = `index`, from the common start `t0` (performance.now() of this thread).
   */
  share?: { index: number; of: number; claim?: () => number; t0?: number }
}

/** Stops a trial early when its first requests all fail: the run is misconfigured, not slow. */
export const FAIL_FAST_AFTER = 10

export class AllFailing extends Error {
  readonly outcome: RequestOutcome
  constructor(outcome: RequestOutcome) {
    super(outcome.errorMessage ?? 'request failed')
    this.outcome = outcome
  }
}

function failFastGuard(limit: number) {
  let seen = 0
  let anyOk = false
  return (r: RequestOutcome) => {
    seen++
    if (r.ok) anyOk = true
    if (!anyOk && seen >= limit) throw new AllFailing(r)
  }
}

/** Runs the trial's load; its requests come back as columns (record.ts), in the order they ended. */
export async function runLoop(ctx: LoopContext): Promise<TrialRecord> {
  const outcomes = new TrialRecord()
  const limit = ctx.failFastAfter ?? Math.min(FAIL_FAST_AFTER, ctx.stop.requests ?? FAIL_FAST_AFTER)
  const guard = failFastGuard(limit)
  let failure: AllFailing | null = null
  const record = (r: RequestOutcome) => {
    // Cut short by an interruption: not a measurement, and no sign the server is failing.
    if (r.cancelled) {
      if (r.unsent) outcomes.unsent++
      return
    }
    outcomes.add(r)
    ctx.onOutcome(r)
    try {
      guard(r)
    } catch (e) {
      failure ??= e as AllFailing
    }
  }
  const stopped = () => failure !== null || ctx.signal?.aborted === true
  const t0 = ctx.share?.t0 ?? performance.now()
  const deadline = ctx.stop.duration_s ? t0 + ctx.stop.duration_s * 1000 : Number.POSITIVE_INFINITY
  // Nothing reaches the wire after the deadline, whichever queue a request waited in.
  ctx.client.sendBy = deadline
  try {
    if (ctx.load.mode === 'closed') await closedLoop(ctx, ctx.load.concurrency, deadline, record, stopped)
    else await openLoop(ctx, ctx.load, t0, deadline, record, stopped, () => outcomes.unsent++)
  } finally {
    ctx.client.sendBy = Number.POSITIVE_INFINITY
  }
  if (failure) throw failure
  return outcomes
}

async function closedLoop(
  ctx: LoopContext,
  concurrency: number,
  deadline: number,
  record: (r: RequestOutcome) => void,
  aborted: () => boolean,
): Promise<void> {
  const { requests } = ctx.stop
  let issued = 0
  const claim = ctx.share?.claim ?? (() => issued++)
  const worker = async () => {
    for (;;) {
      if (aborted() || performance.now() >= deadline) return
      const n = claim()
      if (requests !== null && n >= requests) return
      record(await ctx.client.send(ctx.request(n), null))
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
}

const SPIN_MS = 3

/**
 * Sleeps on a timer until shortly before `target`, then yields to the event loop until it passes.
 * Returns early when `signal` aborts (an interrupted run must not wait for its next arrival).
 */
async function waitUntil(target: number, signal: AbortSignal | undefined): Promise<void> {
  const ahead = target - performance.now()
  // A sleeping process wakes late (timer granularity, scheduler latency on a busy machine): wake
  // a few ms early and finish by yielding to the event loop, which keeps serving streams meanwhile.
  if (ahead > SPIN_MS) await sleep(ahead - SPIN_MS, undefined, { signal }).catch(() => {})
  // At least one turn even when behind schedule (or at rate inf): responses must keep being
  // read, or their timestamps would be late and the loop would never see its deadline.
  do await yieldToLoop()
  while (performance.now() < target && !signal?.aborted)
}

async function openLoop(
  ctx: LoopContext,
  load: Extract<Load, { mode: 'open' }>,
  t0: number,
  deadline: number,
  record: (r: RequestOutcome) => void,
  aborted: () => boolean,
  unsent: () => void,
): Promise<void> {
  const { requests, duration_s } = ctx.stop
  // The schedule's length: the trial's requests, or what its duration holds at the rate if fewer.
  const fits =
    load.rate !== null && duration_s !== null ? Math.ceil(load.rate * duration_s) : Number.POSITIVE_INFINITY
  const length = Math.min(requests ?? Number.POSITIVE_INFINITY, fits)
  const next = arrivalSchedule(
    {
      rate: load.rate,
      arrival: load.arrival,
      burstiness: load.burstiness,
      exact: load.schedule === 'exact',
      seed: ctx.seed,
    },
    length,
  )
  const inflight = new Set<Promise<void>>()
  let waiting: (() => void) | null = null
  const of = ctx.share?.of ?? 1
  const mine = ctx.share?.index ?? 0
  // Arrivals of this loop due before the deadline that it could not send by then: counted
  // (the trial offered less than its rate), never sent late. An endless schedule (--rate inf
  // on --duration alone) has no count of what was due.
  const late = (from: number) => {
    if (!Number.isFinite(length)) return
    unsent()
    for (let n = from + 1; n < length; n++) {
      if (t0 + next() >= deadline) return
      if (n % of === mine) unsent()
    }
  }
  for (let n = 0; ; n++) {
    if (aborted() || (requests !== null && n >= requests)) break
    const offset = next()
    if (t0 + offset >= deadline) break
    if (n % of !== mine) continue
    const planned = t0 + offset
    if (performance.now() >= deadline) {
      late(n)
      break
    }
    // Build the request before its time comes, so only the send itself sits on the schedule.
    const request = ctx.request(n)
    await waitUntil(planned, ctx.signal)
    if (aborted()) break
    // --max-concurrency holds requests back; the wait shows up as dispatch delay, never hidden.
    while (load.max_concurrency !== null && inflight.size >= load.max_concurrency) {
      await new Promise<void>((resolve) => {
        waiting = resolve
      })
    }
    if (aborted()) break
    if (performance.now() >= deadline) {
      late(n)
      break
    }
    const p: Promise<void> = ctx.client.send(request, planned).then((r) => {
      inflight.delete(p)
      record(r)
      const w = waiting
      waiting = null
      w?.()
    })
    inflight.add(p)
  }
  await Promise.all(inflight)
}
