import { accessSync, constants, renameSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { parseBaseUrl } from '../../core/bench/endpoint.ts'
import { BenchError, Interrupted } from '../../core/bench/errors.ts'
import { createProgress, type ProgressMode } from '../../core/bench/progress.ts'
import { type BenchOptions, runBenchmark, scenarioLoads } from '../../core/bench/run.ts'
import { renderTable } from '../../core/bench/table.ts'
import { type DatasetEntry, loadDataset } from '../../core/bench/workload.ts'
import { formatIssue, loadConfig } from '../../core/config/load.ts'
import { benchFlagsOf } from '../../core/config/workload.ts'
import { BENCHMARK_NAME, type Slo, type TokenDistribution } from '../../core/report.ts'
import {
  bool,
  type CommandSpec,
  type FlagValues,
  list,
  num,
  oneOf,
  parseNumber,
  str,
  UsageError,
} from '../args.ts'
import { gitFlagValues } from '../git-flags.ts'

export const benchSpec: CommandSpec = {
  name: 'bench',
  summary: 'load-test an OpenAI-compatible streaming endpoint and write a report',
  usage: 'infergate bench --url URL [options]',
  flags: {
    config: {
      type: 'string',
      value: 'FILE',
      help: 'take the workload, benchmark name, model, SLOs and cost from an infergate.yaml (flags override)',
    },
    url: {
      type: 'string',
      value: 'URL',
      help: 'base URL of the API, e.g. http://127.0.0.1:8000/v1 or …/openai/v1',
    },
    model: { type: 'string', value: 'NAME', help: 'model to request', default: 'the first of GET /models' },
    endpoint: { type: 'string', value: 'API', help: 'completions or chat', default: 'completions' },
    'api-key': {
      type: 'string',
      value: 'KEY',
      help: 'bearer token',
      default: '$INFERGATE_API_KEY or $OPENAI_API_KEY',
    },
    header: {
      type: 'string',
      multiple: true,
      value: "'NAME: VALUE'",
      help: 'extra request header (Host: … behind an ingress)',
    },
    name: {
      type: 'string',
      value: 'NAME',
      help: 'benchmark name, the key baselines are matched on',
      default: 'default',
    },
    'input-tokens': { type: 'string', value: 'N', help: 'prompt length in tokens (mean)', default: '512' },
    'input-stddev': {
      type: 'string',
      value: 'N',
      help: 'spread of the prompt length (normal)',
      default: '0',
    },
    'input-min': { type: 'string', value: 'N', help: 'shortest prompt', default: '1' },
    'input-max': { type: 'string', value: 'N', help: 'longest prompt', default: 'unbounded' },
    'output-tokens': { type: 'string', value: 'N', help: 'max_tokens per request (mean)', default: '128' },
    'output-stddev': { type: 'string', value: 'N', help: 'spread of max_tokens (normal)', default: '0' },
    'output-min': { type: 'string', value: 'N', help: 'smallest max_tokens', default: '1' },
    'output-max': { type: 'string', value: 'N', help: 'largest max_tokens', default: 'unbounded' },
    dataset: {
      type: 'string',
      value: 'FILE',
      help: 'JSONL prompts: {"prompt"} or {"messages"}, optional "output_tokens"',
    },
    'ignore-eos': {
      type: 'boolean',
      help: "send vLLM's ignore_eos so every answer is exactly max_tokens long",
    },
    seed: {
      type: 'string',
      value: 'N',
      help: 'seed of prompts, lengths and arrivals: pins them',
      default: 'drawn per run, recorded',
    },
    warmup: {
      type: 'string',
      value: 'N|auto',
      help: 'requests before each scenario, not measured; auto: one per connection',
      default: 'auto',
    },
    concurrency: { type: 'string', value: 'N[,N…]', help: 'closed loop: a scenario per level', default: '1' },
    rate: { type: 'string', value: 'R[,R…]', help: 'open loop: requests/s per scenario (inf = all at once)' },
    arrival: {
      type: 'string',
      value: 'KIND',
      help: 'open-loop arrivals: poisson, gamma or constant',
      default: 'poisson',
    },
    burstiness: {
      type: 'string',
      value: 'B',
      help: 'gamma shape: 1 Poisson, < 1 burstier (implies gamma)',
      default: '1',
    },
    'max-concurrency': { type: 'string', value: 'N', help: 'open loop: cap on requests in flight' },
    requests: { type: 'string', value: 'N', help: 'requests per trial', default: '100 unless --duration' },
    duration: { type: 'string', value: 'S', help: 'seconds per trial (in-flight requests finish)' },
    trials: { type: 'string', value: 'N', help: 'repetitions of each scenario', default: '1' },
    timeout: { type: 'string', value: 'S', help: 'per-request time limit in seconds', default: '300' },
    slo: { type: 'string', value: 'SPEC', help: 'goodput SLOs, e.g. ttft:500,tpot:50,e2el:10000 (ms)' },
    gpus: { type: 'string', value: 'N', help: 'GPUs serving the model (per-GPU throughput, cost)' },
    'gpu-model': { type: 'string', value: 'NAME', help: 'GPU model, e.g. NVIDIA-H100-80GB-HBM3' },
    'gpu-hourly-cost': {
      type: 'string',
      value: 'USD',
      help: 'cost of one GPU-hour, for cost per 1M output tokens',
    },
    engine: {
      type: 'string',
      value: 'NAME',
      help: 'engine name for the report',
      default: "the model list's owned_by",
    },
    'git-repository': { type: 'string', value: 'OWNER/REPO', help: 'override $GITHUB_REPOSITORY' },
    'git-sha': { type: 'string', value: 'SHA', help: 'override the commit sha' },
    'git-branch': { type: 'string', value: 'NAME', help: 'override the branch' },
    'git-base-branch': { type: 'string', value: 'NAME', help: 'override the base branch (pull requests)' },
    'git-pr': { type: 'string', value: 'N', help: 'override the pull request number' },
    out: { type: 'string', value: 'FILE', help: 'write the report (infergate.report/v1 JSON) here' },
    progress: { type: 'string', value: 'MODE', help: 'auto, bar, lines or off', default: 'auto' },
  },
  examples: [
    'infergate bench --url http://127.0.0.1:8000/v1 --concurrency 1,8,32 --requests 200 --out report.json',
    'infergate bench --url http://127.0.0.1:8000/v1 --rate 10,50 --duration 60 --slo ttft:500,tpot:50',
    "infergate bench --url http://gw.example/openai/v1 --header 'Host: llama.models.example.com' --endpoint chat",
    'infergate bench --config infergate.yaml --url http://127.0.0.1:8000/v1 --out report.json',
  ],
}

const positiveInt = { min: 1, int: true }

function tokens(v: FlagValues, prefix: 'input' | 'output', mean: number): TokenDistribution {
  const m = num(v, `${prefix}-tokens`, positiveInt) ?? mean
  const d: TokenDistribution = {
    mean: m,
    stddev: num(v, `${prefix}-stddev`, { min: 0 }) ?? 0,
    min: num(v, `${prefix}-min`, positiveInt) ?? 1,
    max: num(v, `${prefix}-max`, positiveInt) ?? Math.max(m * 64, 1_000_000),
  }
  if (d.min > d.max) throw new UsageError(`--${prefix}-min (${d.min}) is above --${prefix}-max (${d.max})`)
  if (d.mean < d.min || d.mean > d.max) {
    throw new UsageError(
      `--${prefix}-tokens (${d.mean}) must lie between --${prefix}-min and --${prefix}-max`,
    )
  }
  return d
}

function parseSlo(raw: string | undefined): Slo | null {
  if (raw === undefined) return null
  const slo: Slo = {}
  for (const part of raw.split(',')) {
    const [key, value] = part.split(':').map((s) => s.trim())
    if (key !== 'ttft' && key !== 'tpot' && key !== 'e2el') {
      throw new UsageError(
        `--slo: unknown metric ${JSON.stringify(key)} (expected ttft, tpot or e2el, as ttft:500)`,
      )
    }
    slo[`${key}_ms`] = parseNumber(value ?? '', `--slo ${key}`, { min: 0, exclusiveMin: true })
  }
  return slo
}

function parseHeaders(raw: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const h of raw ?? []) {
    const i = h.indexOf(':')
    const name = i > 0 ? h.slice(0, i).trim() : ''
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      throw new UsageError(`--header: expected 'Name: value', got ${JSON.stringify(h)}`)
    }
    out[name.toLowerCase()] = h.slice(i + 1).trim()
  }
  return out
}

export function benchOptions(v: FlagValues, env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const url = str(v, 'url')
  if (!url) throw new UsageError('--url is required (e.g. --url http://127.0.0.1:8000/v1)')
  try {
    parseBaseUrl(url)
  } catch (e) {
    throw new UsageError((e as Error).message)
  }
  const name = str(v, 'name') ?? 'default'
  if (!BENCHMARK_NAME.test(name)) {
    throw new UsageError(
      `--name: expected 1-100 letters, digits, '.', '_' or '-', got ${JSON.stringify(name)}`,
    )
  }
  const rates = list(v, 'rate', (s) =>
    s === 'inf' ? null : parseNumber(s, '--rate', { min: 0, exclusiveMin: true }),
  )
  const concurrency = list(v, 'concurrency', (s) => parseNumber(s, '--concurrency', positiveInt))
  const burstiness = num(v, 'burstiness', { min: 0, exclusiveMin: true }) ?? 1
  let arrival = oneOf(v, 'arrival', ['poisson', 'gamma', 'constant'] as const)
  if (arrival === undefined) arrival = burstiness !== 1 ? 'gamma' : 'poisson'
  if (burstiness !== 1 && arrival !== 'gamma') {
    throw new UsageError(`--burstiness applies to --arrival gamma, not ${arrival}`)
  }
  const requests = num(v, 'requests', positiveInt)
  const durationS = num(v, 'duration', { min: 0, exclusiveMin: true })
  if (!rates && (str(v, 'max-concurrency') || str(v, 'arrival') || str(v, 'burstiness'))) {
    throw new UsageError('--arrival, --burstiness and --max-concurrency apply to open-loop runs: add --rate')
  }
  if (rates?.includes(null) && requests === undefined) {
    throw new UsageError('--rate inf sends every request at once: give --requests')
  }
  const git = gitFlagValues(v)
  const options: BenchOptions = {
    name,
    url,
    api: oneOf(v, 'endpoint', ['completions', 'chat'] as const) ?? 'completions',
    model: str(v, 'model') ?? null,
    apiKey: str(v, 'api-key') ?? env.INFERGATE_API_KEY ?? env.OPENAI_API_KEY ?? null,
    headers: parseHeaders(v.header as string[] | undefined),
    input: tokens(v, 'input', 512),
    output: tokens(v, 'output', 128),
    dataset: str(v, 'dataset') ?? null,
    ignoreEos: bool(v, 'ignore-eos'),
    seed: num(v, 'seed', { int: true, min: 0, max: Number.MAX_SAFE_INTEGER }) ?? null,
    warmup: warmupOf(str(v, 'warmup')),
    concurrency: concurrency ?? (rates ? [] : [1]),
    rates: rates ?? [],
    arrival,
    burstiness,
    maxConcurrency: num(v, 'max-concurrency', positiveInt) ?? null,
    requests: requests ?? (durationS === undefined ? 100 : null),
    durationS: durationS ?? null,
    trials: num(v, 'trials', positiveInt) ?? 1,
    // Node's timers hold at most 2^31 − 1 ms.
    timeoutS: num(v, 'timeout', { min: 0, exclusiveMin: true, max: 2_147_483 }) ?? 300,
    slo: parseSlo(str(v, 'slo')),
    gpus: num(v, 'gpus', positiveInt) ?? null,
    gpuModel: str(v, 'gpu-model') ?? null,
    gpuHourlyCostUsd: num(v, 'gpu-hourly-cost', { min: 0, exclusiveMin: true }) ?? null,
    engine: str(v, 'engine') ?? null,
    git,
    config: {},
  }
  const names = scenarioLoads(options).map((x) => x.name)
  const dup = names.find((n, i) => names.indexOf(n) !== i)
  if (dup) throw new UsageError(`--concurrency/--rate: scenario ${dup} is listed twice`)
  return options
}

function warmupOf(raw: string | undefined): number | 'auto' {
  if (raw === undefined || raw === 'auto') return 'auto'
  const n = raw.trim() === '' ? Number.NaN : Number(raw)
  if (!Number.isInteger(n) || n < 0) {
    throw new UsageError(`--warmup: expected auto or an integer ≥ 0, got ${JSON.stringify(raw)}`)
  }
  return n
}

/** Writes through a temporary file and a rename, so a reader never sees half a report. */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, text)
  renameSync(tmp, path)
}

/**
 * The flags, over the workload of an infergate.yaml when --config names one: the Action's run,
 * reproduced against any server. Flags given on the command line win.
 */
export function withConfig(values: FlagValues): FlagValues {
  const path = str(values, 'config')
  if (!path) return values
  const { config, issues } = loadConfig(path, 'existing')
  const errors = issues.filter((i) => i.severity === 'error')
  if (!config) throw new UsageError(`--config: ${errors.map((i) => formatIssue(path, i)).join('; ')}`)
  for (const i of issues) process.stderr.write(`${formatIssue(path, i)}\n`)
  const given = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined && v !== false))
  const fromConfig = benchFlagsOf(config)
  // Scenarios given on the command line replace the config's, of either kind.
  if (given.concurrency !== undefined || given.rate !== undefined) {
    delete fromConfig.concurrency
    delete fromConfig.rate
  }
  return { ...fromConfig, ...given }
}

export async function bench(values: FlagValues): Promise<number> {
  const options = benchOptions(withConfig(values))
  const progress = createProgress(
    oneOf(values, 'progress', ['auto', 'bar', 'lines', 'off'] as const satisfies readonly ProgressMode[]) ??
      'auto',
  )
  const out = str(values, 'out')
  if (out) {
    // Fail before a long run, not after it.
    try {
      accessSync(dirname(resolve(out)), constants.W_OK)
    } catch {
      throw new UsageError(`--out: cannot write to the folder of ${out}`)
    }
  }
  // A dataset that cannot be read or parsed is bad input (exit 2), found before any request.
  let dataset: DatasetEntry[] | undefined
  if (options.dataset) {
    try {
      dataset = loadDataset(options.dataset)
    } catch (e) {
      if (e instanceof BenchError) throw new UsageError(e.message)
      throw e
    }
  }
  // Ctrl-C (or SIGTERM) stops the run but keeps what was measured: the table and the report,
  // marked interrupted. A second one quits at once.
  const stop = new AbortController()
  let signalled: NodeJS.Signals | null = null
  const onSignal = (sig: NodeJS.Signals) => {
    if (signalled) process.exit(exitCodeOf(sig))
    signalled = sig
    progress.info(`${sig}: stopping; writing what was measured (again to quit now)`)
    stop.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  let report: Awaited<ReturnType<typeof runBenchmark>>
  try {
    report = await runBenchmark(options, progress, { signal: stop.signal, dataset })
  } catch (e) {
    if (e instanceof Interrupted && signalled) {
      process.stderr.write(`infergate bench: ${e.message}\n`)
      return exitCodeOf(signalled)
    }
    throw e
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  process.stdout.write(renderTable(report))
  if (out) {
    try {
      writeFileAtomic(out, `${JSON.stringify(report)}\n`)
    } catch (e) {
      throw new BenchError(`--out: cannot write ${out}: ${(e as Error).message}`)
    }
    process.stderr.write(`report written to ${out}${report.interrupted ? ' (interrupted: partial)' : ''}\n`)
  }
  return report.interrupted && signalled ? exitCodeOf(signalled) : 0
}

/** The shell's convention for a process stopped by a signal: 128 + its number. */
function exitCodeOf(sig: NodeJS.Signals): number {
  return sig === 'SIGINT' ? 130 : 143
}
