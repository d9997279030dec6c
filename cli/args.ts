// Declarative flags for the subcommands: one spec gives parsing (strict: unknown flags are
// errors), typed conversion with messages that name the flag, and the --help text.
import { accessSync, constants } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { parseArgs } from 'node:util'

export interface FlagSpec {
  type: 'string' | 'boolean'
  multiple?: boolean
  short?: string
  /** Placeholder in the help text, e.g. N or URL. */
  value?: string
  help: string
  /** Shown in the help text; conversion applies real defaults. */
  default?: string
}

export interface CommandSpec {
  name: string
  summary: string
  usage: string
  flags: Record<string, FlagSpec>
  positionals?: { name: string; help: string }[]
  /** Variables read only from the environment (secrets, mostly). */
  environment?: { name: string; help: string }[]
  examples?: string[]
}

/** Wrong words on the command line: exit code 2, message names the flag. */
export class UsageError extends Error {
  override name = 'UsageError'
}

/** A run that could not go on (a port in use, a file that cannot be read): exit code 1, one line. */
export class RunError extends Error {
  override name = 'RunError'
}

export type FlagValues = Record<string, string | boolean | string[] | undefined>

export function parseFlags(spec: CommandSpec, argv: string[]): { values: FlagValues; positionals: string[] } {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
  }
  for (const [name, f] of Object.entries(spec.flags)) {
    options[name] = {
      type: f.type,
      ...(f.multiple ? { multiple: true } : {}),
      ...(f.short ? { short: f.short } : {}),
    }
  }
  try {
    const { values, positionals } = parseArgs({
      args: joinNegativeValues(argv, options),
      options,
      strict: true,
      allowPositionals: (spec.positionals?.length ?? 0) > 0,
    })
    return { values: values as FlagValues, positionals }
  } catch (e) {
    const err = e as { code?: string; message: string }
    const flag = err.message.match(/'(-{1,2}[^'\s]+)/)?.[1]
    let msg = err.message.split('. ')[0] ?? err.message
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') msg = `unknown flag ${flag}`
    else if (err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL')
      msg = `unexpected argument ${flag ?? ''}`.trim()
    else if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const name = err.message.match(/'(--?[^' ]+)/)?.[1]
      msg = / argument is ambiguous/.test(err.message)
        ? `${name}: expected a value, got an option (for a value that starts with '-', write ${name}=VALUE)`
        : / argument missing/.test(err.message)
          ? `${name}: expected a value`
          : err.message.replace(/\s+/g, ' ')
    }
    throw new UsageError(`${msg} (see infergate ${spec.name} --help)`)
  }
}

/** A negative number, possibly a list (-4, -0.5, -1e3, -.5, -5,10, -inf): never a flag. */
const NEGATIVE = /^-(\d|\.\d|inf)/i

/**
 * node:util parseArgs refuses `--flag -4` as ambiguous (the value could be a flag), so a
 * negative number would never reach the flag's own check and its message naming the flag
 * (`--concurrency: expected an integer ≥ 1, got "-4"`). No flag looks like a negative number, so
 * such a value is joined to its flag (`--concurrency=-4`) before parsing.
 */
function joinNegativeValues(
  argv: string[],
  options: Record<string, { type: string; short?: string }>,
): string[] {
  const takesValue = (arg: string) => {
    if (arg.startsWith('--')) return options[arg.slice(2)]?.type === 'string'
    return Object.values(options).some(
      (o) => o.type === 'string' && o.short !== undefined && `-${o.short}` === arg,
    )
  }
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--') return [...out, ...argv.slice(i)]
    const next = argv[i + 1]
    if (next !== undefined && !arg.includes('=') && takesValue(arg) && NEGATIVE.test(next)) {
      out.push(`${arg}=${next}`)
      i++
    } else out.push(arg)
  }
  return out
}

export function helpText(spec: CommandSpec): string {
  const rows = Object.entries(spec.flags).map(([name, f]) => {
    const left = `${f.short ? `-${f.short}, ` : '    '}--${name}${f.type === 'string' ? ` ${f.value ?? 'VALUE'}` : ''}`
    const right = `${f.help}${f.default !== undefined ? ` (default: ${f.default})` : ''}${f.multiple ? ' [repeatable]' : ''}`
    return [left, right] as const
  })
  rows.push(['-h, --help', 'show this help'])
  const width = Math.min(36, Math.max(...rows.map(([l]) => l.length)) + 2)
  const lines = [`infergate ${spec.name} — ${spec.summary}`, '', `Usage: ${spec.usage}`, '']
  if (spec.positionals?.length) {
    lines.push('Arguments:')
    for (const p of spec.positionals) lines.push(`  ${p.name.padEnd(width)}${p.help}`)
    lines.push('')
  }
  lines.push('Options:')
  for (const [l, r] of rows) {
    lines.push(l.length >= width ? `  ${l}\n  ${' '.repeat(width)}${r}` : `  ${l.padEnd(width)}${r}`)
  }
  if (spec.environment?.length) {
    const w = Math.max(...spec.environment.map((e) => e.name.length)) + 2
    lines.push('', 'Environment:', ...spec.environment.map((e) => `  ${e.name.padEnd(w)}${e.help}`))
  }
  if (spec.examples?.length) lines.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`))
  return `${lines.join('\n')}\n`
}

// Typed readers. Each throws a UsageError naming the flag and what it expected.

/** --out, checked writable before any work: a long run must fail now, not after it. */
export function outFlag(v: FlagValues): string | undefined {
  const out = str(v, 'out')
  if (out) {
    try {
      accessSync(dirname(resolve(out)), constants.W_OK)
    } catch {
      throw new UsageError(`--out: cannot write to the folder of ${out}`)
    }
  }
  return out
}

export function str(v: FlagValues, name: string): string | undefined {
  const x = v[name]
  return typeof x === 'string' ? x : undefined
}

export function bool(v: FlagValues, name: string): boolean {
  return v[name] === true
}

export function num(
  v: FlagValues,
  name: string,
  opts: { min?: number; max?: number; int?: boolean; exclusiveMin?: boolean } = {},
): number | undefined {
  const raw = str(v, name)
  if (raw === undefined) return undefined
  return parseNumber(raw, `--${name}`, opts)
}

export function parseNumber(
  raw: string,
  what: string,
  opts: { min?: number; max?: number; int?: boolean; exclusiveMin?: boolean } = {},
): number {
  const x = raw.trim() === '' ? Number.NaN : Number(raw)
  const kind = opts.int ? 'an integer' : 'a number'
  const range = opts.min !== undefined ? (opts.exclusiveMin ? ` > ${opts.min}` : ` ≥ ${opts.min}`) : ''
  const upper = opts.max !== undefined ? `${range ? ' and' : ''} ≤ ${opts.max}` : ''
  const bad =
    !Number.isFinite(x) ||
    (opts.int && !Number.isInteger(x)) ||
    (opts.min !== undefined && (opts.exclusiveMin ? x <= opts.min : x < opts.min)) ||
    (opts.max !== undefined && x > opts.max)
  if (bad) throw new UsageError(`${what}: expected ${kind}${range}${upper}, got ${JSON.stringify(raw)}`)
  return x
}

export function oneOf<T extends string>(v: FlagValues, name: string, choices: readonly T[]): T | undefined {
  const raw = str(v, name)
  if (raw === undefined) return undefined
  if (!choices.includes(raw as T)) {
    throw new UsageError(`--${name}: expected one of ${choices.join(', ')}, got ${JSON.stringify(raw)}`)
  }
  return raw as T
}

export function list<T>(v: FlagValues, name: string, item: (s: string) => T): T[] | undefined {
  const raw = str(v, name)
  if (raw === undefined) return undefined
  const parts = raw.split(',').map((s) => s.trim())
  if (parts.some((p) => p === ''))
    throw new UsageError(`--${name}: empty item in list ${JSON.stringify(raw)}`)
  return parts.map(item)
}
