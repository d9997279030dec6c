// guidellm's benchmarks report (`guidellm run --output kind=json,path=x.json`, or before 0.7
// `guidellm benchmark --output-path x.json`) as an Infergate report: one trial per benchmark,
// benchmarks of the same load grouped as trials of one scenario. Written against guidellm
// v0.7.3 (vllm-project/guidellm, tag v0.7.3, metadata.version 2):
//   src/guidellm/benchmark/schemas/report.py     GenerativeBenchmarksReport {metadata, config, benchmarks}
//   src/guidellm/benchmark/schemas/benchmark.py  GenerativeBenchmark {config, scheduler_metrics, metrics, requests, duration…}
//   src/guidellm/benchmark/schemas/metrics.py    GenerativeMetrics (request_totals, time_to_first_token_ms, …)
//   src/guidellm/schemas/statistics.py           DistributionSummary {mean, median, std_dev, percentiles{p90,p95,p99…}, total_sum, max…}
//   src/guidellm/schemas/request_stats.py        GenerativeRequestStats (per request; computed fields dumped)
//   src/guidellm/scheduler/strategies.py         strategy type_: synchronous, concurrent, throughput, constant, poisson
// https://github.com/vllm-project/guidellm/tree/v0.7.3. v0.6.1's report (metadata.version 1,
// `args` instead of `config` at the top) has the same `benchmarks[]`, and reads the same.
//
// Units: `*_ms` fields are milliseconds; `request_latency` and every timestamp are SECONDS.
// guidellm's `inter_token_latency_ms` is vLLM's TPOT ((last token − first) / (tokens − 1)), and
// its `time_per_output_token_ms` includes TTFT (not vLLM's TPOT): see docs/import.md. guidellm
// keeps no per-token times, so imported requests have no inter-token gaps.
import type { Load, Stop } from '../report.ts'
import {
  errorKind,
  Field,
  fromUnixSeconds,
  groupScenarios,
  type ImportedFailure,
  type ImportedRequest,
  type ImportedScenario,
  type LatencyStats,
  placeholderColumns,
  S_TO_MS,
  trialFromAggregates,
  trialFromRequests,
  unionColumns,
} from './common.ts'
import type { FormatReader } from './index.ts'

/** guidellm's OpenAI HTTP backend has no read timeout unless --backend timeout= sets one; Infergate's default. */
const DEFAULT_TIMEOUT_S = 300

export const readGuidellm: FormatReader = (input, o) => {
  const root = new Field(input.name, input.json)
  root.object()
  const version = root.at('metadata').at('guidellm_version').optString()
  const schemaVersion = root.at('metadata').at('version').optNumber({ int: true })
  if (schemaVersion !== null && schemaVersion !== 1 && schemaVersion !== 2) {
    root
      .at('metadata')
      .at('version')
      .fail(`expected 1 or 2 (guidellm v0.6–v0.7 reports), got ${schemaVersion}`)
  }
  const benchmarks = root.at('benchmarks').array()
  if (benchmarks.length === 0) root.at('benchmarks').fail('expected at least one benchmark')
  const parts: ImportedScenario[] = []
  const placeholders: ReturnType<typeof placeholderColumns>[] = []
  let perRequest = true
  const fallbacks: string[] = []
  const read = benchmarks.map(readBenchmark)
  for (const r of read) {
    if (!r.requests) {
      perRequest = false
      fallbacks.push(r.why!)
    }
  }
  read.forEach((r, i) => {
    const ctx = {
      index: i,
      startedAt: r.startedAt ?? o.now,
      openLoop: r.load.mode === 'open',
      gpus: o.gpus,
      gpuHourlyCostUsd: o.gpuHourlyCostUsd,
      warnings: r.warnings,
    }
    // One benchmark without all its requests makes the whole report aggregates-only: the
    // detector compares a report's scenarios alike.
    const trial =
      perRequest && r.requests
        ? trialFromRequests(ctx, r.requests, r.failures, { durationS: r.durationS })
        : trialFromAggregates(
            { ...ctx, warnings: [...r.warnings, ...(r.why ? [r.why] : [])] },
            { ...r.aggregates, durationS: r.durationS, failures: r.failures },
          )
    if (perRequest && r.requests) placeholders.push(placeholderColumns(r.requests, ctx.openLoop))
    parts.push({ load: r.load, stop: r.stop, trials: [trial] })
  })
  const first = read[0]!
  const unrecorded = perRequest ? unionColumns(placeholders) : undefined
  return {
    source: {
      tool: 'guidellm',
      version,
      samples: perRequest ? 'per_request' : 'aggregate',
      ...(unrecorded ? { unrecorded } : {}),
    },
    model: first.model,
    api: first.api,
    url: first.url,
    engine: { name: null, version: null },
    platform: root.at('metadata').at('platform').optString(),
    scenarios: groupScenarios(parts),
  }
}

function readBenchmark(b: Field) {
  b.object()
  const type = b.at('type_').optString()
  if (type !== null && type !== 'generative_benchmark') {
    b.at('type_').fail(`expected generative_benchmark, got ${JSON.stringify(type)}`)
  }
  const config = b.at('config')
  config.object()
  const backend = config.at('backend')
  const format = backend.at('request_format').optString()
  let api: 'chat' | 'completions' | null = null
  if (format === '/v1/chat/completions') api = 'chat'
  else if (format === '/v1/completions') api = 'completions'
  else if (format !== null)
    backend.at('request_format').fail(`${format} is no completions or chat API (the ones Infergate compares)`)
  const timeout = backend.at('timeout').optNumber({ positive: true })
  const load = loadOf(config.at('strategy'))
  const sched = b.at('scheduler_metrics')
  const measureStart = sched.at('measure_start_time').number()
  const measureEnd = sched.at('measure_end_time').number()
  const durationS = b.at('duration').present ? b.at('duration').number() : measureEnd - measureStart
  const metrics = b.at('metrics')
  metrics.object()
  const totals = metrics.at('request_totals')
  const successful = totals.at('successful').number({ int: true })
  const errored = totals.at('errored').number({ int: true })
  const incomplete = totals.at('incomplete').optNumber({ int: true }) ?? 0
  const warnings: string[] = []
  if (incomplete > 0) {
    // Still running when the benchmark's time was up: Infergate leaves those out too.
    warnings.push(
      `${incomplete} requests were still running at the end (guidellm: incomplete) and are left out`,
    )
  }
  // The requests the benchmark made: what the report's stop records of an imported run (its
  // constraints, max_requests or max_duration, are kept as guidellm's own objects).
  const made = successful + errored + incomplete
  if (made === 0) totals.fail('expected at least one request (the benchmark made none)')
  const stop: Stop = { requests: made, duration_s: null, timeout_s: timeout ?? DEFAULT_TIMEOUT_S }

  // Requests inside the measured window, as guidellm's metrics take them (get_within_range):
  // ended after the window opened and started before it closed.
  const inWindow = (r: Field) => {
    const end = r.at('request_end_time').number()
    const start = r.at('request_start_time').optNumber()
    return end >= measureStart && (start !== null ? start <= measureEnd : end <= measureEnd)
  }
  const listed = (k: string) => {
    const f = b.at('requests').at(k)
    return f.present ? f.array().filter(inWindow) : []
  }
  const okList = listed('successful')
  const errList = listed('errored')
  const failures: ImportedFailure[] = errList.map((r) => {
    const message = r.at('info').at('error').optString() ?? ''
    return { kind: errorKind(message), message: message || null }
  })
  const aggregateFailures: ImportedFailure[] =
    errList.length === errored
      ? failures
      : Array.from({ length: errored }, () => ({ kind: 'unknown', message: null }))
  let requests: ImportedRequest[] | null = null
  let why: string | null = null
  if (okList.length === successful && errList.length === errored) {
    requests = okList.map((r) => ({
      startMs: r.at('request_start_time').number() * S_TO_MS,
      ttftMs: r.at('time_to_first_token_ms').number(),
      e2elMs: r.at('request_latency').number() * S_TO_MS,
      itlMs: null,
      inputTokens: r.at('prompt_tokens').number({ int: true }),
      outputTokens: r.at('output_tokens').number({ int: true }),
    }))
  } else {
    why = `guidellm kept ${okList.length} of ${successful} successful requests (sample_size): per-request samples left out, latencies are guidellm's statistics`
  }
  const dist = (k: string, scale = 1): LatencyStats => {
    // StatusDistributionSummary {successful, errored, incomplete, total}: the successful ones'.
    const f = metrics.at(k)
    if (!f.present) return {}
    f.object()
    const s = f.at('successful')
    if (!s.present) return {}
    s.object()
    const pct = s.at('percentiles')
    const get = (f: Field) => {
      const v = f.optNumber()
      return v === null ? null : v * scale
    }
    return {
      mean: get(s.at('mean')),
      median: get(s.at('median')),
      std: get(s.at('std_dev')),
      p90: get(pct.at('p90')),
      p95: get(pct.at('p95')),
      p99: get(pct.at('p99')),
    }
  }
  const tpot = dist('inter_token_latency_ms')
  const sum = (k: string) => {
    const f = metrics.at(k)
    if (f.present) f.object()
    return f.at('successful').at('total_sum').optNumber() ?? 0
  }
  const maxConcurrency = metrics.at('request_concurrency').at('successful').at('max').optNumber()
  return {
    load,
    stop,
    durationS,
    startedAt: fromUnixSeconds(b.at('start_time').optNumber() ?? measureStart),
    model: backend.at('model').optString() || null,
    url: backend.at('target').optString(),
    api,
    requests,
    failures,
    why,
    warnings,
    aggregates: {
      completed: successful,
      failures: aggregateFailures,
      totalInputTokens: Math.round(sum('prompt_token_count')),
      totalOutputTokens: Math.round(sum('output_token_count')),
      maxConcurrentRequests: maxConcurrency === null ? null : Math.round(maxConcurrency),
      ttft: dist('time_to_first_token_ms'),
      // Per request (last − first token) / (tokens − 1): vLLM's TPOT. guidellm weights each
      // request by its tokens − 1, which equals vLLM's unweighted statistics when answers are
      // of one length; its mean is also the pooled inter-token gap's mean (vLLM's mean ITL).
      tpot,
      itl: { mean: tpot.mean ?? null },
      e2el: dist('request_latency', S_TO_MS),
    },
  }
}

/** guidellm's scheduling strategy as the load `infergate bench` would run. */
function loadOf(s: Field): Load {
  const type = s.at('type_').string()
  const maxConcurrency = s.at('max_concurrency').optNumber({ int: true, positive: true })
  switch (type) {
    case 'synchronous':
      return { mode: 'closed', concurrency: 1 }
    case 'concurrent':
      return { mode: 'closed', concurrency: s.at('streams').number({ int: true, positive: true }) }
    case 'throughput':
      // As fast as possible up to a cap: with a cap, the closed loop at the cap.
      return maxConcurrency !== null
        ? { mode: 'closed', concurrency: maxConcurrency }
        : {
            mode: 'open',
            rate: null,
            arrival: 'poisson',
            burstiness: 1,
            schedule: 'exact',
            max_concurrency: null,
          }
    case 'constant':
    case 'poisson':
      return {
        mode: 'open',
        rate: s.at('rate').number({ positive: true }),
        arrival: type,
        burstiness: 1,
        schedule: 'drawn',
        max_concurrency: maxConcurrency,
      }
    default:
      return s
        .at('type_')
        .fail(
          `expected synchronous, concurrent, throughput, constant or poisson, got ${JSON.stringify(type)}`,
        )
  }
}
