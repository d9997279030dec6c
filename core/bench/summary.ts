// Per-request outcomes → one trial of the report: samples, vLLM-style summary, errors by kind.
import type { Slo, Summary, Trial } from '../report.ts'
import { describe } from '../stats.ts'
import type { RequestOutcome } from './client.ts'
import { type GeneratorHealth, healthWarning } from './health.ts'

export interface SummaryContext {
  slo: Slo | null
  gpus: number | null
  gpuHourlyCostUsd: number | null
}

const round3 = (x: number) => Math.round(x * 1000) / 1000

function latencyStats(prefix: string, xs: number[]): Record<string, number | null> {
  const d = xs.length ? describe(xs) : null
  const out: Record<string, number | null> = {}
  for (const k of ['mean', 'median', 'std', 'p90', 'p95', 'p99'] as const) {
    out[`${k}_${prefix}_ms`] = d ? round3(d[k]) : null
  }
  return out
}

/** Highest count of output tokens that arrived within any one wall-clock second of the trial (vLLM's bucketing). */
function maxTokensPerSecond(ok: RequestOutcome[], t0: number): number {
  const buckets = new Map<number, number>()
  for (const r of ok) {
    let t = r.sentAt + r.ttftMs
    const add = (at: number) => {
      const b = Math.floor((at - t0) / 1000)
      buckets.set(b, (buckets.get(b) ?? 0) + 1)
    }
    add(t)
    for (const gap of r.itlMs) {
      t += gap
      add(t)
    }
  }
  let max = 0
  for (const v of buckets.values()) max = Math.max(max, v)
  return max
}

function maxConcurrency(all: RequestOutcome[]): number {
  const events: [number, number][] = []
  for (const r of all) events.push([r.sentAt, 1], [r.endedAt, -1])
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1])
  let cur = 0
  let max = 0
  for (const [, d] of events) {
    cur += d
    if (cur > max) max = cur
  }
  return max
}

export function meetsSlo(r: RequestOutcome, tpot: number | null, slo: Slo): boolean {
  if (slo.ttft_ms !== undefined && r.ttftMs > slo.ttft_ms) return false
  if (slo.e2el_ms !== undefined && r.e2elMs > slo.e2el_ms) return false
  if (slo.tpot_ms !== undefined && tpot !== null && tpot > slo.tpot_ms) return false
  return true
}

export function summarizeTrial(
  index: number,
  startedAt: Date,
  outcomes: RequestOutcome[],
  ctx: SummaryContext,
  /** How busy the generator was during the trial (watchGenerator); null when not measured. */
  health: GeneratorHealth | null = null,
): Trial {
  // A request cut short by an interruption was never measured: neither completed nor failed.
  const all = outcomes.filter((r) => !r.cancelled).sort((a, b) => a.sentAt - b.sentAt)
  const ok = all.filter((r) => r.ok)
  const failed = all.length - ok.length
  const t0 = all.length ? all[0]!.sentAt : 0
  const tEnd = all.reduce((m, r) => Math.max(m, r.endedAt), t0)
  const durationS = (tEnd - t0) / 1000

  const tpot = ok.map((r) => (r.outputTokens > 1 ? (r.e2elMs - r.ttftMs) / (r.outputTokens - 1) : null))
  const openLoop = all.some((r) => r.dispatchDelayMs !== null)
  const samples: Trial['samples'] = {
    start_ms: ok.map((r) => round3(r.sentAt - t0)),
    ttft_ms: ok.map((r) => round3(r.ttftMs)),
    tpot_ms: tpot.map((x) => (x === null ? null : round3(x))),
    e2el_ms: ok.map((r) => round3(r.e2elMs)),
    itl_ms: ok.map((r) => r.itlMs.map(round3)),
    input_tokens: ok.map((r) => r.inputTokens),
    output_tokens: ok.map((r) => r.outputTokens),
    dispatch_delay_ms: openLoop ? ok.map((r) => round3(r.dispatchDelayMs ?? 0)) : null,
  }

  const errors: Record<string, number> = {}
  const examples = new Map<string, string>()
  for (const r of all) {
    if (r.ok || !r.errorKind) continue
    errors[r.errorKind] = (errors[r.errorKind] ?? 0) + 1
    if (!examples.has(r.errorKind)) examples.set(r.errorKind, r.errorMessage ?? '')
  }

  const totalIn = ok.reduce((s, r) => s + r.inputTokens, 0)
  const totalOut = ok.reduce((s, r) => s + r.outputTokens, 0)
  const per = (x: number) => (durationS > 0 ? x / durationS : 0)
  const warnings: string[] = []

  let goodput: number | null = null
  let attainment: number | null = null
  if (ctx.slo && all.length) {
    // A failed request meets no SLO: attainment counts it as a miss.
    attainment = ok.filter((r, i) => meetsSlo(r, tpot[i]!, ctx.slo!)).length / all.length
  }
  if (ctx.slo) {
    // A goodput from mostly-failed runs flatters them (guidellm#979): report none instead.
    if (failed > ok.length) {
      warnings.push(`no goodput: ${failed} of ${all.length} requests failed`)
    } else {
      const good = ok.filter((r, i) => meetsSlo(r, tpot[i]!, ctx.slo!)).length
      goodput = per(good)
    }
  }
  if (failed > 0) warnings.push(`${failed} of ${all.length} requests failed`)
  const fromUsage = ok.filter((r) => r.tokensFromUsage).length
  if (ok.length && fromUsage < ok.length) {
    warnings.push(
      `${ok.length - fromUsage} of ${ok.length} responses had no usage: output tokens counted from chunks (approximate)`,
    )
  }
  // Requests that failed before they could be sent have no dispatch delay; leave them out.
  const dispatch = openLoop ? all.flatMap((r) => (r.dispatchDelayMs === null ? [] : [r.dispatchDelayMs])) : []
  const dd = dispatch.length ? describe(dispatch) : null
  // Sends in order: `all` is sorted by send time, and a request never sent has no dispatch delay.
  const sent = openLoop ? all.filter((r) => r.dispatchDelayMs !== null) : []
  const sendSpanS = sent.length > 1 ? (sent[sent.length - 1]!.sentAt - sent[0]!.sentAt) / 1000 : 0
  if (health) {
    const w = healthWarning(health)
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
    max_output_tokens_per_s: maxTokensPerSecond(ok, t0),
    max_concurrent_requests: maxConcurrency(all),
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
    ...latencyStats('itl', samples.itl_ms.flat()),
    ...latencyStats('e2el', samples.e2el_ms),
    mean_dispatch_delay_ms: dd ? round3(dd.mean) : null,
    p99_dispatch_delay_ms: dd ? round3(dd.p99) : null,
    max_dispatch_delay_ms: dd ? round3(dispatch.reduce((m, x) => Math.max(m, x), 0)) : null,
    retried_requests: all.filter((r) => r.retried).length,
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
