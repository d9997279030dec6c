#!/usr/bin/env -S node --max-semi-space-size=8
// infergate: the CLI. One subcommand per job; each has --help.
// The bin's V8 flag: a benchmark streams ~100 MB/s of short-lived chunks through the heap, and
// Node 24 lets the young generation grow to 128 MiB for them. Semi-spaces of 8 MiB keep a
// capacity run ~90 MiB smaller at the same throughput (docs/performance.md, issue 12).
import { BenchError } from '../core/bench/errors.ts'
import { ValidationError } from '../core/validation.ts'
import { INFERGATE_VERSION } from '../core/version.ts'
import { type CommandSpec, type FlagValues, helpText, parseFlags, RunError, UsageError } from './args.ts'
import { bench, benchSpec } from './commands/bench.ts'
import { compare, compareExitCodes, compareSpec } from './commands/compare.ts'
import { demo, demoSpec } from './commands/demo.ts'
import { engineSim, engineSimSpec } from './commands/engine-sim.ts'
import { exportCommand, exportSpec } from './commands/export.ts'
import { importCommand, importSpec } from './commands/import.ts'
import { migrateCommand, migrateSpec, serveCommand, serveSpec } from './commands/serve.ts'
import { upload, uploadExitCodes, uploadSpec } from './commands/upload.ts'
import { validate, validateSpec } from './commands/validate.ts'

interface Command {
  spec: CommandSpec
  run(values: FlagValues, positionals: string[]): Promise<number>
  /** Commands whose exit code is a verdict say what each code means, after the options. */
  exitCodes?: [number, string][]
}

const commands: Command[] = [
  { spec: benchSpec, run: bench },
  { spec: engineSimSpec, run: engineSim },
  { spec: compareSpec, run: compare, exitCodes: compareExitCodes },
  { spec: uploadSpec, run: upload, exitCodes: uploadExitCodes },
  { spec: importSpec, run: importCommand },
  { spec: exportSpec, run: exportCommand },
  { spec: validateSpec, run: validate },
  { spec: serveSpec, run: serveCommand },
  { spec: migrateSpec, run: migrateCommand },
  { spec: demoSpec, run: demo },
]

function usage(): string {
  const width = Math.max(...commands.map((c) => c.spec.name.length)) + 2
  return [
    `infergate ${INFERGATE_VERSION} — catch LLM inference performance regressions`,
    '',
    'Usage: infergate <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.spec.name.padEnd(width)}${c.spec.summary}`),
    '',
    "Run 'infergate <command> --help' for a command's options.",
    '',
  ].join('\n')
}

function exitCodeText(codes: [number, string][] | undefined): string {
  if (!codes?.length) return ''
  return ['', 'Exit codes:', ...codes.map(([code, meaning]) => `  ${code}  ${meaning}`), ''].join('\n')
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage())
    return name === undefined ? 2 : 0
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(`${INFERGATE_VERSION}\n`)
    return 0
  }
  const command = commands.find((c) => c.spec.name === name)
  try {
    if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)} (see infergate --help)`)
    const { values, positionals } = parseFlags(command.spec, rest)
    if (values.help) {
      process.stdout.write(helpText(command.spec) + exitCodeText(command.exitCodes))
      return 0
    }
    return await command.run(values, positionals)
  } catch (e) {
    const prefix = `infergate${command ? ` ${command.spec.name}` : ''}: error:`
    if (e instanceof UsageError) {
      process.stderr.write(`${prefix} ${e.message}\n`)
      return 2
    }
    if (e instanceof BenchError || e instanceof ValidationError || e instanceof RunError) {
      process.stderr.write(`${prefix} ${e.message}\n`)
      return 1
    }
    throw e
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (e: Error) => {
    process.stderr.write(`infergate: internal error: ${e.stack ?? e}\n`)
    process.exitCode = 1
  },
)
