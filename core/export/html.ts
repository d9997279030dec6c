// A report or a comparison as one self-contained HTML page, to attach to an issue or mail: inline
// CSS, inline SVG, no script, nothing loaded from anywhere (it opens offline and under any CSP).
// Every value from the report is escaped: a report's strings come from servers and tools.
import type { Comparison, MetricComparison } from '../detect/comparison.ts'
import { decisiveP, LABEL, statusDescription } from '../render/markdown.ts'
import type { Report, Scenario, Summary } from '../report.ts'

export function escapeHtml(s: string): string {
  return s
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;')
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:64rem;padding:0 1rem;color:#1f2328;background:#fff}
h1{font-size:1.4rem;margin:0 0 .25rem}h2{font-size:1.1rem;margin:2rem 0 .5rem;border-bottom:1px solid #d0d7de;padding-bottom:.25rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-variant-numeric:tabular-nums}
th,td{padding:.25rem .6rem;border-bottom:1px solid #d0d7de;text-align:right}th{background:#f6f8fa}
td:first-child,th:first-child{text-align:left}.meta{color:#59636e}.warn{background:#fff8c5;border:1px solid #d4a72c;padding:.4rem .6rem;margin:.4rem 0}
.regression{color:#cf222e;font-weight:600}.improvement{color:#1a7f37;font-weight:600}.inconclusive{color:#9a6700}
svg text{font:11px system-ui,sans-serif;fill:#1f2328}
@media (prefers-color-scheme:dark){body{background:#0d1117;color:#e6edf3}th{background:#161b22}th,td{border-color:#30363d}svg text{fill:#e6edf3}.meta{color:#9198a1}.warn{background:#3b2e00;border-color:#9e6a03}}
`

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
</body>
</html>
`
}

const n = (x: number | null | undefined, d = 1) => (x === null || x === undefined ? '–' : x.toFixed(d))

function table(head: string[], rows: string[][]): string {
  return `<table><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`
}

/** Mean of the trials' values of one summary key (null where no trial has one). */
function overTrials(s: Scenario, key: keyof Summary): number | null {
  const xs = s.trials.map((t) => t.summary[key]).filter((x): x is number => typeof x === 'number')
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null
}

/**
 * A scenario's latencies at a glance: for TTFT, TPOT and E2EL, bars of the p50, p90 and p99
 * (the trials' mean), each metric on its own scale.
 */
function scenarioSvg(s: Scenario): string {
  const metrics = [
    ['TTFT', 'ttft'],
    ['TPOT', 'tpot'],
    ['E2E latency', 'e2el'],
  ] as const
  const stats = [
    ['p50', 'median'],
    ['p90', 'p90'],
    ['p99', 'p99'],
  ] as const
  const W = 560
  const left = 40
  const barH = 14
  // Each metric: its name on a line of its own, then a bar per percentile.
  const rowH = 18 + stats.length * (barH + 4) + 10
  const shades = ['#54aeff', '#0969da', '#0a3069']
  const parts: string[] = []
  metrics.forEach(([label, m], i) => {
    const y0 = i * rowH
    const values = stats.map(([, k]) => overTrials(s, `${k}_${m}_ms` as keyof Summary))
    const max = Math.max(0, ...values.filter((v): v is number => v !== null))
    parts.push(`<text x="0" y="${y0 + 12}">${escapeHtml(label)} (ms)</text>`)
    stats.forEach(([name], j) => {
      const v = values[j]!
      const y = y0 + 18 + j * (barH + 4)
      const w = v === null || max === 0 ? 0 : ((W - left - 90) * v) / max
      parts.push(
        `<text x="0" y="${y + barH - 3}">${name}</text>`,
        `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${shades[j]}"><title>${escapeHtml(`${label} ${name}: ${n(v, 2)} ms`)}</title></rect>`,
        `<text x="${(left + w + 6).toFixed(1)}" y="${y + barH - 3}">${n(v, v !== null && v < 10 ? 2 : 1)}</text>`,
      )
    })
  })
  const H = metrics.length * rowH
  return `<svg role="img" aria-label="${escapeHtml(`${s.name}: latency percentiles`)}" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">${parts.join('')}</svg>`
}

/** The report: what was measured, then each scenario's latency bars and trials. */
export function reportHtml(r: Report): string {
  const env = r.environment
  const meta = [
    `model <b>${escapeHtml(env.model)}</b>`,
    env.engine.name ? `engine ${escapeHtml(`${env.engine.name} ${env.engine.version ?? ''}`.trim())}` : null,
    env.gpu.model ? `GPU ${escapeHtml(`${env.gpu.count ?? 1} × ${env.gpu.model}`)}` : null,
    `API ${escapeHtml(env.endpoint.api)}`,
    r.git.sha
      ? `commit ${escapeHtml(r.git.sha.slice(0, 12))}${r.git.branch ? ` (${escapeHtml(r.git.branch)})` : ''}`
      : null,
    `written ${escapeHtml(r.created_at)}`,
  ].filter(Boolean)
  const body = [
    `<h1>Infergate report · ${escapeHtml(r.benchmark)}</h1>`,
    `<p class="meta">${meta.join(' · ')}</p>`,
  ]
  if (r.source) {
    body.push(
      `<p class="warn">Imported from ${escapeHtml(r.source.tool)}${r.source.version ? ` ${escapeHtml(r.source.version)}` : ''}: ${
        r.source.samples === 'aggregate'
          ? 'aggregates only (the tool kept no per-request data); comparisons use trial statistics'
          : 'per-request samples'
      }${r.source.unrecorded?.length ? `; not recorded by the tool: ${escapeHtml(r.source.unrecorded.join(', '))}` : ''}.</p>`,
    )
  }
  if (r.interrupted)
    body.push(
      '<p class="warn">Interrupted: the run was stopped; these are the scenarios measured until then.</p>',
    )
  for (const s of r.scenarios) {
    body.push(`<h2>${escapeHtml(s.name)}</h2>`, scenarioSvg(s))
    const rows = s.trials.map((t) => {
      const m = t.summary
      return [
        `${t.index}${t.arm ? ` ${escapeHtml(t.arm)}` : ''}`,
        String(m.completed),
        String(m.failed),
        n(m.request_throughput, 2),
        n(m.output_throughput),
        n(m.median_ttft_ms),
        n(m.p99_ttft_ms),
        n(m.median_tpot_ms, 2),
        n(m.p99_tpot_ms, 2),
        n(m.median_itl_ms, 2),
        n(m.median_e2el_ms),
        n(m.p99_e2el_ms),
      ]
    })
    body.push(
      table(
        [
          'trial',
          'ok',
          'failed',
          'req/s',
          'out tok/s',
          'TTFT p50',
          'TTFT p99',
          'TPOT p50',
          'TPOT p99',
          'ITL p50',
          'E2EL p50',
          'E2EL p99',
        ],
        rows,
      ),
    )
    const warnings = s.trials.flatMap((t) => t.warnings.map((w) => `trial ${t.index}: ${w}`))
    for (const w of warnings) body.push(`<p class="warn">${escapeHtml(w)}</p>`)
  }
  return page(`Infergate report · ${r.benchmark}`, body.join('\n'))
}

const VERDICT: Record<MetricComparison['verdict'], string> = {
  regression: 'regression',
  improvement: 'improvement',
  unchanged: 'unchanged',
  inconclusive: 'inconclusive',
  insufficient_data: 'insufficient data',
}

const signed = (x: number | null) => (x === null ? '–' : `${x > 0 ? '+' : ''}${x.toFixed(1)}%`)
const pText = (p: number | null) => (p === null ? '–' : p < 1e-4 ? '&lt;0.0001' : p.toFixed(4))

/** The comparison: its status, warnings, and each scenario's verdict table (the PR comment's rows). */
export function comparisonHtml(c: Comparison): string {
  const body = [
    `<h1>Infergate comparison · ${escapeHtml(c.benchmark)}: <span class="${escapeHtml(c.status)}">${escapeHtml(c.status.replace('_', ' '))}</span></h1>`,
    `<p class="meta">${escapeHtml(statusDescription(c))} · ${
      c.mode === 'paired' && c.paired
        ? `A/B: both arms interleaved in ${c.paired.blocks} blocks`
        : `against ${c.baseline_run_ids.length} baseline runs`
    }</p>`,
  ]
  for (const w of c.warnings) body.push(`<p class="warn">${escapeHtml(w)}</p>`)
  for (const scenario of [...new Set(c.metrics.map((m) => m.scenario))]) {
    const rows = c.metrics
      .filter((m) => m.scenario === scenario && (m.baseline.median !== null || m.candidate.median !== null))
      .map((m) => [
        `${escapeHtml(LABEL[m.metric])}${m.gated ? '' : ' <span class="meta">(not gated)</span>'}`,
        n(m.baseline.median, 2),
        n(m.candidate.median, 2),
        signed(m.delta_pct),
        pText(decisiveP(m)),
        m.ci_pct ? `${signed(m.ci_pct[0])} … ${signed(m.ci_pct[1])}` : '–',
        `<span class="${m.verdict}">${VERDICT[m.verdict]}</span>`,
      ])
    body.push(
      `<h2>${escapeHtml(scenario)}</h2>`,
      table(['metric', 'baseline', 'candidate', 'change', 'p', 'interval', 'verdict'], rows),
    )
  }
  if (c.environment_diff.length) {
    body.push(
      '<h2>Environment changes</h2>',
      table(
        ['field', 'baseline', 'candidate'],
        c.environment_diff.map((d) => [
          escapeHtml(d.field),
          escapeHtml(JSON.stringify(d.baseline) ?? 'null'),
          escapeHtml(JSON.stringify(d.candidate) ?? 'null'),
        ]),
      ),
    )
  }
  return page(`Infergate comparison · ${c.benchmark}`, body.join('\n'))
}
