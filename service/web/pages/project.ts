// A project's front page: its benchmarks, each with its scenarios' latest values on the base
// branch (a PR's run only where the base branch has none), the latest verdict on the base branch
// and on recent pull requests, and when it last ran.
import type { Kysely } from 'kysely'
import type { Database } from '../../db/database.ts'
import type { Project } from '../../projects/repository.ts'
import { benchmarks, recentRuns } from '../../runs/history.ts'
import { html } from '../html.ts'
import { fmt, type Html, page, shortSha, verdictBadge, when } from '../layout.ts'
import { benchmarkPath, projectPath, runPath } from '../paths.ts'

/** The values a row shows: the gated medians and the throughput. */
const COLUMNS = [
  ['median_ttft_ms', 'TTFT p50 (ms)'],
  ['median_tpot_ms', 'TPOT p50 (ms)'],
  ['p99_ttft_ms', 'TTFT p99 (ms)'],
  ['output_throughput', 'Output tok/s'],
] as const

/** Runs read for the verdicts: enough for every benchmark's latest on main and its recent PRs. */
const RECENT = 500
const PRS_SHOWN = 5

export async function projectPage(db: Kysely<Database>, project: Project): Promise<Html> {
  const [overview, onBase, recent] = await Promise.all([
    benchmarks(db, project.id),
    benchmarks(db, project.id, { baseOnly: true }),
    recentRuns(db, project.id, RECENT),
  ])
  const latest = (benchmark: string, scenario: (typeof overview)[number]['scenarios'][number]) =>
    onBase.find((b) => b.benchmark === benchmark)?.scenarios.find((s) => s.name === scenario.name) ?? scenario
  const name = `${project.owner}/${project.repo}`
  const body = overview.length
    ? overview.map((b) => {
        const runs = recent.filter((r) => r.benchmark === b.benchmark)
        const base = runs.find((r) => r.pr_number === null)
        const prs = new Map<number, (typeof runs)[number]>()
        for (const r of runs) if (r.pr_number !== null && !prs.has(r.pr_number)) prs.set(r.pr_number, r)
        const last = runs[0]
        return html`<section class="benchmark" data-benchmark="${b.benchmark}">
<h2><a href="${benchmarkPath(project, b.benchmark)}">${b.benchmark}</a></h2>
<p class="meta">Last ran ${last ? when(last.time) : '–'} ·
<a href="${benchmarkPath(project, b.benchmark)}/baselines">Baselines</a></p>
<table>
<thead><tr><th>Scenario</th>${COLUMNS.map(([, label]) => html`<th class="num">${label}</th>`)}<th>Latest run</th></tr></thead>
<tbody>${b.scenarios
          .map((any) => latest(b.benchmark, any))
          .map(
            (s) =>
              html`<tr><td>${s.name}</td>${COLUMNS.map(
                ([key]) => html`<td class="num">${fmt(s.summary[key])}</td>`,
              )}<td><a href="${runPath(s.run_id)}">${shortSha(s.sha)}</a> ${when(s.time)}</td></tr>`,
          )}</tbody>
</table>
<h3>Latest verdicts</h3>
<ul class="verdicts">
<li>Base branch: ${base ? html`${verdictBadge(base.status)} <a href="${runPath(base.run_id)}">${base.branch ?? 'no branch'} @ ${shortSha(base.sha)}</a>, ${when(base.time)}` : 'no run yet'}</li>
${[...prs.values()]
  .slice(0, PRS_SHOWN)
  .map(
    (r) =>
      html`<li>PR #${r.pr_number}: ${verdictBadge(r.status)} <a href="${runPath(r.run_id)}">${r.branch ?? ''} @ ${shortSha(r.sha)}</a>, ${when(r.time)}</li>`,
  )}
</ul>
</section>`
      })
    : html`<p>No runs yet. Post one with <code>infergate upload</code> or the Action.</p>`
  return page(
    { title: name, crumbs: [{ label: name, href: projectPath(project) }], signedIn: true },
    html`${body}`,
  )
}
