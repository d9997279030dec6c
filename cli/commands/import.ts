// infergate import: another tool's result file (vLLM, guidellm, AIPerf, inference-perf) as an
// Infergate report, so `compare`, `upload` and the service judge runs nobody re-measures. The
// report is validated before it is written; nothing is written when the input is refused.
import { ciContextFromEnv, gitContextFromEnv } from '../../core/ci-context.ts'
import { writeFileAtomic } from '../../core/files.ts'
import { fillGitContext } from '../../core/git-context.ts'
import { IMPORT_FORMATS, ImportError, importFile } from '../../core/import/index.ts'
import { BENCHMARK_NAME } from '../../core/report.ts'
import { type CommandSpec, type FlagValues, num, oneOf, outFlag, RunError, str, UsageError } from '../args.ts'
import { GIT_FLAGS, gitFlagValues, HARDWARE_FLAGS } from '../git-flags.ts'

export const importSpec: CommandSpec = {
  name: 'import',
  summary: "another tool's result (vLLM, guidellm, AIPerf, inference-perf) as a report",
  usage: 'infergate import --format FORMAT FILE [--out report.json] [options]',
  positionals: [
    {
      name: 'FILE',
      help: "the tool's result file (AIPerf and inference-perf: or their output directory)",
    },
  ],
  flags: {
    format: {
      type: 'string',
      value: 'FORMAT',
      help: `the tool that wrote FILE: ${IMPORT_FORMATS.join(', ')} (docs/import.md)`,
    },
    out: {
      type: 'string',
      value: 'FILE',
      help: 'write the report (infergate.report/v2 JSON) here',
      default: 'standard output',
    },
    requests: {
      type: 'string',
      value: 'FILE',
      help: 'aiperf, inference-perf: the per-request file (default: profile_export.jsonl or per_request_lifecycle_metrics.json beside FILE, if there)',
    },
    benchmark: {
      type: 'string',
      value: 'NAME',
      help: 'benchmark name, the key baselines are matched on',
      default: 'default',
    },
    model: { type: 'string', value: 'NAME', help: "the model measured (default: the file's)" },
    endpoint: {
      type: 'string',
      value: 'API',
      help: "completions or chat (default: the file's, else completions)",
    },
    engine: { type: 'string', value: 'NAME', help: 'engine name for the report, e.g. vllm' },
    ...HARDWARE_FLAGS,
    ...GIT_FLAGS,
  },
  examples: [
    'infergate import --format vllm vllm-result.json --out report.json',
    'infergate import --format guidellm benchmarks.json --benchmark llama-8b --gpu-model NVIDIA-L4 --out report.json',
    'infergate import --format aiperf artifacts/my-run/ --out report.json',
    'infergate import --format inference-perf reports-20261101-120000/ --out report.json',
  ],
}

export async function importCommand(
  values: FlagValues,
  positionals: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const format = oneOf(values, 'format', IMPORT_FORMATS)
  if (!format) throw new UsageError(`--format is required: one of ${IMPORT_FORMATS.join(', ')}`)
  const [file, ...extra] = positionals
  if (file === undefined)
    throw new UsageError('give the file to import: infergate import --format FORMAT FILE')
  if (extra.length)
    throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}: one file per import`)
  const requests = str(values, 'requests')
  if (requests !== undefined && format !== 'aiperf' && format !== 'inference-perf') {
    throw new UsageError(
      `--requests: only for aiperf and inference-perf (${format} keeps its requests in FILE)`,
    )
  }
  const benchmark = str(values, 'benchmark') ?? 'default'
  if (!BENCHMARK_NAME.test(benchmark)) {
    throw new UsageError(
      `--benchmark: expected 1-100 characters of letters, digits, . _ -, got ${JSON.stringify(benchmark)}`,
    )
  }
  const model = str(values, 'model')
  if (model === '') throw new UsageError('--model: must not be empty')
  const out = outFlag(values)
  const flags = gitFlagValues(values)
  const { git } = fillGitContext(gitContextFromEnv(env), flags, null)
  let report: ReturnType<typeof importFile>
  try {
    report = importFile(
      format,
      file,
      {
        benchmark,
        model,
        api: oneOf(values, 'endpoint', ['completions', 'chat'] as const),
        engine: str(values, 'engine'),
        gpus: num(values, 'gpus', { min: 1, int: true }) ?? null,
        gpuModel: str(values, 'gpu-model') ?? null,
        gpuHourlyCostUsd: num(values, 'gpu-hourly-cost', { min: 0, exclusiveMin: true }) ?? null,
        git,
        ci: ciContextFromEnv(env),
        now: new Date(),
      },
      { requests: requests ?? null },
    )
  } catch (e) {
    if (e instanceof ImportError) throw new UsageError(e.message)
    throw e
  }
  const text = `${JSON.stringify(report)}\n`
  const requestsKept = report.scenarios.reduce(
    (n, s) => n + s.trials.reduce((m, t) => m + t.samples.ttft_ms.length, 0),
    0,
  )
  const said =
    report.source?.samples === 'aggregate'
      ? 'aggregates only (the file has no per-request data): compared on trial statistics'
      : `${requestsKept} requests`
  const line = `${format}: ${report.scenarios.map((s) => s.name).join(', ')}; ${said}`
  if (out) {
    try {
      writeFileAtomic(out, text)
    } catch (e) {
      throw new RunError(`--out: cannot write ${out}: ${(e as Error).message}`)
    }
    process.stderr.write(`report written to ${out} (${line})\n`)
  } else {
    process.stdout.write(text)
    process.stderr.write(`infergate import: ${line}\n`)
  }
  return 0
}
