// POST /api/v1/statuses: a benchmark's state on a commit before (pending) or instead of (error)
// a report — the Action announces a run as it starts, so a required check shows progress, and
// says error when the run fails. One definition for the Action's client and the service.
import { z } from 'zod'
import { text } from './limits.ts'
import { BENCHMARK_NAME } from './report.ts'

export const StatusRequest = z.strictObject({
  benchmark: z.string().regex(BENCHMARK_NAME, 'letters, digits, ".", "_" or "-", at most 100'),
  /** The commit measured: a PR's head, never its merge commit. */
  sha: z.string().regex(/^[0-9a-f]{7,64}$/i, 'expected a commit SHA'),
  state: z.enum(['pending', 'error']),
  description: text(140).optional(),
  /** Where the reader follows the status to (the CI run). */
  target_url: text(2048).pipe(z.url()).optional(),
})
export type StatusRequest = z.infer<typeof StatusRequest>

export const DEFAULT_STATUS_DESCRIPTION: Record<StatusRequest['state'], string> = {
  pending: 'Benchmarking…',
  error: 'The benchmark run failed: see the CI run',
}
