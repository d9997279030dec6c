// Frozen in time. Per-request samples move from Postgres arrays to bytea holding Postgres's own
// binary form of each value (float8send / int4send: IEEE-754 float64 or int32, big-endian),
// one after another; a null sample (a one-token request's TPOT) is NaN. Parsing and printing
// array text cost seconds for a report of a million inter-token gaps; bytes cost milliseconds.
// Also `itl_sample`: the inter-token gaps comparisons use, chosen at ingest (null for runs stored
// before it: comparisons then read every gap).
import { type Kysely, sql } from 'kysely'

const F8 = ['start_ms', 'ttft_ms', 'tpot_ms', 'e2el_ms', 'itl_ms', 'dispatch_delay_ms']
const I4 = ['itl_counts', 'input_tokens', 'output_tokens']

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create function infergate_pack_f8(xs double precision[]) returns bytea language sql immutable as $$
      select coalesce(string_agg(coalesce(float8send(x), float8send('NaN'::float8)), ''::bytea order by i), ''::bytea)
      from unnest(xs) with ordinality as u(x, i)
    $$`.execute(db)
  await sql`
    create function infergate_pack_i4(xs integer[]) returns bytea language sql immutable as $$
      select coalesce(string_agg(int4send(x), ''::bytea order by i), ''::bytea)
      from unnest(xs) with ordinality as u(x, i)
    $$`.execute(db)
  for (const c of F8) {
    // dispatch_delay_ms is null as a whole outside open loop, and stays so.
    await sql`alter table trials alter column ${sql.ref(c)} type bytea using (case when ${sql.ref(c)} is null then null else infergate_pack_f8(${sql.ref(c)}) end)`.execute(
      db,
    )
  }
  for (const c of I4) {
    await sql`alter table trials alter column ${sql.ref(c)} type bytea using infergate_pack_i4(${sql.ref(c)})`.execute(
      db,
    )
  }
  await sql`drop function infergate_pack_f8(double precision[])`.execute(db)
  await sql`drop function infergate_pack_i4(integer[])`.execute(db)
  await db.schema.alterTable('trials').addColumn('itl_sample', 'bytea').execute()
  // Float bytes barely compress: storing them as they are saves pglz's time on every write.
  for (const c of [...F8, ...I4, 'itl_sample']) {
    await sql`alter table trials alter column ${sql.ref(c)} set storage external`.execute(db)
  }
}

// No down: SQL has no way back from float8 bytes to a number. Restore a backup instead.
