// inference-perf's lifecycle reports as an Infergate report: one scenario per load stage.
// Written against kubernetes-sigs/inference-perf v0.6.1 (tag v0.6.1),
// https://github.com/kubernetes-sigs/inference-perf/tree/v0.6.1:
//   inference_perf/reportgen/base.py   summarize_requests → ResponsesSummary {benchmark_time_seconds,
//                                      load_summary, successes, failures}, written as
//                                      stage_N_lifecycle_metrics.json (one per stage) and
//                                      summary_lifecycle_metrics.json; per_request_lifecycle_metrics.json
//                                      ({start_time, end_time, request, response, info, error} per request)
//   inference_perf/apis/base.py        InferenceInfo, StreamedResponseMetrics {output_tokens,
//                                      server_usage, chunk_times, output_token_times}
//   inference_perf/config/*.py         config.yaml: api.type, server.model_name/base_url/ignore_eos,
//                                      load.type (constant, poisson, concurrent), load.stages
//   docs/reports.md                    the report files and their sections
// Units: every time is in SECONDS (latencies, start_time, end_time, token times), converted to
// ms. inference-perf's `time_per_output_token` is (last token − first) / (tokens − 1) and its
// `inter_token_latency` the gaps between token times (0 between tokens of one chunk).
//
// Give the report directory (reports-…/), or one stage_N_lifecycle_metrics.json. The per-request
// file carries no stage id, so its requests are used only when the run had one stage; otherwise
// the report is aggregates-only. summary_lifecycle_metrics.json alone has no load to compare.
import { parse as parseYaml } from 'yaml'
import type { Load, Stop } from '../report.ts'
import {
  errorKind,
  Field,
  groupScenarios,
  ImportError,
  type ImportedFailure,
  type ImportedRequest,
  type ImportedScenario,
  type LatencyStats,
  parseJson,
  placeholderColumns,
  S_TO_MS,
  trialFromAggregates,
  trialFromRequests,
  unionColumns,
} from './common.ts'
import type { FormatReader, ImportInput } from './index.ts'

const STAGE_FILE = /^stage_(\d+)_lifecycle_metrics\.json$/
const PER_REQUEST_FILE = 'per_request_lifecycle_metrics.json'
/** aiohttp's default total timeout, what inference-perf's client uses without load.request_timeout. */
const DEFAULT_TIMEOUT_S = 300

interface StageFile {
  stage: number
  field: Field
}

function stageFiles(input: ImportInput): { stages: StageFile[]; all: number } {
  const base = input.name.split('/').pop() ?? input.name
  if (!input.isDirectory) {
    const m = base.match(STAGE_FILE)
    if (!m) {
      throw new ImportError(
        base === 'summary_lifecycle_metrics.json'
          ? `${input.name}: the summary has no load (requested rate or concurrency) to compare: import the report directory or a stage_N_lifecycle_metrics.json`
          : `${input.name}: expected inference-perf's report directory or a stage_N_lifecycle_metrics.json`,
      )
    }
    const all = input.entries().filter((e) => STAGE_FILE.test(e)).length
    return { stages: [{ stage: Number(m[1]), field: new Field(input.name, input.json) }], all }
  }
  const names = input
    .entries()
    .filter((e) => STAGE_FILE.test(e))
    .sort((a, b) => Number(a.match(STAGE_FILE)![1]) - Number(b.match(STAGE_FILE)![1]))
  if (names.length === 0) {
    throw new ImportError(
      `${input.name}: no stage_N_lifecycle_metrics.json in this directory (inference-perf's report directory)`,
    )
  }
  return {
    stages: names.map((n) => {
      const file = `${input.name}/${n}`
      return {
        stage: Number(n.match(STAGE_FILE)![1]),
        field: new Field(file, parseJson(file, input.readText(n)!)),
      }
    }),
    all: names.length,
  }
}

export const readInferencePerf: FormatReader = (input, o) => {
  const configText = input.readText('config.yaml')
  let config = new Field(`${input.dir}/config.yaml`, {})
  if (configText !== null) {
    try {
      config = new Field(`${input.dir}/config.yaml`, parseYaml(configText) ?? {})
    } catch (e) {
      throw new ImportError(`${input.dir}/config.yaml: not YAML: ${(e as Error).message}`)
    }
  }
  const { stages, all } = stageFiles(input)
  const loadType = config.at('load').at('type').optString() ?? 'constant'
  const timeout = config.at('load').at('request_timeout').optNumber({ positive: true }) ?? DEFAULT_TIMEOUT_S
  const apiType = config.at('api').at('type').optString()
  const perRequestText = input.requests ? input.readText(input.requests) : input.readText(PER_REQUEST_FILE)
  const perRequestName = input.requests ?? `${input.dir}/${PER_REQUEST_FILE}`
  const notes: string[] = []
  let requests: ReturnType<typeof readRequests> | null = null
  let model: string | null = config.at('server').at('model_name').optString()
  if (perRequestText !== null) {
    if (all === 1 && stages.length === 1) {
      requests = readRequests(new Field(perRequestName, parseJson(perRequestName, perRequestText)))
      model ??= requests.model
    } else {
      notes.push(
        `${PER_REQUEST_FILE} has no stage ids and this run had ${all} stages: per-request samples left out, latencies are inference-perf's statistics`,
      )
    }
  }
  const parts: ImportedScenario[] = []
  const placeholders: ReturnType<typeof placeholderColumns>[] = []
  let perRequest = requests !== null
  for (const { stage, field: root } of stages) {
    root.object()
    const ls = root.at('load_summary')
    const load = loadOf(ls, loadType, config.at('load').at('stages').at(stage))
    const sent = ls.at('count').number({ int: true })
    const stop: Stop = {
      requests: sent > 0 ? sent : null,
      duration_s:
        sent > 0
          ? null
          : (config.at('load').at('stages').at(stage).at('duration').optNumber({ positive: true }) ?? 1),
      timeout_s: timeout,
    }
    const durationS = root.at('benchmark_time_seconds').number()
    const ok = root.at('successes')
    const completed = ok.at('count').number({ int: true })
    const failures = failuresOf(root.at('failures'))
    if (requests && (requests.ok.length !== completed || requests.failed.length !== failures.length)) {
      notes.push(
        `${PER_REQUEST_FILE} holds ${requests.ok.length} successful and ${requests.failed.length} failed requests, stage ${stage} counts ${completed} and ${failures.length}: per-request samples left out`,
      )
      requests = null
      perRequest = false
    }
    const ctx = {
      index: 0,
      startedAt: o.now,
      openLoop: load.mode === 'open',
      gpus: o.gpus,
      gpuHourlyCostUsd: o.gpuHourlyCostUsd,
      warnings: notes,
    }
    let trial: ReturnType<typeof trialFromRequests>
    if (requests && perRequest) {
      trial = trialFromRequests(ctx, requests.ok, requests.failed, { durationS })
      placeholders.push(placeholderColumns(requests.ok, ctx.openLoop))
    } else {
      const lat = ok.at('latency')
      const stats = (k: string): LatencyStats => {
        const s = lat.at(k)
        if (!s.present) return {}
        const get = (f: string) => {
          const v = s.at(f).optNumber()
          return v === null ? null : v * S_TO_MS
        }
        // summarize(): mean, min, max, then "median" for the 50th percentile and p<P> for the others.
        return { mean: get('mean'), median: get('median'), p90: get('p90'), p95: get('p95'), p99: get('p99') }
      }
      const tokens = (total: string, len: string) =>
        ok.at(total).at('total').optNumber() ?? (ok.at(len).at('mean').optNumber() ?? 0) * completed
      trial = trialFromAggregates(ctx, {
        durationS,
        completed,
        failures,
        totalInputTokens: Math.round(tokens('prompt_tokens', 'prompt_len')),
        totalOutputTokens: Math.round(tokens('output_tokens', 'output_len')),
        requestGoodput: ok.at('goodput_metrics').at('request_goodput').optNumber(),
        ttft: stats('time_to_first_token'),
        tpot: stats('time_per_output_token'),
        itl: stats('inter_token_latency'),
        e2el: stats('request_latency'),
      })
    }
    parts.push({ load, stop, trials: [trial] })
  }
  const unrecorded = perRequest ? unionColumns(placeholders) : undefined
  const ignoreEos = config.at('server').at('ignore_eos')
  return {
    source: {
      tool: 'inference-perf',
      version: null,
      samples: perRequest ? 'per_request' : 'aggregate',
      ...(unrecorded ? { unrecorded } : {}),
    },
    model,
    api: apiType === 'chat' ? 'chat' : apiType === 'completion' ? 'completions' : null,
    url: config.at('server').at('base_url').optString(),
    engine: { name: config.at('server').at('type').optString(), version: null },
    workload: ignoreEos.present ? { ignore_eos: ignoreEos.boolean() } : {},
    scenarios: groupScenarios(parts),
  }
}

/** A stage's load: concurrency (load.type concurrent) is a closed loop; a rate, constant or Poisson arrivals. */
function loadOf(ls: Field, loadType: string, stage: Field): Load {
  const concurrency =
    ls.at('concurrency').optNumber({ int: true, positive: true }) ??
    stage.at('concurrency_level').optNumber({ int: true, positive: true })
  if (concurrency !== null || loadType === 'concurrent') {
    if (concurrency === null)
      return ls.at('concurrency').fail('expected the stage concurrency (load.type concurrent)')
    return { mode: 'closed', concurrency }
  }
  if (loadType !== 'constant' && loadType !== 'poisson') {
    return ls.fail(`load.type ${loadType} (a trace replay) has no rate or concurrency to compare`)
  }
  return {
    mode: 'open',
    rate: ls.at('requested_rate').number({ positive: true }),
    arrival: loadType,
    burstiness: 1,
    schedule: 'drawn',
    max_concurrency: null,
  }
}

/** failures.by_label: `{"504 - Gateway Timeout": {count, messages: [{message}]}}`, counted by kind. */
function failuresOf(f: Field): ImportedFailure[] {
  if (!f.present) return []
  const n = f.at('count').number({ int: true })
  const out: ImportedFailure[] = []
  const labels = f.at('by_label')
  if (labels.present) {
    for (const label of Object.keys(labels.object())) {
      const l = labels.at(label)
      const status = label.match(/^([1-5]\d\d) - /)?.[1]
      const message = l.at('messages').present
        ? (l.at('messages').at(0).at('message').optString() ?? null)
        : null
      const kind = status ? `http_${status}` : errorKind(label)
      for (let i = 0; i < l.at('count').number({ int: true }); i++) out.push({ kind, message })
    }
  }
  if (out.length !== n) return Array.from({ length: n }, () => ({ kind: 'unknown', message: null }))
  return out
}

/**
 * per_request_lifecycle_metrics.json: TTFT from the first token time (recorded for streamed
 * responses), E2EL end − start, the gaps between distinct token times (tokens of one chunk share
 * its time: vLLM's ITL counts chunks), output tokens as the server's usage says, else counted.
 */
function readRequests(root: Field): {
  ok: ImportedRequest[]
  failed: ImportedFailure[]
  model: string | null
} {
  const ok: ImportedRequest[] = []
  const failed: ImportedFailure[] = []
  let model: string | null = null
  for (const r of root.array()) {
    r.object()
    const error = r.at('error')
    if (error.present) {
      const type = error.at('error_type').optString() ?? ''
      const message = error.at('error_msg').optString() ?? ''
      const status = type.match(/^HTTP Error ([1-5]\d\d)$/)?.[1]
      failed.push({
        kind: status ? `http_${status}` : errorKind(`${type} ${message}`),
        message: message || type || null,
      })
      continue
    }
    const start = r.at('start_time').number()
    const end = r.at('end_time').number()
    const resp = r.at('info').at('response_metrics')
    const times = resp.at('output_token_times')
    const at = (times.present && times.array().length ? times : resp.at('chunk_times'))
      .array()
      .map((t) => t.number())
    if (at.length === 0) {
      r.at('info')
        .at('response_metrics')
        .at('output_token_times')
        .fail(
          'expected token times (inference-perf records them for streamed responses): this request has none',
        )
    }
    const distinct = at.filter((t, i) => i === 0 || t !== at[i - 1])
    const usage = resp.at('server_usage').at('completion_tokens').optNumber({ int: true })
    ok.push({
      startMs: start * S_TO_MS,
      ttftMs: (at[0]! - start) * S_TO_MS,
      e2elMs: (end - start) * S_TO_MS,
      itlMs: distinct.slice(1).map((t, i) => (t - distinct[i]!) * S_TO_MS),
      inputTokens: r.at('info').at('request_metrics').at('text').at('input_tokens').present
        ? r.at('info').at('request_metrics').at('text').at('input_tokens').number({ int: true })
        : r.at('info').at('input_tokens').number({ int: true }),
      outputTokens: usage ?? resp.at('output_tokens').number({ int: true }),
    })
    if (model === null) {
      try {
        const body = JSON.parse(r.at('request').optString() ?? '{}') as { model?: unknown }
        if (typeof body.model === 'string') model = body.model
      } catch {
        // The request body is the tool's, kept as text: not JSON is no reason to refuse the run.
      }
    }
  }
  return { ok, failed, model }
}
