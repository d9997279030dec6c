// `infergate export` and `compare --markdown`: the CSV parses back (RFC 4180) to the report's
// numbers, text cells cannot run as formulas, the HTML page loads nothing from anywhere, and the
// markdown is the PR comment's.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { compareRuns } from '../core/detect/compare.ts'
import { parseComparison } from '../core/detect/comparison.ts'
import { csvField, requestsCsv, trialsCsv } from '../core/export/csv.ts'
import { comparisonHtml, reportHtml } from '../core/export/html.ts'
import { renderComparisonMarkdown } from '../core/render/markdown.ts'
import { parseReport, type Report, Summary } from '../core/report.ts'
import { cli, tempDir } from './helpers.ts'
import { makeReport } from './report-factory.ts'

/**
 * A tiny RFC 4180 reader, written from the RFC (§2) rather than from the writer: records end in
 * CRLF, a quoted field may hold commas, CR, LF and doubled quotes.
 */
function readCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let field = ''
  let i = 0
  let quoted = false
  while (i < text.length) {
    const c = text[i]!
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"'
        i += 2
      } else if (c === '"') {
        quoted = false
        i++
      } else {
        field += c
        i++
      }
    } else if (c === '"' && field === '') {
      quoted = true
      i++
    } else if (c === ',') {
      row.push(field)
      field = ''
      i++
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field)
      rows.push(row)
      row = []
      field = ''
      i += 2
    } else if (c === '\n' || c === '"') {
      throw new Error(`not RFC 4180 at ${i}: ${JSON.stringify(text.slice(i - 10, i + 10))}`)
    } else {
      field += c
      i++
    }
  }
  if (field !== '' || row.length) throw new Error('last record not ended by CRLF')
  return rows
}

const num = (s: string) => (s === '' ? null : Number(s))

/** A report with a scenario name and error kind that are CSV's and spreadsheets' worst cases. */
function awkward(): Report {
  const r = JSON.parse(
    JSON.stringify(makeReport(4, [{ requests: 12, failed: 2 }, { requests: 8 }])),
  ) as Report
  r.scenarios[0]!.name = 'say "hi", then\r\nnewline'
  const t = r.scenarios[0]!.trials[0]!
  t.errors = { '=HYPERLINK("http://x")': 2 }
  t.error_examples = []
  return parseReport(r)
}

describe('CSV, RFC 4180', () => {
  it('fields with comma, quote, CR or LF are quoted, quotes doubled; others are not', () => {
    expect(csvField({ text: 'plain' })).toBe('plain')
    expect(csvField({ text: 'a,b' })).toBe('"a,b"')
    expect(csvField({ text: 'say "hi"' })).toBe('"say ""hi"""')
    expect(csvField({ text: 'a\r\nb' })).toBe('"a\r\nb"')
    expect(csvField({ text: 'a\nb' })).toBe('"a\nb"')
    expect(csvField(null)).toBe('')
    expect(csvField(12.5)).toBe('12.5')
  })

  it('text that would run as a formula gets an apostrophe; numbers never do', () => {
    for (const f of ['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx'])
      expect(csvField({ text: f }), f).toBe(`'${f}`.includes('\r') ? `"'${f}"` : `'${f}`)
    expect(csvField(-4.1)).toBe('-4.1')
    expect(csvField({ text: 'rate-inf' })).toBe('rate-inf')
  })

  it('--what requests: one row per request, the report’s numbers back, failures by kind', () => {
    const r = awkward()
    const rows = readCsv(requestsCsv(r))
    const [head, ...body] = rows
    expect(head).toEqual([
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
    ])
    const col = (name: string) => head!.indexOf(name)
    const trials = r.scenarios[0]!.trials
    expect(body).toHaveLength(12 + 2 + 8)
    expect(body.every((row) => row.length === head!.length)).toBe(true)
    // The scenario name round-trips through the quoting, CR LF and all.
    expect(new Set(body.map((row) => row[0]))).toEqual(new Set(['say "hi", then\r\nnewline']))
    const first = trials[0]!.samples
    body.slice(0, 12).forEach((row, i) => {
      expect(num(row[col('ttft_ms')]!)).toBe(first.ttft_ms[i])
      expect(num(row[col('tpot_ms')]!)).toBe(first.tpot_ms[i])
      expect(num(row[col('e2el_ms')]!)).toBe(first.e2el_ms[i])
      expect(num(row[col('start_ms')]!)).toBe(first.start_ms[i])
      expect(num(row[col('itl_count')]!)).toBe(first.itl_ms[i]!.length)
      expect(num(row[col('input_tokens')]!)).toBe(first.input_tokens[i])
      expect(num(row[col('output_tokens')]!)).toBe(first.output_tokens[i])
      expect(row[col('error')]).toBe('')
      expect(row[col('dispatch_delay_ms')]).toBe('') // closed loop: none
    })
    const itlMean = first.itl_ms[3]!.reduce((a, b) => a + b, 0) / first.itl_ms[3]!.length
    expect(num(body[3]![col('itl_mean_ms')]!)).toBeCloseTo(itlMean, 9)
    // The failed requests: the kind, guarded against formula injection, numbers empty.
    for (const row of body.slice(12, 14)) {
      expect(row[col('error')]).toBe(`'=HYPERLINK("http://x")`)
      expect(row[col('ttft_ms')]).toBe('')
    }
    expect(body.slice(14).map((row) => num(row[col('trial')]!))).toEqual(Array(8).fill(1))
  })

  it('--what trials: every summary key, per trial', () => {
    const r = awkward()
    const [head, ...body] = readCsv(trialsCsv(r))
    expect(head!.slice(0, 5)).toEqual(['scenario', 'trial', 'arm', 'block', 'started_at'])
    expect(head!.slice(5, -1)).toEqual(Object.keys(Summary.shape))
    expect(head!.at(-1)).toBe('errors')
    expect(body).toHaveLength(2)
    const t = r.scenarios[0]!.trials[0]!
    for (const k of [
      'completed',
      'failed',
      'duration_s',
      'median_ttft_ms',
      'p99_e2el_ms',
      'output_throughput',
    ] as const) {
      expect(num(body[0]![head!.indexOf(k)]!), k).toBe(t.summary[k])
    }
    expect(body[0]![head!.indexOf('request_goodput')]).toBe('') // null: no SLOs
    expect(body[0]!.at(-1)).toBe(`'=HYPERLINK("http://x")=2`)
  })
})

describe('HTML', () => {
  it('a report: self-contained (no script, nothing fetched), every string escaped, an SVG per scenario', () => {
    const r = JSON.parse(JSON.stringify(makeReport(5, [{}]))) as Report
    r.scenarios[0]!.name = '<script>alert(1)</script>'
    r.environment.model = 'llama <b>"3"</b>'
    const html = reportHtml(parseReport(r))
    expect(html).toMatch(/^<!doctype html>/)
    expect(html).toContain('<style>')
    expect(html).not.toMatch(/<script/i)
    expect(html).not.toMatch(/<link|<img|<iframe|@import|url\(/i)
    expect(html).not.toMatch(/(?:src|href)\s*=/i)
    expect(html).not.toMatch(/https?:\/\//)
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;')
    expect(html).toContain('llama &lt;b&gt;&quot;3&quot;&lt;/b&gt;')
    expect(html.match(/<svg /g)).toHaveLength(1)
    const t = r.scenarios[0]!.trials[0]!.summary
    expect(html).toContain(`<td>${t.median_ttft_ms!.toFixed(1)}</td>`)
  })

  it('a comparison renders its verdict table', () => {
    const baselines = [1, 2, 3].map((i) => ({ id: `b${i}`, report: makeReport(i, [{}]) }))
    const c = compareRuns({ id: 'pr', report: makeReport(9, [{ ttft: 80 }]) }, baselines)
    const html = comparisonHtml(c)
    expect(html).not.toMatch(/<script|(?:src|href)\s*=/i)
    expect(html).toMatch(/<span class="regression">regression<\/span><\/h1>/)
    expect(html).toMatch(
      /<tr><td>TTFT \(ms\)<\/td><td>[\d.]+<\/td><td>[\d.]+<\/td><td>\+\d+\.\d%<\/td><td>[^<]+<\/td><td>[^<]+<\/td><td><span class="regression">regression<\/span><\/td><\/tr>/,
    )
    expect(html).toContain('<th>verdict</th>')
  })
})

describe('infergate export', () => {
  it('writes CSV and HTML of a report and of a comparison; refuses what the file cannot give', async () => {
    const dir = tempDir()
    const report = join(dir, 'r.json')
    writeFileSync(report, JSON.stringify(makeReport(6, [{ requests: 20 }])))
    const csv = join(dir, 'r.csv')
    expect((await cli(['export', report, '--format', 'csv', '--out', csv])).code).toBe(0)
    expect(readCsv(readFileSync(csv, 'utf8'))).toHaveLength(21)
    const trials = await cli(['export', report, '--format', 'csv', '--what', 'trials'])
    expect(trials.code).toBe(0)
    expect(readCsv(trials.stdout)).toHaveLength(2)
    const html = await cli(['export', report, '--format', 'html'])
    expect(html.stdout).toMatch(/^<!doctype html>/)

    const base = join(dir, 'b.json')
    writeFileSync(base, JSON.stringify(makeReport(7, [{}])))
    const cmp = await cli(['compare', '--baseline', base, '--candidate', report, '--json'])
    const cFile = join(dir, 'c.json')
    writeFileSync(cFile, cmp.stdout)
    const cCsv = await cli(['export', cFile, '--format', 'csv'])
    expect(cCsv.code).toBe(0)
    const [head, ...rows] = readCsv(cCsv.stdout)
    const c = parseComparison(JSON.parse(cmp.stdout))
    expect(rows).toHaveLength(c.metrics.length)
    const delta = head!.indexOf('delta_pct')
    expect(rows.map((r) => num(r[delta]!))).toEqual(c.metrics.map((m) => m.delta_pct))
    // A negative change stays a number (no formula guard on numbers).
    expect(rows.some((r) => r[delta]!.startsWith('-'))).toBe(true)
    expect((await cli(['export', cFile, '--format', 'html'])).stdout).toContain('<th>verdict</th>')

    for (const [args, message] of [
      [['export', report], /--format is required/],
      [['export', report, '--format', 'xlsx'], /--format: expected one of csv, html/],
      [['export', report, '--format', 'html', '--what', 'trials'], /--what: only with --format csv/],
      [
        ['export', cFile, '--format', 'csv', '--what', 'requests'],
        /is a comparison, whose rows are its metrics/,
      ],
      [['export', join(dir, 'none.json'), '--format', 'csv'], /none.json: cannot read/],
    ] as const) {
      const r = await cli([...args])
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.stderr).toMatch(message)
    }
  })

  it('an aggregates-only report has no requests to list: exit 2, and its trials export', async () => {
    const dir = tempDir()
    const out = join(dir, 'agg.json')
    const fixture = join(import.meta.dirname, 'fixtures/import/vllm-aggregate.json')
    expect((await cli(['import', '--format', 'vllm', fixture, '--out', out])).code).toBe(0)
    const r = await cli(['export', out, '--format', 'csv'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/--what requests: the report holds aggregates only .* \(--what trials\)/)
    const trials = await cli(['export', out, '--format', 'csv', '--what', 'trials'])
    expect(trials.code).toBe(0)
    const [head, row] = readCsv(trials.stdout)
    expect(num(row![head!.indexOf('completed')]!)).toBe(198)
    expect(num(row![head!.indexOf('median_ttft_ms')]!)).toBe(61.191)
    expect(row![head!.indexOf('max_concurrent_requests')]).toBe('8')
  })
})

describe('infergate compare --markdown', () => {
  it('prints exactly the PR comment renderComparisonMarkdown makes of the same comparison', async () => {
    const dir = tempDir()
    const files = [1, 2, 3].map((i) => {
      const p = join(dir, `b${i}.json`)
      const r = makeReport(i, [{}])
      writeFileSync(p, JSON.stringify(r))
      return { p, sha: r.git.sha }
    })
    const cand = join(dir, 'pr.json')
    const candidate = makeReport(9, [{ ttft: 75 }])
    writeFileSync(cand, JSON.stringify(candidate))
    const args = ['compare', ...files.flatMap((f) => ['--baseline', f.p]), '--candidate', cand]
    const md = await cli([...args, '--markdown'])
    expect(md.code).toBe(1) // the exit code is still the verdict's
    const c = parseComparison(JSON.parse((await cli([...args, '--json'])).stdout))
    expect(md.stdout).toBe(
      renderComparisonMarkdown(c, {
        baselineShas: Object.fromEntries(files.map((f) => [f.p, f.sha])),
        commit: candidate.git.sha,
      }),
    )
    expect(md.stdout).toMatch(
      /^<!-- infergate:comment benchmark=bench -->\n### Infergate · `bench`: 🔴 regression/,
    )
    expect(md.stdout).toContain('Baseline: 3 runs (`sha1`, `sha2`, `sha3`).')
    const both = await cli([...args, '--markdown', '--json'])
    expect(both.code).toBe(2)
    expect(both.stderr).toMatch(/--json and --markdown: give one/)
  })
})
