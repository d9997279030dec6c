// Reports and comparisons as CSV, for spreadsheets and notebooks: one row per request, per trial,
// or per compared metric. RFC 4180: records end in CRLF, a field holding a comma, a quote, CR or
// LF is quoted with its quotes doubled. Text cells that a spreadsheet would run as a formula
// (starting with = + - @, or tab or CR: OWASP's CSV injection list) get a leading apostrophe;
// numbers never do, so -0.5 stays a number. Cells are empty where the report has no value (null,
// or a column the importing tool did not record: source.unrecorded).
import type { Comparison } from '../detect/comparison.ts'
import { decisiveP } from '../render/markdown.ts'
import { type Report, Summary } from '../report.ts'

/** Asked for what the input does not hold (requests of an aggregates-only report): bad input. */
export class NothingToExport extends Error {
  override name = 'NothingToExport'
}

/** A cell: text (guarded against formulas), a number, or nothing. */
export type Cell = { text: string } | number | boolean | null

const FORMULA = /^[=+\-@\t\r]/

/** One field, quoted and guarded as RFC 4180 and OWASP ask. */
export function csvField(cell: Cell): string {
  if (cell === null) return ''
  if (typeof cell === 'number') return Number.isFinite(cell) ? String(cell) : ''
  if (typeof cell === 'boolean') return cell ? 'true' : 'false'
  const text = FORMULA.test(cell.text) ? `'${cell.text}` : cell.text
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

export function csvRecord(cells: Cell[]): string {
  return `${cells.map(csvField).join(',')}\r\n`
}

const t = (s: string | null | undefined): Cell => (s === null || s === undefined ? null : { text: s })

const REQUEST_COLUMNS = [
  'scenario',
  'trial',
  'arm',
  'block',
  'request',
  'start_ms',
  'ttft_ms',
  'tpot_ms',
  'itl_count',
  'itl_mean_ms',
  'e2el_ms',
  'input_tokens',
  'output_tokens',
  'dispatch_delay_ms',
  'error',
] as const

/**
 * One row per request: completed ones with their samples, then one per failed request with its
 * error kind (the report counts failures by kind, without their timings). Refused for an
 * aggregates-only report, which has no requests to list.
 */
export function requestsCsv(report: Report): string {
  if (report.source?.samples === 'aggregate') {
    throw new NothingToExport(
      `the report holds aggregates only (source.samples: aggregate, imported from ${report.source.tool}): no requests to list; export its trials instead`,
    )
  }
  const unrecorded = new Set(report.source?.unrecorded ?? [])
  const out = [csvRecord(REQUEST_COLUMNS.map((c) => ({ text: c })))]
  for (const s of report.scenarios) {
    for (const tr of s.trials) {
      const x = tr.samples
      const head = (): Cell[] => [t(s.name), tr.index, t(tr.arm), tr.block ?? null]
      for (let i = 0; i < x.ttft_ms.length; i++) {
        const gaps = x.itl_ms[i]!
        out.push(
          csvRecord([
            ...head(),
            i,
            unrecorded.has('start_ms') ? null : x.start_ms[i]!,
            x.ttft_ms[i]!,
            x.tpot_ms[i]!,
            unrecorded.has('itl_ms') ? null : gaps.length,
            unrecorded.has('itl_ms') || gaps.length === 0
              ? null
              : gaps.reduce((a, b) => a + b, 0) / gaps.length,
            x.e2el_ms[i]!,
            x.input_tokens[i]!,
            x.output_tokens[i]!,
            x.dispatch_delay_ms === null || unrecorded.has('dispatch_delay_ms')
              ? null
              : x.dispatch_delay_ms[i]!,
            null,
          ]),
        )
      }
      let i = x.ttft_ms.length
      for (const [kind, n] of Object.entries(tr.errors)) {
        for (let k = 0; k < n; k++) {
          out.push(csvRecord([...head(), i++, ...Array(9).fill(null), t(kind)]))
        }
      }
    }
  }
  return out.join('')
}

/** The summary's keys in the schema's order: every trial-level figure of the report. */
const SUMMARY_KEYS = Object.keys(Summary.shape) as (keyof Summary)[]

/** One row per trial: its summary, every key, and its errors as `kind=count` pairs. */
export function trialsCsv(report: Report): string {
  const out = [
    csvRecord(
      ['scenario', 'trial', 'arm', 'block', 'started_at', ...SUMMARY_KEYS, 'errors'].map((c) => ({
        text: c,
      })),
    ),
  ]
  for (const s of report.scenarios) {
    for (const tr of s.trials) {
      const errors = Object.entries(tr.errors)
        .map(([k, n]) => `${k}=${n}`)
        .join(';')
      out.push(
        csvRecord([
          t(s.name),
          tr.index,
          t(tr.arm),
          tr.block ?? null,
          t(tr.started_at),
          ...SUMMARY_KEYS.map((k) => (tr.summary[k] ?? null) as Cell),
          t(errors),
        ]),
      )
    }
  }
  return out.join('')
}

/** One row per scenario × metric of a comparison, `p` being the p-value its verdict turned on. */
export function comparisonCsv(c: Comparison): string {
  const head = [
    'scenario',
    'metric',
    'gated',
    'direction',
    'baseline_runs',
    'baseline_n',
    'baseline_median',
    'candidate_n',
    'candidate_median',
    'delta_pct',
    'p',
    'p_value',
    'p_adjusted',
    'p_noise',
    'ci_low_pct',
    'ci_high_pct',
    'mde_pct',
    'min_effect_pct',
    'needed',
    'verdict',
  ]
  const out = [csvRecord(head.map((h) => ({ text: h })))]
  for (const m of c.metrics) {
    out.push(
      csvRecord([
        t(m.scenario),
        t(m.metric),
        m.gated,
        t(m.direction),
        m.baseline.runs,
        m.baseline.n,
        m.baseline.median,
        m.candidate.n,
        m.candidate.median,
        m.delta_pct,
        decisiveP(m),
        m.p_value,
        m.p_adjusted,
        m.p_noise,
        m.ci_pct?.[0] ?? null,
        m.ci_pct?.[1] ?? null,
        m.mde_pct,
        m.min_effect_pct,
        m.needed,
        t(m.verdict),
      ]),
    )
  }
  return out.join('')
}
