import { homedir } from 'node:os'
import { join } from 'node:path'
import type { DatabaseTarget } from '../../service/db/connect.ts'
import { DEFAULT_CONFIG, DEFAULT_POOL, MIN_SECRET_BYTES } from '../../service/defaults.ts'
import type { ServiceConfig } from '../../service/env.ts'
import { type CommandSpec, type FlagValues, num, parseNumber, RunError, str } from '../args.ts'

/** PGlite's home when no DATABASE_URL is set: $XDG_DATA_HOME/infergate (~/.local/share/infergate). */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'infergate')
}

const dataDirFlag = {
  type: 'string',
  value: 'DIR',
  help: 'embedded database folder when DATABASE_URL is not set [$INFERGATE_DATA_DIR]',
  default: '$XDG_DATA_HOME/infergate',
} as const

export const serveSpec: CommandSpec = {
  name: 'serve',
  summary: 'run the regression service (Postgres from DATABASE_URL, else embedded PGlite)',
  usage: 'infergate serve [options]',
  flags: {
    port: {
      type: 'string',
      value: 'N',
      help: 'port to listen on (0 picks a free one) [$INFERGATE_PORT]',
      default: '8080',
    },
    host: {
      type: 'string',
      value: 'ADDR',
      help: 'address to listen on [$INFERGATE_HOST]',
      default: '127.0.0.1',
    },
    'data-dir': dataDirFlag,
    'body-limit-mb': {
      type: 'string',
      value: 'MB',
      help: 'largest request body [$INFERGATE_BODY_LIMIT_MB]',
      default: String(DEFAULT_CONFIG.bodyLimitBytes / 1024 / 1024),
    },
    'baseline-runs': {
      type: 'string',
      value: 'K',
      help: 'base-branch runs a run is compared with [$INFERGATE_BASELINE_RUNS]',
      default: String(DEFAULT_CONFIG.baselineRuns),
    },
    'history-runs': {
      type: 'string',
      value: 'N',
      help: 'base-branch runs the run-to-run noise is estimated from [$INFERGATE_HISTORY_RUNS]',
      default: String(DEFAULT_CONFIG.historyRuns),
    },
  },
  environment: [
    {
      name: 'DATABASE_URL',
      help: 'Postgres (postgres://user:password@host:5432/db); unset: embedded PGlite',
    },
    { name: 'INFERGATE_ADMIN_TOKEN', help: 'guards project creation; unset: no new projects' },
    {
      name: 'INFERGATE_GITHUB_TOKEN',
      help: 'report to GitHub with a token: commit statuses and PR comments',
    },
    { name: 'INFERGATE_GITHUB_APP_ID', help: 'report as a GitHub App instead: check runs and PR comments' },
    { name: 'INFERGATE_GITHUB_APP_PRIVATE_KEY', help: "the App's private key (PEM text), or" },
    { name: 'INFERGATE_GITHUB_APP_PRIVATE_KEY_FILE', help: 'a file holding it' },
    {
      name: 'INFERGATE_GITHUB_API_URL',
      help: 'GitHub Enterprise Server: https://HOST/api/v3 (default: https://api.github.com)',
    },
    {
      name: 'INFERGATE_PUBLIC_URL',
      help: "the service's address for links from GitHub; unset: links go to the CI run",
    },
    {
      name: 'INFERGATE_OIDC_AUDIENCE',
      help: "accept GitHub Actions OIDC tokens for this audience (the Action's oidc-audience); unset: project tokens only",
    },
    {
      name: 'INFERGATE_OIDC_ISSUER',
      help: "GitHub Enterprise Server: https://HOST/_services/token (default: GitHub.com's issuer)",
    },
    {
      name: 'INFERGATE_METRICS_TOKEN',
      help: 'GET /metrics (Prometheus) for a scraper sending it as a bearer; unset: not served',
    },
    { name: 'INFERGATE_METRICS_PUBLIC', help: 'true: GET /metrics without a token' },
    {
      name: 'INFERGATE_WEBHOOK_PRIVATE_HOSTS',
      help: 'webhook hosts inside your network that may be sent to (comma-separated; others must be public)',
    },
    {
      name: 'INFERGATE_SLACK_WEBHOOK_HOSTS',
      help: 'Slack webhook hosts besides hooks.slack.com (comma-separated)',
    },
    {
      name: 'INFERGATE_LINK_SECRET',
      help: 'signs read-only links to run pages (32+ bytes; every replica the same); unset: one kept in the database',
    },
    {
      name: 'INFERGATE_LINK_TTL_DAYS',
      help: `how long a signed link opens its run page (default ${DEFAULT_CONFIG.linkTtlDays})`,
    },
    { name: 'INFERGATE_DB_POOL_MAX', help: `Postgres connections in the pool (default ${DEFAULT_POOL.max})` },
    {
      name: 'INFERGATE_DB_CONNECT_TIMEOUT_MS',
      help: `how long a query waits for a connection before a 503 (default ${DEFAULT_POOL.connectTimeoutMs})`,
    },
    {
      name: 'INFERGATE_DB_STATEMENT_TIMEOUT_MS',
      help: `the longest one SQL statement may run (default ${DEFAULT_POOL.statementTimeoutMs})`,
    },
    {
      name: 'INFERGATE_INGEST_CONCURRENCY',
      help: 'reports stored at once (default: the pool size less 2; 2 on PGlite)',
    },
    {
      name: 'INFERGATE_INGEST_QUEUE',
      help: `reports that may wait their turn before a 503 (default ${DEFAULT_CONFIG.ingest.queue})`,
    },
    {
      name: 'INFERGATE_INGEST_QUEUE_TIMEOUT_MS',
      help: `the longest a report waits its turn before a 503 (default ${DEFAULT_CONFIG.ingest.queueTimeoutMs})`,
    },
  ],
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
    const pool = {
      max: envNumber('INFERGATE_DB_POOL_MAX', { int: true, min: 1, max: 1000 }) ?? DEFAULT_POOL.max,
      connectTimeoutMs:
        envNumber('INFERGATE_DB_CONNECT_TIMEOUT_MS', { int: true, min: 1 }) ?? DEFAULT_POOL.connectTimeoutMs,
      statementTimeoutMs:
        envNumber('INFERGATE_DB_STATEMENT_TIMEOUT_MS', { int: true, min: 1 }) ??
        DEFAULT_POOL.statementTimeoutMs,
    }
    return { target: { url, pool }, shown }
  }
  const dataDir = str(values, 'data-dir') ?? (process.env.INFERGATE_DATA_DIR || defaultDataDir())
  return { target: { dataDir }, shown: `PGlite at ${dataDir}` }
}

type NumberRule = Parameters<typeof parseNumber>[2]

/** An environment variable's number, or undefined when unset; errors name the variable. */
function envNumber(envVar: string, rule: NumberRule): number | undefined {
  const raw = process.env[envVar]
  return raw ? parseNumber(raw, `$${envVar}`, rule) : undefined
}

/** A flag, else its environment variable, else undefined; errors name whichever was used. */
function setting(values: FlagValues, flag: string, envVar: string, rule: NumberRule): number | undefined {
  return num(values, flag, rule) ?? envNumber(envVar, rule)
}

/** How many ingests work at once and wait: below the pool's size, so reads find a connection. */
function ingestSettings(target: DatabaseTarget): ServiceConfig['ingest'] {
  // PGlite is one connection: more than two ingests at once only queue inside it, ahead of reads.
  const fallback = 'url' in target ? Math.max(1, (target.pool?.max ?? DEFAULT_POOL.max) - 2) : 2
  return {
    concurrency: envNumber('INFERGATE_INGEST_CONCURRENCY', { int: true, min: 1, max: 1000 }) ?? fallback,
    queue: envNumber('INFERGATE_INGEST_QUEUE', { int: true, min: 0 }) ?? DEFAULT_CONFIG.ingest.queue,
    queueTimeoutMs:
      envNumber('INFERGATE_INGEST_QUEUE_TIMEOUT_MS', { int: true, min: 1 }) ??
      DEFAULT_CONFIG.ingest.queueTimeoutMs,
  }
}

export async function serveCommand(values: FlagValues): Promise<number> {
  const { target, shown } = databaseTarget(values)
  // The service's modules (Hono, Kysely, pg, Octokit) load when a command needs them, not with
  // the CLI: `infergate bench` starts 7 MiB smaller without them (98 → 91 MiB).
  const { githubConfigFromEnv, publicUrlFromEnv } = await import('../../service/github/config.ts')
  const { jsonLog } = await import('../../service/log.ts')
  const { oidcConfigFromEnv } = await import('../../service/oidc/config.ts')
  const { startService } = await import('../../service/server.ts')
  let github: ServiceConfig['github']
  let publicUrl: ServiceConfig['publicUrl']
  let oidc: ServiceConfig['oidc']
  try {
    github = githubConfigFromEnv()
    publicUrl = publicUrlFromEnv()
    oidc = oidcConfigFromEnv()
  } catch (e) {
    throw new RunError((e as Error).message)
  }
  const givenSecret = process.env.INFERGATE_LINK_SECRET || null
  if (givenSecret !== null && Buffer.byteLength(givenSecret) < MIN_SECRET_BYTES) {
    throw new RunError(
      `INFERGATE_LINK_SECRET: expected at least ${MIN_SECRET_BYTES} bytes, got ${Buffer.byteLength(givenSecret)} (try: openssl rand -base64 32)`,
    )
  }
  const metricsPublic = process.env.INFERGATE_METRICS_PUBLIC?.trim() ?? ''
  if (metricsPublic && !/^(true|false)$/.test(metricsPublic)) {
    throw new RunError(
      `INFERGATE_METRICS_PUBLIC: expected true or false, got ${JSON.stringify(metricsPublic)}`,
    )
  }
  const config: ServiceConfig = {
    github,
    publicUrl,
    oidc,
    metrics: { token: process.env.INFERGATE_METRICS_TOKEN || null, public: metricsPublic === 'true' },
    linkSecret: givenSecret,
    linkTtlDays:
      envNumber('INFERGATE_LINK_TTL_DAYS', { int: true, min: 1, max: 3650 }) ?? DEFAULT_CONFIG.linkTtlDays,
    adminToken: process.env.INFERGATE_ADMIN_TOKEN || null,
    bodyLimitBytes: Math.round(
      (setting(values, 'body-limit-mb', 'INFERGATE_BODY_LIMIT_MB', { min: 0, exclusiveMin: true }) ??
        DEFAULT_CONFIG.bodyLimitBytes / 1024 / 1024) *
        1024 *
        1024,
    ),
    baselineRuns:
      setting(values, 'baseline-runs', 'INFERGATE_BASELINE_RUNS', { int: true, min: 1, max: 100 }) ??
      DEFAULT_CONFIG.baselineRuns,
    historyRuns:
      setting(values, 'history-runs', 'INFERGATE_HISTORY_RUNS', { int: true, min: 1, max: 500 }) ??
      DEFAULT_CONFIG.historyRuns,
    ingest: ingestSettings(target),
  }
  const listen = {
    host: str(values, 'host') ?? (process.env.INFERGATE_HOST || '127.0.0.1'),
    port: setting(values, 'port', 'INFERGATE_PORT', { int: true, min: 0, max: 65535 }) ?? 8080,
  }
  const log = jsonLog()
  let running: Awaited<ReturnType<typeof startService>>
  try {
    running = await startService(target, config, listen, log)
  } catch (e) {
    throw new RunError(`cannot start: ${(e as Error).message}`)
  }
  // The configuration in force, without secrets; tests read the URL from this line.
  log('info', 'infergate serve listening', {
    url: running.url,
    database: shown,
    admin_token: config.adminToken ? 'set' : 'not set (project creation disabled)',
    body_limit_bytes: config.bodyLimitBytes,
    baseline_runs: config.baselineRuns,
    history_runs: config.historyRuns,
    ingest: config.ingest,
    ...('url' in target ? { pool: target.pool } : {}),
    public_url: config.publicUrl ?? 'not set (links go to the CI run)',
    oidc: config.oidc ? { issuer: config.oidc.issuer, audience: config.oidc.audience } : 'off',
    metrics: config.metrics.public ? 'public' : config.metrics.token ? 'with INFERGATE_METRICS_TOKEN' : 'off',
    dashboard: `${running.url}/`,
    link_secret: config.linkSecret ? 'set' : "the database's own",
  })
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'))
    process.once('SIGTERM', () => resolve('SIGTERM'))
  })
  log('info', 'stopping', { signal })
  await running.close()
  return 0
}

export async function migrateCommand(values: FlagValues): Promise<number> {
  const { target, shown } = databaseTarget(values)
  const { migrateToLatest, openDatabase } = await import('../../service/db/connect.ts')
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
