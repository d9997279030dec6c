// Runs: a report stored as one row of header plus one row per trial, whose per-request samples
// are arrays per metric. Ingest is idempotent on the CI identity (repository, CI run id and
// attempt, benchmark): a re-post of the same report returns the run already stored.
import { randomUUID } from 'node:crypto'
import type { Kysely, Transaction } from 'kysely'
import { parseReport, type Report, type Trial } from '../../core/report.ts'
import type { Database } from '../db/database.ts'

export interface StoredRun {
  id: string
  projectId: string
  report: Report
}

function flattenItl(itl: number[][]): { itl_ms: number[]; itl_counts: number[] } {
  return { itl_ms: itl.flat(), itl_counts: itl.map((gaps) => gaps.length) }
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

async function existingByCiIdentity(
  db: Kysely<Database> | Transaction<Database>,
  projectId: string,
  r: Report,
) {
  if (!r.ci) return null
  const row = await db
    .selectFrom('runs')
    .select('id')
    .where('project_id', '=', projectId)
    .where('ci_run_id', '=', r.ci.run_id)
    .where('ci_run_attempt', '=', r.ci.run_attempt)
    .where('benchmark', '=', r.benchmark)
    .executeTakeFirst()
  return row?.id ?? null
}

const isUniqueViolation = (e: unknown) => (e as { code?: string }).code === '23505'

/** Stores a validated report; `created` is false when the same CI run attempt was stored before. */
export async function insertRun(
  db: Kysely<Database>,
  projectId: string,
  report: Report,
): Promise<{ id: string; created: boolean }> {
  const { scenarios, ...header } = report
  const id = randomUUID()
  try {
    return await db.transaction().execute(async (trx) => {
      const existing = await existingByCiIdentity(trx, projectId, report)
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
          gpu_model: report.environment.gpu.model,
          gpu_count: report.environment.gpu.count,
          header: JSON.stringify(header),
          reported_at: report.created_at,
        })
        .execute()
      const rows = scenarios.flatMap((s) =>
        s.trials.map((t) => ({
          run_id: id,
          scenario: s.name,
          trial_index: t.index,
          load: JSON.stringify(s.load),
          stop: JSON.stringify(s.stop),
          summary: JSON.stringify(t.summary),
          errors: JSON.stringify(t.errors),
          error_examples: JSON.stringify(t.error_examples),
          warnings: JSON.stringify(t.warnings),
          token_count_source: t.token_count_source,
          started_at: t.started_at,
          start_ms: t.samples.start_ms,
          ttft_ms: t.samples.ttft_ms,
          tpot_ms: t.samples.tpot_ms,
          e2el_ms: t.samples.e2el_ms,
          ...flattenItl(t.samples.itl_ms),
          input_tokens: t.samples.input_tokens,
          output_tokens: t.samples.output_tokens,
          dispatch_delay_ms: t.samples.dispatch_delay_ms,
        })),
      )
      await trx.insertInto('trials').values(rows).execute()
      return { id, created: true }
    })
  } catch (e) {
    // Two posts of the same CI run at once: the second loses the race on the unique index.
    if (isUniqueViolation(e)) {
      const existing = await existingByCiIdentity(db, projectId, report)
      if (existing) return { id: existing, created: false }
    }
    throw e
  }
}

/** The run as the report it was ingested from. */
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
    const trial: Trial = {
      index: t.trial_index,
      started_at: new Date(t.started_at).toISOString(),
      summary: t.summary as Trial['summary'],
      samples: {
        start_ms: t.start_ms,
        ttft_ms: t.ttft_ms,
        tpot_ms: t.tpot_ms,
        e2el_ms: t.e2el_ms,
        itl_ms: unflattenItl(t.itl_ms, t.itl_counts),
        input_tokens: t.input_tokens,
        output_tokens: t.output_tokens,
        dispatch_delay_ms: t.dispatch_delay_ms,
      },
      errors: t.errors,
      error_examples: t.error_examples,
      token_count_source: t.token_count_source as Trial['token_count_source'],
      warnings: t.warnings,
    }
    s.trials.push(trial)
  }
  return { id: run.id, projectId: run.project_id, report: parseReport({ ...run.header, scenarios }) }
}
