// Every migration, in order, imported statically: a bundled server cannot read a folder of
// migration files at run time (Kysely's FileMigrationProvider imports them dynamically).
import type { Migration } from 'kysely/migration'
import * as m0001 from './0001_initial.ts'

export const migrations: Record<string, Migration> = {
  '0001_initial': m0001,
}
