// A benchmark plan: everything a run needs except the server it runs against (the target), so one
// plan can be run against two targets, and an infergate.yaml and bench's flags, which both turn
// into a PlanDraft, get the same defaults and the same cross-field rules from resolvePlan. The
// rules name fields through a Namer, so each user reads the name they wrote.
import {
  type Arrival,
  BENCHMARK_NAME,
  type GitContext,
  type Load,
  type Slo,
  type TokenDistribution,
} from '../report.ts'
import type { Api } from './endpoint.ts'
import { type Namer, NUMBER_RULES, type NumberField, numberProblem, type PlanField } from './plan-fields.ts'

export interface WorkloadPlan {
  api: Api
  input: TokenDistribution
  output: TokenDistribution
  /** A JSONL file of prompts instead of synthetic ones. */
  dataset: string | null
  ignoreEos: boolean
  /** null: drawn for this run, so its prompts are new to a server that stays up (prefix caches). */
  seed: number | null
  /** Requests before each scenario, or 'auto': one per connection the scenario uses. */
  warmup: number | 'auto'
}

/** The scenarios: one closed loop per concurrency, then one open loop per rate. */
export interface LoadPlan {
  concurrency: number[]
  /** Requests per second; null sends every request at once (`inf`). */
  rates: (number | null)[]
  arrival: Arrival
  /** Gamma shape: 1 is Poisson, below 1 burstier. */
  burstiness: number
  /** Open loop: the drawn gaps scaled so the requests span exactly their count / rate, or as drawn. */
  schedule: Schedule
  /** Open loop: a cap on requests in flight. */
  maxConcurrency: number | null
}

/**
 * exact (vLLM's default): a trial's drawn arrival times are scaled so that its N requests span
 * exactly (N − 1) / rate, so `--rate 100` sends at 100 req/s whatever the draw; the gaps keep
 * their shape (Poisson stays Poisson, up to that one factor). drawn: the gaps as drawn, whose
 * sum is off by ±1/√N (±3% for 1,000 requests).
 */
export type Schedule = 'exact' | 'drawn'
export const SCHEDULES = ['exact', 'drawn'] as const

/** When a trial stops: after `requests`, after `durationS` seconds, whichever first. */
export interface StopPlan {
  requests: number | null
  durationS: number | null
  /** Per request. */
  timeoutS: number
}

/**
 * An A/B run's blocks: one trial of each arm per block, the order within a block alternated
 * (counterbalanced: ABBA…, so neither arm always runs second, on a warmer server) or drawn; the
 * paired test looks after every block and stops the run once it has a verdict, at `maxTrials`
 * blocks, or when the next block would end past `timeBudgetS`.
 */
export interface SequentialPlan {
  maxTrials: number
  timeBudgetS: number | null
  order: BlockOrder
}
export type BlockOrder = 'counterbalanced' | 'random'
export const BLOCK_ORDERS = ['counterbalanced', 'random'] as const

/** The block budget when none is given: the paired test's default (core/detect/paired.ts). */
export const DEFAULT_MAX_TRIALS = 10

export interface BenchPlan {
  /** The benchmark's name: baselines are matched on it. */
  name: string
  workload: WorkloadPlan
  load: LoadPlan
  stop: StopPlan
  /** Repetitions of each scenario; in an A/B run, the blocks run before the test may stop. */
  trials: number
  /** A/B runs: how the blocks go and when they stop (one-server runs ignore it). */
  sequential: SequentialPlan
  slo: Slo | null
  gpu: { count: number | null; model: string | null; hourlyCostUsd: number | null }
  /** The engine's name for the report; null: what the server's model list says. */
  engine: string | null
  /** Git fields set by hand; the caller merges them into the run's git context (withGitOverrides). */
  git: Partial<GitContext>
  /** The serving configuration recorded as report.environment.config. */
  config: Record<string, unknown>
  /** Threads generating the load (core/bench/workers.ts); 1: this thread alone. */
  workers: number
}

export interface TokenDraft {
  mean?: number
  stddev?: number
  min?: number
  max?: number
}

/** A plan as written: every field optional, unchecked. */
export interface PlanDraft {
  name?: string
  api?: Api
  input?: TokenDraft
  output?: TokenDraft
  dataset?: string
  ignoreEos?: boolean
  seed?: number
  warmup?: number | 'auto'
  concurrency?: number[]
  rates?: (number | null)[]
  arrival?: Arrival
  burstiness?: number
  schedule?: Schedule
  maxConcurrency?: number
  requests?: number
  durationS?: number
  trials?: number
  maxTrials?: number
  timeBudgetS?: number
  order?: BlockOrder
  timeoutS?: number
  slo?: Slo
  gpus?: number
  gpuModel?: string
  gpuHourlyCostUsd?: number
  engine?: string
  git?: Partial<GitContext>
  config?: Record<string, unknown>
  workers?: number
}

/** A draft the rules refuse; `field` is the one at fault, for a config file's line. */
export class PlanError extends Error {
  override name = 'PlanError'
  readonly field: PlanField
  /** The message without the field's name: `10 is above --input-max (5)`. */
  readonly detail: string
  constructor(field: PlanField, detail: string, fieldName: string) {
    super(`${fieldName}: ${detail}`)
    this.field = field
    this.detail = detail
  }
}

const DEFAULT_MEAN = { input: 512, output: 128 } as const

/** The defaults, then the rules; throws a PlanError naming the field as `name` does. */
export function resolvePlan(d: PlanDraft, name: Namer = (f) => f): BenchPlan {
  const fail = (field: PlanField, detail: string): never => {
    throw new PlanError(field, detail, name(field))
  }
  const checked = <T extends number | undefined>(field: NumberField, x: T): T => {
    const problem = x === undefined ? null : numberProblem(NUMBER_RULES[field], x)
    if (problem) fail(field, problem)
    return x
  }

  const benchmark = d.name ?? 'default'
  if (!BENCHMARK_NAME.test(benchmark)) {
    fail('name', `expected 1-100 letters, digits, '.', '_' or '-', got ${JSON.stringify(benchmark)}`)
  }
  const tokens = (kind: 'input' | 'output'): TokenDistribution => {
    const t = d[kind] ?? {}
    const field = (k: keyof TokenDraft) => `${kind}.${k}` as const
    const mean = checked(field('mean'), t.mean) ?? DEFAULT_MEAN[kind]
    const dist = {
      mean,
      stddev: checked(field('stddev'), t.stddev) ?? 0,
      min: checked(field('min'), t.min) ?? 1,
      max: checked(field('max'), t.max) ?? Math.max(mean * 64, 1_000_000),
    }
    if (dist.min > dist.max) fail(field('min'), `${dist.min} is above ${name(field('max'))} (${dist.max})`)
    if (dist.mean < dist.min || dist.mean > dist.max) {
      fail(
        field('mean'),
        `${dist.mean} must lie between ${name(field('min'))} (${dist.min}) and ${name(field('max'))} (${dist.max})`,
      )
    }
    return dist
  }
  const input = tokens('input')
  const output = tokens('output')

  for (const c of d.concurrency ?? []) checked('concurrency', c)
  for (const r of d.rates ?? []) if (r !== null) checked('rates', r)
  const rates = d.rates ?? []
  const concurrency = d.concurrency ?? (rates.length ? [] : [1])
  if (concurrency.length + rates.length === 0) {
    fail('concurrency', `no scenario: give ${name('concurrency')} or ${name('rates')}`)
  }
  const burstiness = checked('burstiness', d.burstiness) ?? 1
  const arrival = d.arrival ?? (burstiness !== 1 ? 'gamma' : 'poisson')
  if (burstiness !== 1 && arrival !== 'gamma') {
    fail('burstiness', `applies to ${name('arrival')} gamma, not ${arrival}`)
  }
  if (!rates.length) {
    // Set at all (even to its default), an open-loop option with no open loop is a mistake.
    const stray = (['arrival', 'burstiness', 'schedule', 'maxConcurrency'] as const).find(
      (f) => d[f] !== undefined,
    )
    if (stray) fail(stray, `applies to open-loop runs: add ${name('rates')}`)
  }
  const requests = checked('requests', d.requests)
  const durationS = checked('durationS', d.durationS)
  if (rates.includes(null) && requests === undefined) {
    fail('rates', `inf sends every request at once: give ${name('requests')}`)
  }
  const warmup = d.warmup ?? 'auto'
  if (warmup !== 'auto') checked('warmup', warmup)
  for (const v of Object.values(d.slo ?? {})) if (v !== undefined) checked('slo', v)

  const trials = checked('trials', d.trials) ?? 1
  const maxTrials = checked('maxTrials', d.maxTrials) ?? Math.max(DEFAULT_MAX_TRIALS, trials)
  if (maxTrials < trials) fail('maxTrials', `${maxTrials} is below ${name('trials')} (${trials})`)

  const plan: BenchPlan = {
    name: benchmark,
    workload: {
      api: d.api ?? 'completions',
      input,
      output,
      dataset: d.dataset ?? null,
      ignoreEos: d.ignoreEos ?? false,
      seed: checked('seed', d.seed) ?? null,
      warmup,
    },
    load: {
      concurrency,
      rates,
      arrival,
      burstiness,
      schedule: d.schedule ?? 'exact',
      maxConcurrency: checked('maxConcurrency', d.maxConcurrency) ?? null,
    },
    stop: {
      requests: requests ?? (durationS === undefined ? 100 : null),
      durationS: durationS ?? null,
      timeoutS: checked('timeoutS', d.timeoutS) ?? 300,
    },
    trials,
    sequential: {
      maxTrials,
      timeBudgetS: checked('timeBudgetS', d.timeBudgetS) ?? null,
      order: d.order ?? 'counterbalanced',
    },
    slo: d.slo && Object.keys(d.slo).length ? { ...d.slo } : null,
    gpu: {
      count: checked('gpus', d.gpus) ?? null,
      model: d.gpuModel ?? null,
      hourlyCostUsd: checked('gpuHourlyCostUsd', d.gpuHourlyCostUsd) ?? null,
    },
    engine: d.engine ?? null,
    git: definedOnly(d.git ?? {}),
    config: d.config ?? {},
    workers: checked('workers', d.workers) ?? 1,
  }
  const names = planScenarios(plan).map((s) => s.name)
  const dup = names.find((n, i) => names.indexOf(n) !== i)
  if (dup) fail(dup.startsWith('rate-') ? 'rates' : 'concurrency', `scenario ${dup} is listed twice`)
  return plan
}

export interface PlannedScenario {
  /** As the report names it, and baselines match it: `concurrency-8`, `rate-10-gamma-0.5`. */
  name: string
  load: Load
}

export function planScenarios(plan: Pick<BenchPlan, 'load'>): PlannedScenario[] {
  const l = plan.load
  const closed = l.concurrency.map(
    (c): PlannedScenario => ({ name: `concurrency-${c}`, load: { mode: 'closed', concurrency: c } }),
  )
  const shape = l.arrival === 'poisson' ? '' : l.arrival === 'gamma' ? `-gamma-${l.burstiness}` : '-constant'
  const open = l.rates.map(
    (rate): PlannedScenario => ({
      name: `rate-${rate ?? 'inf'}${rate === null ? '' : shape}`,
      load: {
        mode: 'open',
        rate,
        arrival: l.arrival,
        burstiness: l.burstiness,
        schedule: l.schedule,
        max_concurrency: l.maxConcurrency,
      },
    }),
  )
  return [...closed, ...open]
}

/** The run's git context with the fields set by hand (the plan's, a PR comment's) over it. */
export function withGitOverrides(git: GitContext, overrides: Partial<GitContext>): GitContext {
  return { ...git, ...definedOnly(overrides) }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}
