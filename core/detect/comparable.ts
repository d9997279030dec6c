// What two runs must share for a comparison of them to mean anything: the benchmark, the API,
// the hardware and the workload sent (a verdict on two workloads means nothing, however small
// its p-value). Not here: what users change on purpose and compare (model, engine and its
// version, serving config, the server's URL), nor the prompt seed (drawn per run) and the warm-up
// (neither changes the distribution of what is measured): those are the environment_diff.
// One definition for `infergate compare` (which refuses a mismatch) and the service (whose
// baseline holds only runs that measured the same thing).
import type { ComparableReport } from './compare.ts'

export const SAME_MEASUREMENT: [string, (r: ComparableReport) => unknown][] = [
  ['benchmark', (r) => r.benchmark],
  ['environment.endpoint.api', (r) => r.environment.endpoint.api],
  ['environment.gpu.model', (r) => r.environment.gpu.model],
  ['environment.gpu.count', (r) => r.environment.gpu.count],
  ['workload.source', (r) => r.workload.source],
  ['workload.dataset', (r) => r.workload.dataset],
  ['workload.input_tokens', (r) => r.workload.input_tokens],
  ['workload.output_tokens', (r) => r.workload.output_tokens],
  ['workload.ignore_eos', (r) => r.workload.ignore_eos],
]

/** JSON with object keys sorted: values equal whatever order their keys were stored in. */
export function canonical(v: unknown): string {
  return (
    JSON.stringify(v, (_k, x: unknown) =>
      x && typeof x === 'object' && !Array.isArray(x)
        ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        : x,
    ) ?? 'null'
  )
}

/** The fields of SAME_MEASUREMENT in which `other` differs from `candidate`. */
export function measurementDifferences(candidate: ComparableReport, other: ComparableReport): string[] {
  return SAME_MEASUREMENT.filter(([, get]) => canonical(get(candidate)) !== canonical(get(other))).map(
    ([field]) => field,
  )
}
