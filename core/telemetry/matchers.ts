// Label matchers in PromQL's syntax (`pod="llama-0",namespace=~"ml|prod"`): how a user picks the
// serving pod's GPUs out of a node's DCGM exporter, or out of a Prometheus server holding the
// whole cluster. One syntax for both: read here for a direct scrape, passed through verbatim to
// Prometheus, which reads it the same way. https://prometheus.io/docs/prometheus/latest/querying/basics/#time-series-selectors
import { BenchError } from '../bench/errors.ts'

export type MatchOp = '=' | '!=' | '=~' | '!~'

export interface Matcher {
  name: string
  op: MatchOp
  value: string
  /** The value as a fully anchored RE2-like regex (=~, !~): Prometheus anchors at both ends. */
  regex: RegExp | null
}

const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * `a="x",b=~"y.*"` (with or without braces) into matchers. `flag` names the option in errors.
 * Refuses what Prometheus would refuse, so a selector that works for a direct scrape also works
 * against --prometheus-url.
 */
export function parseMatchers(text: string, flag: string): Matcher[] {
  let s = text.trim()
  if (s.startsWith('{') && s.endsWith('}')) s = s.slice(1, -1)
  const out: Matcher[] = []
  let i = 0
  const fail = (why: string): never => {
    throw new BenchError(
      `${flag}: ${why} at character ${i + 1} of ${JSON.stringify(text)} (expected e.g. pod="llama-0",namespace="ml")`,
    )
  }
  const skipSpace = () => {
    while (i < s.length && /\s/.test(s[i]!)) i++
  }
  while (true) {
    skipSpace()
    if (i >= s.length) break
    const nameStart = i
    while (i < s.length && /[A-Za-z0-9_]/.test(s[i]!)) i++
    const name = s.slice(nameStart, i)
    if (!LABEL_NAME.test(name)) fail('expected a label name')
    skipSpace()
    const op = (['=~', '!~', '!=', '='] as const).find((o) => s.startsWith(o, i))
    if (!op) fail(`expected =, !=, =~ or !~ after ${name}`)
    i += op!.length
    skipSpace()
    if (s[i] !== '"' && s[i] !== "'") fail(`expected a quoted value for ${name}`)
    const quote = s[i++]!
    let value = ''
    while (i < s.length && s[i] !== quote) {
      if (s[i] === '\\') {
        const next = s[i + 1]
        if (next === undefined) fail('unfinished escape')
        value += next === 'n' ? '\n' : next === 't' ? '\t' : next
        i += 2
      } else value += s[i++]
    }
    if (i >= s.length) fail(`unterminated value for ${name}`)
    i++
    let regex: RegExp | null = null
    if (op === '=~' || op === '!~') {
      try {
        regex = new RegExp(`^(?:${value})$`, 'u')
      } catch (e) {
        fail(`bad regular expression for ${name}: ${(e as Error).message}`)
      }
    }
    out.push({ name, op: op!, value, regex })
    skipSpace()
    if (i < s.length) {
      if (s[i] !== ',') fail('expected , between matchers')
      i++
    }
  }
  return out
}

/** Whether a series' labels satisfy every matcher (a missing label reads as "", as in PromQL). */
export function matchesAll(labels: Record<string, string>, matchers: readonly Matcher[]): boolean {
  for (const m of matchers) {
    const v = Object.hasOwn(labels, m.name) ? labels[m.name]! : ''
    const hit = m.regex ? m.regex.test(v) : v === m.value
    if ((m.op === '=' || m.op === '=~') !== hit) return false
  }
  return true
}
