// What a run does around its measurements: prompts new to a server that stays up, warm
// connections before the first measured request, and a report even when stopped with Ctrl-C.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import type { Socket } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseReport } from '../core/report.ts'
import { type EngineSim, startEngineSim } from '../engine-sim/server.ts'
import { benchReport, CLI, tempDir, withSim } from './helpers.ts'

interface Seen {
  prompt: string
  /** The first request on its connection. */
  freshConnection: boolean
}

/** An engine-sim in this process, noting every completion request it gets, in arrival order. */
let sim: EngineSim
let seen: Seen[] = []
beforeAll(async () => {
  sim = await startEngineSim({ port: 0, ttftMs: 2, itlMs: 1, jitter: 0 })
  const used = new WeakSet<Socket>()
  sim.server.on('request', (req) => {
    const freshConnection = !used.has(req.socket)
    used.add(req.socket)
    if (req.method !== 'POST') return
    let body = ''
    req.on('data', (c: Buffer) => {
      body += c.toString()
    })
    req.on('end', () => seen.push({ prompt: JSON.parse(body).prompt, freshConnection }))
  })
})
afterAll(() => sim.close())

async function run(args: string[]) {
  seen = []
  const { report } = await benchReport(sim.url, [...args, '--output-tokens', '2', '--ignore-eos'])
  return { report, seen }
}

describe('prompts', () => {
  it('differ from run to run by default: a seed drawn per run, recorded', async () => {
    const a = await run(['--requests', '6', '--input-tokens', '20'])
    const b = await run(['--requests', '6', '--input-tokens', '20'])
    const first = new Set(a.seen.map((x) => x.prompt))
    expect(first.size).toBe(a.seen.length)
    expect(b.seen.filter((x) => first.has(x.prompt))).toEqual([])
    expect(a.report.workload.seed).not.toBe(b.report.workload.seed)
    expect(a.report.workload.seed_pinned).toBe(false)
    expect(b.report.workload.seed_pinned).toBe(false)
  })

  it('--seed pins them: the recorded seed sends the same requests again', async () => {
    const a = await run(['--requests', '6', '--input-tokens', '20'])
    const again = await run([
      '--requests',
      '6',
      '--input-tokens',
      '20',
      '--seed',
      String(a.report.workload.seed),
    ])
    expect(again.report.workload).toMatchObject({ seed: a.report.workload.seed, seed_pinned: true })
    expect(again.seen.map((x) => x.prompt)).toEqual(a.seen.map((x) => x.prompt))
  })

  it('warm-up prompts are never measured ones', async () => {
    const { seen } = await run([
      '--concurrency',
      '3',
      '--requests',
      '9',
      '--warmup',
      '6',
      '--input-tokens',
      '20',
    ])
    expect(seen).toHaveLength(15)
    const warm = new Set(seen.slice(0, 6).map((x) => x.prompt))
    for (const x of seen.slice(6)) expect(warm.has(x.prompt)).toBe(false)
  })
})

describe('warm-up', () => {
  it('by default opens and exercises every connection: no measured request sets one up', async () => {
    const { report, seen } = await run(['--concurrency', '4', '--requests', '12'])
    // The 12 measured requests are the last ones the engine got: none opened a connection.
    expect(seen.slice(-12).filter((x) => x.freshConnection)).toEqual([])
    expect(seen).toHaveLength(4 + 12)
    expect(seen.slice(0, 4).every((x) => x.freshConnection)).toBe(true)
    expect(report.workload).toMatchObject({ warmup_requests: 0, warmup_per_connection: true })
  })

  it('in open loop as well (warm-up streams, then connections opened ahead)', async () => {
    const { seen } = await run(['--rate', '100', '--requests', '12'])
    expect(seen.slice(-12).filter((x) => x.freshConnection)).toEqual([])
    expect(seen).toHaveLength(8 + 12)
  })

  it('--warmup 0 measures from cold, as asked', async () => {
    const { report, seen } = await run(['--concurrency', '4', '--requests', '8', '--warmup', '0'])
    expect(report.workload).toMatchObject({ warmup_requests: 0, warmup_per_connection: false })
    // All four connections are opened by measured requests (in whatever order they arrive).
    expect(seen).toHaveLength(8)
    expect(seen.filter((x) => x.freshConnection)).toHaveLength(4)
  })
})

/** Starts `infergate bench` against url, sends SIGINT once the engine answered 20 requests. */
async function interrupted(url: string, args: string[]): Promise<{ code: number | string; stdout: string }> {
  const child = spawn(process.execPath, [CLI, 'bench', '--url', url, ...args], {
    stdio: ['ignore', 'pipe', 'ignore'],
  })
  let stdout = ''
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    stdout += c
  })
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  )
  // Interrupt once some requests were answered (a count, never a timer: the machine is noisy).
  const metrics = `${url.replace(/\/v1$/, '')}/metrics`
  for (let i = 0; i < 600; i++) {
    const text = await (await fetch(metrics)).text()
    if (Number(text.match(/^vllm:request_success_total\{[^}]*\} (\d+)$/m)![1]) >= 20) break
    await new Promise((r) => setTimeout(r, 50))
  }
  child.kill('SIGINT')
  return { code: await exited, stdout }
}

describe('Ctrl-C', () => {
  it('writes what was measured, marked interrupted, and the table', async () => {
    await withSim(['--ttft-ms', '5', '--itl-ms', '2'], async (s) => {
      const out = join(tempDir(), 'report.json')
      const r = await interrupted(s.url, [
        ...['--concurrency', '2,4', '--requests', '100000', '--output-tokens', '4', '--out', out],
      ])
      expect(r.code).toBe(130)
      expect(r.stdout).toMatch(/^concurrency-2\s+\d+\s+0\s/m)
      expect(r.stdout).toMatch(/interrupted: partial results/)
      const report = parseReport(JSON.parse(readFileSync(out, 'utf8')))
      expect(report.interrupted).toBe(true)
      // The scenario that was running, cut short; the one not reached is absent.
      expect(report.scenarios.map((x) => x.name)).toEqual(['concurrency-2'])
      const t = report.scenarios[0]!.trials[0]!
      expect(t.summary.completed).toBeGreaterThan(0)
      expect(t.summary.completed).toBeLessThan(100000)
      // Requests cut by the interruption were never measured: they are not failures.
      expect(t.summary.failed).toBe(0)
      expect(t.warnings.join()).toMatch(/interrupted: the trial stopped after \d+ requests/)
    })
  })
})
