// infergate compare: the detector on report files. Reports that do not measure the same
// workload are refused before any statistics (a verdict on them means nothing, however small
// its p-value), and so are reports with no scenario in common: an empty comparison is no pass.
import { readFileSync } from 'node:fs'
import { basename } from 'node:path'
import { compareArms, isPairedReport } from '../../core/detect/arms.ts'
import { canonical, SAME_MEASUREMENT } from '../../core/detect/comparable.ts'
import { compareRuns, DEFAULT_SETTINGS } from '../../core/detect/compare.ts'
import type { Comparison } from '../../core/detect/comparison.ts'
import {
  decisiveP,
  type RenderOptions,
  renderComparisonMarkdown,
  resolutionOf,
} from '../../core/render/markdown.ts'
import { parseReport, type Report } from '../../core/report.ts'
import { ValidationError } from '../../core/validation.ts'
import { bool, type CommandSpec, type FlagValues, num, UsageError } from '../args.ts'

export const compareSpec: CommandSpec = {
  name: 'compare',
  summary: 'compare a report with baseline reports: the regression detector, offline',
  usage:
    'infergate compare --baseline A.json [--baseline B.json …] --candidate C.json [--json|--markdown]\n       infergate compare --candidate AB.json   (an A/B report: its two arms, block by block)',
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
      help: 'smallest change called (p90 tails 5%, p99 tails 10% unless given per metric)',
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
    'allow-mismatch': {
      type: 'boolean',
      help: 'compare reports of another benchmark, endpoint, hardware or workload anyway (with warnings)',
    },
    'fail-on-inconclusive': {
      type: 'boolean',
      help: 'exit 3 when the comparison is inconclusive (a regression below the resolution cannot be excluded)',
    },
    json: { type: 'boolean', help: 'print the comparison JSON instead of the table' },
    markdown: {
      type: 'boolean',
      help: 'print the markdown the PR comment would show instead of the table (core/render/markdown.ts)',
    },
  },
  examples: [
    'infergate compare --baseline main-1.json --baseline main-2.json --baseline main-3.json --candidate pr.json',
    'infergate compare --candidate ab.json   # written by bench --baseline-url',
    'infergate compare --baseline main.json --candidate pr.json --markdown > comment.md',
  ],
}

/** What `--help` lists under "Exit codes:" (main.ts prints it after the options). */
export const compareExitCodes: [number, string][] = [
  [0, 'no gated metric regressed (inconclusive and too few baseline runs for a verdict included)'],
  [1, 'a gated metric regressed'],
  [
    2,
    'bad input: a report that cannot be read or does not validate, reports of another benchmark, endpoint, hardware or workload (unless --allow-mismatch), no scenario in common',
  ],
  [3, 'inconclusive, with --fail-on-inconclusive'],
]

/** A report file, validated; errors start with `what` (the flag and file) and name the field. */
export function readReport(path: string, what: string): Report {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    throw new UsageError(`${what}: cannot read: ${(e as Error).message}`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    throw new UsageError(`${what}: not JSON: ${(e as Error).message}`)
  }
  try {
    return parseReport(json)
  } catch (e) {
    if (e instanceof ValidationError) throw new UsageError(`${what}: ${e.message}`)
    throw e
  }
}

/** A report read from a file, named by its path. */
interface FileRun {
  id: string
  report: Report
}

function readRun(path: string, flag: string): FileRun {
  return { id: path, report: readReport(path, `--${flag} ${path}`) }
}

/** A value as the report has it (keys in the report's order). */
const shown = (v: unknown) => JSON.stringify(v) ?? 'null'

/**
 * Every way the baseline and history reports differ from the candidate in what they measure, one
 * message per field and value: `benchmark: baseline "aa", candidate "default"`, with the files
 * named unless every one of several differs alike.
 */
export function mismatches(
  candidate: Report,
  others: { kind: 'baseline' | 'history'; path: string; report: Report }[],
): string[] {
  const fields: [string, (r: Report) => unknown][] = [...SAME_MEASUREMENT]
  // A scenario's name says its load, except what it leaves out (an open loop's max_concurrency).
  for (const s of candidate.scenarios) {
    fields.push([`scenarios.${s.name}.load`, (r) => r.scenarios.find((x) => x.name === s.name)?.load])
  }
  const out: string[] = []
  for (const [field, get] of fields) {
    const want = get(candidate)
    for (const kind of ['baseline', 'history'] as const) {
      const ofKind = others.filter((o) => o.kind === kind && get(o.report) !== undefined)
      const differing = new Map<string, { value: unknown; paths: string[] }>()
      for (const o of ofKind) {
        const value = get(o.report)
        const key = canonical(value)
        if (key === canonical(want)) continue
        const group = differing.get(key) ?? { value, paths: [] }
        group.paths.push(o.path)
        differing.set(key, group)
      }
      for (const { value, paths } of differing.values()) {
        // Files named unless it is all of several (five baselines of another benchmark).
        const all = paths.length === ofKind.length && paths.length > 1
        const named = all ? '' : ` (${paths.map((p) => `--${kind} ${p}`).join(', ')})`
        out.push(`${field}: ${kind} ${shown(value)}${named}, candidate ${shown(want)}`)
      }
    }
  }
  return out
}

const f = (x: number | null, d = 1) => (x === null ? '–' : x.toFixed(d))
const signed = (x: number | null) => (x === null ? '–' : `${x > 0 ? '+' : ''}${x.toFixed(1)}%`)
const ICON: Record<string, string> = {
  regression: '✖ regression',
  improvement: '✔ improvement',
  unchanged: '· unchanged',
  inconclusive: '~ inconclusive',
  insufficient_data: '? insufficient data',
}

const pValue = (p: number | null) => (p === null ? '–' : p < 1e-4 ? '<1e-4' : p.toFixed(4))

export function renderComparison(c: Comparison): string {
  const against =
    c.mode === 'paired' && c.paired
      ? `A/B: the two arms interleaved in ${c.paired.blocks} blocks on the same hardware`
      : `against ${c.baseline_run_ids.length} baseline runs`
  const lines = [`${c.benchmark}: ${c.status.replace('_', ' ')} (${against})`]
  const r = c.status === 'regression' ? null : resolutionOf(c)
  if (r) {
    const unit = c.mode === 'paired' ? 'blocks' : '--trials'
    lines.push(
      `inconclusive: no change above ${r.resolutionPct.toFixed(1)}% (the resolution reached); a smaller regression cannot be excluded${
        r.needed ? `; about ${r.needed} ${unit} would reach the minimum effect` : ''
      }`,
    )
  }
  for (const scenario of [...new Set(c.metrics.map((m) => m.scenario))]) {
    const rows = c.metrics
      .filter((m) => m.scenario === scenario)
      .map((m) => [
        `${m.metric}${m.gated ? '' : ' (not gated)'}`,
        f(m.baseline.median, 2),
        f(m.candidate.median, 2),
        signed(m.delta_pct),
        pValue(decisiveP(m)),
        m.ci_pct === null ? '–' : `${signed(m.ci_pct[0])}…${signed(m.ci_pct[1])}`,
        m.mde_pct === null ? '–' : `${m.mde_pct.toFixed(1)}%`,
        ICON[m.verdict]!,
      ])
    const head = ['metric', 'baseline', 'candidate', 'delta', 'p', 'interval', 'resolution', 'verdict']
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
    const line = (cells: string[]) =>
      cells
        .map((x, i) => (i === 0 || i === 7 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!)))
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
  if (bool(values, 'json') && bool(values, 'markdown')) {
    throw new UsageError('--json and --markdown: give one (the comparison as JSON, or as the PR comment)')
  }
  const candidate = readRun(candidatePath, 'candidate')
  const settings = {
    ...DEFAULT_SETTINGS,
    alpha: num(values, 'alpha', { min: 0, max: 1, exclusiveMin: true }) ?? DEFAULT_SETTINGS.alpha,
    minEffectPct: num(values, 'min-effect', { min: 0 }) ?? DEFAULT_SETTINGS.minEffectPct,
    priorNoisePct:
      num(values, 'prior-noise', { min: 0, exclusiveMin: true }) ?? DEFAULT_SETTINGS.priorNoisePct,
    minBaselineRuns:
      num(values, 'min-baseline-runs', { min: 1, int: true }) ?? DEFAULT_SETTINGS.minBaselineRuns,
    failOnInconclusive: bool(values, 'fail-on-inconclusive'),
  }
  if (isPairedReport(candidate.report)) {
    // An A/B report carries its own baseline: the arm measured beside the candidate.
    if (baselinePaths.length || values.history) {
      throw new UsageError(
        `--candidate ${candidatePath} is an A/B report (it has arms): it is compared with its own baseline arm; drop --baseline and --history`,
      )
    }
    return answer(compareArms(candidate, { settings }), values, { commit: candidate.report.git.sha })
  }
  if (baselinePaths.length === 0)
    throw new UsageError('give at least one --baseline report (or an A/B report as --candidate)')
  const baselines = baselinePaths.map((p) => readRun(p, 'baseline'))
  const history = ((values.history as string[] | undefined) ?? []).map((p) => readRun(p, 'history'))
  const differences = mismatches(candidate.report, [
    ...baselines.map((b) => ({ kind: 'baseline' as const, path: b.id, report: b.report })),
    ...history.map((h) => ({ kind: 'history' as const, path: h.id, report: h.report })),
  ])
  const allowed = bool(values, 'allow-mismatch')
  if (differences.length && !allowed) {
    throw new UsageError(
      `the reports do not measure the same workload: ${differences.join('; ')} (--allow-mismatch compares them anyway)`,
    )
  }
  // Nothing in common is not "no regression": the detector would say insufficient data and exit
  // 0, and a CI gate would pass without anything having been compared.
  const names = (runs: FileRun[]) => [...new Set(runs.flatMap((r) => r.report.scenarios.map((s) => s.name)))]
  const baselineScenarios = new Set(names(baselines))
  const candidateScenarios = names([candidate])
  if (!candidateScenarios.some((n) => baselineScenarios.has(n))) {
    throw new UsageError(
      `no scenario in common: the candidate has ${candidateScenarios.join(', ')}, the baselines have ${[...baselineScenarios].join(', ')}`,
    )
  }
  const comparison = compareRuns(
    candidate,
    baselines,
    history.length ? [...history, ...baselines] : baselines,
    settings,
  )
  const oneSided = [
    ...candidateScenarios
      .filter((n) => !baselineScenarios.has(n))
      .map((n) => `scenario ${n}: in no baseline report, not compared`),
    ...[...baselineScenarios]
      .filter((n) => !candidateScenarios.includes(n))
      .map((n) => `scenario ${n}: in the baselines only, the candidate did not measure it`),
  ]
  comparison.warnings.unshift(...differences.map((d) => `compared despite a mismatch: ${d}`), ...oneSided)
  for (const d of differences) process.stderr.write(`infergate compare: warning: compared despite: ${d}\n`)
  return answer(comparison, values, {
    // The comment names baselines by commit; here a baseline's id is its file.
    baselineShas: Object.fromEntries(baselines.map((b) => [b.id, b.report.git.sha ?? basename(b.id)])),
    commit: candidate.report.git.sha,
  })
}

/** Prints the comparison (table, JSON or the PR comment's markdown) and returns the exit code its status means. */
function answer(comparison: Comparison, values: FlagValues, render: RenderOptions): number {
  process.stdout.write(
    bool(values, 'json')
      ? `${JSON.stringify(comparison, null, 2)}\n`
      : bool(values, 'markdown')
        ? renderComparisonMarkdown(comparison, render)
        : renderComparison(comparison),
  )
  if (comparison.status === 'regression') return 1
  return comparison.status === 'inconclusive' && bool(values, 'fail-on-inconclusive') ? 3 : 0
}
