// The service's defaults as plain data, apart from the modules that use them: the CLI's help
// prints them, and a CLI command that is not `serve` must not load Hono, Kysely and pg for that.
import type { ServiceConfig } from './env.ts'

export const DEFAULT_CONFIG: ServiceConfig = {
  adminToken: null,
  bodyLimitBytes: 64 * 1024 * 1024,
  baselineRuns: 5,
  historyRuns: 20,
  github: null,
  publicUrl: null,
  linkSecret: null,
  // A PR's comment is read while the PR is open, and now and then long after: a quarter.
  linkTtlDays: 90,
  oidc: null,
  metrics: { token: null, public: false },
  // Eight ingests at work leave two of the default ten pooled connections to reads and the
  // outbox; a thousand may wait half a minute (bench:service holds 200 at once without a 503).
  ingest: { concurrency: 8, queue: 1000, queueTimeoutMs: 30_000 },
}

export interface PoolSettings {
  /** Connections in the pool. */
  max: number
  /** How long a query waits for a connection before failing (then: 503). */
  connectTimeoutMs: number
  /** The longest one statement may run on the server. */
  statementTimeoutMs: number
}

export const DEFAULT_POOL: PoolSettings = { max: 10, connectTimeoutMs: 5_000, statementTimeoutMs: 60_000 }

/** A link secret given from outside must be at least this long (bytes): HMAC-SHA256's 256 bits. */
export const MIN_SECRET_BYTES = 32
