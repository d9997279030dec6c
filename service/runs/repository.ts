// Runs: a report stored as one row of header plus one row per trial, whose per-request samples
// are arrays per metric. Ingest is idempotent on the run's identity (the CI run attempt and
// benchmark, or the report's digest outside CI): a re-post returns the run already stored.
import { createHash, randomUUID } from 'node:crypto'
import type { Kysely, Transaction } from 'kysely'
import {
  type ComparableReport,
  type ComparableTrial,
  itlSample,
  type Run,
} from '../../core/detect/compare.ts'
import type { Comparison } from '../../core/detect/comparison.ts'
import { Report, type Trial } from '../../core/report.ts'
import type { Database } from '../db/database.ts'
import { packF64, packI32, unpackF64, unpackI32, unpackNullableF64 } from './packed.ts'

/** A run's id as this repository makes them (randomUUID): anything else names no run. */
export const RUN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export interface StoredRun {
  id: string
  projectId: string
  report: Report
}

function unflattenItl(flat: number[], counts: number[]): number[][] {
  const out: number[][] = []
  let at = 0
  for (const n of counts) {
    out.push(flat.slice(at, at + n))
    at += n
  }
  return out
}

/**
 * What makes two posts the same run: the CI run attempt and benchmark for reports made in CI,
 * else the report itself (SHA-256 of it as parsed), so posting the same file twice is one run.
 */
export type RunIdentity =
  | { ci: { run_id: string; run_attempt: number; benchmark: string } }
  | { digest: string }

export function identityOf(r: Report): RunIdentity {
  if (r.ci) return { ci: { run_id: r.ci.run_id, run_attempt: r.ci.run_attempt, benchmark: r.benchmark } }
  return { digest: createHash('sha256').update(JSON.stringify(r)).digest('hex') }
}

/** The run already stored under this identity, if any. */
export async function existingRun(
  db: Kysely<Database> | Transaction<Database>,
  projectId: string,
  identity: RunIdentity,
): Promise<string | null> {
  let q = db.selectFrom('runs').select('id').where('project_id', '=', projectId)
  q =
    'ci' in identity
      ? q
          .where('ci_run_id', '=', identity.ci.run_id)
          .where('ci_run_attempt', '=', identity.ci.run_attempt)
          .where('benchmark', '=', identity.ci.benchmark)
      : q.where('report_digest', '=', identity.digest)
  const row = await q.executeTakeFirst()
  return row?.id ?? null
}

const isUniqueViolation = (e: unknown) => (e as { code?: string }).code === '23505'

export interface NewRun {
  id?: string
  identity?: RunIdentity
  /** The comparison made at ingest, stored with the run. */
  comparison?: unknown
  /** Runs in the same transaction once the run is written (its outbox). */
  finish?: (trx: Transaction<Database>) => Promise<void>
}

/**
 * Stores a validated report in one transaction that holds one connection and waits for nothing
 * else; `created` is false when a run of the same identity was stored before.
 */
export async function insertRun(
  db: Kysely<Database>,
  projectId: string,
  report: Report,
  run: NewRun = {},
): Promise<{ id: string; created: boolean }> {
  const { scenarios, ...header } = report
  const id = run.id ?? randomUUID()
  const identity = run.identity ?? identityOf(report)
  // Packed before the transaction opens: the connection is held for I/O only.
  const rows = scenarios.flatMap((s) =>
    s.trials.map((t) => ({
      run_id: id,
      scenario: s.name,
      trial_index: t.index,
      arm: t.arm ?? null,
      block: t.block ?? null,
      load: JSON.stringify(s.load),
      stop: JSON.stringify(s.stop),
      summary: JSON.stringify(t.summary),
      errors: JSON.stringify(t.errors),
      error_examples: JSON.stringify(t.error_examples),
      warnings: JSON.stringify(t.warnings),
      token_count_source: t.token_count_source,
      started_at: t.started_at,
      start_ms: packF64(t.samples.start_ms),
      ttft_ms: packF64(t.samples.ttft_ms),
      tpot_ms: packF64(t.samples.tpot_ms),
      e2el_ms: packF64(t.samples.e2el_ms),
      itl_ms: packF64(t.samples.itl_ms.flat()),
      itl_counts: packI32(t.samples.itl_ms.map((gaps) => gaps.length)),
      itl_sample: packF64(itlSample(t.samples)),
      input_tokens: packI32(t.samples.input_tokens),
      output_tokens: packI32(t.samples.output_tokens),
      dispatch_delay_ms: t.samples.dispatch_delay_ms && packF64(t.samples.dispatch_delay_ms),
    })),
  )
  try {
    return await db.transaction().execute(async (trx) => {
      const existing = await existingRun(trx, projectId, identity)
      if (existing) return { id: existing, created: false }
      await trx
        .insertInto('runs')
        .values({
          id,
          project_id: projectId,
          benchmark: report.benchmark,
          sha: report.git.sha,
          ref: report.git.ref,
          branch: report.git.branch,
          base_branch: report.git.base_branch,
          pr_number: report.git.pr_number,
          event_name: report.git.event_name,
          ci_run_id: report.ci?.run_id ?? null,
          ci_run_attempt: report.ci?.run_attempt ?? null,
          report_digest: 'digest' in identity ? identity.digest : null,
          gpu_model: report.environment.gpu.model,
          gpu_count: report.environment.gpu.count,
          header: JSON.stringify(header),
          comparison: run.comparison === undefined ? null : JSON.stringify(run.comparison),
          paired: report.arms !== undefined,
          reported_at: report.created_at,
        })
        .execute()
      await trx.insertInto('trials').values(rows).execute()
      await run.finish?.(trx)
      return { id, created: true }
    })
  } catch (e) {
    // Two posts of the same run at once: the second loses the race on the unique index.
    if (isUniqueViolation(e)) {
      const existing = await existingRun(db, projectId, identity)
      if (existing) return { id: existing, created: false }
    }
    throw e
  }
}

/** The project a run belongs to, or null when there is no such run. */
export async function projectOfRun(db: Kysely<Database>, id: string): Promise<string | null> {
  const row = await db.selectFrom('runs').select('project_id').where('id', '=', id).executeTakeFirst()
  return row?.project_id ?? null
}

/** The commit of each run, by id. */
export async function shasOf(
  db: Kysely<Database> | Transaction<Database>,
  ids: string[],
): Promise<Record<string, string | null>> {
  if (!ids.length) return {}
  const rows = await db.selectFrom('runs').select(['id', 'sha']).where('id', 'in', ids).execute()
  return Object.fromEntries(rows.map((r) => [r.id, r.sha]))
}

/** The run as the report it was ingested from. */
/** The scenario a stored trial belongs to, added (with the load and stop of its first trial) when new. */
function scenarioOf<T>(
  scenarios: (Omit<Report['scenarios'][number], 'trials'> & { trials: T[] })[],
  t: { scenario: string; load: unknown; stop: unknown },
) {
  let s = scenarios.find((x) => x.name === t.scenario)
  if (!s) {
    s = {
      name: t.scenario,
      load: t.load as Report['scenarios'][0]['load'],
      stop: t.stop as Report['scenarios'][0]['stop'],
      trials: [],
    }
    scenarios.push(s)
  }
  return s
}

export async function loadRun(db: Kysely<Database>, id: string): Promise<StoredRun | null> {
  const run = await db
    .selectFrom('runs')
    .select(['id', 'project_id', 'header'])
    .where('id', '=', id)
    .executeTakeFirst()
  if (!run) return null
  const trials = await db.selectFrom('trials').selectAll().where('run_id', '=', id).orderBy('id').execute()
  const scenarios: Report['scenarios'] = []
  for (const t of trials) {
    const s = scenarioOf(scenarios, t)
    const trial: Trial = {
      index: t.trial_index,
      ...armOf(t),
      started_at: new Date(t.started_at).toISOString(),
      summary: t.summary as Trial['summary'],
      samples: {
        start_ms: unpackF64(t.start_ms),
        ttft_ms: unpackF64(t.ttft_ms),
        tpot_ms: unpackNullableF64(t.tpot_ms),
        e2el_ms: unpackF64(t.e2el_ms),
        itl_ms: unflattenItl(unpackF64(t.itl_ms), unpackI32(t.itl_counts)),
        input_tokens: unpackI32(t.input_tokens),
        output_tokens: unpackI32(t.output_tokens),
        dispatch_delay_ms: t.dispatch_delay_ms && unpackF64(t.dispatch_delay_ms),
      },
      errors: t.errors,
      error_examples: t.error_examples,
      token_count_source: t.token_count_source as Trial['token_count_source'],
      warnings: t.warnings,
    }
    s.trials.push(trial)
  }
  // Validated at ingest, by the rules of its day: a run stored before a limit was added (a longer
  // branch name, a deeper config) still reads back, as it was stored, rather than failing.
  const stored = { ...run.header, scenarios }
  const parsed = Report.safeParse(stored)
  return { id: run.id, projectId: run.project_id, report: parsed.success ? parsed.data : (stored as Report) }
}

/** A trial as the run's dashboard page reads it: all but the per-request columns it does not draw. */
export interface PageTrial
  extends Pick<
    Trial,
    'index' | 'arm' | 'block' | 'started_at' | 'summary' | 'errors' | 'error_examples' | 'warnings'
  > {
  samples: Pick<Trial['samples'], 'ttft_ms' | 'tpot_ms' | 'e2el_ms'>
}
export interface PageReport extends Omit<Report, 'scenarios'> {
  scenarios: (Omit<Report['scenarios'][number], 'trials'> & { trials: PageTrial[] })[]
}

/**
 * A run for its page: the header, and per trial what the page shows. Not its start times,
 * inter-token gaps and token counts: a run of 8 × 1,000 requests of 128 tokens holds a million
 * gaps, which loadRun reads in ~80 ms and the page never draws.
 */
export async function loadRunPage(db: Kysely<Database>, id: string): Promise<PageReport | null> {
  const run = await db.selectFrom('runs').select('header').where('id', '=', id).executeTakeFirst()
  if (!run) return null
  const trials = await db
    .selectFrom('trials')
    .select([
      'scenario',
      'trial_index',
      'arm',
      'block',
      'load',
      'stop',
      'summary',
      'errors',
      'error_examples',
      'warnings',
      'started_at',
      'ttft_ms',
      'tpot_ms',
      'e2el_ms',
    ])
    .where('run_id', '=', id)
    .orderBy('id')
    .execute()
  const report = { ...(run.header as Omit<Report, 'scenarios'>), scenarios: [] } as PageReport
  for (const t of trials) {
    const s = scenarioOf(report.scenarios, t)
    s.trials.push({
      index: t.trial_index,
      ...armOf(t),
      started_at: new Date(t.started_at).toISOString(),
      summary: t.summary as Trial['summary'],
      errors: t.errors,
      error_examples: t.error_examples,
      warnings: t.warnings,
      samples: {
        ttft_ms: unpackF64(t.ttft_ms),
        tpot_ms: unpackNullableF64(t.tpot_ms),
        e2el_ms: unpackF64(t.e2el_ms),
      },
    })
  }
  return report
}

/**
 * A trial's arm and block in an A/B run, keyed as the report has them (right after `index`);
 * nothing in a run of one server, whose trials carry neither.
 */
function armOf(t: {
  arm: 'baseline' | 'candidate' | null
  block: number | null
}): Pick<Trial, 'arm' | 'block'> {
  return t.arm === null || t.block === null ? {} : { arm: t.arm, block: t.block }
}

/** What the detector reads of a trial, with the arm and block that pair the trials of an A/B run. */
export type PairedTrial = ComparableTrial & Pick<Trial, 'arm' | 'block'>

/**
 * Runs as the detector reads them, in a few queries whatever their number: the header, and per
 * trial the summary, plus, for the runs in `withSamples` (default: all), the samples compared,
 * with the inter-token gaps chosen at ingest (every gap for runs stored before that). History
 * runs need only their summaries. Trials of an A/B run carry their arm and block. Answers in
 * the order of `ids`.
 */
export async function loadComparable(
  db: Kysely<Database>,
  ids: string[],
  withSamples: readonly string[] = ids,
): Promise<Run[]> {
  if (ids.length === 0) return []
  const sampled = ids.filter((id) => withSamples.includes(id))
  const summarized = ids.filter((id) => !withSamples.includes(id))
  const headers = await db.selectFrom('runs').select(['id', 'header']).where('id', 'in', ids).execute()
  const full = sampled.length
    ? await db
        .selectFrom('trials')
        .select((eb) => [
          'id',
          'run_id',
          'scenario',
          'arm',
          'block',
          'summary',
          'ttft_ms',
          'tpot_ms',
          'e2el_ms',
          'itl_sample',
          eb.case().when('itl_sample', 'is', null).then(eb.ref('itl_ms')).end().as('itl_all'),
          eb.case().when('itl_sample', 'is', null).then(eb.ref('itl_counts')).end().as('itl_counts'),
        ])
        .where('run_id', 'in', sampled)
        .execute()
    : []
  const light = summarized.length
    ? await db
        .selectFrom('trials')
        .select(['id', 'run_id', 'scenario', 'arm', 'block', 'summary'])
        .where('run_id', 'in', summarized)
        .execute()
    : []
  const runs = new Map<string, Run>()
  for (const h of headers) {
    // Validated at ingest; stored as the report without its scenarios.
    const report = { ...(h.header as Omit<Report, 'scenarios'>), scenarios: [] } as ComparableReport
    runs.set(h.id, { id: h.id, report })
  }
  const trials: { id: string; run_id: string; scenario: string; trial: PairedTrial }[] = [
    ...light.map((t) => ({ ...t, trial: { ...armOf(t), summary: t.summary as Trial['summary'] } })),
    ...full.map((t) => ({
      ...t,
      trial: {
        ...armOf(t),
        summary: t.summary as Trial['summary'],
        samples: {
          ttft_ms: unpackF64(t.ttft_ms),
          tpot_ms: unpackNullableF64(t.tpot_ms),
          e2el_ms: unpackF64(t.e2el_ms),
          itl_ms: t.itl_sample
            ? [unpackF64(t.itl_sample)]
            : unflattenItl(unpackF64(t.itl_all!), unpackI32(t.itl_counts!)),
        },
      },
    })),
  ]
  // Trials in the order they were stored: scenario and trial order as in the report.
  trials.sort((a, b) => Number(a.id) - Number(b.id))
  for (const t of trials) {
    const { report } = runs.get(t.run_id)!
    let s = report.scenarios.find((x) => x.name === t.scenario)
    if (!s) {
      s = { name: t.scenario, trials: [] }
      report.scenarios.push(s)
    }
    s.trials.push(t.trial)
  }
  return ids.flatMap((id) => runs.get(id) ?? [])
}

/** The comparison stored with a run at ingest (null for runs stored before comparisons were kept). */
export async function storedComparison(db: Kysely<Database>, id: string): Promise<Comparison | null> {
  const row = await db.selectFrom('runs').select('comparison').where('id', '=', id).executeTakeFirst()
  return (row?.comparison as Comparison | null | undefined) ?? null
}

/** Stores the comparison of a run kept from before comparisons were stored. */
export async function storeComparison(db: Kysely<Database>, id: string, comparison: Comparison) {
  await db
    .updateTable('runs')
    .set({ comparison: JSON.stringify(comparison) })
    .where('id', '=', id)
    .execute()
}
