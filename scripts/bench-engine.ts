// npm run bench: the benchmark engine's own accuracy, timing and capacity, measured against
// engine-sim, both as separate processes on this machine, as a user would run them.
// Prints a markdown section for docs/performance.md. Not a test: it reports, it does not assert.
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { spawnEngineSim } from '../cli/spawn-sim.ts'
import { parseReport, type Trial } from '../core/report.ts'

const CLI = resolve(import.meta.dirname, '../cli/main.ts')
const dir = mkdtempSync(join(tmpdir(), 'infergate-bench-'))
let runs = 0

function bench(url: string, args: string[]): Promise<Trial> {
  const out = join(dir, `r${runs++}.json`)
  return new Promise((done, fail) => {
    execFile(
      process.execPath,
      [CLI, 'bench', '--url', url, '--progress', 'off', '--ignore-eos', '--out', out, ...args],
      { maxBuffer: 1 << 26 },
      (err, _stdout, stderr) => {
        if (err) return fail(new Error(`bench ${args.join(' ')}: ${stderr}`))
        done(parseReport(JSON.parse(readFileSync(out, 'utf8'))).scenarios[0]!.trials[0]!)
      },
    )
  })
}

async function withSim<T>(args: string[], f: (url: string) => Promise<T>): Promise<T> {
  const sim = await spawnEngineSim(CLI, args)
  try {
    return await f(sim.url)
  } finally {
    await sim.stop()
  }
}

const ms = (x: number | null) => (x === null ? '–' : x.toFixed(2))
const lines: string[] = []
const say = (s = '') => {
  lines.push(s)
  process.stderr.write(`${s}\n`)
}

const cpu = cpus()
say(
  `Machine: ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`,
)
say()

// Figures that depend on the moment (a shared 2-core machine) are measured REPEAT times in this
// run and quoted as the median, with the spread beside it.
const REPEAT = 3
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!
const spread = (xs: number[]) => `${ms(Math.min(...xs))}–${ms(Math.max(...xs))}`
async function repeat(simArgs: string[], args: string[]): Promise<Trial[]> {
  const out: Trial[] = []
  for (let i = 0; i < REPEAT; i++) out.push(await withSim(simArgs, (url) => bench(url, args)))
  return out
}
const SIM_50_10 = ['--ttft-ms', '50', '--itl-ms', '10', '--jitter', '0', '--max-num-seqs', '4096']

// 1. Accuracy at concurrency 64.
const acc = (
  await repeat(SIM_50_10, [
    ...['--concurrency', '64', '--warmup', '64', '--requests', '640'],
    ...['--input-tokens', '256', '--output-tokens', '128'],
  ])
).map((t) => t.summary)
const ttft = acc.map((m) => m.median_ttft_ms!)
const tpot = acc.map((m) => m.median_tpot_ms!)
say(
  `### Accuracy: engine-sim --ttft-ms 50 --itl-ms 10 --jitter 0; concurrency 64, 640 requests after 64 warmup, 128 output tokens (${REPEAT} runs)`,
)
say('| figure | median of runs | range | target | met |')
say('|---|---|---|---|---|')
say(
  `| median TTFT | ${ms(median(ttft))} ms (Δ ${ms(median(ttft) - 50)} ms) | ${spread(ttft)} | within 2 ms of 50 | ${Math.abs(median(ttft) - 50) <= 2 ? 'yes' : 'no'} |`,
)
say(
  `| median TPOT | ${ms(median(tpot))} ms (Δ ${((median(tpot) / 10 - 1) * 100).toFixed(2)}%) | ${spread(tpot)} | within 3% of 10 | ${Math.abs(median(tpot) / 10 - 1) <= 0.03 ? 'yes' : 'no'} |`,
)
say(
  `| p99 TTFT | ${ms(median(acc.map((m) => m.p99_ttft_ms!)))} ms | ${spread(acc.map((m) => m.p99_ttft_ms!))} | – | – |`,
)
say()

// 2. Open-loop dispatch delay at 100 req/s Poisson.
const open = (
  await repeat(SIM_50_10, [
    ...['--rate', '100', '--warmup', '64', '--requests', '1000'],
    ...['--input-tokens', '256', '--output-tokens', '128'],
  ])
).map((t) => t.summary)
const p99 = open.map((m) => m.p99_dispatch_delay_ms!)
say(
  `### Open loop: Poisson at 100 req/s, 1,000 requests of 128 tokens (~130 in flight) after 64 warmup, same engine-sim (${REPEAT} runs)`,
)
say('| figure | median of runs | range | target | met |')
say('|---|---|---|---|---|')
say(
  `| dispatch delay p99 | ${ms(median(p99))} ms | ${spread(p99)} | ≤ 2 ms | ${median(p99) <= 2 ? 'yes' : 'no'} |`,
)
say(
  `| dispatch delay mean | ${ms(median(open.map((m) => m.mean_dispatch_delay_ms!)))} ms | ${spread(open.map((m) => m.mean_dispatch_delay_ms!))} | – | – |`,
)
say(
  `| dispatch delay max | ${ms(median(open.map((m) => m.max_dispatch_delay_ms!)))} ms | ${spread(open.map((m) => m.max_dispatch_delay_ms!))} | – | – |`,
)
say()

// 3. Capacity: streamed tokens per second against an engine with no delays.
say('### Capacity: engine-sim --ttft-ms 0 --itl-ms 0; 5 s per level, 512 output tokens, input 64')
say('| concurrency | output tokens/s | requests/s | median TTFT ms |')
say('|---|---|---|---|')
let best = 0
for (const c of [16, 64, 256]) {
  const t = await withSim(
    ['--ttft-ms', '0', '--itl-ms', '0', '--jitter', '0', '--max-num-seqs', '4096'],
    (url) =>
      bench(url, [
        '--concurrency',
        String(c),
        '--duration',
        '5',
        '--input-tokens',
        '64',
        '--output-tokens',
        '512',
      ]),
  )
  best = Math.max(best, t.summary.output_throughput)
  say(
    `| ${c} | ${Math.round(t.summary.output_throughput).toLocaleString('en')} | ${t.summary.request_throughput.toFixed(0)} | ${ms(t.summary.median_ttft_ms)} |`,
  )
}
say(`Most sustained: **${Math.round(best).toLocaleString('en')} tokens/s** (target ≥ 100,000).`)
say()

// 4. Where TTFT accuracy breaks as concurrency grows.
say(
  '### Where TTFT accuracy breaks: engine-sim --ttft-ms 50 --itl-ms 10 --jitter 0; per level one warmup round, then 10 rounds',
)
say('| concurrency | median TTFT ms | Δ ms | median TPOT ms | within 2 ms / 3% |')
say('|---|---|---|---|---|')
let broke: number | null = null
for (const c of [64, 128, 256, 512, 1024]) {
  const t = await withSim(SIM_50_10, (url) =>
    bench(url, [
      ...['--concurrency', String(c), '--warmup', String(c), '--requests', String(10 * c)],
      ...['--input-tokens', '256', '--output-tokens', '128'],
    ]),
  )
  const m = t.summary
  const ok = Math.abs(m.median_ttft_ms! - 50) <= 2 && Math.abs(m.median_tpot_ms! / 10 - 1) <= 0.03
  if (!ok && broke === null) broke = c
  say(
    `| ${c} | ${ms(m.median_ttft_ms)} | ${ms(m.median_ttft_ms! - 50)} | ${ms(m.median_tpot_ms)} | ${ok ? 'yes' : 'no'} |`,
  )
}
say(
  broke === null
    ? 'TTFT stayed accurate at every level tried.'
    : `TTFT accuracy first breaks at concurrency **${broke}**.`,
)

rmSync(dir, { recursive: true, force: true })
process.stdout.write(`${lines.join('\n')}\n`)
