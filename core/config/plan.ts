// An infergate.yaml as a benchmark plan: its keys as a PlanDraft, and the plan's rules worded in
// its keys (`workload.input_tokens.min`), so a refused combination points at a line of the file.
import { type BenchPlan, type PlanDraft, resolvePlan, type TokenDraft } from '../bench/plan.ts'
import type { Namer, PlanField } from '../bench/plan-fields.ts'
import { formatPath } from '../validation.ts'
import type { Config } from './schema.ts'

type Key = readonly (string | number)[]

/** Where each field is written in the file; null for what only a flag or the caller sets. */
const CONFIG_KEYS: Record<PlanField, Key | null> = {
  name: ['benchmark'],
  api: ['workload', 'endpoint'],
  'input.mean': ['workload', 'input_tokens', 'mean'],
  'input.stddev': ['workload', 'input_tokens', 'stddev'],
  'input.min': ['workload', 'input_tokens', 'min'],
  'input.max': ['workload', 'input_tokens', 'max'],
  'output.mean': ['workload', 'output_tokens', 'mean'],
  'output.stddev': ['workload', 'output_tokens', 'stddev'],
  'output.min': ['workload', 'output_tokens', 'min'],
  'output.max': ['workload', 'output_tokens', 'max'],
  dataset: ['workload', 'dataset'],
  ignoreEos: ['workload', 'ignore_eos'],
  seed: ['workload', 'seed'],
  warmup: ['workload', 'warmup'],
  concurrency: ['workload', 'concurrency'],
  rates: ['workload', 'rate'],
  arrival: ['workload', 'arrival'],
  burstiness: ['workload', 'burstiness'],
  schedule: ['workload', 'schedule'],
  maxConcurrency: ['workload', 'max_concurrency'],
  requests: ['workload', 'requests'],
  durationS: ['workload', 'duration_s'],
  trials: ['workload', 'trials'],
  maxTrials: ['workload', 'max_trials'],
  timeBudgetS: ['workload', 'time_budget_s'],
  order: ['workload', 'order'],
  timeoutS: ['workload', 'timeout_s'],
  workers: ['workload', 'workers'],
  slo: ['slo'],
  gpus: ['resources', 'gpus'],
  gpuModel: null,
  gpuHourlyCostUsd: ['gpu_hourly_cost'],
  engine: ['engine', 'name'],
  git: null,
  config: null,
}

/**
 * The key of `field` in this file. A length written as a plain number (`input_tokens: 512`) is
 * its mean, so the mean's key is then `workload.input_tokens`.
 */
export function configKeyOf(config: Config | null, field: PlanField): Key | null {
  const m = field.match(/^(input|output)\.(mean|stddev|min|max)$/)
  if (m && config && typeof config.workload[`${m[1] as 'input' | 'output'}_tokens`] === 'number') {
    return ['workload', `${m[1]}_tokens`]
  }
  return CONFIG_KEYS[field]
}

/** Names each field by its key in the file. */
export function configNamer(config: Config | null): Namer {
  return (field) => {
    const key = configKeyOf(config, field)
    return key ? formatPath(key) : field
  }
}

function tokens(v: Config['workload']['input_tokens']): TokenDraft {
  return typeof v === 'number' ? { mean: v } : definedOnly({ ...v })
}

/** The file's keys, unchecked: what bench's flags may still override before the rules run. */
export function configDraft(c: Config): PlanDraft {
  const w = c.workload
  return definedOnly({
    name: c.benchmark,
    api: w.endpoint,
    input: tokens(w.input_tokens),
    output: tokens(w.output_tokens),
    dataset: w.dataset,
    ignoreEos: w.ignore_eos,
    seed: w.seed,
    warmup: w.warmup,
    concurrency: w.concurrency,
    rates: w.rate?.map((r) => (r === 'inf' ? null : r)),
    arrival: w.arrival,
    burstiness: w.burstiness,
    schedule: w.schedule,
    maxConcurrency: w.max_concurrency,
    requests: w.requests,
    durationS: w.duration_s,
    trials: w.trials,
    maxTrials: w.max_trials,
    timeBudgetS: w.time_budget_s,
    order: w.order,
    timeoutS: w.timeout_s,
    workers: w.workers,
    slo: c.slo,
    // No GPU (an existing server on a CPU, say): no per-GPU figures.
    gpus: c.resources.gpus || undefined,
    gpuHourlyCostUsd: c.gpu_hourly_cost,
    engine: c.engine.name,
  })
}

/** The file's plan; a PlanError names the key (configKeyOf gives its path, for the line). */
export function planFromConfig(config: Config): BenchPlan {
  return resolvePlan(configDraft(config), configNamer(config))
}

function definedOnly<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T
}
