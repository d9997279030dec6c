// npm run bench: the load generator's own accuracy, timing, capacity and memory, measured
// against engine-sim, both as separate processes on this machine, as a user would run them.
// Prints a markdown section for docs/performance.md. Not a test: it reports, it does not assert.
//
//   npm run bench [-- --parts accuracy,capacity,open,break,million] [--repeat 3] [--workers N]
//
// million (not in the default parts) runs 1,000,000 short requests to show what a long run costs.
import { execFile, execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { spawnEngineSim } from '../cli/spawn-sim.ts'
import { parseReport, type Trial } from '../core/report.ts'

const { values: opts } = parseArgs({
  options: {
    parts: { type: 'string', default: 'accuracy,capacity,open,break' },
    repeat: { type: 'string', default: '3' },
    workers: { type: 'string' },
  },
})
const parts = new Set(opts.parts!.split(','))
const REPEAT = Number(opts.repeat)
const workerArgs = opts.workers ? ['--workers', opts.workers] : []

// The bundle users run (dist/, built now from these sources); engine-sim from the same bundle.
execFileSync(process.execPath, [resolve(import.meta.dirname, 'build.ts')], { stdio: 'inherit' })
const CLI = resolve(import.meta.dirname, '../dist/infergate.js')
// Node's flags from the bin's first line (`#!/usr/bin/env -S node …`): both processes run as the
// installed `infergate` runs, on this Node (npm's PATH may name another).
const NODE_FLAGS = (/\bnode\b(.*)$/.exec(readFileSync(CLI, 'utf8').split('\n', 1)[0]!)?.[1] ?? '')
  .trim()
  .split(/\s+/)
  .filter(Boolean)
const dir = mkdtempSync(join(tmpdir(), 'infergate-bench-'))
let runs = 0

interface Measured {
  trial: Trial
  /** Peak resident memory of the whole bench process, MiB (GNU time's %M). */
  rssMiB: number
  /** engine-sim's own median lateness writing first tokens, ms (its /metrics): not the generator's. */
  simLateMs: number
}

/** Pinned apart: engine-sim on the last core, the generator on the others (taskset, Linux). */
const PIN_SIM = [`${cpus().length - 1}`]
const PIN_GENERATOR = [cpus().length > 2 ? `0-${cpus().length - 2}` : '0']

function bench(url: string, args: string[], pin: boolean): Promise<Omit<Measured, 'simLateMs'>> {
  const out = join(dir, `r${runs++}.json`)
  return new Promise((done, fail) => {
    execFile(
      '/usr/bin/time',
      [
        ...['-f', 'maxrss_kib=%M', ...(pin ? ['taskset', '-c', ...PIN_GENERATOR] : [])],
        ...[process.execPath, ...NODE_FLAGS, CLI, 'bench', '--url', url],
        ...['--progress', 'off', '--ignore-eos', '--out', out, ...workerArgs, ...args],
      ],
      { maxBuffer: 1 << 26 },
      (err, _stdout, stderr) => {
        if (err) return fail(new Error(`bench ${args.join(' ')}: ${stderr}`))
        const kib = Number(/maxrss_kib=(\d+)/.exec(stderr)?.[1] ?? Number.NaN)
        const report = parseReport(JSON.parse(readFileSync(out, 'utf8')))
        rmSync(out, { force: true })
        done({ trial: report.scenarios[0]!.trials[0]!, rssMiB: kib / 1024 })
      },
    )
  })
}

/** One bench run against a fresh engine-sim, with the sim's own first-token lateness beside it. */
async function measure(simArgs: string[], args: string[], pin = false): Promise<Measured> {
  const sim = await spawnEngineSim(CLI, simArgs, undefined, NODE_FLAGS)
  try {
    // All its threads (-a), set before its first request.
    if (pin) execFileSync('taskset', ['-a', '-cp', ...PIN_SIM, String(sim.child.pid)], { stdio: 'ignore' })
    const m = await bench(sim.url, args, pin)
    const text = await (await fetch(new URL('/metrics', sim.url))).text()
    const late = /^infergate_sim_first_token_lateness_seconds\{quantile="0.5"\} (\S+)$/m.exec(text)
    return { ...m, simLateMs: Number(late?.[1] ?? Number.NaN) * 1000 }
  } finally {
    await sim.stop()
  }
}

const f2 = (x: number | null | undefined) => (x === null || x === undefined ? '–' : x.toFixed(2))
const n0 = (x: number) => Math.round(x).toLocaleString('en')
const lines: string[] = []
const say = (s = '') => {
  lines.push(s)
  process.stderr.write(`${s}\n`)
}

const cpu = cpus()
say(
  `Machine: ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version} ${NODE_FLAGS.join(' ')}, ${new Date().toISOString().slice(0, 10)}${workerArgs.length ? `; bench ${workerArgs.join(' ')}` : ''}`,
)
say()

// Figures that depend on the moment (a shared 2-core machine) are measured REPEAT times in this
// run, alternating settings, and quoted as the median with the range beside it.
const median = (xs: number[]) => {
  const s = [...xs].sort((x, y) => x - y)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}
const range = (xs: number[], fmt: (x: number) => string = f2) =>
  `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}`
const met = (ok: boolean) => (ok ? 'yes' : 'no')

/** Each setting once per round, REPEAT rounds: a slow minute of the machine hits all of them. */
async function rounds<K extends string>(
  settings: Record<K, () => Promise<Measured>>,
): Promise<Record<K, Measured[]>> {
  const out = Object.fromEntries(Object.keys(settings).map((k) => [k, [] as Measured[]])) as Record<
    K,
    Measured[]
  >
  for (let i = 0; i < REPEAT; i++) {
    for (const k of Object.keys(settings) as K[]) out[k].push(await settings[k]())
  }
  return out
}

const SIM_50_10 = ['--ttft-ms', '50', '--itl-ms', '10', '--jitter', '0', '--max-num-seqs', '4096']
const SIM_0_0 = ['--ttft-ms', '0', '--itl-ms', '0', '--jitter', '0', '--max-num-seqs', '4096']
const TOKENS_128 = ['--input-tokens', '256', '--output-tokens', '128']
/** µs of generator CPU per streamed token. */
const cpuPerToken = (t: Trial) =>
  ((t.summary.generator_cpu ?? Number.NaN) * t.summary.duration_s * 1e6) / t.summary.total_output_tokens
const busy = (t: Trial) => t.summary.generator_busy ?? Number.NaN

// Pinning the two processes apart is tried beside the default (one thread only: with workers the
// generator would need the simulator's core too).
const canPin = !workerArgs.length && cpus().length >= 2 && spawnable('taskset', ['-V'])

function spawnable(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

if (parts.has('accuracy')) {
  const closed = (c: number, pin: boolean) => () =>
    measure(
      SIM_50_10,
      [...['--concurrency', String(c), '--warmup', String(c), '--requests', String(10 * c)], ...TOKENS_128],
      pin,
    )
  const settings: Record<string, () => Promise<Measured>> = {
    c64: closed(64, false),
    c256: closed(256, false),
  }
  if (canPin) Object.assign(settings, { c64pinned: closed(64, true), c256pinned: closed(256, true) })
  const r = await rounds(settings)
  say(
    `### Accuracy: engine-sim --ttft-ms 50 --itl-ms 10 --jitter 0; 10 rounds of 128 output tokens after one warm-up round (${REPEAT} runs each, alternating)`,
  )
  if (canPin)
    say(
      `Pinned apart: engine-sim on core ${PIN_SIM[0]}, the generator on core(s) ${PIN_GENERATOR[0]} (taskset); otherwise both float over all cores.`,
    )
  say(
    '| concurrency | TTFT error (median TTFT − 50) | range | of which engine-sim late | TPOT error | range | generator busy | target | met |',
  )
  say('|---|---|---|---|---|---|---|---|---|')
  for (const [c, key, ttftTarget] of [
    [64, 'c64', 0.5],
    [256, 'c256', 2],
    ['64, pinned apart', 'c64pinned', 0.5],
    ['256, pinned apart', 'c256pinned', 2],
  ] as const) {
    if (!r[key]?.length) continue
    const ttft = r[key].map((m) => m.trial.summary.median_ttft_ms! - 50)
    const tpot = r[key].map((m) => (m.trial.summary.median_tpot_ms! / 10 - 1) * 100)
    const ok = Math.abs(median(ttft)) <= ttftTarget && Math.abs(median(tpot)) <= 0.2
    say(
      `| ${c} | ${f2(median(ttft))} ms | ${range(ttft)} | ${f2(median(r[key].map((m) => m.simLateMs)))} ms | ${f2(median(tpot))}% | ${range(tpot)} | ${f2(median(r[key].map((m) => busy(m.trial))))} | TTFT ≤ ${ttftTarget} ms, TPOT ≤ 0.2% | ${met(ok)} |`,
    )
  }
  say()
}

if (parts.has('capacity')) {
  const cap = (c: number) => () =>
    measure(SIM_0_0, [
      ...['--concurrency', String(c), '--duration', '5', '--input-tokens', '64', '--output-tokens', '512'],
    ])
  const r = await rounds({ c16: cap(16), c64: cap(64), c256: cap(256) })
  say(
    `### Capacity: engine-sim --ttft-ms 0 --itl-ms 0; 5 s per level, 512 output tokens, input 64 (${REPEAT} runs each, alternating; medians)`,
  )
  say(
    '| concurrency | output tokens/s | range | median TTFT ms (true: 0) | generator CPU µs/token | generator busy | peak RSS MiB |',
  )
  say('|---|---|---|---|---|---|---|')
  for (const c of [16, 64, 256] as const) {
    const ms = r[`c${c}`]
    const tps = ms.map((m) => m.trial.summary.output_throughput)
    say(
      `| ${c} | ${n0(median(tps))} | ${range(tps, n0)} | ${f2(median(ms.map((m) => m.trial.summary.median_ttft_ms!)))} | ${f2(median(ms.map((m) => cpuPerToken(m.trial))))} | ${f2(median(ms.map((m) => busy(m.trial))))} | ${n0(median(ms.map((m) => m.rssMiB)))} |`,
    )
  }
  say(
    'Targets: ≥ 1,000,000 tokens/s with both cores; median TTFT ≤ 5 ms at concurrency 64; peak RSS ≤ 200 MiB.',
  )
  say()
}

if (parts.has('open')) {
  const open = (rate: number, requests: number) => () =>
    measure(SIM_50_10, [
      ...['--rate', String(rate), '--warmup', '64', '--requests', String(requests)],
      ...TOKENS_128,
    ])
  const r = await rounds({ r100: open(100, 1000), r500: open(500, 2500) })
  say(
    `### Open loop: Poisson, 128-token requests against engine-sim 50 ms / 10 ms after 64 warm-up requests (${REPEAT} runs each, alternating; medians)`,
  )
  say(
    '| rate | requests | achieved rate | dispatch delay mean ms | p99 ms | range of p99 | max ms | target p99 | met |',
  )
  say('|---|---|---|---|---|---|---|---|---|')
  for (const [rate, requests, target] of [
    [100, 1000, 1],
    [500, 2500, 2],
  ] as const) {
    const ms = r[`r${rate}`].map((m) => m.trial.summary)
    const p99 = ms.map((m) => m.p99_dispatch_delay_ms!)
    say(
      `| ${rate} req/s | ${n0(requests)} | ${f2(median(ms.map((m) => m.achieved_rate!)))} req/s | ${f2(median(ms.map((m) => m.mean_dispatch_delay_ms!)))} | ${f2(median(p99))} | ${range(p99)} | ${f2(median(ms.map((m) => m.max_dispatch_delay_ms!)))} | ≤ ${target} ms | ${met(median(p99) <= target)} |`,
    )
  }
  say()
}

if (parts.has('break')) {
  say(
    '### Where TTFT accuracy breaks: engine-sim --ttft-ms 50 --itl-ms 10 --jitter 0; per level one warm-up round, then 10 rounds (one run each)',
  )
  say(
    '| concurrency | median TTFT ms | Δ ms | engine-sim late ms | median TPOT ms | generator busy | within 2 ms / 3% |',
  )
  say('|---|---|---|---|---|---|---|')
  let broke: number | null = null
  for (const c of [64, 128, 256, 512, 1024]) {
    const { trial, simLateMs } = await measure(SIM_50_10, [
      ...['--concurrency', String(c), '--warmup', String(c), '--requests', String(10 * c)],
      ...TOKENS_128,
    ])
    const m = trial.summary
    const ok = Math.abs(m.median_ttft_ms! - 50) <= 2 && Math.abs(m.median_tpot_ms! / 10 - 1) <= 0.03
    if (!ok && broke === null) broke = c
    say(
      `| ${c} | ${f2(m.median_ttft_ms)} | ${f2(m.median_ttft_ms! - 50)} | ${f2(simLateMs)} | ${f2(m.median_tpot_ms)} | ${f2(busy(trial))} | ${ok ? 'yes' : 'no'} |`,
    )
  }
  say(
    broke === null
      ? 'TTFT stayed within 2 ms at every level tried.'
      : `TTFT first leaves 2 ms at concurrency **${broke}**.`,
  )
  say()
}

if (parts.has('million')) {
  const t0 = Date.now()
  const { trial, rssMiB } = await measure(SIM_0_0, [
    ...['--concurrency', '256', '--requests', '1000000', '--input-tokens', '16', '--output-tokens', '8'],
  ])
  const m = trial.summary
  const reportMiB = JSON.stringify(trial).length / 2 ** 20
  say('### A long run: 1,000,000 requests of 8 output tokens, concurrency 256, engine-sim 0 / 0')
  say('| requests completed | wall s | requests/s | peak RSS MiB | the trial in the report, MiB of JSON |')
  say('|---|---|---|---|---|')
  say(
    `| ${n0(m.completed)} | ${n0((Date.now() - t0) / 1000)} | ${n0(m.request_throughput)} | ${n0(rssMiB)} | ${n0(reportMiB)} |`,
  )
  say()
}

rmSync(dir, { recursive: true, force: true })
process.stdout.write(`${lines.join('\n')}\n`)
