// Reads infergate.yaml: YAML syntax, then the schema, then the rules. Every issue carries the
// key's path and its line in the file, for `infergate validate` and the Action's annotations.
import { readFileSync } from 'node:fs'
import { isMap, isNode, isScalar, isSeq, LineCounter, parseDocument } from 'yaml'
import { formatPath } from '../validation.ts'
import { type ConfigIssue, checkConfig, type Mode } from './rules.ts'
import { Config } from './schema.ts'

export interface LocatedIssue extends ConfigIssue {
  /** 1-based; null when the key is absent from the file (a required key missing). */
  line: number | null
  column: number | null
}

export type Location = Pick<LocatedIssue, 'line' | 'column'>

export interface LoadedConfig {
  /** Null when there are errors. */
  config: Config | null
  issues: LocatedIssue[]
  /** Where a key is written, for issues found later (the plan's rules, with bench's flags). */
  locate(path: ConfigIssue['path']): Location
}

const nowhere = (): Location => ({ line: null, column: null })

export function parseConfig(text: string, mode: Mode = 'deploy'): LoadedConfig {
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true })
  if (doc.errors.length) {
    return {
      config: null,
      locate: nowhere,
      issues: doc.errors.map((e) => {
        const at = lines.linePos(e.pos[0])
        return {
          severity: 'error',
          path: [],
          message: `YAML: ${e.message.split('\n')[0]}`,
          line: at.line,
          column: at.col,
        }
      }),
    }
  }
  // Where the deepest key of `path` that the file has is written (the key, not its value).
  const locate = (path: ConfigIssue['path']): Location => {
    for (let n = path.length; n > 0; n--) {
      const parent = n === 1 ? doc.contents : doc.getIn(path.slice(0, n - 1), true)
      const key = path[n - 1]
      let node: unknown = null
      if (isMap(parent)) node = parent.items.find((p) => isScalar(p.key) && p.key.value === key)?.key
      else if (isSeq(parent) && typeof key === 'number') node = parent.items[key]
      if (isNode(node) && node.range) {
        const at = lines.linePos(node.range[0])
        return { line: at.line, column: at.col }
      }
    }
    return nowhere()
  }
  const parsed = Config.safeParse(doc.toJS() ?? {}, {
    error: (i) => (i.input === undefined && i.code === 'invalid_type' ? 'required' : undefined),
  })
  if (!parsed.success) {
    return {
      config: null,
      locate,
      issues: parsed.error.issues.map((i) => {
        const path = i.path.map((k) => (typeof k === 'number' ? k : String(k)))
        // An unknown key is reported on its parent; point at the key itself.
        const keys = i.code === 'unrecognized_keys' ? i.keys : []
        const where = keys.length ? [...path, keys[0]!] : path
        return { severity: 'error', path: where, message: i.message, ...locate(where) }
      }),
    }
  }
  const issues = checkConfig(parsed.data, mode).map((i) => ({ ...i, ...locate(i.path) }))
  return { config: issues.some((i) => i.severity === 'error') ? null : parsed.data, issues, locate }
}

export function loadConfig(path: string, mode: Mode = 'deploy'): LoadedConfig {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message
    return {
      config: null,
      locate: nowhere,
      issues: [
        { severity: 'error', path: [], message: `cannot read ${path}: ${reason}`, line: null, column: null },
      ],
    }
  }
  return parseConfig(text, mode)
}

/** `infergate.yaml:12:3: error: engine.tensor_parallel: …` */
export function formatIssue(file: string, i: LocatedIssue): string {
  const where = i.line === null ? file : `${file}:${i.line}:${i.column}`
  return `${where}: ${i.severity}: ${i.path.length ? `${formatPath(i.path)}: ` : ''}${i.message}`
}
