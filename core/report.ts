// The report format: the one contract between `infergate bench`, the Action and the
// regression service. Defined once here, validated on every read. Documented field by field
// in docs/report-format.md; change both together and bump the schema version on breaking changes.
import { z } from 'zod'
import { INT32_MAX, jsonValue, shown, storedRecord, text, timestamp } from './limits.ts'
import { parseWith } from './validation.ts'

/** The version written. */
export const REPORT_SCHEMA = 'infergate.report/v2'
/**
 * Every version read. v2 added A/B runs (`arms`, `paired`, and each trial's `arm` and `block`);
 * a v1 report is read as it was written and may not carry them.
 */
export const REPORT_SCHEMAS = ['infergate.report/v1', REPORT_SCHEMA] as const
export type ReportSchema = (typeof REPORT_SCHEMAS)[number]

type Issues = { code: 'custom'; input: unknown; path?: PropertyKey[]; message: string }[]
type Kind = 'ms' | 'count'

/**
 * Checks one array of samples with a plain loop: reports carry ~10^6 numbers and the service
 * must ingest them in milliseconds, while the error must still name the index. Returns false
 * (after recording the first offending entry) when the array is not valid.
 */
function checkNumbers(v: unknown, kind: Kind, nullable: boolean, path: number[], issues: Issues): boolean {
  if (!Array.isArray(v)) {
    issues.push({ code: 'custom', input: v, path, message: 'expected an array of numbers' })
    return false
  }
  for (let i = 0; i < v.length; i++) {
    const x = v[i]
    if (x === null && nullable) continue
    const ok =
      typeof x === 'number' &&
      Number.isFinite(x) &&
      x >= 0 &&
      (kind === 'ms' || (Number.isInteger(x) && x <= INT32_MAX))
    if (!ok) {
      const want = kind === 'ms' ? 'a finite non-negative number' : `an integer from 0 to ${INT32_MAX}`
      issues.push({
        code: 'custom',
        input: x,
        path: [...path, i],
        message: `expected ${want}${nullable ? ' or null' : ''}, got ${shown(x)}`,
      })
      return false
    }
  }
  return true
}

/** A column of per-request samples. */
function column<T extends number | null>(kind: Kind, nullable = false) {
  const item =
    kind === 'ms' ? { type: 'number', minimum: 0 } : { type: 'integer', minimum: 0, maximum: INT32_MAX }
  return (
    z
      .custom<T[]>()
      .check((ctx) => {
        checkNumbers(ctx.value, kind, nullable, [], ctx.issues as Issues)
      })
      // What the check accepts, as JSON Schema, for the API's OpenAPI document.
      .meta({ type: 'array', items: nullable ? { anyOf: [item, { type: 'null' }] } : item })
  )
}

/** ITL: one array of gaps per request. */
const itlColumn = z
  .custom<number[][]>()
  .check((ctx) => {
    const v = ctx.value as unknown
    if (!Array.isArray(v)) {
      ctx.issues.push({ code: 'custom', input: v, message: 'expected an array of arrays of numbers' })
      return
    }
    for (let i = 0; i < v.length; i++) {
      if (!checkNumbers(v[i], 'ms', false, [i], ctx.issues as Issues)) return
    }
  })
  .meta({ type: 'array', items: { type: 'array', items: { type: 'number', minimum: 0 } } })

const nonNeg = z.number().nonnegative()
const count = z.number().int().nonnegative()
const stat = nonNeg.nullable()
/** Integers the service stores in 32-bit columns (pr_number, gpu count, run attempt, trial index). */
const int32 = z.number().int().max(INT32_MAX)

export const BENCHMARK_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/

export const GitContext = z.object({
  repository: text(200)
    .regex(/^[^/\s]+\/[^/\s]+$/, 'expected owner/repo')
    .nullable(),
  sha: text(128).min(1).nullable(),
  ref: text(512).nullable(),
  // Branch and GPU model share one index entry (runs_baseline_lookup), which holds ~2.7 kB.
  branch: text(255).nullable(),
  base_branch: text(255).nullable(),
  pr_number: int32.positive().nullable(),
  event_name: text(100).nullable(),
})
export type GitContext = z.infer<typeof GitContext>

export const CiContext = z.object({
  provider: z.literal('github'),
  run_id: text(128).min(1),
  run_attempt: int32.positive(),
  workflow: text(1024).nullable(),
  job: text(1024).nullable(),
  server_url: text(2048).nullable(),
})
export type CiContext = z.infer<typeof CiContext>

export const Environment = z.object({
  model: text(1024).min(1),
  engine: z.object({ name: text(200).nullable(), version: text(200).nullable() }),
  gpu: z.object({ model: text(255).nullable(), count: int32.positive().nullable() }),
  endpoint: z.object({ url: text(4096), api: z.enum(['completions', 'chat']) }),
  /** Serving configuration (engine flags, image, ...): compared between runs, never used to split baselines. */
  config: jsonValue(storedRecord(1000, z.unknown())),
  client: z.object({ infergate_version: text(100), node_version: text(100), platform: text(100) }),
})
export type Environment = z.infer<typeof Environment>

export const TokenDistribution = z
  .object({
    mean: z.number().int().positive(),
    stddev: nonNeg,
    min: z.number().int().positive(),
    max: z.number().int().positive(),
  })
  .refine((d) => d.min <= d.mean && d.mean <= d.max, { message: 'expected min ≤ mean ≤ max', path: ['mean'] })
export type TokenDistribution = z.infer<typeof TokenDistribution>

export const Workload = z.object({
  source: z.enum(['synthetic', 'dataset']),
  dataset: text(4096).nullable(),
  input_tokens: TokenDistribution.nullable(),
  output_tokens: TokenDistribution.nullable(),
  ignore_eos: z.boolean(),
  /** The seed of prompts, lengths and arrivals: --seed, else drawn for this run. */
  seed: z.number().int(),
  /** Whether --seed fixed the seed (false: drawn per run, so prompts never repeat a run's). */
  seed_pinned: z.boolean().optional(),
  warmup_requests: count,
  /** --warmup auto: each scenario warmed with one request per connection (warmup_requests 0). */
  warmup_per_connection: z.boolean().optional(),
})
export type Workload = z.infer<typeof Workload>

export const Arrival = z.enum(['constant', 'poisson', 'gamma'])
export type Arrival = z.infer<typeof Arrival>

export const Load = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('closed'), concurrency: z.number().int().positive() }),
  z.object({
    mode: z.literal('open'),
    /** Requests per second; null means all at once (vLLM's `inf`). */
    rate: z.number().positive().nullable(),
    arrival: Arrival,
    burstiness: z.number().positive(),
    /** exact: the drawn times scaled to span (N − 1) / rate; drawn, and absent in older reports: as drawn. */
    schedule: z.enum(['exact', 'drawn']).optional(),
    max_concurrency: z.number().int().positive().nullable(),
  }),
])
export type Load = z.infer<typeof Load>

export const Stop = z
  .object({
    requests: z.number().int().positive().nullable(),
    duration_s: z.number().positive().nullable(),
    timeout_s: z.number().positive(),
  })
  .refine((st) => st.requests !== null || st.duration_s !== null, {
    message: 'expected requests or duration_s (a run must stop)',
    path: ['requests'],
  })
export type Stop = z.infer<typeof Stop>

export const Slo = z.object({
  ttft_ms: z.number().positive().optional(),
  tpot_ms: z.number().positive().optional(),
  e2el_ms: z.number().positive().optional(),
})
export type Slo = z.infer<typeof Slo>

export const LATENCY_METRICS = ['ttft', 'tpot', 'itl', 'e2el'] as const
export type LatencyMetric = (typeof LATENCY_METRICS)[number]
export const STATS = ['mean', 'median', 'std', 'p90', 'p95', 'p99'] as const

const latencyStats = Object.fromEntries(
  LATENCY_METRICS.flatMap((m) => STATS.map((s) => [`${s}_${m}_ms`, stat])),
) as Record<`${(typeof STATS)[number]}_${LatencyMetric}_ms`, typeof stat>

export const Summary = z.object({
  completed: count,
  failed: count,
  duration_s: nonNeg,
  total_input_tokens: count,
  total_output_tokens: count,
  request_throughput: nonNeg,
  output_throughput: nonNeg,
  total_token_throughput: nonNeg,
  /** null only in imports whose tool did not record it (source, below). */
  max_output_tokens_per_s: stat,
  max_concurrent_requests: count.nullable(),
  /** Requests meeting every SLO per second; null without SLOs or when most requests failed. */
  request_goodput: stat,
  /** Share of requests (failed ones included, as misses) meeting every SLO; null without SLOs. */
  slo_attainment: z.number().min(0).max(1).nullable().optional(),
  output_throughput_per_gpu: stat,
  cost_per_million_output_tokens: stat,
  ...latencyStats,
  mean_dispatch_delay_ms: stat,
  p99_dispatch_delay_ms: stat,
  max_dispatch_delay_ms: stat,
  /** Requests lost on a reused connection before any response byte and sent again (not failures). */
  retried_requests: count.optional(),
  /** Requests due before the --duration deadline that had not reached the wire by it (dropped, not failures). */
  unsent_requests: count.optional(),
  /** Open loop: requests sent per second, (sent − 1) / (last send − first send); null in closed loop. */
  achieved_rate: stat.optional(),
  /** The load generator's event loop: share of the trial it was busy, and its p99 delay. */
  generator_busy: z.number().min(0).max(1).nullable().optional(),
  generator_lag_p99_ms: stat.optional(),
  /** CPU seconds the generator used per wall second of the trial (1 = one core). */
  generator_cpu: stat.optional(),
  /** Threads that carried the trial's load (--workers; fewer when the load has fewer connections). */
  generator_workers: count.optional(),
})
export type Summary = z.infer<typeof Summary>

export const Samples = z
  .object({
    /** Send time of each request, ms after the trial's first dispatch. */
    start_ms: column<number>('ms'),
    ttft_ms: column<number>('ms'),
    /** null where output_tokens <= 1 (TPOT undefined). */
    tpot_ms: column<number | null>('ms', true),
    e2el_ms: column<number>('ms'),
    itl_ms: itlColumn,
    input_tokens: column<number>('count'),
    output_tokens: column<number>('count'),
    /** Actual minus planned send time (open loop only). */
    // The column's own description would hide the null (zod-to-openapi copies it to the wrapper).
    dispatch_delay_ms: column<number>('ms')
      .nullable()
      .meta({ type: ['array', 'null'], items: { type: 'number', minimum: 0 } }),
  })
  .check((ctx) => {
    const s = ctx.value
    const n = s.ttft_ms.length
    for (let i = 0; i < n && i < s.output_tokens.length; i++) {
      if ((s.tpot_ms[i] === null) !== s.output_tokens[i]! <= 1) {
        ctx.issues.push({
          code: 'custom',
          input: s.tpot_ms[i],
          path: ['tpot_ms', i],
          message: 'expected null exactly where output_tokens ≤ 1 (TPOT is undefined there)',
        })
        break
      }
    }
    for (const key of Object.keys(s) as (keyof typeof s)[]) {
      const col = s[key]
      if (col !== null && col.length !== n) {
        ctx.issues.push({
          code: 'custom',
          input: col,
          path: [key],
          message: `expected ${n} entries (one per completed request, like ttft_ms), got ${col.length}`,
        })
      }
    }
  })
export type Samples = z.infer<typeof Samples>

/** The two servers of an A/B run: the PR's base (baseline) and its head (candidate). */
export const ArmName = z.enum(['baseline', 'candidate'])
export type ArmName = z.infer<typeof ArmName>

export const Arm = z.object({
  name: ArmName,
  environment: Environment,
  /** The commit this arm's server was built from. */
  git: z.object({ sha: text(128).min(1).nullable(), ref: text(512).nullable() }),
})
export type Arm = z.infer<typeof Arm>

/** How the blocks of an A/B run were run, and why they stopped. */
export const Paired = z.object({
  /** Which arm runs first in a block: alternated (counterbalanced) or drawn per block. */
  order: z.enum(['counterbalanced', 'random']),
  max_blocks: int32.positive(),
  time_budget_s: z.number().positive().nullable(),
  /** decided: the sequential test reached a verdict; budget: max_blocks ran; time: time_budget_s ran out; interrupted: stopped (Ctrl-C). */
  stopped: z.enum(['decided', 'budget', 'time', 'interrupted']),
})
export type Paired = z.infer<typeof Paired>

export const ErrorExample = z.object({ kind: text(100), message: text(10_000) })

export const Trial = z
  .object({
    index: int32.nonnegative(),
    /** v2, A/B runs only (then on every trial): the arm measured, and the block it ran in. */
    arm: ArmName.optional(),
    /** Blocks hold one trial of each arm, numbered from 0 within a scenario. */
    block: int32.nonnegative().optional(),
    started_at: timestamp,
    summary: Summary,
    samples: Samples,
    /** Failed requests by kind: http_<status>, timeout, disconnect, malformed_stream, connection_error. */
    errors: storedRecord(100, count),
    error_examples: z.array(ErrorExample),
    /** Where token counts came from: the server's usage, or counting stream chunks (approximate). */
    token_count_source: z.enum(['usage', 'chunks', 'mixed']),
    warnings: z.array(text(10_000)),
  })
  .check((ctx) => {
    const t = ctx.value
    const failed = Object.values(t.errors).reduce((a, b) => a + b, 0)
    if (failed !== t.summary.failed) {
      ctx.issues.push({
        code: 'custom',
        input: t.summary.failed,
        path: ['summary', 'failed'],
        message: `expected ${failed} (the sum of errors), got ${t.summary.failed}`,
      })
    }
    // summary.completed against the samples: checked with the report (checkSamples), which knows
    // whether the report holds per-request samples at all (source.samples).
  })
export type Trial = z.infer<typeof Trial>

export const Scenario = z
  .object({
    name: text(100).min(1),
    load: Load,
    stop: Stop,
    trials: z.array(Trial).min(1),
  })
  .check((ctx) => {
    const sc = ctx.value
    // The service keys a trial by (scenario, index).
    const indices = new Set<number>()
    sc.trials.forEach((t, i) => {
      if (indices.has(t.index)) {
        ctx.issues.push({
          code: 'custom',
          input: t.index,
          path: ['trials', i, 'index'],
          message: `duplicate trial index ${t.index}`,
        })
      }
      indices.add(t.index)
    })
    const open = sc.load.mode === 'open'
    if (open && sc.load.mode === 'open' && sc.load.rate === null && sc.stop.requests === null) {
      ctx.issues.push({
        code: 'custom',
        input: sc.stop,
        path: ['stop', 'requests'],
        message: 'expected a request count with rate null (all at once)',
      })
    }
    sc.trials.forEach((t, i) => {
      if ((t.samples.dispatch_delay_ms !== null) !== open) {
        ctx.issues.push({
          code: 'custom',
          input: t.samples.dispatch_delay_ms,
          path: ['trials', i, 'samples', 'dispatch_delay_ms'],
          message: open
            ? 'expected an array in an open-loop scenario'
            : 'expected null in a closed-loop scenario',
        })
      }
    })
  })
export type Scenario = z.infer<typeof Scenario>

/**
 * Where a report came from when Infergate did not measure it: `infergate import` of another
 * tool's result file (docs/import.md). Absent in reports `infergate bench` writes.
 */
export const ReportSource = z.object({
  /** The tool that measured: vllm, guidellm, aiperf, inference-perf. */
  tool: text(100).min(1),
  /** Its version as its file records it; null where the file does not say. */
  version: text(100).nullable(),
  /**
   * per_request: the samples are the tool's requests. aggregate: the tool kept summary
   * statistics only, every sample column is empty and `summary.completed` is the tool's count;
   * the detector then compares latencies on trial medians only (docs/detection.md).
   */
  samples: z.enum(['per_request', 'aggregate']),
  /**
   * Sample columns the tool does not record, held as placeholders rather than measurements:
   * start_ms and dispatch_delay_ms all 0, itl_ms all empty. Absent: every column was measured.
   */
  unrecorded: z.array(z.enum(['start_ms', 'itl_ms', 'dispatch_delay_ms'])).optional(),
})
export type ReportSource = z.infer<typeof ReportSource>

export const Report = z
  .object({
    schema: z.enum(REPORT_SCHEMAS),
    benchmark: z.string().regex(BENCHMARK_NAME, 'expected 1-100 characters of letters, digits, . _ -'),
    created_at: timestamp,
    git: GitContext,
    ci: CiContext.nullable(),
    /**
     * What was measured. In an A/B run it stays, and is the candidate arm's environment (checked:
     * refused where it differs), so readers of one environment read the PR's head.
     */
    environment: Environment,
    /** v2, A/B runs only: the two servers measured, one baseline and one candidate. */
    arms: z.array(Arm).length(2, 'expected two arms, one baseline and one candidate').optional(),
    /** v2, present exactly when arms is. */
    paired: Paired.optional(),
    workload: Workload,
    slo: Slo.nullable(),
    gpu_hourly_cost_usd: z.number().positive().nullable(),
    /** The run was stopped (Ctrl-C): the scenarios hold what was measured until then. */
    interrupted: z.boolean().optional(),
    /** v2, imported reports only: the tool that measured, and whether per-request samples survived. */
    source: ReportSource.optional(),
    scenarios: z.array(Scenario).min(1),
  })
  .check((ctx) => {
    const seen = new Set<string>()
    ctx.value.scenarios.forEach((s, i) => {
      if (seen.has(s.name)) {
        ctx.issues.push({
          code: 'custom',
          input: s.name,
          path: ['scenarios', i, 'name'],
          message: `duplicate scenario name ${JSON.stringify(s.name)}`,
        })
      }
      seen.add(s.name)
    })
    checkArms(ctx.value, ctx.issues as Issues)
    checkSamples(ctx.value, ctx.issues as Issues)
  })
export type Report = z.infer<typeof Report>

/**
 * One sample per completed request, or, in an aggregates-only import, none at all; and the
 * placeholder columns of `source.unrecorded` hold placeholders only.
 */
function checkSamples(r: Report, issues: Issues) {
  const fail = (path: PropertyKey[], input: unknown, message: string) =>
    issues.push({ code: 'custom', input, path, message })
  if (r.source !== undefined && r.schema === 'infergate.report/v1') {
    fail(['source'], r.source, `not part of ${r.schema} (imports are ${REPORT_SCHEMA})`)
  }
  const aggregate = r.source?.samples === 'aggregate'
  const unrecorded = new Set(r.source?.unrecorded ?? [])
  r.scenarios.forEach((s, i) => {
    s.trials.forEach((t, j) => {
      const at = ['scenarios', i, 'trials', j]
      const n = t.samples.ttft_ms.length
      if (aggregate) {
        if (n !== 0 || (t.samples.dispatch_delay_ms?.length ?? 0) !== 0) {
          fail(
            [...at, 'samples', 'ttft_ms'],
            n,
            `expected no samples (source.samples is aggregate), got ${n}`,
          )
        }
        return
      }
      if (n !== t.summary.completed) {
        fail(
          [...at, 'summary', 'completed'],
          t.summary.completed,
          `expected ${n} (the number of samples), got ${t.summary.completed}`,
        )
      }
      if (unrecorded.has('start_ms') && t.samples.start_ms.some((x) => x !== 0)) {
        fail([...at, 'samples', 'start_ms'], undefined, 'expected all 0 (source.unrecorded lists start_ms)')
      }
      if (unrecorded.has('itl_ms') && t.samples.itl_ms.some((gaps) => gaps.length !== 0)) {
        fail([...at, 'samples', 'itl_ms'], undefined, 'expected all empty (source.unrecorded lists itl_ms)')
      }
      if (unrecorded.has('dispatch_delay_ms') && t.samples.dispatch_delay_ms?.some((x) => x !== 0)) {
        fail(
          [...at, 'samples', 'dispatch_delay_ms'],
          undefined,
          'expected all 0 (source.unrecorded lists dispatch_delay_ms)',
        )
      }
    })
  })
}

/** Equal as JSON values: key order aside, and 0 equal to -0 (JSON has one zero). */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const ka = Object.keys(a)
  const kb = Object.keys(b)
  if (ka.length !== kb.length) return false
  const bo = b as Record<string, unknown>
  return ka.every((k) => Object.hasOwn(bo, k) && sameJson((a as Record<string, unknown>)[k], bo[k]))
}

/** A/B runs: the v2 fields all together or none, and blocks that hold each arm once. */
function checkArms(r: Report, issues: Issues) {
  const fail = (path: PropertyKey[], input: unknown, message: string) =>
    issues.push({ code: 'custom', input, path, message })
  const v1 = r.schema === 'infergate.report/v1'
  const v1Only = (path: PropertyKey[], input: unknown) =>
    fail(path, input, `not part of ${r.schema} (A/B runs are ${REPORT_SCHEMA})`)
  if (v1) {
    if (r.arms !== undefined) v1Only(['arms'], r.arms)
    if (r.paired !== undefined) v1Only(['paired'], r.paired)
  } else if ((r.arms === undefined) !== (r.paired === undefined)) {
    if (r.arms === undefined) fail(['paired'], r.paired, 'expected only with arms (an A/B run)')
    else fail(['paired'], r.paired, 'expected with arms: how the blocks were run')
  }
  const arms = v1 ? undefined : r.arms
  // Checked after the fields' own checks, some of which let it run (arms of the wrong length).
  if (arms?.length === 2) {
    if (arms[0]!.name === arms[1]!.name) {
      fail(
        ['arms', 1, 'name'],
        arms[1]!.name,
        `duplicate arm ${arms[0]!.name} (expected one baseline and one candidate)`,
      )
    } else {
      const candidate = arms.findIndex((a) => a.name === 'candidate')
      if (!sameJson(r.environment, arms[candidate]!.environment)) {
        fail(
          ['environment'],
          r.environment,
          `expected the candidate arm's environment (arms[${candidate}].environment)`,
        )
      }
    }
  }
  r.scenarios.forEach((s, i) => {
    const seen = new Set<string>()
    s.trials.forEach((t, j) => {
      const at = ['scenarios', i, 'trials', j]
      for (const key of ['arm', 'block'] as const) {
        if (t[key] === undefined) {
          if (arms)
            fail([...at, key], undefined, `expected on every trial of an A/B run (the report has arms)`)
        } else if (v1) v1Only([...at, key], t[key])
        else if (!arms) fail([...at, key], t[key], 'expected only in an A/B run (a report with arms)')
      }
      if (arms && t.arm !== undefined && t.block !== undefined) {
        const slot = `${t.block}/${t.arm}`
        if (seen.has(slot)) {
          fail(
            [...at, 'arm'],
            t.arm,
            `duplicate ${t.arm} trial in block ${t.block} (a block holds one trial of each arm)`,
          )
        }
        seen.add(slot)
      }
    })
  })
}

export function parseReport(value: unknown): Report {
  return parseWith(Report, value, 'report')
}
