// vLLM's `vllm bench serve --save-result` JSON as an Infergate report: one run, one scenario,
// one trial. Written against vllm/benchmarks/serve.py of vllm-project/vllm at commit
// 009e6d4a1cd6ba3fb2a9fc00f4ec06f5297232a1 (main, read 2026; the `benchmark()` result dict and
// `main_async`'s result_json), https://github.com/vllm-project/vllm/blob/main/vllm/benchmarks/serve.py.
// The fields read are the same in the v0.11 line (docs.vllm.ai/en/v0.11.0/api/vllm/benchmarks/serve.html),
// except those added since, which are optional here: `failed`, `start_times`, `latencies`,
// `queue_times`.
//
// Units: vLLM keeps per-request times in SECONDS (`ttfts`, `itls`, `latencies`, `start_times`,
// `queue_times`) and its aggregates in milliseconds (`mean_ttft_ms`, …). With --save-detailed the
// per-request arrays hold every request sent, failed ones included (error non-empty, ttft 0);
// without it only the aggregates remain, so the report is aggregates-only.

import type { Load, Stop } from '../report.ts'
import {
  errorKind,
  Field,
  fromIsoTime,
  groupScenarios,
  type ImportedFailure,
  type ImportedRequest,
  type ImportedRun,
  type LatencyStats,
  placeholderColumns,
  S_TO_MS,
  trialFromAggregates,
  trialFromRequests,
  unionColumns,
  unknownFailures,
} from './common.ts'
import type { FormatReader } from './index.ts'

/** vLLM's client gives each request aiohttp's ClientTimeout(total=6 h) (serve.py, benchmark()). */
const VLLM_TIMEOUT_S = 6 * 60 * 60

/** The arrays --save-detailed adds, one entry per request sent (serve.py: `if not args.save_detailed`). */
const DETAILED = ['input_lens', 'output_lens', 'ttfts', 'itls', 'errors'] as const

export const readVllm: FormatReader = (input, o) => {
  const root = new Field(input.name, input.json)
  root.object()
  if (root.at('ramp_up_strategy').present) {
    root.at('ramp_up_strategy').fail('a ramp-up run has no single load to compare; import runs at one rate')
  }
  const durationS = root.at('duration').number({ positive: true })
  const completed = root.at('completed').number({ int: true })
  const numPrompts = root.at('num_prompts').optNumber({ int: true, positive: true })
  // `failed` joined the result after v0.11.0 (it is in v0.15.0's); before, every prompt not
  // completed had failed (vLLM sends all of them).
  const failedField = root.at('failed')
  const failedCount = failedField.present
    ? failedField.number({ int: true })
    : numPrompts !== null
      ? Math.max(0, numPrompts - completed)
      : 0
  const load = loadOf(root)
  const stop: Stop = {
    requests: numPrompts ?? completed + failedCount,
    duration_s: null,
    timeout_s: VLLM_TIMEOUT_S,
  }
  const openLoop = load.mode === 'open'
  const startedAt = startOf(root) ?? o.now
  const detailed = root.at('ttfts').present
  const ctx = { index: 0, startedAt, openLoop, gpus: o.gpus, gpuHourlyCostUsd: o.gpuHourlyCostUsd }
  const totals = {
    durationS,
    maxOutputTokensPerS: root.at('max_output_tokens_per_s').optNumber(),
    maxConcurrentRequests: root.at('max_concurrent_requests').optNumber({ int: true }),
    requestGoodput: root.at('request_goodput').optNumber(),
  }
  const backend = root.at('backend').optString() ?? root.at('endpoint_type').optString()
  const base: Omit<ImportedRun, 'source' | 'scenarios'> = {
    model: root.at('model_id').optString(),
    // vLLM's chat backends are named openai-chat (and vllm-chat in later versions).
    api: backend ? (/chat/.test(backend) ? 'chat' : 'completions') : null,
    url: null,
    engine: { name: null, version: null },
  }
  if (!detailed) {
    const trial = trialFromAggregates(
      {
        ...ctx,
        warnings: [
          'imported from vllm bench serve without --save-detailed: latencies are vLLM’s own statistics, no per-request samples',
        ],
      },
      {
        ...totals,
        completed,
        failures: unknownFailures(failedCount),
        totalInputTokens: root.at('total_input_tokens').number({ int: true }),
        totalOutputTokens: root.at('total_output_tokens').number({ int: true }),
        ttft: statsOf(root, 'ttft'),
        tpot: statsOf(root, 'tpot'),
        itl: statsOf(root, 'itl'),
        e2el: statsOf(root, 'e2el'),
      },
    )
    return {
      ...base,
      source: { tool: 'vllm', version: null, samples: 'aggregate' },
      scenarios: groupScenarios([{ load, stop, trials: [trial] }]),
    }
  }

  const cols = Object.fromEntries(DETAILED.map((k) => [k, root.at(k).array()])) as Record<
    (typeof DETAILED)[number],
    Field[]
  >
  const n = cols.ttfts.length
  const optional = (k: string) => {
    const f = root.at(k)
    return f.present ? f.array() : null
  }
  const latencies = optional('latencies')
  const starts = optional('start_times')
  const queues = optional('queue_times')
  for (const [k, col] of [
    ...Object.entries(cols),
    ['latencies', latencies],
    ['start_times', starts],
  ] as const) {
    if (col && col.length !== n) {
      root.at(k).fail(`expected ${n} entries (one per request sent, like ttfts), got ${col.length}`)
    }
  }
  const requests: ImportedRequest[] = []
  const failures: ImportedFailure[] = []
  for (let i = 0; i < n; i++) {
    const error = cols.errors[i]!.string()
    if (error !== '') {
      failures.push({ kind: errorKind(error), message: error })
      continue
    }
    const ttftMs = cols.ttfts[i]!.number() * S_TO_MS
    const itlMs = cols.itls[i]!.array().map((g) => g.number() * S_TO_MS)
    // Without `latencies` (before it was saved), E2EL is TTFT + the gaps, as vLLM's own
    // timeline plot computes it: the stream's closing [DONE] is a few ms later.
    const e2elMs = latencies ? latencies[i]!.number() * S_TO_MS : ttftMs + itlMs.reduce((a, b) => a + b, 0)
    requests.push({
      startMs: starts ? starts[i]!.number() * S_TO_MS : null,
      ttftMs,
      e2elMs,
      itlMs,
      inputTokens: cols.input_lens[i]!.number({ int: true }),
      outputTokens: cols.output_lens[i]!.number({ int: true }),
      // queue_times: the time a request waited for --max-concurrency's semaphore after its
      // arrival (serve.py, limited_request_func): what the report calls its dispatch delay.
      dispatchDelayMs: openLoop && queues && queues.length === n ? queues[i]!.number() * S_TO_MS : null,
    })
  }
  if (requests.length !== completed) {
    root
      .at('errors')
      .fail(
        `${requests.length} of ${n} requests have no error, but completed says ${completed}: the per-request arrays do not belong to this result`,
      )
  }
  const notes = latencies
    ? []
    : ['E2EL is TTFT plus the inter-token gaps (this vLLM version saves no per-request latencies)']
  const trial = trialFromRequests({ ...ctx, warnings: notes }, requests, failures, totals)
  return {
    ...base,
    source: {
      tool: 'vllm',
      version: null,
      samples: 'per_request',
      ...withUnrecorded(unionColumns([placeholderColumns(requests, openLoop)])),
    },
    scenarios: groupScenarios([{ load, stop, trials: [trial] }]),
  }
}

function withUnrecorded(cols: ReturnType<typeof unionColumns>) {
  return cols ? { unrecorded: cols } : {}
}

/**
 * vLLM's load: a request rate (or `inf`, all at once) with an optional --max-concurrency cap,
 * and burstiness (1: Poisson, else gamma). All at once under a cap of N is N requests in flight
 * whenever there are any left: the closed loop `infergate bench --concurrency N` runs.
 */
function loadOf(root: Field): Load {
  const rateField = root.at('request_rate')
  const rate =
    !rateField.present || rateField.value === 'inf' || rateField.value === 'Infinity'
      ? null
      : rateField.number({ positive: true })
  const maxConcurrency = root.at('max_concurrency').optNumber({ int: true, positive: true })
  const burstiness = root.at('burstiness').optNumber({ positive: true }) ?? 1
  if (rate === null && maxConcurrency !== null) return { mode: 'closed', concurrency: maxConcurrency }
  return {
    mode: 'open',
    rate,
    arrival: burstiness === 1 ? 'poisson' : 'gamma',
    burstiness,
    // vLLM scales the drawn delays so that the run spans N / rate (serve.py, get_request).
    schedule: 'exact',
    max_concurrency: maxConcurrency,
  }
}

/** `date` as vLLM writes it: local time as %Y%m%d-%H%M%S, no zone (read as UTC). */
function startOf(root: Field): Date | null {
  const d = root.at('date').optString()
  const m = d?.match(/^(\d{4})(\d\d)(\d\d)-(\d\d)(\d\d)(\d\d)$/)
  if (!m) return null
  return fromIsoTime(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}`)
}

/**
 * vLLM's statistics of one metric, in ms: mean_/median_/std_<m>_ms and p<P>_<m>_ms for the
 * --metric-percentiles asked (default 99 only; --percentile-metrics defaults to ttft,tpot,itl,
 * so E2EL's are absent unless asked for).
 */
function statsOf(root: Field, m: 'ttft' | 'tpot' | 'itl' | 'e2el'): LatencyStats {
  const get = (k: string) => root.at(`${k}_${m}_ms`).optNumber()
  return {
    mean: get('mean'),
    median: get('median'),
    std: get('std'),
    p90: get('p90'),
    p95: get('p95'),
    p99: get('p99'),
  }
}
