// infergate upload against the real service on loopback (both database engines), from
// temporary git checkouts made here: git fields read from the checkout, the verdict as the exit
// code, bad input named, and a failing service retried a bounded number of times.
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compareRuns } from '../core/detect/compare.ts'
import { repositoryOfRemote } from '../core/git-context.ts'
import { parseReport, type Report } from '../core/report.ts'
import { DEFAULT_CONFIG } from '../service/app.ts'
import { type RunningService, startService } from '../service/server.ts'
import { engine, freshDatabase } from './db-helpers.ts'
import { cli, tempDir } from './helpers.ts'
import { makeReport, type TrialSpec } from './report-factory.ts'

let service: RunningService
let drop: () => Promise<void>
let token: string
beforeAll(async () => {
  const fresh = await freshDatabase()
  drop = fresh.drop
  service = await startService(
    fresh.target,
    { ...DEFAULT_CONFIG, adminToken: 'adm' },
    { host: '127.0.0.1', port: 0 },
  )
  const created = await fetch(`${service.url}/api/v1/projects`, {
    method: 'POST',
    headers: { authorization: 'Bearer adm', 'content-type': 'application/json' },
    body: JSON.stringify({ owner: 'acme', repo: 'llm' }),
  })
  expect(created.status).toBe(201)
  token = ((await created.json()) as { token: string }).token
})
afterAll(async () => {
  await service?.close()
  await drop?.()
})

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
    cwd,
    encoding: 'utf8',
  }).trim()

/** A checkout with one commit on `branch` and `origin` at `remote`; answers its folder and HEAD. */
function checkout(remote: string | null, branch = 'main'): { dir: string; head: string } {
  const dir = tempDir()
  git(dir, 'init', '-q', '-b', branch)
  if (remote) git(dir, 'remote', 'add', 'origin', remote)
  writeFileSync(join(dir, 'infergate.yaml'), 'benchmark: bench\n')
  git(dir, 'add', 'infergate.yaml')
  git(dir, 'commit', '-q', '-m', 'first')
  return { dir, head: git(dir, 'rev-parse', 'HEAD') }
}

/** A report as `infergate bench` writes it on a laptop: no CI identity, no git fields. */
let seed = 500
function localReport(spec: TrialSpec = {}, git: Partial<Report['git']> = {}): Report {
  const r = makeReport(seed++, [spec])
  return parseReport({
    ...r,
    ci: null,
    git: {
      repository: null,
      sha: null,
      ref: null,
      branch: null,
      base_branch: null,
      pr_number: null,
      event_name: null,
      ...git,
    },
  })
}

function writeReport(dir: string, r: unknown, name = 'report.json'): string {
  const path = join(dir, name)
  writeFileSync(path, JSON.stringify(r))
  return path
}

const upload = (args: string[], cwd: string, env: NodeJS.ProcessEnv = { INFERGATE_TOKEN: token }) =>
  cli(['upload', ...args], env, cwd)

async function storedGit(id: string): Promise<Report['git']> {
  const res = await fetch(`${service.url}/api/v1/runs/${id}`, {
    headers: { authorization: `Bearer ${token}` },
  })
  expect(res.status).toBe(200)
  return ((await res.json()) as { report: Report }).report.git
}

const runId = (stdout: string) => stdout.match(/^run ([0-9a-f-]{36})/)?.[1]

describe('the origin remote as owner/repo', () => {
  it.each([
    ['https://github.com/acme/llm.git', 'acme/llm'],
    ['https://github.com/acme/llm', 'acme/llm'],
    ['https://github.com/acme/llm/', 'acme/llm'],
    ['https://x-access-token:s3cret@github.com/acme/llm.git', 'acme/llm'],
    ['http://ghe.example.com/acme/llm.git', 'acme/llm'],
    ['git@github.com:acme/llm.git', 'acme/llm'],
    ['git@github.com:acme/llm', 'acme/llm'],
    ['github.com:acme/llm.git', 'acme/llm'],
    ['ssh://git@github.com/acme/llm.git', 'acme/llm'],
    ['ssh://git@ghe.example.com:2222/acme/llm.git', 'acme/llm'],
    ['git://github.com/acme/llm.git', 'acme/llm'],
    ['/srv/git/acme/llm.git', null],
    ['../llm', null],
    ['file:///srv/git/acme/llm.git', null],
    ['https://gitlab.example.com/group/sub/llm.git', null],
    ['https://github.com/acme', null],
  ])('%s → %s', (remote, repository) => {
    expect(repositoryOfRemote(remote)).toBe(repository)
  })
})

describe(`infergate upload on ${engine}`, () => {
  it('fills the git fields from the checkout, posts, prints the run, its verdict and where it is', async () => {
    const { dir, head } = checkout('git@github.com:acme/llm.git')
    const file = writeReport(dir, localReport())
    const r = await upload([file, '--service', service.url], dir)
    expect(r.code, r.stderr).toBe(0)
    const id = runId(r.stdout)!
    expect(id).toBeDefined()
    expect(r.stdout).toContain('\nbench: no baseline (against 0 baseline runs)\n')
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe(
      `comparison: ${service.url}/api/v1/runs/${id}/comparison`,
    )
    expect(r.stderr).toBe(
      `infergate upload: from the checkout: git.repository acme/llm, git.sha ${head.slice(0, 12)}, git.branch main, git.ref refs/heads/main\n`,
    )
    expect(await storedGit(id)).toEqual({
      repository: 'acme/llm',
      sha: head,
      ref: 'refs/heads/main',
      branch: 'main',
      base_branch: null,
      pr_number: null,
      event_name: null,
    })
    // The report without a CI identity is still one run: posting it again changes nothing.
    const again = await upload([file, '--service', service.url], dir)
    expect(again.code).toBe(0)
    expect(runId(again.stdout)).toBe(id)
    expect(again.stdout).toContain('(already stored: the same report was posted before)')
  })

  it('flags win over the report and the checkout; https credentials never show; a detached HEAD has no branch', async () => {
    const { dir, head } = checkout('https://x-access-token:s3cret@github.com/acme/llm.git')
    git(dir, 'checkout', '-q', '--detach')
    const file = writeReport(dir, localReport({}, { branch: 'from-report' }))
    const r = await upload(
      [file, '--service', service.url, '--token', token, '--git-branch', 'nightly', '--git-pr', '9'],
      dir,
      {},
    )
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout + r.stderr).not.toContain('s3cret')
    expect(r.stderr).toContain(`from the checkout: git.repository acme/llm, git.sha ${head.slice(0, 12)}\n`)
    expect(await storedGit(runId(r.stdout)!)).toMatchObject({
      repository: 'acme/llm',
      sha: head,
      branch: 'nightly',
      ref: null, // HEAD is detached, and the branch is not the checkout's anyway
      pr_number: 9,
    })
  })

  it("a report of another commit keeps its own commit and branch: only the repository is the checkout's", async () => {
    const { dir } = checkout('git@github.com:acme/llm.git')
    writeFileSync(join(dir, 'infergate.yaml'), 'benchmark: changed\n')
    const other = 'b'.repeat(40)
    const file = writeReport(dir, localReport({}, { sha: other }))
    const r = await upload([file, '--service', service.url], dir)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toBe('infergate upload: from the checkout: git.repository acme/llm\n')
    expect(await storedGit(runId(r.stdout)!)).toMatchObject({ sha: other, branch: null, ref: null })
    // The same report of HEAD, with uncommitted changes in the checkout: said, not refused.
    const head = writeReport(dir, localReport(), 'head.json')
    const dirty = await upload([head, '--service', service.url], dir)
    expect(dirty.code).toBe(0)
    expect(dirty.stderr).toContain('warning: the checkout has uncommitted changes')
  })

  it('a regression is exit 1, with the baselines named by their commits as in the PR comment', async () => {
    const { dir } = checkout('git@github.com:acme/llm.git', 'gate')
    const shas = ['1', '2', '3'].map((d) => d.repeat(40))
    for (const [i, sha] of shas.entries()) {
      const file = writeReport(dir, localReport({}), `main-${i}.json`)
      const r = await upload(
        [file, '--service', service.url, '--git-sha', sha, '--git-branch', 'main-of-gate'],
        dir,
      )
      expect(r.code, r.stderr).toBe(0)
    }
    const pr = writeReport(dir, localReport({ ttft: 80 }), 'pr.json')
    const r = await upload(
      [
        pr,
        '--service',
        service.url,
        '--git-sha',
        'f'.repeat(40),
        '--git-branch',
        'slow',
        '--git-base-branch',
        'main-of-gate',
        '--git-pr',
        '12',
      ],
      dir,
    )
    expect(r.code, r.stdout + r.stderr).toBe(1)
    expect(r.stdout).toContain('bench: regression (against 3 baseline runs)')
    expect(r.stdout).toMatch(/ttft_ms .* ✖ regression/)
    expect(r.stdout).toContain('\nbaselines: 1111111, 2222222, 3333333\n')
  })

  it('bad input is exit 2 naming the flag, the field or what the service said', async () => {
    const { dir } = checkout('git@github.com:acme/llm.git')
    const good = writeReport(dir, localReport())
    const bad = writeReport(dir, { ...localReport(), schema: 'nope' }, 'bad.json')
    const cases: [string[], NodeJS.ProcessEnv, string][] = [
      [[bad, '--service', service.url], { INFERGATE_TOKEN: token }, `${bad}: invalid report: schema:`],
      [[good], { INFERGATE_TOKEN: token }, '--service is required (or $INFERGATE_SERVICE_URL)'],
      [[good, '--service', service.url], {}, '--token is required (or $INFERGATE_TOKEN)'],
      [
        [good, '--service', 'ftp://x'],
        { INFERGATE_TOKEN: token },
        '--service: service URL ftp://x: expected',
      ],
      [
        [good, '--service', service.url, '--git-repository', 'acme'],
        { INFERGATE_TOKEN: token },
        '--git-repository: expected owner/repo',
      ],
      [
        [good, '--service', service.url, '--timeout', '0'],
        { INFERGATE_TOKEN: token },
        '--timeout: expected a number > 0',
      ],
      [
        [good, '--service', service.url],
        { INFERGATE_TOKEN: 'igt_wrong' },
        'the service refused the report: POST /api/v1/runs: 401 unknown token',
      ],
      [
        [good, '--service', service.url, '--git-repository', 'acme/other'],
        { INFERGATE_TOKEN: token },
        'the service refused the report: POST /api/v1/runs: 403 this token belongs to acme/llm',
      ],
      [[], {}, 'give the report file'],
    ]
    for (const [args, env, message] of cases) {
      const r = await upload(args, dir, env)
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.stderr).toContain(`infergate upload: error: ${message}`)
      expect(r.stdout).toBe('')
    }
    // The service URL from the environment, outside any checkout: nowhere to read the repository from.
    const outside = tempDir()
    const file = writeReport(outside, localReport())
    const r = await upload([file], outside, { INFERGATE_TOKEN: token, INFERGATE_SERVICE_URL: service.url })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(
      'infergate upload: error: git.repository: the report has none and no origin remote gives it: add --git-repository OWNER/REPO',
    )
    const named = await upload([file, '--git-repository', 'acme/llm'], outside, {
      INFERGATE_TOKEN: token,
      INFERGATE_SERVICE_URL: service.url,
    })
    expect(named.code, named.stderr).toBe(0)
  })

  it('--help says what each exit code means', async () => {
    const r = await cli(['upload', '--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Usage: infergate upload FILE --service URL')
    expect(r.stdout).toContain('[$INFERGATE_TOKEN]')
    expect(r.stdout).toMatch(
      /Exit codes:\n {2}0 .*\n {2}1 .*\n {2}2 .*\n {2}3 {2}the service could not be reached or kept failing/,
    )
  })
})

describe('infergate upload and a service in trouble', () => {
  /** A loopback server speaking the service's protocol: answers each POST with `answer`. */
  async function fake(
    answer: (n: number) => { status: number; body: unknown; headers?: Record<string, string> },
  ) {
    let n = 0
    const server = createServer((req, res) => {
      req.resume()
      req.on('end', () => {
        const a = answer(++n)
        res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers })
        res.end(JSON.stringify(a.body))
      })
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls: () => n, server }
  }

  it('a service that keeps failing: a bounded number of attempts, then exit 3', async () => {
    const s = await fake(() => ({
      status: 503,
      body: { error: { code: 'unavailable', message: 'database down' } },
      headers: { 'retry-after': '0' },
    }))
    try {
      const { dir } = checkout('git@github.com:acme/llm.git')
      const r = await upload([writeReport(dir, localReport()), '--service', s.url], dir, {
        INFERGATE_TOKEN: 't',
      })
      expect(r.code).toBe(3)
      expect(r.stderr).toContain(
        'infergate upload: error: POST /api/v1/runs: 503 database down (after 4 attempts)',
      )
      expect(s.calls()).toBe(4)
      expect(r.stdout).toBe('')
    } finally {
      s.server.close()
    }
  })

  it('a service older than baseline_shas: the baselines are named by run id', async () => {
    const base = ['aaaaaaaa-0000-4000-8000-000000000001', 'bbbbbbbb-0000-4000-8000-000000000002']
    const comparison = compareRuns(
      { id: 'cccccccc-0000-4000-8000-000000000003', report: makeReport(1, [{}]) },
      base.map((id, i) => ({ id, report: makeReport(10 + i, [{}]) })),
    )
    const s = await fake(() => ({
      status: 201,
      body: { id: 'cccccccc-0000-4000-8000-000000000003', comparison, notifications: [] },
    }))
    try {
      const { dir } = checkout('git@github.com:acme/llm.git')
      const r = await upload([writeReport(dir, localReport()), '--service', s.url], dir, {
        INFERGATE_TOKEN: 't',
      })
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toContain('\nbaselines: aaaaaaaa, bbbbbbbb\n')
    } finally {
      s.server.close()
    }
  })
})
