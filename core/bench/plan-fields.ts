// The fields of a benchmark plan a user sets, and the range each number must lie in. One table
// for every way a plan is written (infergate.yaml, bench's flags, code), so they all refuse the
// same values; how a field is named to the user (a YAML key, a flag) is the writer's business.

export const PLAN_FIELDS = [
  'name',
  'api',
  'input.mean',
  'input.stddev',
  'input.min',
  'input.max',
  'output.mean',
  'output.stddev',
  'output.min',
  'output.max',
  'dataset',
  'ignoreEos',
  'seed',
  'warmup',
  'concurrency',
  'rates',
  'arrival',
  'burstiness',
  'schedule',
  'maxConcurrency',
  'requests',
  'durationS',
  'trials',
  'maxTrials',
  'timeBudgetS',
  'order',
  'timeoutS',
  'workers',
  'slo',
  'gpus',
  'gpuModel',
  'gpuHourlyCostUsd',
  'engine',
  'git',
  'config',
] as const
export type PlanField = (typeof PLAN_FIELDS)[number]

/** Turns a field into the name the user wrote it under: `workload.input_tokens.min`, `--input-min`. */
export type Namer = (field: PlanField) => string

/** The shape cli/args.ts parseNumber takes, so a flag is refused in the same words as here. */
export interface NumberRule {
  min?: number
  max?: number
  int?: boolean
  exclusiveMin?: boolean
}

const positiveInt = { min: 1, int: true }
const positive = { min: 0, exclusiveMin: true }

/** Node's timers hold at most 2^31 − 1 ms: a longer per-request timeout would fire at once. */
export const MAX_TIMEOUT_S = 2_147_483

export const NUMBER_RULES = {
  'input.mean': positiveInt,
  'input.stddev': { min: 0 },
  'input.min': positiveInt,
  'input.max': positiveInt,
  'output.mean': positiveInt,
  'output.stddev': { min: 0 },
  'output.min': positiveInt,
  'output.max': positiveInt,
  seed: { int: true, min: 0, max: Number.MAX_SAFE_INTEGER },
  warmup: { int: true, min: 0 },
  concurrency: positiveInt,
  /** Each rate; `inf` (all at once) is null and has no range. */
  rates: positive,
  burstiness: positive,
  maxConcurrency: positiveInt,
  requests: positiveInt,
  durationS: positive,
  trials: positiveInt,
  maxTrials: positiveInt,
  timeBudgetS: positive,
  timeoutS: { ...positive, max: MAX_TIMEOUT_S },
  workers: { min: 1, max: 256, int: true },
  /** Each SLO threshold, in ms. */
  slo: positive,
  gpus: positiveInt,
  gpuHourlyCostUsd: positive,
} as const satisfies Partial<Record<PlanField, NumberRule>>
export type NumberField = keyof typeof NUMBER_RULES

/** `expected an integer ≥ 1, got 0`, or null when x obeys the rule. */
export function numberProblem(rule: NumberRule, x: number): string | null {
  const bad =
    !Number.isFinite(x) ||
    (rule.int && !Number.isInteger(x)) ||
    (rule.min !== undefined && (rule.exclusiveMin ? x <= rule.min : x < rule.min)) ||
    (rule.max !== undefined && x > rule.max)
  if (!bad) return null
  return `expected ${describeRule(rule)}, got ${x}`
}

/** `an integer ≥ 1`, `a number > 0 and ≤ 2147483`: worded as the flags' parser words it. */
export function describeRule(rule: NumberRule): string {
  const kind = rule.int ? 'an integer' : 'a number'
  const range = rule.min !== undefined ? (rule.exclusiveMin ? ` > ${rule.min}` : ` ≥ ${rule.min}`) : ''
  const upper = rule.max !== undefined ? `${range ? ' and' : ''} ≤ ${rule.max}` : ''
  return `${kind}${range}${upper}`
}
