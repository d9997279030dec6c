// infergate export: a report or a comparison for people and tools outside Infergate: CSV for
// spreadsheets and notebooks (per request, per trial, or per compared metric) and one
// self-contained HTML page (no script, nothing fetched) to attach where JSON is no use.
import { readFileSync } from 'node:fs'
import { type Comparison, parseComparison } from '../../core/detect/comparison.ts'
import { comparisonCsv, NothingToExport, requestsCsv, trialsCsv } from '../../core/export/csv.ts'
import { comparisonHtml, reportHtml } from '../../core/export/html.ts'
import { writeFileAtomic } from '../../core/files.ts'
import { parseReport, type Report } from '../../core/report.ts'
import { ValidationError } from '../../core/validation.ts'
import { type CommandSpec, type FlagValues, oneOf, outFlag, RunError, UsageError } from '../args.ts'

export const exportSpec: CommandSpec = {
  name: 'export',
  summary: 'write a report or a comparison as CSV or a self-contained HTML page',
  usage: 'infergate export FILE --format csv|html [--what requests|trials|metrics] [--out FILE]',
  positionals: [
    {
      name: 'FILE',
      help: 'a report (bench --out, import --out) or a comparison (compare --json)',
    },
  ],
  flags: {
    format: { type: 'string', value: 'FORMAT', help: 'csv or html' },
    what: {
      type: 'string',
      value: 'ROWS',
      help: "csv: requests (one row per request) or trials (one per trial) of a report; a comparison's rows are its metrics",
      default: 'requests; metrics for a comparison',
    },
    out: { type: 'string', value: 'FILE', help: 'write here', default: 'standard output' },
  },
  examples: [
    'infergate export report.json --format csv --out requests.csv',
    'infergate export report.json --format csv --what trials',
    'infergate export report.json --format html --out report.html',
    'infergate compare --baseline a.json --candidate b.json --json > c.json; infergate export c.json --format html --out c.html',
  ],
}

/** A report or a comparison, told apart by its `schema`, validated; errors name the file and field. */
function readInput(file: string): { report: Report } | { comparison: Comparison } {
  let json: unknown
  try {
    json = JSON.parse(readFileSync(file, 'utf8'))
  } catch (e) {
    throw new UsageError(
      `${file}: ${(e as { code?: string }).code ? 'cannot read' : 'not JSON'}: ${(e as Error).message}`,
    )
  }
  const schema = (json as { schema?: unknown } | null)?.schema
  try {
    if (typeof schema === 'string' && schema.startsWith('infergate.comparison/')) {
      return { comparison: parseComparison(json) }
    }
    return { report: parseReport(json) }
  } catch (e) {
    if (e instanceof ValidationError) throw new UsageError(`${file}: ${e.message}`)
    throw e
  }
}

export async function exportCommand(values: FlagValues, positionals: string[]): Promise<number> {
  const [file, ...extra] = positionals
  if (file === undefined)
    throw new UsageError('give the file to export: infergate export FILE --format csv|html')
  if (extra.length)
    throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}: one file per export`)
  const format = oneOf(values, 'format', ['csv', 'html'] as const)
  if (!format) throw new UsageError('--format is required: csv or html')
  const what = oneOf(values, 'what', ['requests', 'trials', 'metrics'] as const)
  if (what && format !== 'csv')
    throw new UsageError('--what: only with --format csv (the HTML page shows it all)')
  const out = outFlag(values)
  const input = readInput(file)
  let text: string
  if ('comparison' in input) {
    if (what && what !== 'metrics') {
      throw new UsageError(
        `--what ${what}: ${file} is a comparison, whose rows are its metrics (--what metrics)`,
      )
    }
    text = format === 'csv' ? comparisonCsv(input.comparison) : comparisonHtml(input.comparison)
  } else {
    if (what === 'metrics') {
      throw new UsageError(`--what metrics: ${file} is a report; its rows are requests or trials`)
    }
    try {
      text =
        format === 'html'
          ? reportHtml(input.report)
          : what === 'trials'
            ? trialsCsv(input.report)
            : requestsCsv(input.report)
    } catch (e) {
      if (e instanceof NothingToExport) throw new UsageError(`--what requests: ${e.message} (--what trials)`)
      throw e
    }
  }
  if (out) {
    try {
      writeFileAtomic(out, text)
    } catch (e) {
      throw new RunError(`--out: cannot write ${out}: ${(e as Error).message}`)
    }
  } else process.stdout.write(text)
  return 0
}
