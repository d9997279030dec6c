// Open-loop arrival processes, as vLLM's benchmark draws them: gaps from a gamma distribution
// whose shape is the burstiness (1 = Poisson; < 1 burstier; > 1 more regular), or constant.
import type { Arrival } from '../report.ts'
import type { Rng } from '../rng.ts'

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
