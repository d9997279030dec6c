// infergate validate: the config file checked before anything touches a cluster — schema errors
// and known-bad combinations, each with its line — and what would be deployed.

import { scenarioLoads } from '../../core/bench/run.ts'
import { formatIssue, type LoadedConfig, loadConfig } from '../../core/config/load.ts'
import type { Mode } from '../../core/config/rules.ts'
import { benchFlagsOf } from '../../core/config/workload.ts'
import { engineMapper } from '../../core/engines/index.ts'
import { type CommandSpec, type FlagValues, oneOf, UsageError } from '../args.ts'
import { benchOptions } from './bench.ts'

export const validateSpec: CommandSpec = {
  name: 'validate',
  summary: 'check an infergate.yaml before any cluster call: schema, known-bad combinations',
  usage: 'infergate validate [FILE]',
  flags: {
    mode: {
      type: 'string',
      value: 'MODE',
      help: 'deploy (Infergate creates the InferenceService) or existing (it benchmarks one already serving)',
      default: 'deploy',
    },
  },
  positionals: [{ name: 'FILE', help: 'the config file (default: infergate.yaml)' }],
  examples: ['infergate validate infergate.yaml'],
}

/**
 * The config and its issues, with the workload also read as `infergate bench` reads it (a
 * placeholder URL stands in for the deployment's).
 */
export function validateConfig(path: string, mode: Mode = 'deploy'): LoadedConfig & { scenarios: string[] } {
  const loaded = loadConfig(path, mode)
  if (!loaded.config) return { ...loaded, scenarios: [] }
  try {
    const options = benchOptions({ ...benchFlagsOf(loaded.config), url: 'http://127.0.0.1:1/v1' }, {})
    return { ...loaded, scenarios: scenarioLoads(options).map((s) => s.name) }
  } catch (e) {
    if (!(e instanceof UsageError)) throw e
    const issue = {
      severity: 'error' as const,
      path: ['workload'],
      message: e.message,
      line: null,
      column: null,
    }
    return { config: null, issues: [...loaded.issues, issue], scenarios: [] }
  }
}

export async function validate(values: FlagValues, positionals: string[]): Promise<number> {
  if (positionals.length > 1) throw new UsageError(`one file at a time, got ${positionals.length}`)
  const file = positionals[0] ?? 'infergate.yaml'
  const mode = oneOf(values, 'mode', ['deploy', 'existing'] as const) ?? 'deploy'
  const { config, issues, scenarios } = validateConfig(file, mode)
  for (const i of issues) process.stderr.write(`${formatIssue(file, i)}\n`)
  if (!config) {
    const n = issues.filter((i) => i.severity === 'error').length
    process.stderr.write(`${file}: ${n} error${n === 1 ? '' : 's'}\n`)
    return 2
  }
  const warnings = issues.length
  process.stdout.write(
    [
      `${file}: valid${warnings ? ` (${warnings} warning${warnings === 1 ? '' : 's'})` : ''}`,
      `  benchmark  ${config.benchmark}`,
      `  model      ${config.model.name}${config.model.storage_uri ? ` from ${config.model.storage_uri}` : ''}${config.model.revision ? ` @ ${config.model.revision}` : ''}`,
      `  resources  ${config.resources.gpus ?? '?'} × nvidia.com/gpu`,
      `  ${config.engine.name.padEnd(9)}  ${engineMapper(config.engine.name).args(config).join(' ')}`,
      `  scenarios  ${scenarios.join(', ')}`,
      '',
    ].join('\n'),
  )
  return 0
}
