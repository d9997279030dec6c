// The Prometheus text exposition format (version 0.0.4), read strictly: what vLLM and NVIDIA's
// DCGM exporter serve on /metrics. https://prometheus.io/docs/instrumenting/exposition_formats/
//
// Written here because the npm parsers measured on vLLM's own output lose data (docs/telemetry.md):
// parse-prometheus-text-format 1.1.1 merges a histogram's label sets and drops a last line without
// "\n"; @platformatic/promotel 0.2.2 drops NaN/±Inf values and label values holding `}` or `,`.
// Its answers are checked against Python's official
// prometheus_client parser (test/fixtures/exposition.py). Like Prometheus, one bad line fails the
// whole page: a half-read page would give wrong deltas without saying so.

export interface MetricSample {
  name: string
  labels: Record<string, string>
  value: number
  timestampMs: number | null
}

export interface Exposition {
  samples: MetricSample[]
  /** `# TYPE` per family name: counter, gauge, histogram, summary, untyped (as written, lower case). */
  types: Map<string, string>
  help: Map<string, string>
}

export class ExpositionError extends Error {
  override name = 'ExpositionError'
  readonly line: number
  constructor(line: number, why: string) {
    super(`line ${line}: ${why}`)
    this.line = line
  }
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped'])

/** Go's ParseFloat as Prometheus uses it: NaN, ±Inf in any case, exponents, a leading +. */
function parseValue(s: string): number | null {
  const l = s.toLowerCase()
  if (l === 'nan') return Number.NaN
  if (l === '+inf' || l === 'inf' || l === '+infinity' || l === 'infinity') return Number.POSITIVE_INFINITY
  if (l === '-inf' || l === '-infinity') return Number.NEGATIVE_INFINITY
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s)) return null
  return Number(s)
}

function unescapeHelp(s: string): string {
  return s.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'))
}

export function parseExposition(text: string): Exposition {
  const samples: MetricSample[] = []
  const types = new Map<string, string>()
  const help = new Map<string, string>()
  const lines = text.split('\n')
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!
    const at = n + 1
    if (line.trim() === '') continue
    if (line.startsWith('#')) {
      const m = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(line)
      if (!m) continue // any other comment (and OpenMetrics' `# EOF`)
      const [, kind, name, rest = ''] = m
      if (!NAME.test(name!)) throw new ExpositionError(at, `bad metric name ${JSON.stringify(name)}`)
      if (kind === 'HELP') help.set(name!, unescapeHelp(rest))
      else {
        const type = rest.trim().toLowerCase()
        if (!TYPES.has(type)) throw new ExpositionError(at, `unknown metric type ${JSON.stringify(rest)}`)
        if (types.has(name!)) throw new ExpositionError(at, `second TYPE line for ${name}`)
        types.set(name!, type)
      }
      continue
    }
    samples.push(parseSample(line, at))
  }
  return { samples, types, help }
}

function parseSample(line: string, at: number): MetricSample {
  let i = 0
  while (line[i] === ' ' || line[i] === '\t') i++
  const start = i
  while (i < line.length && /[a-zA-Z0-9_:]/.test(line[i]!)) i++
  const name = line.slice(start, i)
  if (!NAME.test(name))
    throw new ExpositionError(at, `expected a metric name, got ${JSON.stringify(line.slice(0, 60))}`)
  const labels: Record<string, string> = Object.create(null)
  let j = i
  while (line[j] === ' ' || line[j] === '\t') j++
  if (line[j] === '{') i = j
  if (line[i] === '{') {
    i++
    while (true) {
      while (line[i] === ' ' || line[i] === '\t') i++
      if (line[i] === '}') {
        i++
        break
      }
      const ls = i
      while (i < line.length && /[a-zA-Z0-9_]/.test(line[i]!)) i++
      const label = line.slice(ls, i)
      if (!LABEL_NAME.test(label)) throw new ExpositionError(at, `expected a label name in ${name}{…}`)
      while (line[i] === ' ' || line[i] === '\t') i++
      if (line[i] !== '=') throw new ExpositionError(at, `expected = after label ${label}`)
      i++
      while (line[i] === ' ' || line[i] === '\t') i++
      if (line[i] !== '"') throw new ExpositionError(at, `expected a quoted value for label ${label}`)
      i++
      let value = ''
      let closed = false
      while (i < line.length) {
        const c = line[i]!
        if (c === '"') {
          closed = true
          i++
          break
        }
        if (c === '\\') {
          const e = line[i + 1]
          if (e === 'n') value += '\n'
          else if (e === '\\' || e === '"') value += e
          else throw new ExpositionError(at, `bad escape \\${e ?? ''} in label ${label}`)
          i += 2
        } else {
          value += c
          i++
        }
      }
      if (!closed) throw new ExpositionError(at, `unterminated value of label ${label}`)
      if (Object.hasOwn(labels, label)) throw new ExpositionError(at, `label ${label} given twice`)
      labels[label] = value
      while (line[i] === ' ' || line[i] === '\t') i++
      if (line[i] === ',') i++
      else if (line[i] !== '}') throw new ExpositionError(at, `expected , or } after label ${label}`)
    }
  }
  const rest = line.slice(i).replace(/\r$/, '')
  if (rest !== '' && rest[0] !== ' ' && rest[0] !== '\t') {
    throw new ExpositionError(at, `expected a space after ${name}`)
  }
  // An OpenMetrics exemplar (` # {trace_id="…"} 1`) follows the value: not a sample's part.
  const fields = rest
    .split(' # ')[0]!
    .trim()
    .split(/[ \t]+/)
  if (fields[0] === '') throw new ExpositionError(at, `no value for ${name}`)
  if (fields.length > 2)
    throw new ExpositionError(
      at,
      `unexpected ${JSON.stringify(fields.slice(2).join(' '))} after the value of ${name}`,
    )
  const value = parseValue(fields[0]!)
  if (value === null) throw new ExpositionError(at, `bad value ${JSON.stringify(fields[0])} for ${name}`)
  let timestampMs: number | null = null
  if (fields[1] !== undefined) {
    if (!/^-?\d+$/.test(fields[1]))
      throw new ExpositionError(at, `bad timestamp ${JSON.stringify(fields[1])} for ${name}`)
    timestampMs = Number(fields[1])
  }
  return { name, labels, value, timestampMs }
}

const SUFFIXES: Record<string, readonly string[]> = {
  histogram: ['_bucket', '_count', '_sum', '_created', '_gcount', '_gsum'],
  summary: ['_count', '_sum', '_created'],
  counter: ['_total', '_created'],
  info: ['_info'],
}

/** The family a sample belongs to, by the suffixes its family's TYPE allows. */
export function familyOf(sampleName: string, types: Map<string, string>): string {
  if (types.has(sampleName)) return sampleName
  for (const [type, suffixes] of Object.entries(SUFFIXES)) {
    for (const suffix of suffixes) {
      if (!sampleName.endsWith(suffix)) continue
      const base = sampleName.slice(0, -suffix.length)
      if (types.get(base) === type) return base
    }
  }
  return sampleName
}
