// `infergate import`: another load tester's result file as an Infergate report, so a team that
// benchmarks with vLLM's, guidellm's, AIPerf's or inference-perf's tool gets the regression
// detector without re-running anything. One reader per format maps the tool's fields; the
// report is assembled and validated in one place (common.ts). Formats, versions and what each
// loses: docs/import.md.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { Report } from '../report.ts'
import { readAiperf } from './aiperf.ts'
import { assembleReport, ImportError, type ImportedRun, type ImportOptions, parseJson } from './common.ts'
import { readGuidellm } from './guidellm.ts'
import { readInferencePerf } from './inference-perf.ts'
import { readVllm } from './vllm.ts'

export { ImportError, type ImportOptions } from './common.ts'

export const IMPORT_FORMATS = ['vllm', 'guidellm', 'aiperf', 'inference-perf'] as const
export type ImportFormat = (typeof IMPORT_FORMATS)[number]

/** What a format's reader is given: the file named on the command line, and a way to its neighbours. */
export interface ImportInput {
  /** The path as given (errors name it). */
  name: string
  /** The file's parsed JSON; null when the path is a directory (a tool's output folder). */
  json: unknown
  /** The directory given, or the one the file is in: where a tool's other files are looked for. */
  dir: string
  /** Whether the path given is a directory. */
  isDirectory: boolean
  /** --requests: a per-request file named on the command line, else null. */
  requests: string | null
  /** The names in `dir`. */
  entries(): string[]
  /** The text of a file (a path as given, or a name in `dir`), or null when it does not exist. */
  readText(path: string): string | null
}

export type FormatReader = (input: ImportInput, o: ImportOptions) => ImportedRun

const READERS: Record<ImportFormat, FormatReader> = {
  vllm: readVllm,
  guidellm: readGuidellm,
  aiperf: readAiperf,
  'inference-perf': readInferencePerf,
}

/** Formats whose tool writes a folder of files, which may be given as the folder. */
const FOLDER_FORMATS: readonly ImportFormat[] = ['aiperf', 'inference-perf']

function readOrFail(path: string, shownAs: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (e) {
    throw new ImportError(`${shownAs}: cannot read: ${(e as Error).message}`)
  }
}

/**
 * The report of a tool's result file (or output folder), validated. Throws ImportError naming
 * the file and field for input that is not the format (bad input), and a ValidationError for a
 * report that fails the schema (a bug in the importer).
 */
export function importFile(
  format: ImportFormat,
  path: string,
  o: ImportOptions,
  extra: { requests?: string | null } = {},
): Report {
  let isDirectory: boolean
  try {
    isDirectory = statSync(path).isDirectory()
  } catch (e) {
    throw new ImportError(`${path}: cannot read: ${(e as Error).message}`)
  }
  if (isDirectory && !FOLDER_FORMATS.includes(format)) {
    throw new ImportError(`${path}: is a directory; --format ${format} reads one result file`)
  }
  const dir = isDirectory ? path : dirname(path)
  const input: ImportInput = {
    name: path,
    json: isDirectory ? null : parseJson(path, readOrFail(path, path)),
    dir,
    isDirectory,
    // A path as given on the command line, never a name looked for beside FILE.
    requests: extra.requests ? (extra.requests.includes('/') ? extra.requests : `./${extra.requests}`) : null,
    entries: () => readdirSync(dir),
    readText: (p) => {
      // A bare name is looked for beside FILE (or in the directory given); a path as given.
      const full = p.includes('/') ? p : join(dir, p)
      return existsSync(full) ? readOrFail(full, full) : null
    },
  }
  if (extra.requests && !existsSync(extra.requests)) {
    throw new ImportError(`--requests ${extra.requests}: cannot read: no such file`)
  }
  return assembleReport(READERS[format](input, o), o, path)
}
