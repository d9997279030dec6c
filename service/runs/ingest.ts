// Ingesting a report, top to bottom: validate it, find its identity (a re-post is the run already
// stored), compare it with its baseline, then store the run, its comparison and what GitHub and
// the project's webhooks are owed in one transaction. The comparison reads through the pool before the transaction opens,
// so an ingest never holds a connection while waiting for another (with a pool of N, N ingests
// each holding one and waiting for a second would wait for ever). The gate in front keeps
// ingests at work below the pool's size.
import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import { ciRunUrl } from '../../core/ci-context.ts'
import { compareArms, isPairedReport } from '../../core/detect/arms.ts'
import { measurementDifferences } from '../../core/detect/comparable.ts'
import { compareRuns, type Run } from '../../core/detect/compare.ts'
import type { Comparison } from '../../core/detect/comparison.ts'
import { detectorSettings } from '../../core/detect/settings.ts'
import { Report } from '../../core/report.ts'
import { issuesOf } from '../../core/validation.ts'
import type { Database } from '../db/database.ts'
import type { ServiceConfig } from '../env.ts'
import { ApiError, invalid } from '../http.ts'
import type { ServiceMetrics } from '../metrics.ts'
import { type NewNotification, runNotifications } from '../notifications/notification.ts'
import { enqueue, type NotificationView, notificationsOfRun } from '../notifications/outbox.ts'
import type { Project } from '../projects/repository.ts'
import { runLinkQuery, signRunLink } from '../web/links.ts'
import { publicRunUrl } from '../web/paths.ts'
import { runWebhookNotifications } from '../webhooks/notify.ts'
import { baselineFor, type Subject, subjectOfReport } from './baselines.ts'
import { learnsPriors, priorsFor } from './priors.ts'
import {
  existingRun,
  identityOf,
  insertRun,
  shasOf,
  storeComparison,
  storedComparison,
} from './repository.ts'

export interface IngestContext {
  db: Kysely<Database>
  project: Project
  config: ServiceConfig
  /** The key of signed run links (service/web/links.ts), for the page the comment links to. */
  linkSecret: () => Promise<Buffer>
  /** Where the detector's time is counted (GET /metrics). */
  metrics?: ServiceMetrics
}

/** The detector's own time, apart from the queries that fed it. */
function timed<T>(ctx: IngestContext, kind: 'history' | 'ab', detect: () => T): T {
  const started = performance.now()
  try {
    return detect()
  } finally {
    ctx.metrics?.comparison(kind, (performance.now() - started) / 1000)
  }
}

/** The run's dashboard page as GitHub's readers open it: signed, so no token is needed. */
async function pageUrl(ctx: IngestContext, id: string): Promise<string | null> {
  const { publicUrl, linkTtlDays } = ctx.config
  if (!publicUrl) return null
  const link = signRunLink(await ctx.linkSecret(), id, new Date(Date.now() + linkTtlDays * 86_400_000))
  return publicRunUrl(publicUrl, id, runLinkQuery(link))
}

export interface Ingested {
  id: string
  created: boolean
  comparison: Comparison
  /** The commit of each baseline run, by id: how the PR comment and the job summary name them. */
  baseline_shas: Record<string, string | null>
  notifications: NotificationView[]
}

/** The report a body holds, or a 400 naming the field; a 403 for another project's repository. */
export function reportOf(
  body: unknown,
  project: Project,
  repository = `${project.owner}/${project.repo}`,
): Report {
  const parsed = Report.safeParse(body)
  if (!parsed.success) throw invalid('report', issuesOf(parsed.error))
  const report = parsed.data
  // A run stopped with Ctrl-C measured part of its scenarios: stored, it could become a baseline.
  if (report.interrupted) {
    throw new ApiError(
      400,
      'invalid_report',
      'interrupted: the run was stopped before it finished; its report is for reading, not for baselines',
    )
  }
  if (report.git.repository === null) {
    throw new ApiError(
      400,
      'invalid_report',
      'git.repository: required to ingest a report (set by GitHub Actions, --git-repository, or infergate upload)',
    )
  }
  if (report.git.repository.toLowerCase() !== repository.toLowerCase()) {
    throw new ApiError(
      403,
      'repository_mismatch',
      `this token belongs to ${repository}, the report to ${report.git.repository}`,
    )
  }
  return report
}

/**
 * A run's comparison against its baseline as the baseline stands now. Base-branch runs that
 * measured something else (another workload or API: core/detect/comparable.ts) are no baseline:
 * a PR that changes the workload has none until its base branch measures the new one.
 */
export async function compareNow(ctx: IngestContext, run: Run, subject: Subject): Promise<Comparison> {
  // An A/B run measured its own baseline beside it, on the same hardware: no history needed.
  if (isPairedReport(run.report)) {
    // With the project's learned prior: the runs the Action was told of before this one ran.
    const priors = learnsPriors(ctx.project.settings)
      ? await priorsFor(ctx.db, ctx.project.id, subject.benchmark, {
          like: run,
          reportedAt: subject.reported_at,
        })
      : null
    return timed(ctx, 'ab', () =>
      compareArms(run, { settings: detectorSettings(ctx.project.settings), priors }),
    )
  }
  const base = await baselineFor(ctx.db, subject, ctx.config)
  const differing = new Map<string, string[]>()
  const same = (r: Run) => {
    const fields = measurementDifferences(run.report, r.report)
    if (fields.length) differing.set(r.id, fields)
    return fields.length === 0
  }
  const baselines = base.baselines.filter(same)
  const history = base.history.filter(same)
  const comparison = timed(ctx, 'history', () =>
    compareRuns(run, baselines, history.length ? history : baselines, detectorSettings(ctx.project.settings)),
  )
  if (differing.size) {
    const fields = [...new Set([...differing.values()].flat())]
    comparison.warnings.unshift(
      `${differing.size} base-branch run(s) measured another workload (${fields.join(', ')}) and are left out of the baseline`,
    )
  }
  return comparison
}

export async function ingest(ctx: IngestContext, report: Report): Promise<Ingested> {
  const { db, project, config } = ctx
  const identity = identityOf(report)
  const known = await existingRun(db, project.id, identity)
  if (known) return answerStored(ctx, known, report)

  // A baseline holds only runs reported no later than this one, so comparing before the write
  // gives the comparison that comparing after it would.
  const id = randomUUID()
  const subject = subjectOfReport(id, project.id, report)
  const comparison = await compareNow(ctx, { id, report }, subject)
  const baseline_shas = await shasOf(db, comparison.baseline_run_ids)
  // Signed once, and only when someone is told.
  let signed: Promise<string | null> | null = null
  const page = () => {
    signed ??= pageUrl(ctx, id)
    return signed
  }
  const owed: NewNotification[] = [
    ...(config.github
      ? runNotifications({ id, report, comparison, baselineShas: baseline_shas }, await page())
      : []),
    // Linked like GitHub's: the run's signed page, else the CI run.
    ...(await runWebhookNotifications(db, project, { id, report, comparison }, subject, async () => {
      return (await page()) ?? ciRunUrl(report.ci, report.git.repository)
    })),
  ]

  let notifications: NotificationView[] = []
  const stored = await insertRun(db, project.id, report, {
    id,
    identity,
    comparison,
    finish: async (trx) => {
      notifications = await enqueue(trx, project.id, id, owed)
    },
  })
  // Lost a race with a post of the same run: answer what that one stored.
  if (!stored.created) return answerStored(ctx, stored.id, report)
  return { id, created: true, comparison, baseline_shas, notifications }
}

/** A re-post answers exactly what the first post answered. */
async function answerStored(ctx: IngestContext, id: string, report: Report): Promise<Ingested> {
  let comparison = await storedComparison(ctx.db, id)
  if (!comparison) {
    // Stored before comparisons were kept: compare it as itself (it is no baseline of its own).
    comparison = await compareNow(ctx, { id, report }, subjectOfReport(id, ctx.project.id, report))
    await storeComparison(ctx.db, id, comparison)
  }
  const [baseline_shas, notifications] = await Promise.all([
    shasOf(ctx.db, comparison.baseline_run_ids),
    notificationsOfRun(ctx.db, id),
  ])
  return { id, created: false, comparison, baseline_shas, notifications }
}
