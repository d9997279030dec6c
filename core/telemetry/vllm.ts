// What vLLM says about itself on /metrics, read into the few figures that explain a latency:
// how full the batch and the KV cache were, whether the prefix cache hit, whether requests were
// preempted, how long they queued, and the server's own TTFT. Names are vLLM V1's
// (https://docs.vllm.ai/en/latest/design/metrics.html, vllm/v1/metrics/loggers.py), each with the
// older name it replaced, so a report reads the same across engine versions.
import type { Exposition, MetricSample } from './exposition.ts'
import type { Histogram } from './histogram.ts'

/** One figure, and the series names that carry it: the current name first, then older ones. */
const GAUGES = {
  running: ['vllm:num_requests_running'],
  waiting: ['vllm:num_requests_waiting'],
  kvUsage: ['vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc'],
} as const

const COUNTERS = {
  promptTokens: ['vllm:prompt_tokens_total'],
  generationTokens: ['vllm:generation_tokens_total'],
  prefixQueries: ['vllm:prefix_cache_queries_total', 'vllm:gpu_prefix_cache_queries_total'],
  prefixHits: ['vllm:prefix_cache_hits_total', 'vllm:gpu_prefix_cache_hits_total'],
  preemptions: ['vllm:num_preemptions_total'],
  specDrafts: ['vllm:spec_decode_num_drafts_total'],
  specDraftTokens: ['vllm:spec_decode_num_draft_tokens_total'],
  specAccepted: ['vllm:spec_decode_num_accepted_tokens_total'],
} as const

const HISTOGRAMS = {
  ttft: ['vllm:time_to_first_token_seconds'],
  itl: ['vllm:inter_token_latency_seconds', 'vllm:time_per_output_token_seconds'],
  queue: ['vllm:request_queue_time_seconds'],
  e2e: ['vllm:e2e_request_latency_seconds'],
} as const

export type GaugeName = keyof typeof GAUGES
export type CounterName = keyof typeof COUNTERS
export type HistogramName = keyof typeof HISTOGRAMS

export interface EngineReading {
  gauges: Record<GaugeName, number | null>
  counters: Record<CounterName, number | null>
  histograms: Record<HistogramName, Histogram | null>
  /** Engines (data-parallel ranks) the figures add up; kvUsage is their mean. */
  engines: number
  /** An older name was read for a figure whose current name is missing. */
  legacyNames: boolean
}

/** The series of the served model, when the endpoint labels several (one vLLM per model is usual). */
function ofModel(samples: MetricSample[], model: string): MetricSample[] {
  const labelled = samples.some((s) => s.labels.model_name === model)
  return labelled ? samples.filter((s) => s.labels.model_name === model) : samples
}

/** The samples of the first name present, and whether it was an older alias. */
function firstPresent(
  byName: Map<string, MetricSample[]>,
  names: readonly string[],
): { samples: MetricSample[]; legacy: boolean } | null {
  for (let i = 0; i < names.length; i++) {
    const s = byName.get(names[i]!)
    if (s?.length) return { samples: s, legacy: i > 0 }
  }
  return null
}

export function readEngine(exposition: Exposition, model: string): EngineReading {
  const byName = new Map<string, MetricSample[]>()
  for (const s of exposition.samples) {
    if (!s.name.startsWith('vllm:')) continue
    const list = byName.get(s.name)
    if (list) list.push(s)
    else byName.set(s.name, [s])
  }
  for (const [k, v] of byName) byName.set(k, ofModel(v, model))
  let legacyNames = false
  const engines = new Set<string>()
  const gauges = {} as EngineReading['gauges']
  for (const [key, names] of Object.entries(GAUGES) as [GaugeName, readonly string[]][]) {
    const found = firstPresent(byName, names)
    if (!found) {
      gauges[key] = null
      continue
    }
    legacyNames ||= found.legacy
    for (const s of found.samples) engines.add(s.labels.engine ?? '')
    const sum = found.samples.reduce((a, s) => a + s.value, 0)
    // A share of each engine's own cache: their mean is the share of the whole.
    gauges[key] = key === 'kvUsage' ? sum / found.samples.length : sum
  }
  const counters = {} as EngineReading['counters']
  for (const [key, names] of Object.entries(COUNTERS) as [CounterName, readonly string[]][]) {
    const found = firstPresent(byName, names)
    legacyNames ||= found?.legacy ?? false
    counters[key] = found ? found.samples.reduce((a, s) => a + s.value, 0) : null
  }
  const histograms = {} as EngineReading['histograms']
  for (const [key, names] of Object.entries(HISTOGRAMS) as [HistogramName, readonly string[]][]) {
    let h: Histogram | null = null
    for (let i = 0; i < names.length && !h; i++) {
      h = histogramOf(byName, names[i]!)
      if (h && i > 0) legacyNames = true
    }
    histograms[key] = h
  }
  return { gauges, counters, histograms, engines: Math.max(1, engines.size), legacyNames }
}

/** A histogram's label sets (engines) added bucket by bucket. */
function histogramOf(byName: Map<string, MetricSample[]>, name: string): Histogram | null {
  const count = byName.get(`${name}_count`)
  if (!count?.length) return null
  const sum = byName.get(`${name}_sum`) ?? []
  const byLe = new Map<number, number>()
  for (const b of byName.get(`${name}_bucket`) ?? []) {
    const raw = b.labels.le ?? ''
    const le = /^\+?inf$/i.test(raw) ? Number.POSITIVE_INFINITY : Number(raw)
    if (Number.isNaN(le)) continue
    byLe.set(le, (byLe.get(le) ?? 0) + b.value)
  }
  return {
    sum: sum.reduce((a, s) => a + s.value, 0),
    count: count.reduce((a, s) => a + s.value, 0),
    buckets: [...byLe].sort((a, b) => a[0] - b[0]).map(([le, c]) => ({ le, count: c })),
  }
}
