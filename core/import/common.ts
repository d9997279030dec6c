// What every importer shares: a reader of another tool's JSON that names the exact field it
// refuses (`benchmarks[0].metrics.time_to_first_token_ms: expected an object`), and the builders
// that turn requests or a tool's aggregates into trials and a report that passes the report
// schema. An importer only maps fields; units, statistics and the report's rules live here, so
// the four formats cannot drift apart (docs/import.md).
import { storable } from '../limits.ts'
import {
  type CiContext,
  type GitContext,
  type Load,
  parseReport,
  REPORT_SCHEMA,
  type Report,
  type ReportSource,
  type Scenario,
  type Stop,
  type Summary,
  type Trial,
  type Workload,
} from '../report.ts'
import { describe, sortInPlace } from '../stats.ts'
import { formatPath, ValidationError } from '../validation.ts'
import { INFERGATE_VERSION } from '../version.ts'

/** A file that is not what its format says, naming the file and the field: bad input (exit 2). */
export class ImportError extends Error {
  override name = 'ImportError'
}

/**
 * A position in a parsed file: reads one field with the type it must have, or throws an
 * ImportError naming its path, e.g. `vllm.json: itls[3][0]: expected a number ≥ 0, got "x"`.
 */
export class Field {
  readonly file: string
  readonly value: unknown
  readonly path: (string | number)[]

  constructor(file: string, value: unknown, path: (string | number)[] = []) {
    this.file = file
    this.value = value
    this.path = path
  }

  get where(): string {
    return this.path.length ? formatPath(this.path) : '(the whole file)'
  }

  fail(why: string): never {
    throw new ImportError(`${this.file}: ${this.where}: ${why}`)
  }

  at(key: string | number): Field {
    const v = this.value
    const inner =
      typeof key === 'number'
        ? Array.isArray(v)
          ? v[key]
          : undefined
        : v !== null && typeof v === 'object' && !Array.isArray(v) && Object.hasOwn(v, key)
          ? (v as Record<string, unknown>)[key]
          : undefined
    return new Field(this.file, inner, [...this.path, key])
  }

  /** Present and not null. */
  get present(): boolean {
    return this.value !== undefined && this.value !== null
  }

  object(): Record<string, unknown> {
    const v = this.value
    if (v === null || typeof v !== 'object' || Array.isArray(v))
      this.fail(`expected an object, got ${shown(v)}`)
    return v as Record<string, unknown>
  }

  /** The entries of an array, each a Field. */
  array(): Field[] {
    if (!Array.isArray(this.value)) this.fail(`expected an array, got ${shown(this.value)}`)
    return (this.value as unknown[]).map((_, i) => this.at(i))
  }

  number(opts: { min?: number; int?: boolean; positive?: boolean } = {}): number {
    const v = this.value
    const min = opts.min ?? 0
    const kind = opts.int ? 'an integer' : 'a number'
    const bound = opts.positive ? ' > 0' : ` ≥ ${min}`
    const ok =
      typeof v === 'number' &&
      Number.isFinite(v) &&
      (opts.positive ? v > 0 : v >= min) &&
      (!opts.int || Number.isInteger(v))
    if (!ok) this.fail(`expected ${kind}${bound}, got ${shown(v)}`)
    return v as number
  }

  /** A number, or null when absent or null. */
  optNumber(opts: { min?: number; int?: boolean; positive?: boolean } = {}): number | null {
    return this.present ? this.number(opts) : null
  }

  string(): string {
    if (typeof this.value !== 'string') this.fail(`expected a string, got ${shown(this.value)}`)
    return this.value as string
  }

  optString(): string | null {
    return this.present ? this.string() : null
  }

  boolean(): boolean {
    if (typeof this.value !== 'boolean') this.fail(`expected true or false, got ${shown(this.value)}`)
    return this.value as boolean
  }
}

function shown(v: unknown): string {
  if (v === undefined) return 'nothing (the field is missing)'
  if (Array.isArray(v)) return 'an array'
  if (v !== null && typeof v === 'object') return 'an object'
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)
  return String(v)
}

/** JSON text, refused with the file named. */
export function parseJson(file: string, text: string): unknown {
  try {
    return JSON.parse(text)
  } catch (e) {
    throw new ImportError(`${file}: not JSON: ${(e as Error).message}`)
  }
}

/** One JSON value per non-empty line (JSON Lines), each line named by its number when refused. */
export function parseJsonLines(file: string, text: string): { line: number; value: unknown }[] {
  const out: { line: number; value: unknown }[] = []
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return
    try {
      out.push({ line: i + 1, value: JSON.parse(raw) })
    } catch (e) {
      throw new ImportError(`${file}: line ${i + 1}: not JSON: ${(e as Error).message}`)
    }
  })
  return out
}

/** Unit conversions: the report holds milliseconds (docs/report-format.md). */
export const S_TO_MS = 1000
export const NS_TO_MS = 1e-6

/** A time field with a `unit` beside it (AIPerf's records): its factor to milliseconds. */
export function msPerUnit(unit: Field): number {
  const u = unit.string()
  const factor: Record<string, number> = { ns: 1e-6, us: 1e-3, ms: 1, sec: 1000, s: 1000 }
  const f = factor[u]
  if (f === undefined) unit.fail(`expected a time unit (ns, us, ms, sec), got ${JSON.stringify(u)}`)
  return f
}

/** HTTP reason phrases a tool may give instead of the status (RFC 9110 §15). */
const REASONS: Record<string, string> = {
  'bad request': '400',
  unauthorized: '401',
  forbidden: '403',
  'not found': '404',
  'request timeout': '408',
  'payload too large': '413',
  'unprocessable entity': '422',
  'too many requests': '429',
  'internal server error': '500',
  'bad gateway': '502',
  'service unavailable': '503',
  'gateway timeout': '504',
}

/** One completed request, in the report's units (ms, tokens). */
export interface ImportedRequest {
  /** Send time in ms on the tool's clock (any origin); null where the tool does not record it. */
  startMs: number | null
  ttftMs: number
  e2elMs: number
  /** The inter-token gaps; null where the tool does not record them. */
  itlMs: number[] | null
  inputTokens: number
  outputTokens: number
  /** Send − planned send (open loop), where the tool records it. */
  dispatchDelayMs?: number | null
}

/** A failed request: its kind (docs/metrics.md's kinds where the tool's error says one) and message. */
export interface ImportedFailure {
  kind: string
  message: string | null
}

/**
 * An error message or code of another tool as one of the report's error kinds where it names
 * one (an HTTP status, a timeout, a refused connection), else `other`.
 */
export function errorKind(message: string, code?: number | null): string {
  if (code !== undefined && code !== null && Number.isInteger(code) && code >= 100 && code <= 599) {
    return `http_${code}`
  }
  const status =
    message.match(/\b(?:HTTP(?: Error)?|status(?: code)?)[ :]*([1-5]\d\d)\b/i)?.[1] ??
    // httpx's "Server error '500 Internal Server Error' for url …" (guidellm)
    message.match(/\b([1-5]\d\d) (?:[A-Z][a-z]+)(?: [A-Z][a-z]+)*\b/)?.[1] ??
    // aiohttp's reason phrase alone (vLLM's error for an HTTP failure is response.reason)
    REASONS[message.trim().toLowerCase()]
  if (status) return `http_${status}`
  if (/time(?:d)?[ _-]?out/i.test(message)) return 'timeout'
  if (/connection refused|cannot connect|connect(?:ion)? ?error|ECONNREFUSED/i.test(message))
    return 'connection_error'
  if (/disconnect|connection reset|ECONNRESET|server disconnected/i.test(message)) return 'disconnect'
  return 'other'
}

const round3 = (x: number) => Math.round(x * 1000) / 1000

/** The report's `{mean,median,std,p90,p95,p99}_<m>_ms` keys of one latency, from values or a tool's statistics. */
export type LatencyStats = Partial<Record<'mean' | 'median' | 'std' | 'p90' | 'p95' | 'p99', number | null>>

function statsOf(values: ArrayLike<number>): LatencyStats {
  if (values.length === 0) return {}
  const d = describe(values)
  return { mean: d.mean, median: d.median, std: d.std, p90: d.p90, p95: d.p95, p99: d.p99 }
}

function latencyFields(
  prefix: 'ttft' | 'tpot' | 'itl' | 'e2el',
  s: LatencyStats,
): Record<string, number | null> {
  const out: Record<string, number | null> = {}
  for (const k of ['mean', 'median', 'std', 'p90', 'p95', 'p99'] as const) {
    const v = s[k]
    out[`${k}_${prefix}_ms`] = v === undefined || v === null ? null : round3(v)
  }
  return out
}

/** What every trial needs besides its requests or statistics. */
export interface TrialContext {
  index: number
  startedAt: Date
  /** Open loop: the dispatch delay column is an array (of placeholders where not recorded). */
  openLoop: boolean
  gpus: number | null
  gpuHourlyCostUsd: number | null
  /** The tool's own notes for this trial. */
  warnings?: string[]
}

/** What the tool recorded of the whole trial; a figure it did not record is null. */
export interface TrialTotals {
  durationS: number
  /** The tool's peak output tokens in one second and peak requests in flight, where it recorded them. */
  maxOutputTokensPerS?: number | null
  maxConcurrentRequests?: number | null
  /** Requests meeting the tool's SLOs per second, where the tool computed it. */
  requestGoodput?: number | null
}

function errorsOf(failures: ImportedFailure[]): Pick<Trial, 'errors' | 'error_examples'> {
  const errors: Record<string, number> = {}
  const examples = new Map<string, string>()
  for (const f of failures) {
    const kind = storable(f.kind, 100) || 'other'
    errors[kind] = (errors[kind] ?? 0) + 1
    if (f.message && !examples.has(kind)) examples.set(kind, storable(f.message, 10_000))
  }
  return { errors, error_examples: [...examples].map(([kind, message]) => ({ kind, message })) }
}

function costFields(ctx: TrialContext, durationS: number, outputThroughput: number, totalOut: number) {
  return {
    output_throughput_per_gpu: ctx.gpus ? outputThroughput / ctx.gpus : null,
    cost_per_million_output_tokens:
      ctx.gpuHourlyCostUsd !== null && totalOut > 0
        ? (ctx.gpuHourlyCostUsd * (ctx.gpus ?? 1) * (durationS / 3600) * 1e6) / totalOut
        : null,
  }
}

function failureWarnings(failed: number, completed: number): string[] {
  return failed > 0 ? [`${failed} of ${failed + completed} requests failed`] : []
}

/** The most requests in flight at once, from send times and latencies; at a tie an end goes first. */
function peakConcurrency(ok: ImportedRequest[]): number {
  const events: [number, number][] = []
  for (const r of ok) {
    events.push([r.startMs!, 1], [r.startMs! + r.e2elMs, -1])
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1])
  let cur = 0
  let max = 0
  for (const [, d] of events) {
    cur += d
    if (cur > max) max = cur
  }
  return max
}

/** vLLM's peak: the most tokens (first token, then one per gap) in one whole second from the first send. */
function peakTokensPerSecond(ok: ImportedRequest[], t0: number): number {
  const buckets = new Map<number, number>()
  const add = (at: number) => {
    const b = Math.floor((at - t0) / 1000)
    buckets.set(b, (buckets.get(b) ?? 0) + 1)
  }
  for (const r of ok) {
    let t = r.startMs! + r.ttftMs
    add(t)
    for (const g of r.itlMs!) {
      t += g
      add(t)
    }
  }
  let max = 0
  for (const v of buckets.values()) max = Math.max(max, v)
  return max
}

/**
 * The sample columns these requests leave as placeholders (the tool did not record them): what
 * the report's `source.unrecorded` must list.
 */
export function placeholderColumns(
  requests: ImportedRequest[],
  openLoop: boolean,
): NonNullable<ReportSource['unrecorded']> {
  const out: NonNullable<ReportSource['unrecorded']> = []
  if (requests.some((r) => r.startMs === null)) out.push('start_ms')
  if (requests.some((r) => r.itlMs === null)) out.push('itl_ms')
  if (openLoop && requests.some((r) => r.dispatchDelayMs === undefined || r.dispatchDelayMs === null))
    out.push('dispatch_delay_ms')
  return out
}

/** The union of several trials' placeholder columns, in the schema's order; undefined when none. */
export function unionColumns(
  lists: NonNullable<ReportSource['unrecorded']>[],
): ReportSource['unrecorded'] | undefined {
  const all = new Set(lists.flat())
  const out = (['start_ms', 'itl_ms', 'dispatch_delay_ms'] as const).filter((c) => all.has(c))
  return out.length ? out : undefined
}

/**
 * A trial from the tool's requests: samples in send order, and the summary computed from them
 * with the formulas of docs/metrics.md (TPOT = (E2EL − TTFT) / (output tokens − 1), as vLLM
 * computes it), so an imported trial reads like one `infergate bench` measured.
 */
export function trialFromRequests(
  ctx: TrialContext,
  requests: ImportedRequest[],
  failures: ImportedFailure[],
  totals: TrialTotals,
): Trial {
  const timed = requests.every((r) => r.startMs !== null)
  const ok = timed ? [...requests].sort((a, b) => a.startMs! - b.startMs!) : requests
  const t0 = timed && ok.length ? ok[0]!.startMs! : 0
  const gaps = ok.every((r) => r.itlMs !== null)
  const tpot = ok.map((r) => (r.outputTokens > 1 ? (r.e2elMs - r.ttftMs) / (r.outputTokens - 1) : null))
  const dispatch = ok.map((r) => r.dispatchDelayMs ?? null)
  const dispatchKnown = ctx.openLoop && ok.length > 0 && dispatch.every((x) => x !== null)
  const samples: Trial['samples'] = {
    start_ms: ok.map((r) => (timed ? round3(r.startMs! - t0) : 0)),
    ttft_ms: ok.map((r) => round3(r.ttftMs)),
    tpot_ms: tpot.map((x) => (x === null ? null : round3(Math.max(0, x)))),
    e2el_ms: ok.map((r) => round3(r.e2elMs)),
    itl_ms: ok.map((r) => (r.itlMs ?? []).map(round3)),
    input_tokens: ok.map((r) => r.inputTokens),
    output_tokens: ok.map((r) => r.outputTokens),
    dispatch_delay_ms: ctx.openLoop ? dispatch.map((x) => (x === null ? 0 : round3(x))) : null,
  }
  const completed = ok.length
  const failed = failures.length
  const durationS = totals.durationS
  const totalIn = samples.input_tokens.reduce((a, b) => a + b, 0)
  const totalOut = samples.output_tokens.reduce((a, b) => a + b, 0)
  const per = (x: number) => (durationS > 0 ? x / durationS : 0)
  const allGaps = gaps ? sortInPlace(Float64Array.from(samples.itl_ms.flat())) : new Float64Array(0)
  const dd = dispatchKnown ? describe(samples.dispatch_delay_ms!) : null
  const summary = {
    completed,
    failed,
    duration_s: durationS,
    total_input_tokens: totalIn,
    total_output_tokens: totalOut,
    request_throughput: per(completed),
    output_throughput: per(totalOut),
    total_token_throughput: per(totalIn + totalOut),
    max_output_tokens_per_s:
      totals.maxOutputTokensPerS ?? (timed && gaps && ok.length ? peakTokensPerSecond(ok, t0) : null),
    max_concurrent_requests:
      totals.maxConcurrentRequests ?? (timed && ok.length ? peakConcurrency(ok) : null),
    request_goodput: totals.requestGoodput ?? null,
    slo_attainment: null,
    ...costFields(ctx, durationS, per(totalOut), totalOut),
    ...latencyFields('ttft', statsOf(samples.ttft_ms)),
    ...latencyFields('tpot', statsOf(samples.tpot_ms.filter((x): x is number => x !== null))),
    ...latencyFields('itl', statsOf(allGaps)),
    ...latencyFields('e2el', statsOf(samples.e2el_ms)),
    mean_dispatch_delay_ms: dd ? round3(dd.mean) : null,
    p99_dispatch_delay_ms: dd ? round3(dd.p99) : null,
    max_dispatch_delay_ms: dd ? round3(samples.dispatch_delay_ms!.reduce((m, x) => Math.max(m, x), 0)) : null,
  } as Summary
  return {
    index: ctx.index,
    started_at: ctx.startedAt.toISOString(),
    summary,
    samples,
    ...errorsOf(failures),
    token_count_source: 'usage',
    warnings: [...failureWarnings(failed, completed), ...(ctx.warnings ?? [])],
  }
}

/** A tool's statistics of one trial (no requests): the figures it recorded, null elsewhere. */
export interface TrialAggregates extends TrialTotals {
  completed: number
  failures: ImportedFailure[]
  totalInputTokens: number
  totalOutputTokens: number
  ttft: LatencyStats
  tpot: LatencyStats
  itl: LatencyStats
  e2el: LatencyStats
}

/**
 * A trial of an aggregates-only import: every sample column empty (the report's source says
 * `samples: aggregate`), the summary the tool's statistics, throughputs from its totals.
 */
export function trialFromAggregates(ctx: TrialContext, a: TrialAggregates): Trial {
  const d = a.durationS
  const per = (x: number) => (d > 0 ? x / d : 0)
  const summary = {
    completed: a.completed,
    failed: a.failures.length,
    duration_s: d,
    total_input_tokens: a.totalInputTokens,
    total_output_tokens: a.totalOutputTokens,
    request_throughput: per(a.completed),
    output_throughput: per(a.totalOutputTokens),
    total_token_throughput: per(a.totalInputTokens + a.totalOutputTokens),
    max_output_tokens_per_s: a.maxOutputTokensPerS ?? null,
    max_concurrent_requests: a.maxConcurrentRequests ?? null,
    request_goodput: a.requestGoodput ?? null,
    slo_attainment: null,
    ...costFields(ctx, d, per(a.totalOutputTokens), a.totalOutputTokens),
    ...latencyFields('ttft', a.ttft),
    ...latencyFields('tpot', a.tpot),
    ...latencyFields('itl', a.itl),
    ...latencyFields('e2el', a.e2el),
    mean_dispatch_delay_ms: null,
    p99_dispatch_delay_ms: null,
    max_dispatch_delay_ms: null,
  } as Summary
  return {
    index: ctx.index,
    started_at: ctx.startedAt.toISOString(),
    summary,
    samples: {
      start_ms: [],
      ttft_ms: [],
      tpot_ms: [],
      e2el_ms: [],
      itl_ms: [],
      input_tokens: [],
      output_tokens: [],
      dispatch_delay_ms: ctx.openLoop ? [] : null,
    },
    ...errorsOf(a.failures),
    token_count_source: 'usage',
    warnings: [...failureWarnings(a.failures.length, a.completed), ...(ctx.warnings ?? [])],
  }
}

/** Failures known only by count (the tool kept no kinds): `n` of kind `unknown`. */
export function unknownFailures(n: number): ImportedFailure[] {
  return Array.from({ length: n }, () => ({ kind: 'unknown', message: null }))
}

/** The scenario name `infergate bench` gives the same load (core/bench/plan.ts), so baselines match. */
export function scenarioName(load: Load): string {
  if (load.mode === 'closed') return `concurrency-${load.concurrency}`
  if (load.rate === null) return 'rate-inf'
  const shape =
    load.arrival === 'poisson' ? '' : load.arrival === 'gamma' ? `-gamma-${load.burstiness}` : '-constant'
  return `rate-${load.rate}${shape}`
}

/** One measured load of the tool: its trials (several benchmarks of one load are trials of one scenario). */
export interface ImportedScenario {
  load: Load
  stop: Stop
  trials: Trial[]
}

/** Scenarios by load, trials numbered in file order within each. */
export function groupScenarios(parts: ImportedScenario[]): Scenario[] {
  const byName = new Map<string, Scenario>()
  for (const p of parts) {
    const name = scenarioName(p.load)
    const s = byName.get(name) ?? { name, load: p.load, stop: p.stop, trials: [] }
    for (const t of p.trials) s.trials.push({ ...t, index: s.trials.length })
    byName.set(name, s)
  }
  return [...byName.values()]
}

/** The command line's part of an import: names, hardware, git identity, and the clock. */
export interface ImportOptions {
  benchmark: string
  /** Over the file's model (and required where the file names none). */
  model?: string
  api?: 'completions' | 'chat'
  engine?: string
  gpus: number | null
  gpuModel: string | null
  gpuHourlyCostUsd: number | null
  git: GitContext
  ci: CiContext | null
  now: Date
}

/** What a format's reader found, before the report is assembled. */
export interface ImportedRun {
  source: ReportSource
  model: string | null
  api: 'completions' | 'chat' | null
  url: string | null
  engine: { name: string | null; version: string | null }
  workload?: Partial<Workload>
  /** Where the tool records its platform (guidellm's metadata.platform). */
  platform?: string | null
  scenarios: Scenario[]
}

/**
 * The report around the scenarios, validated with the report schema before anyone writes it:
 * a report that fails is a bug in the importer (a ValidationError, exit 1), never bad input.
 */
export function assembleReport(run: ImportedRun, o: ImportOptions, file: string): Report {
  const model = o.model ?? run.model
  if (!model) {
    throw new ImportError(`${file}: the file does not name the model: give --model`)
  }
  const report: Report = {
    schema: REPORT_SCHEMA,
    benchmark: o.benchmark,
    created_at: o.now.toISOString(),
    git: o.git,
    ci: o.ci,
    environment: {
      model: storable(model, 1024),
      engine: {
        name: o.engine ?? (run.engine.name && storable(run.engine.name, 200)),
        version: run.engine.version && storable(run.engine.version, 200),
      },
      gpu: { model: o.gpuModel, count: o.gpus },
      endpoint: {
        url: storable(stripCredentials(run.url ?? ''), 4096),
        api: o.api ?? run.api ?? 'completions',
      },
      config: {},
      client: {
        infergate_version: INFERGATE_VERSION,
        node_version: process.version,
        platform: storable(run.platform ?? `unknown (imported from ${run.source.tool})`, 100),
      },
    },
    workload: {
      source: 'dataset',
      dataset: null,
      input_tokens: null,
      output_tokens: null,
      ignore_eos: false,
      seed: 0,
      warmup_requests: 0,
      ...run.workload,
    },
    slo: null,
    gpu_hourly_cost_usd: o.gpuHourlyCostUsd,
    source: run.source,
    scenarios: run.scenarios,
  }
  try {
    return parseReport(report)
  } catch (e) {
    if (e instanceof ValidationError) {
      throw new ValidationError(
        `report (a bug in the ${run.source.tool} importer, please report it)`,
        e.issues,
      )
    }
    throw e
  }
}

/** A URL without its user and password: reports never carry credentials. */
function stripCredentials(url: string): string {
  try {
    const u = new URL(url)
    if (!u.username && !u.password) return url
    u.username = ''
    u.password = ''
    return u.toString()
  } catch {
    return url
  }
}

/** A time the tool wrote as Unix seconds, or null when not a plausible one. */
export function fromUnixSeconds(s: number | null): Date | null {
  if (s === null || !Number.isFinite(s) || s <= 0 || s > 253402300799) return null
  return new Date(s * 1000)
}

/** An ISO time; one without a zone (Python's naive datetimes) is read as UTC. */
export function fromIsoTime(s: string | null): Date | null {
  if (!s) return null
  const zoned = /(?:Z|[+-]\d\d:?\d\d)$/i.test(s) ? s : `${s}Z`
  const d = new Date(zoned)
  return Number.isNaN(d.getTime()) ? null : d
}
