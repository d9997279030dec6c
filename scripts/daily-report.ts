// The service benches' reports: one a day on main, of `scenarios` closed-loop scenarios
// (concurrency 1, 2, 4, …) × `requests`, each with its own CI identity so none is a re-post.
import { parseReport, type Report } from '../core/report.ts'
import { ciIdentity, makeReport } from '../test/report-factory.ts'

let ciRun = 1

export function dailyReport(
  repository: string,
  day: number,
  scenarios: number,
  requests: number,
  outputTokens: number,
): Report {
  const parts = Array.from({ length: scenarios }, (_, s) =>
    makeReport(day * 100 + s, [{ requests, outputTokens, ttft: 50 + s, tpot: 10 }], {
      scenario: `concurrency-${2 ** s}`,
    }),
  )
  const first = parts[0]!
  return parseReport({
    ...first,
    benchmark: 'chat',
    created_at: new Date(Date.UTC(2025, 0, 1) + day * 86_400_000).toISOString(),
    git: { ...first.git, repository, sha: `sha-${day}` },
    ci: ciIdentity(ciRun++),
    scenarios: parts.map((p, s) => ({ ...p.scenarios[0]!, load: { mode: 'closed', concurrency: 2 ** s } })),
  })
}
