// The typed view of the database for queries (Kysely). Migrations never import this file.
import type { ColumnType, Generated } from 'kysely'

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>
type Json<T> = ColumnType<T, string, string>

export interface ProjectTable {
  id: Generated<string>
  owner: string
  repo: string
  settings: ColumnType<Record<string, unknown>, string | undefined, string>
  /** GitHub's id of the repository whose OIDC tokens act for the project (migration 0011). */
  github_repository_id: ColumnType<string | null, string | null | undefined, string | null>
  oidc_policy: ColumnType<unknown, string | null | undefined, string | null>
  created_at: Timestamp
}

export interface ApiTokenTable {
  id: Generated<string>
  project_id: string
  token_hash: string
  created_at: Timestamp
  last_used_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
}

export interface RunTable {
  id: string
  project_id: string
  benchmark: string
  sha: string | null
  ref: string | null
  branch: string | null
  base_branch: string | null
  pr_number: number | null
  event_name: string | null
  ci_run_id: string | null
  ci_run_attempt: number | null
  /** SHA-256 of the report as parsed: the identity of a report made outside CI. */
  report_digest: string | null
  gpu_model: string | null
  gpu_count: number | null
  header: Json<Record<string, unknown>>
  /** The comparison made at ingest (infergate.comparison/v1). */
  comparison: ColumnType<unknown | null, string | null | undefined, string | null>
  /** An A/B run (its report has arms, 0008): kept out of base-branch baselines. */
  paired: ColumnType<boolean, boolean | undefined, boolean>
  reported_at: Timestamp
  ingested_at: Timestamp
}

export interface TrialTable {
  id: Generated<string>
  run_id: string
  scenario: string
  trial_index: number
  /** A/B runs (0008): the arm this trial measured and its block; null (both) otherwise. */
  arm: ColumnType<
    'baseline' | 'candidate' | null,
    'baseline' | 'candidate' | null | undefined,
    'baseline' | 'candidate' | null
  >
  block: ColumnType<number | null, number | null | undefined, number | null>
  load: Json<unknown>
  stop: Json<unknown>
  summary: Json<Record<string, number | null>>
  errors: Json<Record<string, number>>
  error_examples: Json<{ kind: string; message: string }[]>
  warnings: Json<string[]>
  token_count_source: string
  started_at: Timestamp
  /** Samples packed by service/runs/packed.ts: float64 or int32 values, big-endian. */
  start_ms: Uint8Array
  ttft_ms: Uint8Array
  tpot_ms: Uint8Array
  e2el_ms: Uint8Array
  itl_ms: Uint8Array
  itl_counts: Uint8Array
  input_tokens: Uint8Array
  output_tokens: Uint8Array
  dispatch_delay_ms: Uint8Array | null
  /** The inter-token gaps comparisons use (core/detect/compare.ts itlSample); null before 0004. */
  itl_sample: ColumnType<Uint8Array | null, Uint8Array | null | undefined, Uint8Array | null>
}

export interface PinnedBaselineTable {
  project_id: string
  benchmark: string
  run_id: string
  pinned_at: Timestamp
}

export interface NotificationTable {
  id: Generated<string>
  project_id: string
  run_id: string | null
  kind: 'commit_verdict' | 'pr_comment' | 'slack_message' | 'webhook_event'
  /** The webhook a slack_message or webhook_event goes to (0010; no foreign key); null for GitHub's kinds. */
  webhook_id: ColumnType<string | null, string | null | undefined, string | null>
  key: string
  payload: Json<unknown>
  state: Generated<'pending' | 'delivered' | 'failed' | 'superseded'>
  attempts: Generated<number>
  /** Attempts answered with a rate limit: waited out, not counted against maxAttempts. */
  rate_limited: Generated<number>
  next_attempt_at: Timestamp
  locked_until: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  last_error: string | null
  delivered_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  result: ColumnType<unknown | null, string | null | undefined, string | null>
  created_at: Timestamp
}

/** A credential GitHub rate-limited: nothing is sent with it until lifts_at (0007). */
export interface GithubRateLimitTable {
  scope: string
  lifts_at: Timestamp
  strikes: Generated<number>
  reason: string
  created_at: Timestamp
}

/** A project's Slack incoming webhook or generic signed-JSON receiver (0010). */
export interface WebhookTable {
  id: Generated<string>
  project_id: string
  kind: 'slack' | 'generic'
  url: string
  /** The HMAC key of a generic webhook; null for Slack (its URL is its credential). */
  secret: string | null
  events: Json<string[]>
  description: ColumnType<string, string | undefined, string>
  enabled: ColumnType<boolean, boolean | undefined, boolean>
  created_at: Timestamp
}

export interface ServiceSecretTable {
  name: string
  value: Uint8Array
  created_at: Timestamp
}

export interface Database {
  github_rate_limits: GithubRateLimitTable
  service_secrets: ServiceSecretTable
  webhooks: WebhookTable
  notifications: NotificationTable
  pinned_baselines: PinnedBaselineTable
  projects: ProjectTable
  api_tokens: ApiTokenTable
  runs: RunTable
  trials: TrialTable
}
