// The job summary: the comparison through the shared renderer with what the PR comment is given
// (the baselines' commits from the service's answer, the commit measured), so the two read the
// same; then the deployment and the plain results. Without a comparison, the results and why.
import * as core from '@actions/core'
import { renderTable } from '../core/bench/table.ts'
import type { Comparison } from '../core/detect/comparison.ts'
import { renderComparisonMarkdown } from '../core/render/markdown.ts'
import type { ArmName, Report } from '../core/report.ts'

/** A deployment this run made, with its cold start; in mode ab, the arm it served. */
export interface DeployedService {
  name: string
  namespace: string
  readyS: number
  arm?: ArmName
}

const ARM_WORDS: Record<ArmName, string> = {
  baseline: "baseline, the PR's base",
  candidate: "candidate, the PR's head",
}

export interface SummaryInput {
  report: Report
  reportPath: string
  comparison: Comparison | null
  comparisonUrl: string | null
  /** The baseline runs' commits, by run id, as the service answered them (absent from older services). */
  baselineShas?: Record<string, string | null>
  /** Why there is no comparison (no service configured, service unreachable). */
  notCompared: string | null
  /** What the run deployed, when it deployed one. */
  deployment?: DeployedService | null
  /** What the run deployed: none (mode existing), one, or an A/B run's two (then deployment is unused). */
  deployments?: DeployedService[]
}

export function summaryMarkdown(s: SummaryInput): string {
  const parts: string[] = []
  if (s.comparison) {
    parts.push(
      renderComparisonMarkdown(s.comparison, {
        comparisonUrl: s.comparisonUrl,
        baselineShas: s.baselineShas,
        commit: s.report.git.sha,
      }),
    )
    // An A/B run judged here, from its own arms, because the service did not judge it.
    if (s.notCompared) {
      parts.push(
        `> [!NOTE]\n> ${s.notCompared}: this verdict was reached here, from the run's two arms, and is stored nowhere but in this summary and the report \`${s.reportPath}\`.`,
        '',
      )
    }
  } else {
    parts.push(
      `### Infergate · \`${s.report.benchmark}\`: not compared`,
      '',
      `> [!WARNING]\n> ${s.notCompared ?? 'no comparison'}. Nothing measured is lost: the report is \`${s.reportPath}\`; keep it with \`actions/upload-artifact\` and post it later.`,
      '',
    )
  }
  for (const d of s.deployments ?? (s.deployment ? [s.deployment] : []))
    parts.push(
      `Deployed InferenceService \`${d.namespace}/${d.name}\`${d.arm ? ` (${ARM_WORDS[d.arm]})` : ''}: ready in ${d.readyS.toFixed(0)} s (cold start).`,
      '',
    )
  parts.push(
    `<details${s.comparison ? '' : ' open'}><summary>results: ${s.report.environment.model} on ${s.report.environment.gpu.count ?? '?'} × ${s.report.environment.gpu.model ?? 'GPU'}</summary>`,
    '',
    '```text',
    renderTable(s.report).trimEnd(),
    '```',
    '',
    '</details>',
    '',
  )
  return parts.join('\n')
}

export async function writeSummary(s: SummaryInput): Promise<void> {
  await core.summary.addRaw(summaryMarkdown(s)).write()
}
