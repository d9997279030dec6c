// `infergate serve` as a child process on loopback, on a database of its own: what the tests of
// the service as users run it (serve.test.ts) and of its pages in a browser share.
import type { ChildProcess } from 'node:child_process'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { expect } from 'vitest'
import { freshDatabase } from './db-helpers.ts'
import { CLI, tempDir } from './helpers.ts'

/** The database flags or variables of a fresh database (Postgres at TEST_DATABASE_URL, else PGlite). */
export async function serveDatabase(): Promise<{
  env: NodeJS.ProcessEnv
  args: string[]
  drop(): Promise<void>
}> {
  const fresh = await freshDatabase()
  if ('url' in fresh.target) return { env: { DATABASE_URL: fresh.target.url }, args: [], drop: fresh.drop }
  return { env: {}, args: ['--data-dir', join(tempDir(), 'data')], drop: fresh.drop }
}

export interface ServeProcess {
  url: string
  child: ChildProcess
  logs: Record<string, unknown>[]
  stop(): Promise<number | null>
}

/** Starts serve (admin token "adm") and resolves once it logs that it listens. */
export function startServe(env: NodeJS.ProcessEnv, args: string[], entry = CLI): Promise<ServeProcess> {
  const logs: Record<string, unknown>[] = []
  const child = spawn(process.execPath, [entry, 'serve', '--port', '0', ...args], {
    env: { ...process.env, INFERGATE_ADMIN_TOKEN: 'adm', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c
  })
  const stop = () =>
    new Promise<number | null>((resolve) => {
      child.once('exit', (code) => resolve(code))
      child.kill('SIGTERM')
    })
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)))
    const lines = createInterface({ input: child.stdout! })
    lines.on('line', (line) => {
      const log = JSON.parse(line) as { msg: string; url: string; database: string; admin_token: string }
      logs.push(log)
      if (log.msg !== 'infergate serve listening') return
      expect(log.admin_token).toBe('set')
      expect(JSON.stringify(log)).not.toContain('adm"')
      child.removeAllListeners('exit')
      resolve({ url: log.url, child, logs, stop })
    })
  })
}
