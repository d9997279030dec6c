import { spawn, spawnSync } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { parseReport } from '../core/report.ts'
import { migrations } from '../migrations/index.ts'
import { migrateToLatest, openDatabase } from '../service/db/connect.ts'
import { engine } from './db-helpers.ts'
import { FakeGithub } from './fakes/github-api.ts'
import { cli, tempDir } from './helpers.ts'
import { makeReport } from './report-factory.ts'
import { serveDatabase, startServe } from './serve-process.ts'

const drops: (() => Promise<void>)[] = []
afterAll(async () => {
  for (const d of drops) await d()
})

async function databaseEnv() {
  const d = await serveDatabase()
  drops.push(d.drop)
  return d
}

describe(`infergate serve on ${engine}`, () => {
  it('keeps every run across a restart', async () => {
    const { env, args } = await databaseEnv()
    let s = await startServe({ ...env, INFERGATE_BASELINE_RUNS: '7' }, args)
    expect(s.logs.at(-1)).toMatchObject({ level: 'info', baseline_runs: 7, history_runs: 20 })
    const created = await fetch(`${s.url}/api/v1/projects`, {
      method: 'POST',
      headers: { authorization: 'Bearer adm', 'content-type': 'application/json' },
      body: JSON.stringify({ owner: 'acme', repo: 'llm' }),
    })
    expect(created.status).toBe(201)
    const { token } = (await created.json()) as { token: string }
    const r = makeReport(1, [{ requests: 30 }])
    const report = parseReport({ ...r, git: { ...r.git, repository: 'acme/llm' } })
    const posted = await fetch(`${s.url}/api/v1/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(report),
    })
    expect(posted.status).toBe(201)
    const { id } = (await posted.json()) as { id: string }
    // Structured logs: the request, and what was ingested.
    await new Promise((r) => setTimeout(r, 100))
    expect(s.logs).toContainEqual(
      expect.objectContaining({
        msg: 'request',
        method: 'POST',
        path: '/api/v1/runs',
        status: 201,
        project: 'acme/llm',
      }),
    )
    expect(s.logs).toContainEqual(
      expect.objectContaining({ msg: 'run ingested', run_id: id, status: 'no_baseline' }),
    )
    expect(await s.stop()).toBe(0)
    expect(s.logs.at(-1)).toMatchObject({ msg: 'stopping', signal: 'SIGTERM' })

    s = await startServe(env, args)
    const got = await fetch(`${s.url}/api/v1/runs/${id}`, { headers: { authorization: `Bearer ${token}` } })
    expect(got.status).toBe(200)
    expect(((await got.json()) as { report: unknown }).report).toEqual(report)
    expect((await fetch(`${s.url}/readyz`)).status).toBe(200)
    expect(await s.stop()).toBe(0)
  })

  it('the bundled CLI (the package bin) runs the embedded database', async () => {
    const bin = join(import.meta.dirname, '../dist/infergate.js')
    const dir = join(tempDir(), 'bundled')
    const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [bin, 'migrate', '--data-dir', dir], {
        env: { ...process.env, DATABASE_URL: '' },
      })
      let out = ''
      child.stdout.on('data', (c: Buffer) => {
        out += c
      })
      child.stderr.on('data', (c: Buffer) => {
        out += c
      })
      child.once('exit', (code) => resolve({ code, out }))
    })
    expect(r.out).toContain(`PGlite at ${dir}: applied ${Object.keys(migrations).join(', ')}\n`)
    expect(r.code).toBe(0)
  })

  it('the bundled service reports to GitHub as an App, configured from its environment', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const github = await new FakeGithub({
      app: {
        id: 99,
        publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        installations: { 'acme/llm': 5 },
      },
    }).start()
    const { env, args } = await databaseEnv()
    const s = await startServe(
      {
        ...env,
        INFERGATE_GITHUB_APP_ID: '99',
        INFERGATE_GITHUB_APP_PRIVATE_KEY: privateKey
          .export({ type: 'pkcs1', format: 'pem' })
          .toString()
          .replaceAll('\n', '\\n'),
        INFERGATE_GITHUB_API_URL: github.url,
      },
      args,
      join(import.meta.dirname, '../dist/infergate.js'),
    )
    try {
      expect(s.logs).toContainEqual(
        expect.objectContaining({ msg: 'reporting to GitHub', as: 'GitHub App 99 (check runs)' }),
      )
      const created = await fetch(`${s.url}/api/v1/projects`, {
        method: 'POST',
        headers: { authorization: 'Bearer adm', 'content-type': 'application/json' },
        body: JSON.stringify({ owner: 'acme', repo: 'llm' }),
      })
      const { token } = (await created.json()) as { token: string }
      const r = makeReport(2, [{ requests: 30 }])
      const git = {
        ...r.git,
        repository: 'acme/llm',
        sha: 'a'.repeat(40),
        pr_number: 12,
        event_name: 'pull_request',
      }
      const posted = await fetch(`${s.url}/api/v1/runs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(parseReport({ ...r, git })),
      })
      expect(posted.status).toBe(201)
      const until = Date.now() + 15_000
      while ((github.checkRuns.length === 0 || github.comments.length === 0) && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 50))
      }
      expect(github.checkRuns.map((c) => [c.head_sha, c.name, c.conclusion])).toEqual([
        ['a'.repeat(40), 'infergate/bench', 'neutral'],
      ])
      expect(github.comments.map((c) => c.issue_number)).toEqual([12])
    } finally {
      await s.stop()
      await github.close()
    }
  })

  it('settings from the environment are checked like flags, naming the variable', async () => {
    const r = await cli(['serve'], { INFERGATE_PORT: 'http' })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('$INFERGATE_PORT: expected an integer')
    const flag = await cli(['serve', '--baseline-runs', '0'], {})
    expect(flag.code).toBe(2)
    expect(flag.stderr).toContain('--baseline-runs')
    const pool = await cli(['serve'], {
      DATABASE_URL: 'postgres://x@127.0.0.1:1/db',
      INFERGATE_DB_POOL_MAX: '0',
    })
    expect(pool.code).toBe(2)
    expect(pool.stderr).toContain('$INFERGATE_DB_POOL_MAX')
    const queue = await cli(['serve'], { INFERGATE_INGEST_QUEUE_TIMEOUT_MS: 'soon' })
    expect(queue.code).toBe(2)
    expect(queue.stderr).toContain('$INFERGATE_INGEST_QUEUE_TIMEOUT_MS')
    const app = await cli(['serve'], { INFERGATE_GITHUB_APP_ID: '1' })
    expect(app.code).toBe(1)
    expect(app.stderr).toContain('INFERGATE_GITHUB_APP_ID is set but no private key')
  })

  it('infergate migrate applies the migrations once', async () => {
    const { env, args } = await databaseEnv()
    const first = await cli(['migrate', ...args], env)
    expect(first.code).toBe(0)
    expect(first.stdout).toMatch(
      /applied 0001_initial, 0002_run_comparison, 0003_pinned_baselines, 0004_packed_samples/,
    )
    const second = await cli(['migrate', ...args], env)
    expect(second.stdout).toMatch(/up to date/)
  })
})

describe.runIf(engine === 'pglite')('one process per embedded data directory', () => {
  it('a second serve on the same --data-dir refuses to start, naming the holder; the first keeps serving', async () => {
    const dir = join(tempDir(), 'shared-data')
    const first = await startServe({ DATABASE_URL: '' }, ['--data-dir', dir])
    try {
      const second = await cli(['serve', '--port', '0', '--data-dir', dir], { DATABASE_URL: '' })
      expect(second.code).not.toBe(0)
      expect(second.stderr).toContain(`${dir} is in use by another infergate process (pid ${first.child.pid}`)
      expect((await fetch(`${first.url}/readyz`)).status).toBe(200)
    } finally {
      expect(await first.stop()).toBe(0)
    }
    // Stopped cleanly: the lock went with it.
    expect(existsSync(join(dir, 'infergate.lock'))).toBe(false)
  })

  it('a lock left by a process that died is taken over without cleaning up by hand', async () => {
    const dir = join(tempDir(), 'crashed')
    mkdirSync(dir)
    // The lock a killed process leaves: its pid, which no process has any more.
    const dead = spawnSync(process.execPath, ['-e', '']).pid
    const since = new Date().toISOString()
    writeFileSync(
      join(dir, 'infergate.lock'),
      JSON.stringify({ pid: dead, start: '1', host: hostname(), since }),
    )
    const db = openDatabase({ dataDir: dir })
    try {
      expect(await migrateToLatest(db)).toEqual(Object.keys(migrations))
      expect(JSON.parse(readFileSync(join(dir, 'infergate.lock'), 'utf8')).pid).toBe(process.pid)
      // While this process holds it, another opening fails and names it.
      const other = openDatabase({ dataDir: dir })
      await expect(migrateToLatest(other)).rejects.toThrow(
        `in use by another infergate process (pid ${process.pid}`,
      )
      await other.destroy()
    } finally {
      await db.destroy()
    }
    expect(existsSync(join(dir, 'infergate.lock'))).toBe(false)
  })

  it('--data-dir naming a file says so', async () => {
    const file = join(tempDir(), 'not-a-folder')
    writeFileSync(file, 'x')
    const r = await cli(['migrate', '--data-dir', file], { DATABASE_URL: '' })
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain(`${file} is not a directory`)
  })
})
