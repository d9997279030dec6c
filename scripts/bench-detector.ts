// npm run bench:detector — detection quality by simulation with known truth, through the real
// detector (core/detect/compare.ts). Per-request lognormal latencies (σ 0.25), run-to-run
// multiplicative noise (σ 2%, drawn for every trial), 20 runs of base-branch history, the last
// K = 5 as the baseline, 300 requests per run, candidates of 1 and of 3 trials.
// Reports: A/A false alarms (family-wise over the gated metrics), power at +5% and +10% TPOT,
// an oracle's power at the same false-alarm rate (a z-test on log trial medians that knows the
// true variances), and two simpler rules side by side. Prints markdown for docs/performance.md.
import { parseArgs } from 'node:util'
import { compareRuns, type Run } from '../core/detect/compare.ts'
import type { Comparison } from '../core/detect/comparison.ts'
import { normalQuantile, normalSf } from '../core/detect/normal.ts'
import { Rng } from '../core/rng.ts'
import { makeReport } from '../test/report-factory.ts'

const { values } = parseArgs({ options: { reps: { type: 'string', default: '300' } } })
const REPS = Number(values.reps)
const RUN_NOISE = 0.02
const SIGMA = 0.25
const REQUESTS = 300
const HISTORY = 20
const K = 5
const GATED = ['ttft_ms', 'tpot_ms', 'e2el_ms', 'output_throughput']

let seed = 1
function trial(rng: Rng, tpotShift = 1) {
  return {
    ttft: 50 * Math.exp(RUN_NOISE * rng.normal()),
    tpot: 10 * tpotShift * Math.exp(RUN_NOISE * rng.normal()),
    requests: REQUESTS,
    sigma: SIGMA,
    outputTokens: 8,
  }
}
const runOf = (id: string, trials: ReturnType<typeof trial>[]): Run => ({
  id,
  report: makeReport(seed++, trials),
})

interface Outcome {
  detector: Comparison
  pooledP05: boolean
  ratio2x: boolean
}

function simulate(rng: Rng, trials: number, tpotShift: number): Outcome {
  const history = Array.from({ length: HISTORY }, (_, i) => runOf(`h${i}`, [trial(rng)]))
  const baselines = history.slice(-K)
  const candidate = runOf(
    'c',
    Array.from({ length: trials }, () => trial(rng, tpotShift)),
  )
  const detector = compareRuns(candidate, baselines, history)
  const gated = detector.metrics.filter((m) => GATED.includes(m.metric))
  // "Pooled Mann-Whitney, p < 0.05" alone, any gated metric.
  const pooledP05 = gated.some((m) => m.p_value !== null && m.p_value < 0.05)
  // github-action-benchmark's default: alert when the value is over 2× the previous run's.
  const ratio2x = gated.some((m) => {
    const prev = baselines.at(-1)!
    const prevRow = compareRuns(prev, [prev], [prev]).metrics.find((x) => x.metric === m.metric)
    const before = prevRow?.candidate.median ?? null
    if (before === null || m.candidate.median === null) return false
    const ratio = m.candidate.median / before
    return m.direction === 'lower_is_better' ? ratio > 2 : ratio < 0.5
  })
  return { detector, pooledP05, ratio2x }
}

const rate = (xs: boolean[]) => xs.filter(Boolean).length / xs.length
const pctf = (x: number) => `${(x * 100).toFixed(1)}%`

// The oracle knows the per-trial variance of a log median: run noise plus sampling noise
// (the median of n lognormal values has Var(log) ≈ (π/2)·σ²/n).
const trialVar = RUN_NOISE ** 2 + ((Math.PI / 2) * SIGMA ** 2) / REQUESTS
function oraclePower(shift: number, trials: number, alphaPerMetric: number): number {
  const se = Math.sqrt(trialVar * (1 / trials + 1 / K))
  const z = normalQuantile(1 - alphaPerMetric / 2)
  const d = Math.log(shift) / se
  return normalSf(z - d) + normalSf(z + d)
}

const started = performance.now()
const rows: string[] = []
for (const trials of [1, 3]) {
  const rng = new Rng(1000 + trials)
  const aa = Array.from({ length: REPS }, () => simulate(rng, trials, 1))
  const alarmsAny = rate(
    aa.map((o) =>
      o.detector.metrics.some(
        (m) => GATED.includes(m.metric) && (m.verdict === 'regression' || m.verdict === 'improvement'),
      ),
    ),
  )
  const alarmsReg = rate(aa.map((o) => o.detector.status === 'regression'))
  const mwAA = rate(aa.map((o) => o.pooledP05))
  const ratioAA = rate(aa.map((o) => o.ratio2x))
  for (const shift of [1.05, 1.1]) {
    const pw = Array.from({ length: REPS }, () => simulate(rng, trials, shift))
    const power = rate(
      pw.map((o) => o.detector.metrics.find((m) => m.metric === 'tpot_ms')!.verdict === 'regression'),
    )
    const mdes = pw
      .map((o) => o.detector.metrics.find((m) => m.metric === 'tpot_ms')!.mde_pct!)
      .sort((a, b) => a - b)
    // The oracle at the detector's measured family-wise false-alarm rate, split over 4 metrics
    // (at least 1/REPS: a rate of 0 measured in REPS tries is not a rate of 0).
    const fa = Math.max(alarmsAny, 1 / REPS)
    const oracle = oraclePower(shift, trials, fa / GATED.length)
    rows.push(
      `| ${trials} | +${Math.round((shift - 1) * 100)}% | ${pctf(alarmsAny)} (${pctf(alarmsReg)} as regressions) | ${pctf(power)} | ${pctf(oracle)} | ${(power / oracle).toFixed(2)} | ${mdes[mdes.length >> 1]!.toFixed(1)}% | ${pctf(mwAA)} / ${pctf(rate(pw.map((o) => o.pooledP05)))} | ${pctf(ratioAA)} / ${pctf(rate(pw.map((o) => o.ratio2x)))} |`,
    )
    process.stderr.write(`${rows.at(-1)}\n`)
  }
}
const seconds = (performance.now() - started) / 1000
const out = [
  `${REPS} simulated comparisons per row and for each A/A figure, ${seconds.toFixed(0)} s in all.`,
  '',
  '| candidate trials | TPOT shift | detector A/A false alarms (family-wise, 4 gated metrics) | detector power (TPOT) | oracle power at the same false-alarm rate | ratio | median resolution (mde_pct) | pooled Mann-Whitney p < 0.05: A/A / power | ratio > 2×: A/A / power |',
  '|---|---|---|---|---|---|---|---|---|',
  ...rows,
]
process.stdout.write(`${out.join('\n')}\n`)
