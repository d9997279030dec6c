// Open-loop arrival processes, as vLLM's benchmark draws them: gaps from a gamma distribution
// whose shape is the burstiness (1 = Poisson; < 1 burstier; > 1 more regular), or constant.
import type { Arrival } from '../report.ts'
import { Rng } from '../rng.ts'

/** Returns a function giving the gap in ms before each next request; 0 when rate is null (all at once). */
export function interArrival(
  rate: number | null,
  arrival: Arrival,
  burstiness: number,
  rng: Rng,
): () => number {
  if (rate === null) return () => 0
  const meanMs = 1000 / rate
  switch (arrival) {
    case 'constant':
      return () => meanMs
    case 'poisson':
      return () => rng.exponential(1) * meanMs
    case 'gamma':
      return () => rng.gamma(burstiness, meanMs / burstiness)
  }
}

export interface ScheduleSpec {
  rate: number | null
  arrival: Arrival
  burstiness: number
  /** exact: scale the gaps so the n requests span (n − 1) / rate; drawn: as drawn. */
  exact: boolean
  seed: number
}

/** The arrival stream of open-loop trials: its own stream of the seed, so prompts do not shift it. */
export const ARRIVAL_STREAM = 0xa771

/**
 * The planned send times of a trial's requests, ms after its first: 0, then the running sum of
 * the gaps. With `exact`, every gap is multiplied by one factor so that the n-th request is
 * planned at exactly (n − 1) / rate (as vLLM's benchmark does by default, which scales the sum
 * of its n draws to n / rate): a drawn sum is off by ±1/√n, and a "100 req/s" run would send at
 * 96 or 103. Two passes over the same seeded stream, so the schedule costs no memory however
 * long the trial; `n` is the trial's request count, or rate × duration when it stops on time.
 */
export function arrivalSchedule(spec: ScheduleSpec, n: number): () => number {
  const draw = () =>
    interArrival(spec.rate, spec.arrival, spec.burstiness, new Rng(spec.seed, ARRIVAL_STREAM))
  let factor = 1
  if (spec.exact && spec.rate !== null && spec.arrival !== 'constant' && n > 1 && Number.isFinite(n)) {
    const gap = draw()
    let sum = 0
    for (let i = 1; i < n; i++) sum += gap()
    if (sum > 0) factor = ((n - 1) * 1000) / spec.rate / sum
  }
  const gap = draw()
  let offset = 0
  let k = 0
  return () => {
    if (k++ > 0) offset += gap() * factor
    return offset
  }
}
