// A trial's requests → one trial of the report: samples, vLLM-style summary, errors by kind.
import type { Slo, Summary, Trial } from '../report.ts'
import { describe, sortInPlace } from '../stats.ts'
import type { RequestOutcome } from './client.ts'
import { type GeneratorHealth, healthWarning } from './health.ts'
import { TrialRecord } from './record.ts'

export interface SummaryContext {
  slo: Slo | null
  gpus: number | null
  gpuHourlyCostUsd: number | null
}

const round3 = (x: number) => Math.round(x * 1000) / 1000

function latencyStats(prefix: string, xs: ArrayLike<number>): Record<string, number | null> {
  const d = xs.length ? describe(xs) : null
  const out: Record<string, number | null> = {}
  for (const k of ['mean', 'median', 'std', 'p90', 'p95', 'p99'] as const) {
    out[`${k}_${prefix}_ms`] = d ? round3(d[k]) : null
  }
  return out
}

/** Every completed request's gaps, as the samples have them (rounded), in one array, sorted. */
function roundedGaps(rec: TrialRecord, ok: Uint32Array): Float64Array {
  let total = 0
  for (const i of ok) total += rec.gaps(i).length
  const out = new Float64Array(total)
  let k = 0
  for (const i of ok) for (const g of rec.gaps(i)) out[k++] = round3(g)
  // Sorted here, not copied to be sorted: at capacity this array is tens of MB.
  return sortInPlace(out)
}

/** Highest count of output tokens that arrived within any one wall-clock second of the trial (vLLM's bucketing). */
function maxTokensPerSecond(rec: TrialRecord, ok: Uint32Array, t0: number): number {
  const buckets = new Map<number, number>()
  const add = (at: number) => {
    const b = Math.floor((at - t0) / 1000)
    buckets.set(b, (buckets.get(b) ?? 0) + 1)
  }
  for (const i of ok) {
    let t = rec.sentAt[i]! + rec.ttftMs[i]!
    add(t)
    const gaps = rec.gaps(i)
    for (let k = 0; k < gaps.length; k++) {
      t += gaps[k]!
      add(t)
    }
  }
  let max = 0
  for (const v of buckets.values()) max = Math.max(max, v)
  return max
}

/** The most requests in flight at once; at a tie, one ending goes before one starting. */
function maxConcurrency(rec: TrialRecord): number {
  const starts = rec.sentAt.slice(0, rec.length).sort()
  const ends = rec.endedAt.slice(0, rec.length).sort()
  let cur = 0
  let max = 0
  for (let i = 0, j = 0; i < starts.length; ) {
    if (j < ends.length && ends[j]! <= starts[i]!) {
      cur--
      j++
    } else {
      cur++
      i++
      if (cur > max) max = cur
    }
  }
  return max
}

export function meetsSlo(ttftMs: number, e2elMs: number, tpot: number | null, slo: Slo): boolean {
  if (slo.ttft_ms !== undefined && ttftMs > slo.ttft_ms) return false
  if (slo.e2el_ms !== undefined && e2elMs > slo.e2el_ms) return false
  if (slo.tpot_ms !== undefined && tpot !== null && tpot > slo.tpot_ms) return false
  return true
}

/**
 * One trial of the report from its requests: a TrialRecord, or outcomes (tests and simulations
 * build those), whose cancelled ones (cut short by an interruption, never measured) are left out.
 */
export function summarizeTrial(
  index: number,
  startedAt: Date,
  requests: TrialRecord | RequestOutcome[],
  ctx: SummaryContext,
  /** How busy the generator was during the trial (watchGenerator); null when not measured. */
  health: GeneratorHealth | null = null,
): Trial {
  const rec = requests instanceof TrialRecord ? requests : TrialRecord.of(requests)
  const n = rec.length
  // Requests in the order they were sent (ties: the order they ended).
  const all = Uint32Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => rec.sentAt[a]! - rec.sentAt[b]! || a - b,
  )
  const ok = all.filter((i) => rec.ok(i))
  const failed = n - ok.length
  const t0 = n ? rec.sentAt[all[0]!]! : 0
  let tEnd = t0
  for (let i = 0; i < n; i++) tEnd = Math.max(tEnd, rec.endedAt[i]!)
  const durationS = (tEnd - t0) / 1000

  const okList = Array.from(ok)
  const tpot = okList.map((i) => {
    const out = rec.outputTokens[i]!
    return out > 1 ? (rec.e2elMs[i]! - rec.ttftMs[i]!) / (out - 1) : null
  })
  let openLoop = false
  for (let i = 0; i < n && !openLoop; i++) openLoop = rec.dispatchDelay(i) !== null
  const samples: Trial['samples'] = {
    start_ms: okList.map((i) => round3(rec.sentAt[i]! - t0)),
    ttft_ms: okList.map((i) => round3(rec.ttftMs[i]!)),
    tpot_ms: tpot.map((x) => (x === null ? null : round3(x))),
    e2el_ms: okList.map((i) => round3(rec.e2elMs[i]!)),
    itl_ms: okList.map((i) => Array.from(rec.gaps(i), round3)),
    input_tokens: okList.map((i) => rec.inputTokens[i]!),
    output_tokens: okList.map((i) => rec.outputTokens[i]!),
    dispatch_delay_ms: openLoop ? okList.map((i) => round3(rec.dispatchDelay(i) ?? 0)) : null,
  }

  const errors: Record<string, number> = {}
  const examples = new Map<string, string>()
  for (const i of all) {
    const f = rec.failures.get(i)
    if (!f) continue // only failed requests that have a kind are in failures
    errors[f.kind] = (errors[f.kind] ?? 0) + 1
    if (!examples.has(f.kind)) examples.set(f.kind, f.message)
  }

  const totalIn = samples.input_tokens.reduce((s, x) => s + x, 0)
  const totalOut = samples.output_tokens.reduce((s, x) => s + x, 0)
  const per = (x: number) => (durationS > 0 ? x / durationS : 0)
  const warnings: string[] = []

  let goodput: number | null = null
  let attainment: number | null = null
  const slo = ctx.slo
  if (slo) {
    // Completed requests meeting every SLO, counted once for attainment and goodput.
    const good = okList.filter((i, k) => meetsSlo(rec.ttftMs[i]!, rec.e2elMs[i]!, tpot[k]!, slo)).length
    // A failed request meets no SLO: attainment counts it as a miss.
    if (n) attainment = good / n
    // A goodput from mostly-failed runs flatters them (guidellm#979): report none instead.
    if (failed > ok.length) warnings.push(`no goodput: ${failed} of ${n} requests failed`)
    else goodput = per(good)
  }
  if (failed > 0) warnings.push(`${failed} of ${n} requests failed`)
  const fromUsage = okList.filter((i) => rec.tokensFromUsage(i)).length
  if (ok.length && fromUsage < ok.length) {
    warnings.push(
      `${ok.length - fromUsage} of ${ok.length} responses had no usage: output tokens counted from chunks (approximate)`,
    )
  }
  // Requests that failed before they could be sent have no dispatch delay; leave them out.
  // In the order sent: `all` is sorted by send time.
  const sent = openLoop ? all.filter((i) => rec.dispatchDelay(i) !== null) : new Uint32Array(0)
  const dispatch = Float64Array.from(sent, (i) => rec.dispatchDelayMs[i]!)
  const dd = dispatch.length ? describe(dispatch) : null
  const sendSpanS = sent.length > 1 ? (rec.sentAt[sent[sent.length - 1]!]! - rec.sentAt[sent[0]!]!) / 1000 : 0
  // One late arrival at the deadline's edge is the schedule's luck; 1 % is a trial short of its rate.
  if (rec.unsent > 0.01 * (n + rec.unsent)) {
    warnings.push(
      `${rec.unsent} of ${n + rec.unsent} requests due before the --duration deadline had not been sent by it (the generator or connection set-up fell behind) and were dropped: the server was offered less than --rate`,
    )
  }
  if (health) {
    const w = healthWarning(health, durationS)
    if (w) warnings.push(w)
  }
  const outputThroughput = per(totalOut)

  const summary: Summary = {
    completed: ok.length,
    failed,
    duration_s: Math.round(durationS * 1e6) / 1e6,
    total_input_tokens: totalIn,
    total_output_tokens: totalOut,
    request_throughput: per(ok.length),
    output_throughput: outputThroughput,
    total_token_throughput: per(totalIn + totalOut),
    max_output_tokens_per_s: maxTokensPerSecond(rec, ok, t0),
    max_concurrent_requests: maxConcurrency(rec),
    request_goodput: goodput,
    slo_attainment: attainment,
    output_throughput_per_gpu: ctx.gpus ? outputThroughput / ctx.gpus : null,
    cost_per_million_output_tokens:
      ctx.gpuHourlyCostUsd !== null && totalOut > 0
        ? (ctx.gpuHourlyCostUsd * (ctx.gpus ?? 1) * (durationS / 3600) * 1e6) / totalOut
        : null,
    ...latencyStats('ttft', samples.ttft_ms),
    ...latencyStats(
      'tpot',
      samples.tpot_ms.filter((x): x is number => x !== null),
    ),
    ...latencyStats('itl', roundedGaps(rec, ok)),
    ...latencyStats('e2el', samples.e2el_ms),
    mean_dispatch_delay_ms: dd ? round3(dd.mean) : null,
    p99_dispatch_delay_ms: dd ? round3(dd.p99) : null,
    max_dispatch_delay_ms: dd ? round3(dispatch.reduce((m, x) => Math.max(m, x), 0)) : null,
    retried_requests: all.filter((i) => rec.retried(i)).length,
    unsent_requests: rec.unsent,
    achieved_rate: openLoop ? (sendSpanS > 0 ? (sent.length - 1) / sendSpanS : null) : null,
    ...(health && {
      generator_busy: Math.min(1, Math.max(0, Math.round(health.busy * 1000) / 1000)),
      generator_lag_p99_ms: round3(health.lagP99Ms),
      generator_cpu: Math.round(health.cpu * 1000) / 1000,
    }),
  } as Summary

  return {
    index,
    started_at: startedAt.toISOString(),
    summary,
    samples,
    errors,
    error_examples: [...examples].map(([kind, message]) => ({ kind, message })),
    token_count_source: fromUsage === ok.length ? 'usage' : fromUsage === 0 ? 'chunks' : 'mixed',
    warnings,
  }
}
