// A benchmark's baseline: the runs pinned, or the automatic choice (the base branch's latest
// runs), with a form to pin or unpin; and the project's detector settings, read-only for now.
import type { Kysely } from 'kysely'
import { effectiveSettings } from '../../../core/detect/settings.ts'
import type { Database } from '../../db/database.ts'
import type { ServiceConfig } from '../../env.ts'
import type { Project } from '../../projects/repository.ts'
import { recentRuns } from '../../runs/history.ts'
import { pinnedRuns } from '../../runs/pins.ts'
import { html } from '../html.ts'
import { type Html, page, shortSha, verdictBadge, when } from '../layout.ts'
import { benchmarkPath, projectPath, runPath } from '../paths.ts'

const SHOWN = 50

export async function baselinesPage(
  db: Kysely<Database>,
  project: Project,
  benchmark: string,
  config: Pick<ServiceConfig, 'baselineRuns'>,
  message: string | null,
): Promise<Html> {
  const [pinned, recent] = await Promise.all([
    pinnedRuns(db, project.id, benchmark),
    recentRuns(db, project.id, 2000, benchmark),
  ])
  const runs = recent.filter((r) => !r.paired).slice(0, SHOWN)
  const name = `${project.owner}/${project.repo}`
  const base = runs.filter((r) => r.pr_number === null)
  const automatic = base.slice(0, config.baselineRuns).map((r) => r.run_id)
  const set = project.settings as Record<string, unknown>
  const settings = Object.entries(effectiveSettings(project.settings))
  const body = html`${message ? html`<p class="notice" role="status">${message}</p>` : ''}
<section><h2>Baseline</h2>
<p>${
    pinned.length
      ? html`Pinned to ${pinned.length} run${pinned.length > 1 ? 's' : ''}: every comparison of this benchmark uses them until unpinned.`
      : html`Automatic: the latest ${config.baselineRuns} base-branch runs before the run compared.`
  }</p>
${
  pinned.length
    ? html`<form method="post" action="${benchmarkPath(project, benchmark)}/baselines/unpin"><button type="submit">Unpin</button></form>`
    : ''
}
<form method="post" action="${benchmarkPath(project, benchmark)}/baselines/pin">
<table class="runs"><thead><tr><th>Pin</th><th>Run</th><th>Branch</th><th>PR</th><th>Reported</th><th>Verdict</th><th>In baseline</th></tr></thead>
<tbody>${runs.map(
    (
      r,
    ) => html`<tr${pinned.includes(r.run_id) ? html` class="pinned"` : ''}><td><input type="checkbox" name="run" value="${r.run_id}" aria-label="pin ${r.run_id}"${pinned.includes(r.run_id) ? html` checked` : ''}></td>
<td><a href="${runPath(r.run_id)}">${shortSha(r.sha)}</a></td><td>${r.branch ?? '–'}</td><td>${r.pr_number === null ? '' : `#${r.pr_number}`}</td><td>${when(r.time)}</td><td>${verdictBadge(r.status)}</td>
<td>${pinned.includes(r.run_id) ? 'pinned' : !pinned.length && automatic.includes(r.run_id) ? 'automatic' : ''}</td></tr>`,
  )}</tbody></table>
<button type="submit">Pin the checked runs</button>
</form></section>
<section><h2>Detector settings</h2>
<table><thead><tr><th>Setting</th><th>In force</th><th></th></tr></thead><tbody>${settings.map(
    ([k, v]) =>
      html`<tr><th>${k}</th><td><code>${JSON.stringify(v)}</code></td><td class="muted">${k in set ? 'set for this project' : 'default'}</td></tr>`,
  )}</tbody></table>
<p class="muted">What each means: docs/detection.md.</p>
<p class="muted">Change them with <code>PUT /api/v1/projects/${project.owner}/${project.repo}/settings</code>.</p>
</section>`
  return page(
    {
      title: `${benchmark}: baselines`,
      crumbs: [
        { label: name, href: projectPath(project) },
        { label: benchmark, href: benchmarkPath(project, benchmark) },
        { label: 'baselines' },
      ],
      signedIn: true,
    },
    body,
  )
}
