// The learned prior of an A/B run (docs/detection.md, "The learned prior"): the block noise of the
// project's most recent earlier A/B runs of the benchmark. The Action asks for it before a run (so
// its stop rule knows it) and ingest uses the same runs to judge, so both decide alike. Only when
// the project asked for it (settings.paired_noise_prior: learned): on a node noisier than the
// runs it was learned on, a strong prior raises false alarms in the first blocks.
import type { Kysely } from 'kysely'
import { measurementDifferences } from '../../core/detect/comparable.ts'
import type { Run } from '../../core/detect/compare.ts'
import { learnPriors, type NoisePriors, PRIOR_RUNS } from '../../core/detect/noise-prior.ts'
import type { ProjectSettings } from '../../core/detect/settings.ts'
import type { Database } from '../db/database.ts'
import { loadComparable } from './repository.ts'

export const learnsPriors = (s: ProjectSettings) => s.paired_noise_prior === 'learned'

/** The project's A/B runs of a benchmark, newest first, at most `limit`; `before` leaves out a run and any reported after it. */
export async function earlierPairedRuns(
  db: Kysely<Database>,
  projectId: string,
  benchmark: string,
  limit: number,
  before?: { id: string; reported_at: Date | string },
): Promise<string[]> {
  let q = db
    .selectFrom('runs')
    .select('id')
    .where('project_id', '=', projectId)
    .where('benchmark', '=', benchmark)
    .where('paired', '=', true)
  if (before) q = q.where('id', '!=', before.id).where('reported_at', '<=', new Date(before.reported_at))
  const rows = await q.orderBy('reported_at', 'desc').orderBy('ingested_at', 'desc').limit(limit).execute()
  return rows.map((r) => r.id)
}

/**
 * The priors learned from those runs; with `like`, only runs that measured what it measures
 * (core/detect/comparable.ts: another workload's noise is not this one's). Summaries suffice.
 */
export async function priorsFor(
  db: Kysely<Database>,
  projectId: string,
  benchmark: string,
  options: { like?: Run; reportedAt?: Date | string } = {},
): Promise<NoisePriors> {
  const before =
    options.like && options.reportedAt !== undefined
      ? { id: options.like.id, reported_at: options.reportedAt }
      : undefined
  const ids = await earlierPairedRuns(db, projectId, benchmark, PRIOR_RUNS * 2, before)
  const runs = await loadComparable(db, ids, [])
  const like = options.like
  const kept = like
    ? runs.filter((r) => r.id !== like.id && measurementDifferences(like.report, r.report).length === 0)
    : runs
  return learnPriors(benchmark, kept)
}
