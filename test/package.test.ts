// The package as users get it: `npm pack`, then `npm install ./infergate-*.tgz` into an empty
// folder, offline and with an empty npm cache (the bundle is dist/; PGlite, the one module it
// imports at run time, travels inside the tarball as a bundled dependency), and the installed bin
// run through npx: --help, engine-sim and a short bench against it, serve on the embedded
// database. And on a Node older than package.json's engines, the bin's clear refusal instead of
// whatever would break first. npm missing is a failure here, never a skip.
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, realpathSync } from 'node:fs'
import { delimiter, dirname, join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseReport } from '../core/report.ts'
import { tempDir } from './helpers.ts'

const ROOT = resolve(import.meta.dirname, '..')
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string
  version: string
  engines: { node: string }
}
const NEED = Number(pkg.engines.node.match(/^>=\s*(\d+)$/)?.[1])

/** The Node running the tests (24) first on PATH: npm, npx and the bin's `env node` all find it. */
const PATH24 = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`

interface Run {
  code: number
  stdout: string
  stderr: string
}

function run(file: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<Run> {
  return new Promise((done, fail) => {
    execFile(file, args, { ...opts, timeout: 60_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') {
        return fail(new Error(`${file} not found on PATH (${opts.env.PATH}): the package test needs it`))
      }
      const code = error ? (error as { code?: number }).code : 0
      done({ code: typeof code === 'number' ? code : 1, stdout, stderr })
    })
  })
}

let work = ''
let app = ''
let env: NodeJS.ProcessEnv = {}
let packed: { filename: string; files: { path: string }[]; bundled: string[] }
const children: Started[] = []

interface Started {
  child: ChildProcess
  /** stdout's lines so far. */
  lines: string[]
  stderr(): string
  /** The first line (so far or to come) that matches; rejects if the process ends first. */
  line(match: (line: string) => boolean, what: string): Promise<string>
  /** Resolves once every process of the group has closed stdout and stderr (they all exited). */
  closed: Promise<void>
}

/** A long-running npx child in its own process group, so that the group can be stopped by its id. */
function start(args: string[]): Started {
  const child = spawn('npx', ['--no', '--', 'infergate', ...args], {
    cwd: app,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  let stderr = ''
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c
  })
  const lines: string[] = []
  const waiting = new Set<() => void>()
  createInterface({ input: child.stdout! }).on('line', (l) => {
    lines.push(l)
    for (const w of waiting) w()
  })
  const closed = new Promise<void>((done) => child.once('close', () => done()))
  const line = (match: (line: string) => boolean, what: string) =>
    new Promise<string>((done, fail) => {
      const check = () => {
        const found = lines.find(match)
        if (found === undefined) return
        waiting.delete(check)
        done(found)
      }
      waiting.add(check)
      check()
      void closed.then(() => {
        waiting.delete(check)
        fail(
          new Error(
            `${what} ended without the line expected; stdout: ${lines.join('\n')}; stderr: ${stderr}`,
          ),
        )
      })
    })
  const started = { child, lines, stderr: () => stderr, line, closed }
  children.push(started)
  return started
}

/**
 * SIGTERM to the child's process group: npx, the `sh -c` npm runs the bin with, and the bin. (To
 * npx alone it is not enough: npm passes it to sh, and sh does not pass it on: the bin would stay.)
 * Resolves once all of them have exited.
 */
async function stop(s: Started): Promise<void> {
  if (s.child.exitCode === null && s.child.signalCode === null) {
    try {
      process.kill(-s.child.pid!, 'SIGTERM')
    } catch {}
  }
  await s.closed
}

beforeAll(async () => {
  work = tempDir()
  app = join(work, 'app')
  env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('npm_'))),
    PATH: PATH24,
    HOME: work,
    // An empty cache, offline: what installs comes from the tarball alone.
    npm_config_cache: join(work, 'npm-cache'),
    npm_config_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    DATABASE_URL: '',
  }
  const packing = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], {
    cwd: ROOT,
    env,
  })
  expect(packing.code, packing.stderr).toBe(0)
  packed = (JSON.parse(packing.stdout) as (typeof packed)[])[0]!
  mkdirSync(app)
  const install = await run('npm', ['install', join(work, packed.filename)], { cwd: app, env })
  expect(install.code, install.stderr).toBe(0)
}, 120_000)

afterAll(async () => {
  for (const c of children) await stop(c)
})

describe('the packed package', () => {
  it('holds the bundle, the dashboard assets, the docs and the bundled PGlite: no sources, no Action', () => {
    expect(packed.filename).toBe(`${pkg.name}-${pkg.version}.tgz`)
    const paths = packed.files.map((f) => f.path)
    for (const f of [
      'dist/infergate.js',
      'dist/cli.js',
      'dist/load-worker.js',
      'dist/web/uPlot.js',
      'README.md',
    ])
      expect(paths, f).toContain(f)
    expect(paths).toContain('docs/api.md')
    expect(packed.bundled).toEqual(['@electric-sql/pglite'])
    const other = paths.filter(
      (p) =>
        !/^(dist\/|docs\/|node_modules\/@electric-sql\/pglite\/)/.test(p) &&
        !['README.md', 'package.json', 'LICENSE'].includes(p),
    )
    expect(other).toEqual([])
    // The Action runs from a git checkout of its tag, never from npm: its 7 MB stay out.
    expect(paths.filter((p) => p.startsWith('dist/action/'))).toEqual([])
  })

  it('installs into an empty folder offline, with an empty cache', () => {
    expect(realpathSync(join(app, 'node_modules', 'infergate', 'dist', 'infergate.js'))).toBe(
      join(realpathSync(app), 'node_modules', 'infergate', 'dist', 'infergate.js'),
    )
    expect(
      existsSync(join(app, 'node_modules', 'infergate', 'node_modules', '@electric-sql', 'pglite')),
    ).toBe(true)
    expect(existsSync(join(app, 'node_modules', '.bin', 'infergate'))).toBe(true)
  })

  it('installs globally into a prefix, offline, and runs from its bin (what the Dockerfile does)', async () => {
    const prefix = join(work, 'global')
    const install = await run(
      'npm',
      ['install', '--global', '--prefix', prefix, join(work, packed.filename)],
      {
        cwd: work,
        env,
      },
    )
    expect(install.code, install.stderr).toBe(0)
    const r = await run(join(prefix, 'bin', 'infergate'), ['--version'], { cwd: work, env })
    expect(r).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' })
  })

  it('npx infergate --help', async () => {
    const r = await run('npx', ['--no', '--', 'infergate', '--help'], { cwd: app, env })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`infergate ${pkg.version} — catch LLM inference performance regressions`)
    expect(r.stdout).toContain('Usage: infergate <command> [options]')
  })

  it('npx infergate bench against npx infergate engine-sim on 127.0.0.1', async () => {
    const sim = start(['engine-sim', '--host', '127.0.0.1', '--port', '0', '--ttft-ms', '5', '--itl-ms', '1'])
    const line = await sim.line((l) => / at http:\/\//.test(l), 'engine-sim')
    const url = line.match(/ at (http:\/\/127\.0\.0\.1:\d+\/v1)/)?.[1]
    expect(url, line).toBeDefined()
    const out = join(work, 'report.json')
    const r = await run(
      'npx',
      [
        '--no',
        '--',
        'infergate',
        'bench',
        '--url',
        url!,
        '--concurrency',
        '2',
        '--requests',
        '12',
        '--input-tokens',
        '16',
        '--output-tokens',
        '8',
        '--ignore-eos',
        '--progress',
        'off',
        '--out',
        out,
      ],
      { cwd: app, env },
    )
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('concurrency-2')
    const report = parseReport(JSON.parse(readFileSync(out, 'utf8')))
    const trial = report.scenarios[0]!.trials[0]!
    expect(trial.summary).toMatchObject({ completed: 12, failed: 0, total_output_tokens: 12 * 8 })
    await stop(sim)
  })

  it('npx infergate serve on the embedded PGlite answers /healthz and /readyz, serves the dashboard, stops on SIGTERM', async () => {
    const s = start(['serve', '--port', '0', '--data-dir', join(work, 'db')])
    const line = await s.line((l) => l.includes('"infergate serve listening"'), 'serve')
    const log = JSON.parse(line) as { url: string; database: string }
    expect(log.database).toBe(`PGlite at ${join(work, 'db')}`)
    const health = await fetch(`${log.url}/healthz`)
    expect(health.status).toBe(200)
    expect(await health.json()).toEqual({ status: 'ok' })
    const ready = await fetch(`${log.url}/readyz`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toEqual({ status: 'ready' })
    // dist/web/ made it into the package: the dashboard's assets come from beside the bundle.
    const asset = await fetch(`${log.url}/assets/uPlot.js`)
    expect(asset.status).toBe(200)
    expect((await asset.text()).length).toBeGreaterThan(10_000)
    await stop(s)
    // The bin stopped as it does on SIGTERM (npx itself dies of the signal; its code says nothing).
    expect(JSON.parse(s.lines.at(-1)!)).toMatchObject({ msg: 'stopping', signal: 'SIGTERM' })
    await expect(fetch(`${log.url}/healthz`)).rejects.toThrow()
    expect(s.stderr()).toBe('')
  })
})

/** Nodes older than the engines' on this machine: PATH's and the usual system places. */
function olderNodes(): { path: string; version: string }[] {
  const seen = new Set<string>()
  const found: { path: string; version: string }[] = []
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/local/bin']
  for (const dir of dirs) {
    const candidate = join(dir, 'node')
    if (!dir || !existsSync(candidate)) continue
    const real = realpathSync(candidate)
    if (seen.has(real)) continue
    seen.add(real)
    try {
      const version = execFileSync(real, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim()
      if (Number(version.split('.')[0]) < NEED) found.push({ path: candidate, version })
    } catch {}
  }
  return found
}

const old = olderNodes()[0]

describe(`the bin needs Node.js ${NEED}`, () => {
  const refusal = (version: string, nodePath: string, args: string) =>
    `infergate needs Node.js ${NEED} or newer (this is ${version}, ${nodePath}).\n` +
    `Install it from https://nodejs.org, or run infergate with Node ${NEED} from npm:\n` +
    `  npx -p node@${NEED} -- infergate ${args}\n`

  it.skipIf(!old)(
    `says so and exits 1 under the system's older Node ${old ? `(${old.version}, ${old.path})` : '(none on this machine: skipped)'}`,
    async () => {
      // As a shell user runs it: the bin link, its `#!/usr/bin/env -S node …` finding the old node.
      const oldEnv = { ...env, PATH: `${dirname(old!.path)}${delimiter}${PATH24}` }
      const bin = join(app, 'node_modules', '.bin', 'infergate')
      const r = await run(bin, ['bench', '--url', 'http://127.0.0.1:1/v1'], { cwd: app, env: oldEnv })
      expect(r).toEqual({
        code: 1,
        stdout: '',
        stderr: refusal(old!.version, realpathSync(old!.path), 'bench --url http://127.0.0.1:1/v1'),
      })
      // And through npx, npm itself on the old Node.
      const viaNpx = await run('npx', ['--no', '--', 'infergate', '--help'], { cwd: app, env: oldEnv })
      expect(viaNpx.code).toBe(1)
      expect(viaNpx.stdout).toBe('')
      expect(viaNpx.stderr).toContain(`infergate needs Node.js ${NEED} or newer (this is ${old!.version}, `)
    },
  )

  // The check on the versions either side of the line, whatever Nodes this machine has: the
  // running Node made to report another version before the bin starts.
  for (const [version, refused] of [
    [`${NEED - 1}.11.1`, true],
    [`${NEED}.0.0`, false],
  ] as const) {
    it(`${refused ? 'refuses' : 'runs on'} a Node reporting ${version}`, async () => {
      const pretend = `data:text/javascript,Object.defineProperty(process.versions,'node',{value:'${version}'})`
      const bin = join(app, 'node_modules', 'infergate', 'dist', 'infergate.js')
      const r = await run(process.execPath, ['--import', pretend, bin, '--version'], { cwd: app, env })
      expect(r).toEqual(
        refused
          ? { code: 1, stdout: '', stderr: refusal(version, process.execPath, '--version') }
          : { code: 0, stdout: `${pkg.version}\n`, stderr: '' },
      )
    })
  }
})
