import { readFileSync } from 'node:fs'
import { compareRuns, DEFAULT_SETTINGS, type Run } from '../../core/detect/compare.ts'
import type { Comparison } from '../../core/detect/comparison.ts'
import { decisiveP } from '../../core/render/markdown.ts'
import { parseReport } from '../../core/report.ts'
import { ValidationError } from '../../core/validation.ts'
import { bool, type CommandSpec, type FlagValues, num, UsageError } from '../args.ts'

export const compareSpec: CommandSpec = {
  name: 'compare',
  summary: 'compare a report with baseline reports: the regression detector, offline',
  usage: 'infergate compare --baseline A.json [--baseline B.json …] --candidate C.json [--json]',
  flags: {
    baseline: { type: 'string', multiple: true, value: 'FILE', help: 'a baseline report (oldest first)' },
    candidate: { type: 'string', value: 'FILE', help: 'the report to judge' },
    history: {
      type: 'string',
      multiple: true,
      value: 'FILE',
      help: 'earlier base-branch reports for the run-to-run noise (default: the baselines)',
    },
    alpha: {
      type: 'string',
      value: 'P',
      help: 'family-wise significance level',
      default: String(DEFAULT_SETTINGS.alpha),
    },
    'min-effect': {
      type: 'string',
      value: 'PCT',
      help: 'smallest change called',
      default: String(DEFAULT_SETTINGS.minEffectPct),
    },
    'prior-noise': {
      type: 'string',
      value: 'PCT',
      help: 'run-to-run noise assumed while history is short',
      default: String(DEFAULT_SETTINGS.priorNoisePct),
    },
    'min-baseline-runs': {
      type: 'string',
      value: 'N',
      help: 'baseline runs needed for a verdict',
      default: String(DEFAULT_SETTINGS.minBaselineRuns),
    },
    json: { type: 'boolean', help: 'print the comparison JSON instead of the table' },
  },
  examples: [
    'infergate compare --baseline main-1.json --baseline main-2.json --baseline main-3.json --candidate pr.json',
  ],
}

function readRun(path: string, flag: string): Run {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    throw new UsageError(`--${flag} ${path}: cannot read: ${(e as Error).message}`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    throw new UsageError(`--${flag} ${path}: not JSON: ${(e as Error).message}`)
  }
  try {
    return { id: path, report: parseReport(json) }
  } catch (e) {
    if (e instanceof ValidationError) throw new UsageError(`--${flag} ${path}: ${e.message}`)
    throw e
  }
}

const f = (x: number | null, d = 1) => (x === null ? '–' : x.toFixed(d))
const signed = (x: number | null) => (x === null ? '–' : `${x > 0 ? '+' : ''}${x.toFixed(1)}%`)
const ICON: Record<string, string> = {
  regression: '✖ regression',
  improvement: '✔ improvement',
  unchanged: '· unchanged',
  insufficient_data: '? insufficient data',
}

const pValue = (p: number | null) => (p === null ? '–' : p < 1e-4 ? '<1e-4' : p.toFixed(4))

export function renderComparison(c: Comparison): string {
  const lines = [
    `${c.benchmark}: ${c.status.replace('_', ' ')} (against ${c.baseline_run_ids.length} baseline runs)`,
  ]
  for (const scenario of [...new Set(c.metrics.map((m) => m.scenario))]) {
    const rows = c.metrics
      .filter((m) => m.scenario === scenario)
      .map((m) => [
        `${m.metric}${m.gated ? '' : ' (not gated)'}`,
        f(m.baseline.median, 2),
        f(m.candidate.median, 2),
        signed(m.delta_pct),
        pValue(decisiveP(m)),
        m.mde_pct === null ? '–' : `${m.mde_pct.toFixed(1)}%`,
        ICON[m.verdict]!,
      ])
    const head = ['metric', 'baseline p50', 'candidate p50', 'delta', 'p', 'resolution', 'verdict']
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
    const line = (cells: string[]) =>
      cells
        .map((x, i) => (i === 0 || i === 6 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!)))
        .join('  ')
        .trimEnd()
    lines.push('', scenario, line(head), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line))
  }
  for (const d of c.environment_diff) {
    lines.push(`environment: ${d.field} ${JSON.stringify(d.baseline)} → ${JSON.stringify(d.candidate)}`)
  }
  for (const w of c.warnings) lines.push(`warning: ${w}`)
  return `${lines.join('\n')}\n`
}

export async function compare(values: FlagValues): Promise<number> {
  const baselinePaths = (values.baseline as string[] | undefined) ?? []
  const candidatePath = values.candidate as string | undefined
  if (!candidatePath) throw new UsageError('--candidate is required')
  if (baselinePaths.length === 0) throw new UsageError('give at least one --baseline report')
  const candidate = readRun(candidatePath, 'candidate')
  const baselines = baselinePaths.map((p) => readRun(p, 'baseline'))
  const history = ((values.history as string[] | undefined) ?? []).map((p) => readRun(p, 'history'))
  const settings = {
    ...DEFAULT_SETTINGS,
    alpha: num(values, 'alpha', { min: 0, max: 1, exclusiveMin: true }) ?? DEFAULT_SETTINGS.alpha,
    minEffectPct: num(values, 'min-effect', { min: 0 }) ?? DEFAULT_SETTINGS.minEffectPct,
    priorNoisePct:
      num(values, 'prior-noise', { min: 0, exclusiveMin: true }) ?? DEFAULT_SETTINGS.priorNoisePct,
    minBaselineRuns:
      num(values, 'min-baseline-runs', { min: 1, int: true }) ?? DEFAULT_SETTINGS.minBaselineRuns,
  }
  const other = baselines.find((b) => b.report.benchmark !== candidate.report.benchmark)
  const comparison = compareRuns(
    candidate,
    baselines,
    history.length ? [...history, ...baselines] : baselines,
    settings,
  )
  if (other) {
    comparison.warnings.unshift(
      `${other.id} is benchmark ${other.report.benchmark}, the candidate is ${candidate.report.benchmark}`,
    )
  }
  process.stdout.write(
    bool(values, 'json') ? `${JSON.stringify(comparison, null, 2)}\n` : renderComparison(comparison),
  )
  return comparison.status === 'regression' ? 1 : 0
}
