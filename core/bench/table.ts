// The results table printed at the end of a run: one row per scenario and trial,
// medians with p99 beside them, the way performance engineers read latency.
import type { Report } from '../report.ts'

const f = (x: number | null | undefined, digits = 1) =>
  x === null || x === undefined ? '–' : x.toFixed(digits)

/** `concurrency-8`, `concurrency-8 #2`, or in an A/B run `concurrency-8 b2 candidate`. */
function trialLabel(scenario: string, t: Report['scenarios'][number]['trials'][number], count: number) {
  if (t.arm !== undefined) return `${scenario} b${(t.block ?? 0) + 1} ${t.arm}`
  return count > 1 ? `${scenario} #${t.index + 1}` : scenario
}

export function renderTable(report: Report): string {
  const head = [
    'scenario',
    'ok',
    'fail',
    'req/s',
    'out tok/s',
    'TTFT ms p50/p99',
    'TPOT ms p50/p99',
    'ITL ms p50/p99',
    'E2EL ms p50/p99',
  ]
  const withGoodput = report.slo !== null
  if (withGoodput) head.push('goodput/s')
  const rows: string[][] = []
  for (const s of report.scenarios) {
    for (const t of s.trials) {
      const m = t.summary
      const row = [
        trialLabel(s.name, t, s.trials.length),
        String(m.completed),
        String(m.failed),
        f(m.request_throughput, 2),
        f(m.output_throughput, 0),
        `${f(m.median_ttft_ms)} / ${f(m.p99_ttft_ms)}`,
        `${f(m.median_tpot_ms, 2)} / ${f(m.p99_tpot_ms, 2)}`,
        `${f(m.median_itl_ms, 2)} / ${f(m.p99_itl_ms, 2)}`,
        `${f(m.median_e2el_ms, 0)} / ${f(m.p99_e2el_ms, 0)}`,
      ]
      if (withGoodput) row.push(f(m.request_goodput, 2))
      rows.push(row)
    }
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')
  const out = [line(head), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)]
  const notes: string[] = []
  for (const s of report.scenarios) {
    for (const t of s.trials) {
      for (const w of t.warnings) notes.push(`${trialLabel(s.name, t, s.trials.length)}: ${w}`)
      for (const e of t.error_examples) notes.push(`${s.name}: ${t.errors[e.kind]}× ${e.kind}: ${e.message}`)
      const retried = t.summary.retried_requests ?? 0
      if (retried > 0)
        notes.push(
          `${s.name}: ${retried} requests sent again on a fresh connection: the server closed kept-alive connections under them (not failures)`,
        )
      const achieved = t.summary.achieved_rate
      const rate = s.load.mode === 'open' ? s.load.rate : null
      if (achieved != null && rate !== null && Math.abs(achieved / rate - 1) > 0.02)
        notes.push(
          `${s.name}: sent at ${achieved.toFixed(2)} req/s, ${((achieved / rate - 1) * 100).toFixed(1)}% off the ${rate} asked for${s.load.mode === 'open' && s.load.schedule !== 'exact' ? ' (--schedule drawn: the draw, not scaled)' : ': the generator fell behind'}`,
        )
      const dd = t.summary.p99_dispatch_delay_ms
      if (dd !== null && dd > 10)
        notes.push(
          `${s.name}: p99 dispatch delay ${dd.toFixed(1)} ms: the generator fell behind its arrival schedule`,
        )
    }
  }
  if (report.interrupted) notes.push('interrupted: partial results, scenarios not reached are missing')
  return `${out.join('\n')}\n${notes.length ? `\n${notes.join('\n')}\n` : ''}`
}
