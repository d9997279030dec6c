// Every migration, in order, imported statically: a bundled server cannot read a folder of
// migration files at run time (Kysely's FileMigrationProvider imports them dynamically).
import type { Migration } from 'kysely/migration'
import * as m0001 from './0001_initial.ts'
import * as m0002 from './0002_run_comparison.ts'
import * as m0003 from './0003_pinned_baselines.ts'
import * as m0004 from './0004_packed_samples.ts'
import * as m0005 from './0005_notifications.ts'
import * as m0006 from './0006_run_identity.ts'
import * as m0007 from './0007_github_rate_limits.ts'
import * as m0008 from './0008_arms.ts'
import * as m0009 from './0009_service_secrets.ts'
import * as m0010 from './0010_webhooks.ts'
import * as m0011 from './0011_oidc.ts'

export const migrations: Record<string, Migration> = {
  '0001_initial': m0001,
  '0002_run_comparison': m0002,
  '0003_pinned_baselines': m0003,
  '0004_packed_samples': m0004,
  '0005_notifications': m0005,
  '0006_run_identity': m0006,
  '0007_github_rate_limits': m0007,
  '0008_arms': m0008,
  '0009_service_secrets': m0009,
  '0010_webhooks': m0010,
  '0011_oidc': m0011,
}
