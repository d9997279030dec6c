// Mutated reports for the ingest fuzz (test/fuzz.test.ts, and npm run bench:fuzz for the figures
// in docs/performance.md): a valid report with one to three values replaced by what real
// clients, buggy scripts and attackers send — values at and past the database's limits, strings
// Postgres cannot hold, wrong types, missing and extra keys, deep nesting, duplicate trials.
// The valid reports mutated take turns: a v2 report of one server, a v2 A/B report (arms,
// paired, each trial's arm and block) and a v1 report, so every version the schema reads is
// stored and read back. Seeded: a failure names the seed and the body index, and comes back the same.
import type { Kysely } from 'kysely'
import { parseReport, type Report } from '../../core/report.ts'
import { Rng } from '../../core/rng.ts'
import type { createApp } from '../../service/app.ts'
import type { Database } from '../../service/db/database.ts'
import { ciIdentity, makePairedReport, makeReport } from '../report-factory.ts'

type Json = null | boolean | number | string | Json[] | { [k: string]: Json }

const deep = (levels: number): Json => {
  let v: Json = 1
  for (let i = 0; i < levels; i++) v = { a: v }
  return v
}
// JSON.stringify recurses (and overflows near 5,000 levels) while JSON.parse does not: the
// deepest value travels as a marker, spliced into the body's text.
const DEEP = '\u0001deep'
const DEEP_TEXT = `${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}`

const VALUES: (() => Json)[] = [
  () => 'x\u0000y',
  () => 'x\ud800',
  () => '\udc00',
  () => '🚀 ünïcödé',
  () => '',
  () => ' ',
  () => 'x'.repeat(7_000),
  () => 'é'.repeat(300),
  () => 2 ** 31 - 1,
  () => 2 ** 31,
  () => 4294967304,
  () => 2 ** 53 + 2,
  () => -1,
  () => -0,
  () => 0,
  () => 1.5,
  () => 1e308,
  () => 5e-324,
  () => '12',
  () => null,
  () => true,
  () => ({}),
  () => [],
  () => [1, 2, 3],
  () => DEEP,
  () => deep(20),
  () => '0000-01-01T00:00:00Z',
  () => '0001-01-01T00:00:00+14:00',
  () => '2024-01-01T00:00:00-23:59',
  () => '9999-12-31T23:59:59-12:00',
  () => '1969-12-31T23:59:59Z',
  () => '2026-02-30T00:00:00Z',
  () => '2026-11-01T10:00:00.123456+05:30',
  () => 'acme/llm',
  () => 'Acme/LLM',
  () => 'baseline',
  () => 'candidate',
  () => 'infergate.report/v1',
  () => 'infergate.report/v2',
]

/** Every path to a value inside v (objects and arrays too), the root excluded. */
function paths(v: Json, at: (string | number)[] = [], out: (string | number)[][] = []) {
  if (v !== null && typeof v === 'object') {
    // Long sample arrays: a few of their entries stand for the rest.
    const entries: [string | number, Json][] = Array.isArray(v)
      ? v.slice(0, 3).map((x, i) => [i, x] as [number, Json])
      : Object.entries(v)
    for (const [k, x] of entries) {
      out.push([...at, k])
      paths(x, [...at, k], out)
    }
  }
  return out
}

function parentOf(root: Json, path: (string | number)[]): Record<string | number, Json> {
  let v = root as Record<string | number, Json>
  for (const k of path.slice(0, -1)) v = v[k] as Record<string | number, Json>
  return v
}

const CONFIG = { tp: 1, image: 'vllm/vllm-openai:v0.11.0', args: ['--x'] }

export function baseReport(): Report {
  const r = makeReport(3, [{ requests: 6 }, { requests: 5, failed: 1 }])
  return parseReport({ ...r, environment: { ...r.environment, config: CONFIG } })
}

/** An A/B report (v2): two blocks, the arms' environments apart in engine version and config. */
export function basePairedReport(): Report {
  const r = makePairedReport(
    3,
    [
      { baseline: { requests: 4 }, candidate: { requests: 5, failed: 1 } },
      { baseline: { requests: 3, outputTokens: 1 }, candidate: { requests: 4 } },
    ],
    { baselineEngineVersion: '0.10.0', paired: { time_budget_s: 600 } },
  )
  const environment = { ...r.environment, config: CONFIG }
  const arms = r.arms!.map((a) =>
    a.name === 'candidate'
      ? { ...a, environment }
      : { ...a, environment: { ...a.environment, config: { ...CONFIG, image: 'vllm/vllm-openai:v0.10.0' } } },
  )
  return parseReport({ ...r, environment, arms })
}

/** The valid reports the bodies mutate, in turn: v2 of one server, v2 A/B, v1. */
export function baseReports(): Report[] {
  return [baseReport(), basePairedReport(), parseReport({ ...baseReport(), schema: 'infergate.report/v1' })]
}

/** Body `i` of seed `seed`, as text: the base report with 1–3 mutations and an identity of its own. */
export function mutatedBody(seed: number, i: number, base: Report): string {
  const rng = new Rng(seed, i)
  const body = JSON.parse(JSON.stringify({ ...base, ci: ciIdentity(`fuzz-${seed}-${i}`) })) as Json
  const n = 1 + rng.int(3)
  for (let m = 0; m < n; m++) {
    const all = paths(body)
    const path = all[rng.int(all.length)]!
    const parent = parentOf(body, path)
    const key = path.at(-1)!
    const op = rng.int(10)
    if (op === 0 && !Array.isArray(parent)) delete parent[key]
    else if (op === 1 && !Array.isArray(parent)) parent[`extra_${m}`] = 'x'
    else if (op === 2 && Array.isArray(parent)) parent.push(JSON.parse(JSON.stringify(parent[key as number])))
    else if (op === 3 && !Array.isArray(parent)) {
      // A key Postgres cannot hold, in a free-form record.
      parent[rng.int(2) ? 'k\u0000' : 'k\ud800'] = 1
    } else parent[key] = VALUES[rng.int(VALUES.length)]!()
  }
  return JSON.stringify(body).replaceAll(JSON.stringify(DEEP), DEEP_TEXT)
}

export interface FuzzFigures {
  bodies: number
  /** Stored as new runs (201). */
  accepted: number
  /** Of them, A/B reports (with arms) and v1 reports. */
  acceptedPaired: number
  acceptedV1: number
  /** Answered as a run stored before (200): the mutation hit its identity. */
  reposts: number
  serverErrors: string[]
  /** 4xx whose message names no field. */
  unnamed: string[]
  /** Accepted reports that did not read back byte for byte as the schema parsed them. */
  mismatches: string[]
  /** Runs stored without their trials, or stored although refused. */
  partialWrites: number
}

/** Posts `bodies` mutated reports of `seed` through the app and reads each accepted one back. */
export async function fuzzIngest(
  app: ReturnType<typeof createApp>,
  db: Kysely<Database>,
  token: string,
  seed: number,
  bodies: number,
): Promise<FuzzFigures> {
  const bases = baseReports()
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
  const before = (await db.selectFrom('runs').select('id').execute()).length
  const f: FuzzFigures = {
    bodies,
    accepted: 0,
    acceptedPaired: 0,
    acceptedV1: 0,
    reposts: 0,
    serverErrors: [],
    unnamed: [],
    mismatches: [],
    partialWrites: 0,
  }
  const ids = new Set<string>()
  for (let i = 0; i < bodies; i++) {
    const body = mutatedBody(seed, i, bases[i % bases.length]!)
    const res = await app.request('/api/v1/runs', { method: 'POST', headers, body })
    const answer = (await res.json()) as { id?: string; error?: { message: string } }
    if (res.status >= 500) f.serverErrors.push(`#${i}: ${res.status} ${answer.error?.message}`)
    else if (res.status >= 400) {
      // "invalid report: scenarios[0].trials[1].index: …", or a message that names the key.
      if (
        !/^invalid report: [\w[\].]+|^interrupted: |^git\.repository|^this token belongs/.test(
          answer.error?.message ?? '',
        )
      ) {
        f.unnamed.push(`#${i}: ${answer.error?.message}`)
      }
    } else if (res.status === 200) {
      // A re-post: the mutation gave it the identity of a run stored before (say, ci.run_id " ").
      if (!ids.has(answer.id ?? '')) f.mismatches.push(`#${i}: 200 for a run never stored (${answer.id})`)
      f.reposts++
    } else {
      f.accepted++
      ids.add(answer.id ?? '')
      const parsed = parseReport(JSON.parse(body))
      if (parsed.arms) f.acceptedPaired++
      if (parsed.schema === 'infergate.report/v1') f.acceptedV1++
      const expected = JSON.stringify(parsed)
      const got = await app.request(`/api/v1/runs/${answer.id}`, { headers })
      const text =
        got.status === 200
          ? JSON.stringify(((await got.json()) as { report: unknown }).report)
          : `HTTP ${got.status}`
      if (text !== expected) f.mismatches.push(`#${i}: read back ${text.slice(0, 200)}`)
    }
  }
  const runs = (await db.selectFrom('runs').select('id').execute()).length - before
  const orphans = await db
    .selectFrom('runs')
    .leftJoin('trials', 'trials.run_id', 'runs.id')
    .select('runs.id')
    .where('trials.id', 'is', null)
    .execute()
  f.partialWrites = Math.abs(runs - f.accepted) + orphans.length
  return f
}
