// The Hono environment every route and middleware sees. Its own file so that routes need not
// import app.ts, which imports them (a type-import circle through every route otherwise).
import type { Kysely } from 'kysely'
import type { Database } from './db/database.ts'
import type { GithubConfig } from './github/config.ts'
import type { Log } from './log.ts'
import type { ServiceMetrics } from './metrics.ts'
import type { OidcPolicy } from './oidc/policy.ts'
import type { GithubClaims, OidcConfig, OidcVerifier } from './oidc/verifier.ts'
import type { Project } from './projects/repository.ts'
import type { IngestGate } from './runs/gate.ts'
import type { WebhookConfig } from './webhooks/config.ts'

export interface ServiceConfig {
  adminToken: string | null
  /** Largest request body accepted, in bytes. */
  bodyLimitBytes: number
  /** Baseline runs per comparison, and history runs for the noise estimate. */
  baselineRuns: number
  historyRuns: number
  /** Reporting to GitHub; null: verdicts stay in the service. */
  github: GithubConfig | null
  /** The service's address as GitHub's readers reach it, for links; null: link the CI run. */
  publicUrl: string | null
  /** INFERGATE_LINK_SECRET, when given; null: the database's own (service/web/links.ts). */
  linkSecret: string | null
  /** How long a signed link to a run's page opens it. */
  linkTtlDays: number
  /** GitHub OIDC tokens accepted (INFERGATE_OIDC_AUDIENCE); null: project tokens only. */
  oidc: OidcConfig | null
  /** GET /metrics: a bearer for the scraper (INFERGATE_METRICS_TOKEN), or open to all. */
  metrics: { token: string | null; public: boolean }
  /** Ingests stored at once, and how many more may wait (and how long) before a 503. */
  ingest: { concurrency: number; queue: number; queueTimeoutMs: number }
  /** Where webhooks may point and how they are delivered; absent: service/webhooks/config.ts's defaults. */
  webhooks?: WebhookConfig
}

export type Env = {
  Variables: {
    db: Kysely<Database>
    config: ServiceConfig
    project: Project
    /** How the request proved it acts for the project (service/auth.ts). */
    principal: Principal
    /** Checks GitHub OIDC tokens; null when the service accepts none. */
    oidc: OidcVerifier | null
    log: Log
    /** The service's Prometheus metrics (service/metrics.ts). */
    metrics: ServiceMetrics
    /** Tells the outbox worker that notifications are waiting. */
    wake: () => void
    /** Admission to the ingest's database work (service/runs/gate.ts). */
    ingestGate: IngestGate
    /** The key of signed run links, read once (service/web/links.ts). */
    linkSecret: () => Promise<Buffer>
  }
}

export type Principal = { kind: 'project_token' } | { kind: 'oidc'; claims: GithubClaims; policy: OidcPolicy }
