// The Action's main entry. For now it benchmarks an existing OpenAI-compatible endpoint
// (`url`) with the same engine and options as `infergate bench`, writes the report file and
// the job summary. Deployment on KServe, posting and gating build on this.
import { writeFileSync } from 'node:fs'
import * as core from '@actions/core'
import { benchOptions } from '../cli/commands/bench.ts'
import { createProgress } from '../core/bench/progress.ts'
import { runBenchmark } from '../core/bench/run.ts'
import { renderTable } from '../core/bench/table.ts'

/** Inputs named like `infergate bench`'s flags, so the two can never drift apart. */
const PASSED_THROUGH = [
  'url',
  'model',
  'endpoint',
  'api-key',
  'name',
  'input-tokens',
  'output-tokens',
  'concurrency',
  'rate',
  'requests',
  'duration',
  'trials',
  'warmup',
  'timeout',
  'slo',
  'gpus',
  'gpu-model',
  'gpu-hourly-cost',
  'seed',
] as const

export async function run(): Promise<void> {
  try {
    const values: Record<string, string | boolean | string[]> = {}
    for (const name of PASSED_THROUGH) {
      const v = core.getInput(name)
      if (v !== '') values[name] = v
    }
    if (core.getBooleanInput('ignore-eos')) values['ignore-eos'] = true
    const headers = core.getMultilineInput('headers')
    if (headers.length) values.header = headers
    const apiKey = core.getInput('api-key')
    if (apiKey) core.setSecret(apiKey)

    const report = await runBenchmark(benchOptions(values), createProgress('lines'))
    const path = core.getInput('report-path') || 'infergate-report.json'
    writeFileSync(path, `${JSON.stringify(report)}\n`)
    core.setOutput('report-path', path)
    await core.summary
      .addHeading(`Infergate: ${report.benchmark}`, 3)
      .addRaw(`Model \`${report.environment.model}\` at \`${report.environment.endpoint.url}\`\n\n`)
      .addCodeBlock(renderTable(report), 'text')
      .write()
  } catch (error) {
    core.setFailed(error instanceof Error ? error.message : String(error))
  }
}

await run()
