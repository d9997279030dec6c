// infergate bench: the command line (and an infergate.yaml named by --config) read into a
// benchmark plan and a target, the run, the table and the report file.
import { runAbBenchmark } from '../../core/bench/ab.ts'
import { parseBaseUrl } from '../../core/bench/endpoint.ts'
import { BenchError, Interrupted } from '../../core/bench/errors.ts'
import { thisHost } from '../../core/bench/host.ts'
import {
  type BenchPlan,
  BLOCK_ORDERS,
  type PlanDraft,
  PlanError,
  resolvePlan,
  SCHEDULES,
  type TokenDraft,
  withGitOverrides,
} from '../../core/bench/plan.ts'
import { NUMBER_RULES, type NumberField, type PlanField } from '../../core/bench/plan-fields.ts'
import { createProgress, type ProgressMode } from '../../core/bench/progress.ts'
import { type BenchTarget, runBenchmark } from '../../core/bench/run.ts'
import { renderTable } from '../../core/bench/table.ts'
import { type DatasetEntry, loadDataset } from '../../core/bench/workload.ts'
import { ciContextFromEnv, gitContextFromEnv } from '../../core/ci-context.ts'
import { formatIssue, loadConfig } from '../../core/config/load.ts'
import { configDraft, configKeyOf, configNamer } from '../../core/config/plan.ts'
import { compareArms, isPairedReport } from '../../core/detect/arms.ts'
import { writeFileAtomic } from '../../core/files.ts'
import { Arrival, type Slo } from '../../core/report.ts'
import {
  bool,
  type CommandSpec,
  type FlagValues,
  list,
  num,
  oneOf,
  outFlag,
  parseNumber,
  str,
  UsageError,
} from '../args.ts'
import { GIT_FLAGS, gitFlagValues, HARDWARE_FLAGS } from '../git-flags.ts'
import { renderComparison } from './compare.ts'

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
    schedule: {
      type: 'string',
      value: 'exact|drawn',
      help: 'open loop: scale the drawn arrivals to span exactly requests / rate, or keep them as drawn',
      default: 'exact',
    },
    'max-concurrency': { type: 'string', value: 'N', help: 'open loop: cap on requests in flight' },
    requests: { type: 'string', value: 'N', help: 'requests per trial', default: '100 unless --duration' },
    duration: { type: 'string', value: 'S', help: 'seconds per trial (in-flight requests finish)' },
    trials: {
      type: 'string',
      value: 'N',
      help: 'repetitions of each scenario; A/B: blocks before the test may stop',
      default: '1 (A/B: 2)',
    },
    'baseline-url': {
      type: 'string',
      value: 'URL',
      help: "A/B: the base's server, measured in blocks interleaved with --url's (the candidate)",
    },
    'baseline-model': {
      type: 'string',
      value: 'NAME',
      help: "A/B: the model to request of the base's server",
      default: '--model',
    },
    'baseline-sha': {
      type: 'string',
      value: 'SHA',
      help: "A/B: the commit the base's server runs, for the report",
    },
    'max-trials': {
      type: 'string',
      value: 'N',
      help: 'A/B: the block budget; the paired test stops earlier once it has a verdict',
      default: '10',
    },
    'time-budget': { type: 'string', value: 'S', help: 'A/B: start no block that would end past S seconds' },
    order: {
      type: 'string',
      value: 'KIND',
      help: "A/B: the arms' order in a block: counterbalanced (ABBA…) or random",
      default: 'counterbalanced',
    },
    timeout: { type: 'string', value: 'S', help: 'per-request time limit in seconds', default: '300' },
    workers: {
      type: 'string',
      value: 'N',
      help: 'threads generating the load, each with its share of the connections (a core each)',
      default: '1',
    },
    slo: { type: 'string', value: 'SPEC', help: 'goodput SLOs, e.g. ttft:500,tpot:50,e2el:10000 (ms)' },
    ...HARDWARE_FLAGS,
    engine: {
      type: 'string',
      value: 'NAME',
      help: 'engine name for the report',
      default: "the model list's owned_by",
    },
    ...GIT_FLAGS,
    out: { type: 'string', value: 'FILE', help: 'write the report (infergate.report/v2 JSON) here' },
    progress: { type: 'string', value: 'MODE', help: 'auto, bar, lines or off', default: 'auto' },
  },
  examples: [
    'infergate bench --url http://127.0.0.1:8000/v1 --concurrency 1,8,32 --requests 200 --out report.json',
    'infergate bench --url http://127.0.0.1:8000/v1 --rate 10,50 --duration 60 --slo ttft:500,tpot:50',
    "infergate bench --url http://gw.example/openai/v1 --header 'Host: llama.models.example.com' --endpoint chat",
    'infergate bench --config infergate.yaml --url http://127.0.0.1:8000/v1 --out report.json',
    'infergate bench --url http://head:8000/v1 --baseline-url http://base:8000/v1 --concurrency 8 --duration 30 --out ab.json',
  ],
}

/** Each plan field by the flag that sets it. */
const FLAG: Record<PlanField, string> = {
  name: '--name',
  api: '--endpoint',
  'input.mean': '--input-tokens',
  'input.stddev': '--input-stddev',
  'input.min': '--input-min',
  'input.max': '--input-max',
  'output.mean': '--output-tokens',
  'output.stddev': '--output-stddev',
  'output.min': '--output-min',
  'output.max': '--output-max',
  dataset: '--dataset',
  ignoreEos: '--ignore-eos',
  seed: '--seed',
  warmup: '--warmup',
  concurrency: '--concurrency',
  rates: '--rate',
  arrival: '--arrival',
  burstiness: '--burstiness',
  schedule: '--schedule',
  maxConcurrency: '--max-concurrency',
  requests: '--requests',
  durationS: '--duration',
  trials: '--trials',
  maxTrials: '--max-trials',
  timeBudgetS: '--time-budget',
  order: '--order',
  timeoutS: '--timeout',
  workers: '--workers',
  slo: '--slo',
  gpus: '--gpus',
  gpuModel: '--gpu-model',
  gpuHourlyCostUsd: '--gpu-hourly-cost',
  engine: '--engine',
  git: '--git-*',
  config: '--config',
}

/** A number flag, refused (by the plan's own rule for it) in words that name the flag. */
const numberFlag = (v: FlagValues, field: NumberField) => num(v, FLAG[field].slice(2), NUMBER_RULES[field])

function tokensDraft(v: FlagValues, kind: 'input' | 'output'): TokenDraft | undefined {
  const t = definedOnly({
    mean: numberFlag(v, `${kind}.mean`),
    stddev: numberFlag(v, `${kind}.stddev`),
    min: numberFlag(v, `${kind}.min`),
    max: numberFlag(v, `${kind}.max`),
  })
  return Object.keys(t).length ? t : undefined
}

function parseSlo(raw: string | undefined): Slo | undefined {
  if (raw === undefined) return undefined
  const slo: Slo = {}
  for (const part of raw.split(',')) {
    const [key, value] = part.split(':').map((s) => s.trim())
    if (key !== 'ttft' && key !== 'tpot' && key !== 'e2el') {
      throw new UsageError(
        `--slo: unknown metric ${JSON.stringify(key)} (expected ttft, tpot or e2el, as ttft:500)`,
      )
    }
    slo[`${key}_ms`] = parseNumber(value ?? '', `--slo ${key}`, NUMBER_RULES.slo)
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

function warmupOf(raw: string | undefined): number | 'auto' | undefined {
  if (raw === undefined || raw === 'auto') return raw
  const n = raw.trim() === '' ? Number.NaN : Number(raw)
  if (!Number.isInteger(n) || n < 0) {
    throw new UsageError(`--warmup: expected auto or an integer ≥ 0, got ${JSON.stringify(raw)}`)
  }
  return n
}

/** The plan fields the flags give, each read (and range-checked) as its flag; nothing defaulted. */
function flagsDraft(v: FlagValues): PlanDraft {
  const git = gitFlagValues(v)
  return definedOnly({
    name: str(v, 'name'),
    api: oneOf(v, 'endpoint', ['completions', 'chat'] as const),
    input: tokensDraft(v, 'input'),
    output: tokensDraft(v, 'output'),
    dataset: str(v, 'dataset'),
    ignoreEos: bool(v, 'ignore-eos') || undefined,
    seed: numberFlag(v, 'seed'),
    warmup: warmupOf(str(v, 'warmup')),
    concurrency: list(v, 'concurrency', (s) => parseNumber(s, '--concurrency', NUMBER_RULES.concurrency)),
    rates: list(v, 'rate', (s) => (s === 'inf' ? null : parseNumber(s, '--rate', NUMBER_RULES.rates))),
    arrival: oneOf(v, 'arrival', Arrival.options),
    burstiness: numberFlag(v, 'burstiness'),
    schedule: oneOf(v, 'schedule', SCHEDULES),
    maxConcurrency: numberFlag(v, 'maxConcurrency'),
    requests: numberFlag(v, 'requests'),
    durationS: numberFlag(v, 'durationS'),
    trials: numberFlag(v, 'trials'),
    maxTrials: numberFlag(v, 'maxTrials'),
    timeBudgetS: numberFlag(v, 'timeBudgetS'),
    order: oneOf(v, 'order', BLOCK_ORDERS),
    timeoutS: numberFlag(v, 'timeoutS'),
    workers: numberFlag(v, 'workers'),
    slo: parseSlo(str(v, 'slo')),
    gpus: numberFlag(v, 'gpus'),
    gpuModel: str(v, 'gpu-model'),
    gpuHourlyCostUsd: numberFlag(v, 'gpuHourlyCostUsd'),
    engine: str(v, 'engine'),
    git: Object.keys(git).length ? git : undefined,
  })
}

/** The fields a draft sets, a length's parts apart (`input.min`). */
function fieldsOf(d: PlanDraft): Set<PlanField> {
  const out = new Set<PlanField>()
  for (const [k, v] of Object.entries(d)) {
    if (k === 'input' || k === 'output') {
      for (const part of Object.keys(v as TokenDraft)) out.add(`${k}.${part}` as PlanField)
    } else out.add(k as PlanField)
  }
  return out
}

/** The flags given, over a config's draft: a length and the git fields part by part. */
function overlay(base: PlanDraft, flags: PlanDraft): PlanDraft {
  const out: PlanDraft = { ...base, ...flags }
  // Scenarios given on the command line replace the config's, of either kind.
  if (flags.concurrency || flags.rates) {
    out.concurrency = flags.concurrency
    out.rates = flags.rates
  }
  for (const k of ['input', 'output', 'git'] as const) {
    if (base[k] || flags[k]) out[k] = { ...base[k], ...flags[k] }
  }
  return definedOnly(out)
}

export interface BenchInvocation {
  plan: BenchPlan
  target: BenchTarget
  /** --baseline-url: an A/B run, this the base's server (target is the candidate). */
  baseline: BenchTarget | null
  baselineSha: string | null
  /** The --config file's warnings, formatted with their lines. */
  warnings: string[]
}

/**
 * The plan and the target a command line asks for. With --config, the file's plan first, then
 * the flags given over it (the Action's run, reproduced against any server), then the plan's
 * rules, which name each field as it was given: the flag, or the file's key and line.
 */
export function planFromFlags(v: FlagValues, env: Record<string, string | undefined>): BenchInvocation {
  const url = str(v, 'url')
  if (!url) throw new UsageError('--url is required (e.g. --url http://127.0.0.1:8000/v1)')
  try {
    parseBaseUrl(url)
  } catch (e) {
    throw new UsageError((e as Error).message)
  }
  const flags = flagsDraft(v)
  const file = str(v, 'config')
  const loaded = file ? loadConfig(file, 'existing') : null
  if (file && !loaded?.config) {
    const errors = loaded!.issues.filter((i) => i.severity === 'error')
    throw new UsageError(`--config: ${errors.map((i) => formatIssue(file, i)).join('; ')}`)
  }
  const config = loaded?.config ?? null
  const draft = config ? overlay(configDraft(config), flags) : flags
  const given = fieldsOf(flags)
  const written = config ? fieldsOf(draft) : new Set<PlanField>()
  const fromFile = (f: PlanField) => !given.has(f) && written.has(f)
  const keyName = configNamer(config)
  let plan: BenchPlan
  try {
    plan = resolvePlan(draft, (f) => (fromFile(f) ? keyName(f) : FLAG[f]))
  } catch (e) {
    if (!(e instanceof PlanError)) throw e
    const key = fromFile(e.field) ? configKeyOf(config, e.field) : null
    if (!file || !loaded || !key) throw new UsageError(e.message)
    const path = [...key]
    const issue = { severity: 'error' as const, path, message: e.detail, ...loaded.locate(path) }
    throw new UsageError(`--config: ${formatIssue(file, issue)}`)
  }
  const target: BenchTarget = {
    url,
    apiKey: str(v, 'api-key') ?? env.INFERGATE_API_KEY ?? env.OPENAI_API_KEY ?? null,
    headers: parseHeaders(v.header as string[] | undefined),
    model: str(v, 'model') ?? config?.model.name ?? null,
  }
  const baselineUrl = str(v, 'baseline-url')
  if (baselineUrl !== undefined) {
    try {
      parseBaseUrl(baselineUrl)
    } catch (e) {
      throw new UsageError(`--baseline-url: ${(e as Error).message}`)
    }
    if (baselineUrl.replace(/\/+$/, '') === url.replace(/\/+$/, '')) {
      throw new UsageError(
        '--baseline-url is --url: an A/B run measures two servers (the base and the candidate)',
      )
    }
  } else {
    for (const flag of ['baseline-model', 'baseline-sha', 'max-trials', 'time-budget', 'order']) {
      if (str(v, flag) !== undefined)
        throw new UsageError(`--${flag} applies to A/B runs: add --baseline-url`)
    }
  }
  return {
    plan,
    target,
    baseline:
      baselineUrl === undefined
        ? null
        : { ...target, url: baselineUrl, model: str(v, 'baseline-model') ?? target.model },
    baselineSha: str(v, 'baseline-sha') ?? null,
    warnings: (loaded?.issues ?? []).map((i) => formatIssue(file!, i)),
  }
}

function definedOnly<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined)) as T
}

export async function bench(values: FlagValues): Promise<number> {
  const { plan, target, baseline, baselineSha, warnings } = planFromFlags(values, process.env)
  for (const w of warnings) process.stderr.write(`${w}\n`)
  const progress = createProgress(
    oneOf(values, 'progress', ['auto', 'bar', 'lines', 'off'] as const satisfies readonly ProgressMode[]) ??
      'auto',
  )
  const out = outFlag(values)
  // A dataset that cannot be read or parsed is bad input (exit 2), found before any request.
  let dataset: DatasetEntry[] | undefined
  if (plan.workload.dataset) {
    try {
      dataset = loadDataset(plan.workload.dataset)
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
    const context = {
      progress,
      signal: stop.signal,
      dataset,
      git: withGitOverrides(gitContextFromEnv(process.env), plan.git),
      ci: ciContextFromEnv(process.env),
      ...thisHost(),
    }
    report = baseline
      ? await runAbBenchmark(
          plan,
          { baseline, candidate: target },
          { ...context, baselineGit: { sha: baselineSha, ref: null } },
        )
      : await runBenchmark(plan, target, context)
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
  // An A/B run carries its own verdict: the two arms, block by block.
  if (isPairedReport(report)) process.stdout.write(`\n${renderComparison(compareArms({ id: null, report }))}`)
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
