// AIPerf's profile export as an Infergate report: one run, one scenario, one trial. Written
// against ai-dynamo/aiperf at commit db4f6397d11ee2d4cfbb41f70b2327315163dcf0 (main,
// 2025-10-10, after v0.1.1), https://github.com/ai-dynamo/aiperf:
//   aiperf/exporters/json_exporter.py              profile_export_aiperf.json, the aggregates
//   aiperf/common/models/export_models.py          JsonExportData, JsonMetricResult {unit, avg, p1…p99, min, max, std}
//   aiperf/post_processors/record_export_results_processor.py   profile_export.jsonl, one MetricRecordInfo a line
//   docs/tutorials/working-with-profile-exports.md  both files' fields, with examples
//   aiperf/metrics/types/*.py                      each metric's tag, unit and display unit
// Both files hold display units, each value beside its `unit` (ms, sec, tokens, requests/sec),
// converted here by that unit. AIPerf's `inter_token_latency` is vLLM's TPOT ((E2EL − TTFT) /
// (output tokens − 1)) and its `inter_chunk_latency` the gaps between chunks, vLLM's ITL.
//
// The JSON alone is aggregates-only; with the JSONL (`profile_export.jsonl` beside it, or
// --requests FILE) the report holds every profiling-phase request.
import type { Load, Stop } from '../report.ts'
import {
  errorKind,
  Field,
  fromIsoTime,
  groupScenarios,
  ImportError,
  type ImportedFailure,
  type ImportedRequest,
  type LatencyStats,
  msPerUnit,
  NS_TO_MS,
  parseJson,
  parseJsonLines,
  placeholderColumns,
  trialFromAggregates,
  trialFromRequests,
  unionColumns,
} from './common.ts'
import type { FormatReader } from './index.ts'

export const AIPERF_JSON = 'profile_export_aiperf.json'
export const AIPERF_JSONL = 'profile_export.jsonl'

/** AIPerf's EndpointDefaults.TIMEOUT (aiperf/common/config/config_defaults.py). */
const DEFAULT_TIMEOUT_S = 600

export const readAiperf: FormatReader = (input, o) => {
  let file = input.name
  let json = input.json
  if (input.isDirectory) {
    const text = input.readText(AIPERF_JSON)
    if (text === null) throw new ImportError(`${input.name}: no ${AIPERF_JSON} in this directory`)
    file = `${input.name}/${AIPERF_JSON}`
    json = parseJson(file, text)
  }
  const root = new Field(file, json)
  root.object()
  const cfg = root.at('input_config')
  const endpoint = cfg.at('endpoint')
  const type = endpoint.at('type').optString()
  if (type !== null && type !== 'chat' && type !== 'completions') {
    endpoint.at('type').fail(`${type} is no completions or chat API (the ones Infergate compares)`)
  }
  const load = loadOf(cfg.at('loadgen'))
  const openLoop = load.mode === 'open'
  const measured = valueIn(root.at('benchmark_duration'), 'avg', 'sec')
  const durationS =
    measured !== null && measured > 0
      ? measured
      : root.at('benchmark_duration').fail('expected a positive duration')
  const completed = count(root.at('request_count'))
  const errorSummary = root.at('error_summary')
  const failures: ImportedFailure[] = errorSummary.present
    ? errorSummary.array().flatMap((e) => {
        const d = e.at('error_details')
        const message = d.at('message').optString() ?? ''
        const kind = errorKind(
          `${d.at('type').optString() ?? ''} ${message}`,
          d.at('code').optNumber({ int: true }),
        )
        return Array.from({ length: e.at('count').number({ int: true }) }, () => ({ kind, message }))
      })
    : []
  const failedCount = root.at('error_request_count').present
    ? count(root.at('error_request_count'))
    : failures.length
  if (failures.length !== failedCount) {
    failures.splice(
      0,
      failures.length,
      ...Array.from({ length: failedCount }, () => ({ kind: 'unknown', message: null })),
    )
  }
  const startedAt = fromIsoTime(root.at('start_time').optString()) ?? o.now
  // --benchmark-duration stops a run by time, else --request-count (default 10) by count.
  const runFor = cfg.at('loadgen').at('benchmark_duration').optNumber({ positive: true })
  const stop: Stop = {
    requests:
      runFor !== null
        ? null
        : (cfg.at('loadgen').at('request_count').optNumber({ int: true, positive: true }) ??
          completed + failedCount),
    duration_s: runFor,
    timeout_s: endpoint.at('timeout_seconds').optNumber({ positive: true }) ?? DEFAULT_TIMEOUT_S,
  }
  const seed = cfg.at('input').at('random_seed').optNumber({ int: true, min: Number.MIN_SAFE_INTEGER })
  const workload = {
    warmup_requests: cfg.at('loadgen').at('warmup_request_count').optNumber({ int: true }) ?? 0,
    ...(seed !== null ? { seed, seed_pinned: true } : {}),
  }
  const ctx = { index: 0, startedAt, openLoop, gpus: o.gpus, gpuHourlyCostUsd: o.gpuHourlyCostUsd }
  const base = {
    model: endpoint.at('model_names').present ? endpoint.at('model_names').at(0).optString() : null,
    api: type as 'chat' | 'completions' | null,
    url: endpoint.at('url').optString(),
    engine: { name: null, version: null },
    workload,
  }
  const jsonlText = input.requests ? input.readText(input.requests) : input.readText(AIPERF_JSONL)
  if (jsonlText === null) {
    const stats = (tag: string) => statsOf(root.at(tag))
    const trial = trialFromAggregates(
      {
        ...ctx,
        warnings: ['imported from AIPerf without profile_export.jsonl: latencies are AIPerf’s statistics'],
      },
      {
        durationS,
        completed,
        failures,
        totalInputTokens: Math.round(valueIn(root.at('total_isl'), 'avg', 'tokens') ?? 0),
        totalOutputTokens: Math.round(
          valueIn(root.at('total_output_tokens'), 'avg', 'tokens') ??
            valueIn(root.at('total_osl'), 'avg', 'tokens') ??
            0,
        ),
        requestGoodput: valueIn(root.at('goodput'), 'avg', 'requests/sec'),
        ttft: stats('time_to_first_token'),
        tpot: stats('inter_token_latency'),
        itl: stats('inter_chunk_latency'),
        e2el: stats('request_latency'),
      },
    )
    return {
      ...base,
      source: { tool: 'aiperf', version: null, samples: 'aggregate' },
      scenarios: groupScenarios([{ load, stop, trials: [trial] }]),
    }
  }

  const jsonlName = input.requests ?? `${input.isDirectory ? input.name : input.dir}/${AIPERF_JSONL}`
  const requests: ImportedRequest[] = []
  const recordFailures: ImportedFailure[] = []
  for (const { line, value } of parseJsonLines(jsonlName, jsonlText)) {
    const rec = new Field(`${jsonlName} line ${line}`, value)
    rec.object()
    const meta = rec.at('metadata')
    // Warm-up requests are recorded too (benchmark_phase warmup): not measured.
    if ((meta.at('benchmark_phase').optString() ?? 'profiling') !== 'profiling') continue
    const error = rec.at('error')
    if (error.present) {
      const message = error.at('message').optString() ?? ''
      recordFailures.push({
        kind: errorKind(
          `${error.at('type').optString() ?? ''} ${message}`,
          error.at('code').optNumber({ int: true }),
        ),
        message: message || null,
      })
      continue
    }
    const m = rec.at('metrics')
    m.object()
    const ms = (tag: string) => {
      const f = m.at(tag)
      return f.at('value').number() * msPerUnit(f.at('unit'))
    }
    const tokens = (tag: string, fallback?: string) => {
      const f = m.at(tag).present || !fallback ? m.at(tag) : m.at(fallback)
      return f.at('value').number({ int: true })
    }
    const chunks = m.at('inter_chunk_latency')
    const outputTokens = tokens('output_sequence_length', 'output_token_count')
    requests.push({
      startMs: meta.at('request_start_ns').number() * NS_TO_MS,
      ttftMs: ms('time_to_first_token'),
      e2elMs: ms('request_latency'),
      // One chunk: no gaps, and AIPerf records none.
      itlMs: chunks.present
        ? chunks
            .at('value')
            .array()
            .map((g) => g.number() * msPerUnit(chunks.at('unit')))
        : outputTokens <= 1
          ? []
          : null,
      inputTokens: tokens('input_sequence_length'),
      outputTokens,
    })
  }
  if (root.at('request_count').present && requests.length !== completed) {
    throw new ImportError(
      `${jsonlName}: ${requests.length} successful profiling records, but ${file} says request_count ${completed}: the files are of different runs`,
    )
  }
  const trial = trialFromRequests(ctx, requests, recordFailures, { durationS })
  const unrecorded = unionColumns([placeholderColumns(requests, openLoop)])
  return {
    ...base,
    source: { tool: 'aiperf', version: null, samples: 'per_request', ...(unrecorded ? { unrecorded } : {}) },
    scenarios: groupScenarios([{ load, stop, trials: [trial] }]),
  }
}

/** A JSON metric record's statistic converted to `want` (ms for times): null when absent. */
function valueIn(
  rec: Field,
  stat: string,
  want: 'ms' | 'sec' | 'tokens' | 'requests' | 'requests/sec',
): number | null {
  if (!rec.present) return null
  const v = rec.at(stat).optNumber()
  if (v === null) return null
  const unit = rec.at('unit').string()
  if (want === 'ms') return v * msPerUnit(rec.at('unit'))
  if (want === 'sec') return (v * msPerUnit(rec.at('unit'))) / 1000
  if (unit !== want) rec.at('unit').fail(`expected ${want}, got ${JSON.stringify(unit)}`)
  return v
}

function count(rec: Field): number {
  const v = valueIn(rec, 'avg', 'requests')
  if (v === null || !Number.isInteger(v) || v < 0)
    return rec.at('avg').fail(`expected a count of requests, got ${v}`)
  return v
}

/** AIPerf's statistics of one latency record, in ms; `avg` is its mean and `p50` its median. */
function statsOf(rec: Field): LatencyStats {
  if (!rec.present) return {}
  const get = (k: string) => valueIn(rec, k, 'ms')
  return {
    mean: get('avg'),
    median: get('p50'),
    std: get('std'),
    p90: get('p90'),
    p95: get('p95'),
    p99: get('p99'),
  }
}

/**
 * AIPerf's load (input_config.loadgen): --request-rate with --request-rate-mode constant or
 * poisson (capped by --concurrency if given), else --concurrency N (default 1): a closed loop.
 */
function loadOf(lg: Field): Load {
  const rate = lg.at('request_rate').optNumber({ positive: true })
  const concurrency = lg.at('concurrency').optNumber({ int: true, positive: true })
  if (rate === null) return { mode: 'closed', concurrency: concurrency ?? 1 }
  const mode = lg.at('request_rate_mode').optString() ?? 'poisson'
  if (mode !== 'constant' && mode !== 'poisson') {
    lg.at('request_rate_mode').fail(
      `expected constant or poisson with a request rate, got ${JSON.stringify(mode)}`,
    )
  }
  return {
    mode: 'open',
    rate,
    arrival: mode as 'constant' | 'poisson',
    burstiness: 1,
    schedule: 'drawn',
    max_concurrency: concurrency,
  }
}
