// The config's workload as `infergate bench` flags: the Action and the CLI then share one
// reading of them (cli/commands/bench.ts benchOptions), checks and defaults included.
import type { Config } from './schema.ts'

type Flags = Record<string, string | boolean | string[] | undefined>

function length(prefix: 'input' | 'output', v: Config['workload']['input_tokens']): Flags {
  if (typeof v === 'number') return { [`${prefix}-tokens`]: String(v) }
  const out: Flags = { [`${prefix}-tokens`]: String(v.mean) }
  if (v.stddev !== undefined) out[`${prefix}-stddev`] = String(v.stddev)
  if (v.min !== undefined) out[`${prefix}-min`] = String(v.min)
  if (v.max !== undefined) out[`${prefix}-max`] = String(v.max)
  return out
}

const opt = (v: number | string | undefined) => (v === undefined ? undefined : String(v))

export function benchFlagsOf(c: Config): Flags {
  const w = c.workload
  const slo = c.slo
    ? Object.entries(c.slo)
        .map(([k, v]) => `${k.replace(/_ms$/, '')}:${v}`)
        .join(',')
    : undefined
  return {
    name: c.benchmark,
    model: c.model.name,
    endpoint: w.endpoint,
    ...length('input', w.input_tokens),
    ...length('output', w.output_tokens),
    'ignore-eos': w.ignore_eos,
    dataset: w.dataset,
    concurrency: w.concurrency?.join(','),
    rate: w.rate?.join(','),
    arrival: w.arrival,
    burstiness: opt(w.burstiness),
    'max-concurrency': opt(w.max_concurrency),
    requests: opt(w.requests),
    duration: opt(w.duration_s),
    trials: String(w.trials),
    warmup: opt(w.warmup),
    timeout: String(w.timeout_s),
    seed: opt(w.seed),
    slo: slo || undefined,
    gpus: c.resources.gpus ? String(c.resources.gpus) : undefined,
    'gpu-hourly-cost': opt(c.gpu_hourly_cost),
    engine: c.engine.name,
  }
}
