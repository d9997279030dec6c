// infergate validate: the config file checked before anything touches a cluster — schema errors,
// known-bad combinations and the benchmark plan's rules, each with its line (the checks are
// core/config/validate.ts's, which the Action runs too) — and what would be deployed.

import { formatIssue } from '../../core/config/load.ts'
import { validateConfig } from '../../core/config/validate.ts'
import { engineMapper } from '../../core/engines/index.ts'
import { type CommandSpec, type FlagValues, oneOf, UsageError } from '../args.ts'

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
