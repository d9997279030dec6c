// The OpenAPI document (/api/v1/openapi.json) against the three things it must agree with: the
// OpenAPI 3.1 schema itself, the routes Hono really serves, and docs/api.md. And its schemas
// against real bodies: a report the service stores validates, one it refuses does not.
import { readFileSync } from 'node:fs'
import { Validator } from '@seriousme/openapi-schema-validator'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp, DEFAULT_CONFIG } from '../service/app.ts'
import { migrateToLatest, openDatabase } from '../service/db/connect.ts'
import { engine, freshDatabase } from './db-helpers.ts'
import { makeReport } from './report-factory.ts'

let db: ReturnType<typeof openDatabase>
let drop: () => Promise<void>
let app: ReturnType<typeof createApp>
let doc: {
  openapi: string
  paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, unknown> }>>
  components: { schemas: Record<string, unknown> }
}
beforeAll(async () => {
  const fresh = await freshDatabase()
  drop = fresh.drop
  db = openDatabase(fresh.target)
  await migrateToLatest(db)
  app = createApp(db, DEFAULT_CONFIG)
  const res = await app.request('/api/v1/openapi.json')
  expect(res.status).toBe(200)
  doc = (await res.json()) as typeof doc
})
afterAll(async () => {
  await db.destroy()
  await drop()
})

/** `GET /api/v1/runs/{id}` as `GET /api/v1/runs/:id`, the way Hono and docs/api.md write it. */
const operations = () =>
  Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
  )

describe(`the OpenAPI document on ${engine}`, () => {
  it('is valid OpenAPI 3.1', async () => {
    expect(doc.openapi).toBe('3.1.0')
    const validator = new Validator()
    const result = await validator.validate(structuredClone(doc))
    expect(result.errors ?? []).toEqual([])
    expect(result.valid).toBe(true)
  })

  it('describes every route the service answers outside the dashboard, and no other', () => {
    const served = new Set(
      app.routes
        .filter((r) => r.method !== 'ALL')
        .filter((r) => /^\/(api\/|healthz$|readyz$|metrics$)/.test(r.path))
        .map((r) => `${r.method} ${r.path}`),
    )
    expect(new Set(operations())).toEqual(served)
  })

  it('every operation is in docs/api.md, and docs/api.md names none the service lacks', () => {
    const md = readFileSync(new URL('../docs/api.md', import.meta.url), 'utf8')
    for (const op of operations()) expect(md, op).toContain(`\`${op}`)
    // The service's own paths (the page also names GitHub's, which the service calls).
    const documented = [
      ...md.matchAll(/`(GET|POST|PUT|DELETE|PATCH) (\/(?:api\/|healthz|readyz|metrics)[^\s`?]*)/g),
    ].map((m) => `${m[1]} ${m[2]}`)
    expect(documented.length).toBeGreaterThan(10)
    for (const op of documented) expect(operations(), op).toContain(op)
  })

  it('every operation says who may call it, and what its errors look like', () => {
    const open = new Set(['GET /healthz', 'GET /readyz', 'GET /api/v1/openapi.json'])
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const name = `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`
        if (open.has(name)) continue
        expect(op.security?.length, name).toBeGreaterThan(0)
        expect(Object.keys(op.responses), name).toContain('401')
        // OIDC tokens may be refused by the project's policy, or not be checkable (issuer away).
        if (JSON.stringify(op.security).includes('githubOidc'))
          expect(Object.keys(op.responses), name).toEqual(expect.arrayContaining(['403', '503']))
      }
    }
  })

  it("the Report schema takes a report the service stores, and refuses what the service's schema refuses", () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true })
    // The document's own references (#/components/schemas/…) resolve within it.
    ajv.addSchema({ $id: 'api', components: doc.components })
    // As it goes over the wire: JSON (undefined fields absent).
    const report = JSON.parse(JSON.stringify(makeReport(1, [{ requests: 20 }])))
    const check = (body: unknown) => {
      const ok = ajv.validate({ $ref: 'api#/components/schemas/Report' }, body)
      return ok ? [] : (ajv.errors ?? []).map((e) => `${e.instancePath} ${e.message}`)
    }
    expect(check(report)).toEqual([])
    // A negative latency sample, a wrong schema tag, a missing field: each refused.
    const negative = structuredClone(report)
    negative.scenarios[0]!.trials[0]!.samples.ttft_ms[3] = -1
    expect(check(negative).join('\n')).toMatch(/samples\/ttft_ms\/3/)
    expect(check({ ...report, schema: 'infergate.report/v0' }).length).toBeGreaterThan(0)
    const { benchmark: _, ...noBenchmark } = report
    expect(check(noBenchmark).join('\n')).toMatch(/benchmark/)
  })
})
