import { homedir } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_CONFIG, type ServiceConfig } from '../../service/app.ts'
import type { DatabaseTarget } from '../../service/db/connect.ts'
import { migrateToLatest, openDatabase } from '../../service/db/connect.ts'
import { startService } from '../../service/server.ts'
import { type CommandSpec, type FlagValues, num, RunError, str } from '../args.ts'

/** PGlite's home when no DATABASE_URL is set: $XDG_DATA_HOME/infergate (~/.local/share/infergate). */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'infergate')
}

const dataDirFlag = {
  type: 'string',
  value: 'DIR',
  help: 'embedded database folder when DATABASE_URL is not set',
  default: '$XDG_DATA_HOME/infergate',
} as const

export const serveSpec: CommandSpec = {
  name: 'serve',
  summary: 'run the regression service (Postgres from DATABASE_URL, else embedded PGlite)',
  usage: 'infergate serve [options]',
  flags: {
    port: { type: 'string', value: 'N', help: 'port to listen on (0 picks a free one)', default: '8080' },
    host: { type: 'string', value: 'ADDR', help: 'address to listen on', default: '127.0.0.1' },
    'data-dir': dataDirFlag,
    'body-limit-mb': {
      type: 'string',
      value: 'MB',
      help: 'largest request body',
      default: String(DEFAULT_CONFIG.bodyLimitBytes / 1024 / 1024),
    },
  },
  examples: [
    'INFERGATE_ADMIN_TOKEN=… infergate serve --port 8080',
    'DATABASE_URL=postgres://infergate@db/infergate infergate serve --host 0.0.0.0',
  ],
}

export const migrateSpec: CommandSpec = {
  name: 'migrate',
  summary: "apply the service's database migrations and exit",
  usage: 'infergate migrate [--data-dir DIR]',
  flags: { 'data-dir': dataDirFlag },
}

function databaseTarget(values: FlagValues): { target: DatabaseTarget; shown: string } {
  const url = process.env.DATABASE_URL
  if (url) {
    let shown = 'postgres'
    try {
      const u = new URL(url)
      u.password = u.password ? '***' : ''
      shown = u.toString()
    } catch {
      throw new RunError('DATABASE_URL: not a URL (expected postgres://user:password@host:5432/db)')
    }
    return { target: { url }, shown }
  }
  const dataDir = str(values, 'data-dir') ?? defaultDataDir()
  return { target: { dataDir }, shown: `PGlite at ${dataDir}` }
}

export async function serveCommand(values: FlagValues): Promise<number> {
  const { target, shown } = databaseTarget(values)
  const config: ServiceConfig = {
    ...DEFAULT_CONFIG,
    adminToken: process.env.INFERGATE_ADMIN_TOKEN || null,
    bodyLimitBytes: Math.round(
      (num(values, 'body-limit-mb', { min: 0, exclusiveMin: true }) ?? 64) * 1024 * 1024,
    ),
  }
  const listen = {
    host: str(values, 'host') ?? '127.0.0.1',
    port: num(values, 'port', { int: true, min: 0, max: 65535 }) ?? 8080,
  }
  let service: Awaited<ReturnType<typeof startService>>
  try {
    service = await startService(target, config, listen)
  } catch (e) {
    throw new RunError(`cannot start: ${(e as Error).message}`)
  }
  // Configuration at start, without secrets; tests read the URL from this line.
  const log = {
    msg: 'infergate serve listening',
    url: service.url,
    database: shown,
    admin_token: config.adminToken ? 'set' : 'not set (project creation disabled)',
    body_limit_bytes: config.bodyLimitBytes,
    baseline_runs: config.baselineRuns,
    history_runs: config.historyRuns,
  }
  process.stdout.write(`${JSON.stringify(log)}\n`)
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  await service.close()
  return 0
}

export async function migrateCommand(values: FlagValues): Promise<number> {
  const { target, shown } = databaseTarget(values)
  const db = openDatabase(target)
  try {
    const applied = await migrateToLatest(db)
    process.stdout.write(`${shown}: ${applied.length ? `applied ${applied.join(', ')}` : 'up to date'}\n`)
    return 0
  } catch (e) {
    throw new RunError(`${shown}: ${(e as Error).message}`)
  } finally {
    await db.destroy()
  }
}
