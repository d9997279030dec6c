// The shared markdown renderer (PR comment, check run, job summary), against snapshot files a
// person has read: test/snapshots/*.md. Regenerate with `npx vitest run test/markdown.test.ts -u`
// and read the diff before committing it.
import { describe, expect, it } from 'vitest'
import { summaryMarkdown } from '../action/summary.ts'
import { compareRuns, type Run } from '../core/detect/compare.ts'
import { commentMarker, renderComparisonMarkdown, statusDescription } from '../core/render/markdown.ts'
import { parseReport } from '../core/report.ts'
import { Rng } from '../core/rng.ts'
import { runNotifications } from '../service/notifications/notification.ts'
import { makeReport, type TrialSpec } from './report-factory.ts'

const run = (id: string, seed: number, spec: TrialSpec, opts: { engineVersion?: string } = {}): Run => ({
  id,
  report: makeReport(seed, [spec], { benchmark: 'llama3-8b-chat', scenario: 'concurrency-8', ...opts }),
})

function history(count: number): Run[] {
  const rng = new Rng(100)
  return Array.from({ length: count }, (_, i) => {
    const f = Math.exp(0.01 * rng.normal())
    return run(`00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, 101 + i, {
      ttft: 50 * f,
      tpot: 10 * f,
    })
  })
}

const h = history(20)
const base = h.slice(-5)
const shas = Object.fromEntries(base.map((b, i) => [b.id, `${'abcdef0'.slice(0, 6)}${i}${'0'.repeat(33)}`]))
const url = 'https://infergate.example.com/runs/11111111-2222-4333-8444-555555555555?expires=1900000000&sig=x'

describe('the comparison as markdown', () => {
  it('a regression: the verdict first, the change that matters, tables, environment, baseline, link', async () => {
    const c = compareRuns(run('pr', 7, { ttft: 50, tpot: 12 }, { engineVersion: '0.11.1' }), base, h)
    expect(c.status).toBe('regression')
    const md = renderComparisonMarkdown(c, {
      comparisonUrl: url,
      baselineShas: shas,
      commit: '9f3c2a1d'.padEnd(40, '0'),
    })
    expect(md.startsWith(commentMarker('llama3-8b-chat'))).toBe(true)
    await expect(md).toMatchFileSnapshot('snapshots/comparison-regression.md')
    const status = statusDescription(c)
    expect(status.length).toBeLessThanOrEqual(140)
    expect(status).toBe('Regression: TPOT +20.8% (concurrency-8)')
  })

  it('inconclusive: no regression above the resolution, a smaller one not excluded, what would settle it', async () => {
    const c = compareRuns(run('pr', 8, { ttft: 50, tpot: 10 }), base, h)
    expect(c.status).toBe('inconclusive')
    const md = renderComparisonMarkdown(c, { comparisonUrl: url, baselineShas: shas })
    expect(md).toMatch(
      /\*\*Inconclusive:\*\* no regression above \d+% \(this comparison's resolution\), but a smaller one cannot be excluded/,
    )
    // What would settle it: more trials, or (when the baseline's own spread is the limit) more baseline runs.
    expect(md).toMatch(
      /About \d+ trials per run would reach the minimum effect|More baseline runs are needed before more trials would help/,
    )
    await expect(md).toMatchFileSnapshot('snapshots/comparison-inconclusive.md')
    expect(statusDescription(c)).toMatch(
      /^Inconclusive: no change above \d+%; smaller cannot be excluded( \(\d+ trials per run would settle it\))?$/,
    )
  })

  it('unchanged: only when every gated change lies inside ± its minimum effect', async () => {
    // A quiet history (0.3% run-to-run) and precise trials: the intervals can be narrow.
    const precise = { requests: 2000, sigma: 0.1 }
    const rng = new Rng(300)
    const quiet = Array.from({ length: 20 }, (_, i) => {
      const f = Math.exp(0.003 * rng.normal())
      return run(`q${i}`, 301 + i, { ...precise, ttft: 50 * f, tpot: 10 * f })
    })
    const trials = Array.from({ length: 3 }, () => ({ ...precise, ttft: 50, tpot: 10 }))
    const many: Run = {
      id: 'pr',
      report: makeReport(8, trials, { benchmark: 'llama3-8b-chat', scenario: 'concurrency-8' }),
    }
    const c = compareRuns(many, quiet.slice(-5), quiet)
    expect(c.status).toBe('unchanged')
    const md = renderComparisonMarkdown(c, { comparisonUrl: url })
    expect(md).toContain("Every gated metric's change lies within ± its minimum effect")
    await expect(md).toMatchFileSnapshot('snapshots/comparison-unchanged.md')
  })

  it('no baseline yet', async () => {
    const c = compareRuns(run('first', 9, {}), [], [])
    await expect(renderComparisonMarkdown(c)).toMatchFileSnapshot('snapshots/comparison-no-baseline.md')
    expect(statusDescription(c)).toBe('No baseline yet: this run starts the history')
  })
})

describe('the job summary and the PR comment', () => {
  it('are one rendering: the same renderer, the same baseline commits, the same link', () => {
    const candidate = run('11111111-2222-4333-8444-555555555555', 7, { ttft: 50, tpot: 12 })
    const c = compareRuns(candidate, base, h)
    const made = makeReport(7, [{ ttft: 50, tpot: 12 }], { benchmark: 'llama3-8b-chat' })
    const report = parseReport({
      ...made,
      git: {
        ...made.git,
        sha: '9f3c2a1d'.padEnd(40, '0'),
        branch: 'fast-kv',
        base_branch: 'main',
        pr_number: 5,
      },
    })
    const owed = runNotifications({ id: candidate.id, report, comparison: c, baselineShas: shas }, url)
    const comment = owed.find((n) => n.kind === 'pr_comment')!.payload as { body: string }
    const summary = summaryMarkdown({
      report,
      reportPath: 'infergate-report.json',
      comparison: c,
      comparisonUrl: url,
      baselineShas: shas,
      notCompared: null,
      deployment: null,
    })
    expect(summary.startsWith(comment.body)).toBe(true)
    expect(summary).toContain('Baseline: 5 runs (`abcdef0`, `abcdef1`, `abcdef2`, `abcdef3`, `abcdef4`).')
  })
})
