import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { type SimProcess, spawnEngineSim } from '../cli/spawn-sim.ts'
import { parseReport, type Report } from '../core/report.ts'

export const CLI = resolve(import.meta.dirname, '../cli/main.ts')

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

/** Runs the CLI as a user would: its own process, its own exit code. */
export function cli(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<CliResult> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd, env: { ...stripGithub(process.env), ...env }, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error ? ((error as { code?: number }).code ?? 1) : 0
        done({ code: typeof code === 'number' ? code : 1, stdout, stderr })
      },
    )
  })
}

/** Tests must not pick up the GitHub context of whatever CI runs them. */
function stripGithub(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('GITHUB_')))
}

export function sim(args: string[]): Promise<SimProcess> {
  return spawnEngineSim(CLI, args)
}

/** Runs f against a fresh engine-sim process, and stops it whatever happens. */
export async function withSim<T>(args: string[], f: (s: SimProcess) => Promise<T>): Promise<T> {
  const s = await sim(args)
  try {
    return await f(s)
  } finally {
    await s.stop()
  }
}

export function tempDir(): string {
  return mkdtempSync(join(process.env.INFERGATE_TEST_TMP ?? tmpdir(), 'case-'))
}

/** Runs `infergate bench` against url and returns the validated report. */
export async function benchReport(
  url: string,
  args: string[],
): Promise<{ report: Report; result: CliResult }> {
  const out = join(tempDir(), 'report.json')
  // The `workers` project (vitest.config.ts) runs the benchmark's tests again on worker threads.
  const workers = process.env.INFERGATE_TEST_WORKERS
  const extra = workers && !args.includes('--workers') ? ['--workers', workers] : []
  const result = await cli(['bench', '--url', url, '--progress', 'off', '--out', out, ...args, ...extra])
  if (result.code !== 0) throw new Error(`bench exited ${result.code}: ${result.stderr}`)
  return { report: parseReport(JSON.parse(readFileSync(out, 'utf8'))), result }
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}
