// The CLI's contract with people and scripts: --help everywhere, one clear line for bad
// input naming the flag or the cause, exit 2 for usage and 1 for a failed run.
import { execFile } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { delimiter, dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CommandSpec, parseFlags } from '../cli/args.ts'
import { benchSpec, planFromFlags } from '../cli/commands/bench.ts'
import { engineSimSpec, simOptions } from '../cli/commands/engine-sim.ts'
import { cli, tempDir, withSim } from './helpers.ts'

describe('help', () => {
  it('lists the commands', async () => {
    const r = await cli(['--help'])
    expect(r.code).toBe(0)
    for (const c of ['bench', 'engine-sim', 'demo']) expect(r.stdout).toContain(`  ${c}`)
  })

  for (const [command, flag] of [
    ['bench', '--concurrency'],
    ['engine-sim', '--batch-slowdown'],
    ['demo', '--help'],
  ]) {
    it(`infergate ${command} --help`, async () => {
      const r = await cli([command!, '--help'])
      expect(r.code).toBe(0)
      expect(r.stdout).toContain(`Usage: infergate ${command}`)
      expect(r.stdout).toContain(flag)
    })
  }
})

describe('the package bin', () => {
  const bin = join(import.meta.dirname, '../dist/infergate.js')

  it('runs as an executable: node from PATH, with the V8 flag its first line gives', async () => {
    // The way npm's bin link runs it. A flag node does not know fails here ("bad option").
    expect(readFileSync(bin, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env -S node --max-semi-space-size=8')
    const out = await new Promise<string>((resolve, reject) => {
      execFile(
        bin,
        ['--version'],
        { env: { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH}` } },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}: ${stderr}`)) : resolve(stdout)),
      )
    })
    expect(out.trim()).toMatch(/^\d+\.\d+\.\d+/)
  })
})

describe('bad input: one line, the right exit code', () => {
  const cases: [string, string[], number, RegExp][] = [
    ['unknown command', ['frobnicate'], 2, /unknown command "frobnicate"/],
    [
      'unknown flag',
      ['bench', '--url', 'http://127.0.0.1:1/v1', '--concurency', '4'],
      2,
      /unknown flag --concurency/,
    ],
    ['missing --url', ['bench'], 2, /--url is required/],
    ['malformed URL', ['bench', '--url', 'localhost:8000'], 2, /--url: expected an http/],
    ['not a URL', ['bench', '--url', 'http://'], 2, /--url: not a URL/],
    [
      'bad number',
      ['bench', '--url', 'http://127.0.0.1:1/v1', '--concurrency', '1,0'],
      2,
      /--concurrency: expected an integer ≥ 1, got "0"/,
    ],
    [
      'a negative number',
      ['bench', '--url', 'http://127.0.0.1:1/v1', '--concurrency', '-4'],
      2,
      /^infergate bench: error: --concurrency: expected an integer ≥ 1, got "-4"$/m,
    ],
    [
      'a negative number, engine-sim',
      ['engine-sim', '--ttft-ms', '-3'],
      2,
      /^infergate engine-sim: error: --ttft-ms: expected a number ≥ 0, got "-3"$/m,
    ],
    [
      'a value that looks like a flag',
      ['bench', '--url', '-x'],
      2,
      /--url: expected a value, got an option \(for a value that starts with '-', write --url=VALUE\)/,
    ],
    [
      'a missing --dataset file',
      ['bench', '--url', 'http://127.0.0.1:1/v1', '--dataset', '/nonexistent/prompts.jsonl'],
      2,
      /--dataset: cannot read \/nonexistent\/prompts.jsonl/,
    ],
    [
      'bad enum',
      ['bench', '--url', 'http://127.0.0.1:1/v1', '--endpoint', 'embeddings'],
      2,
      /--endpoint: expected one of completions, chat/,
    ],
    [
      'bad SLO',
      ['bench', '--url', 'http://127.0.0.1:1/v1', '--slo', 'latency:5'],
      2,
      /--slo: unknown metric "latency"/,
    ],
    [
      'open-loop flag without --rate',
      ['bench', '--url', 'http://127.0.0.1:1/v1', '--burstiness', '0.5'],
      2,
      /add --rate/,
    ],
    [
      'bad engine-sim flag',
      ['engine-sim', '--fail-rate', '2'],
      2,
      /--fail-rate: expected a number ≥ 0 and ≤ 1/,
    ],
    [
      'rate inf without --requests',
      ['bench', '--url', 'http://127.0.0.1:1/v1', '--rate', 'inf', '--duration', '1'],
      2,
      /--rate: inf sends every request at once: give --requests/,
    ],
    [
      'a scenario listed twice',
      ['bench', '--url', 'http://127.0.0.1:1/v1', '--rate', '0.1,1e-1'],
      2,
      /scenario rate-0.1 is listed twice/,
    ],
    [
      'bad --git-repository',
      ['bench', '--url', 'http://127.0.0.1:1/v1', '--git-repository', 'acme'],
      2,
      /--git-repository: expected owner\/repo/,
    ],
    [
      'empty --git-sha',
      ['bench', '--url', 'http://127.0.0.1:1/v1', '--git-sha', ''],
      2,
      /--git-sha: must not be empty/,
    ],
    [
      'a PR number the report cannot hold, refused before the run',
      ['bench', '--url', 'http://127.0.0.1:1/v1', '--git-pr', '2147483648'],
      2,
      /--git-pr: .*2147483647/,
    ],
    [
      'a branch longer than the report holds, refused before the run',
      ['bench', '--url', 'http://127.0.0.1:1/v1', '--git-branch', 'b'.repeat(300)],
      2,
      /--git-branch: expected at most 255 characters/,
    ],
    [
      'a timeout Node cannot hold',
      ['bench', '--url', 'http://127.0.0.1:1/v1', '--timeout', '3000000'],
      2,
      /--timeout: expected a number > 0 and ≤ 2147483/,
    ],
    [
      'unwritable --out',
      ['bench', '--url', 'http://127.0.0.1:1/v1', '--out', '/nonexistent/dir/r.json'],
      2,
      /--out: cannot write/,
    ],
  ]
  for (const [what, args, code, message] of cases) {
    it(what, async () => {
      const r = await cli(args)
      expect(r.code).toBe(code)
      expect(r.stderr).toMatch(message)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
    })
  }
})

describe('every numeric flag refuses a negative value in its own words', () => {
  // Placeholders of numeric values in the help text (N, N[,N…], N|auto, S, MS, P, F, B, R, USD).
  const numeric = (spec: CommandSpec) =>
    Object.entries(spec.flags)
      .filter(([, f]) => f.type === 'string' && /^(N|S|B|R|USD|MS|P|F)(?![A-Z])/.test(f.value ?? ''))
      .map(([name]) => name)

  it('infergate bench', () => {
    const flags = numeric(benchSpec)
    expect(flags).toContain('concurrency')
    expect(flags.length).toBeGreaterThan(15)
    for (const flag of flags) {
      // The open-loop flags are checked once there is an open-loop scenario.
      const rate = ['max-concurrency', 'burstiness'].includes(flag) ? ['--rate', '1'] : []
      const { values } = parseFlags(benchSpec, ['--url', 'http://127.0.0.1:1/v1', ...rate, `--${flag}`, '-1'])
      expect(() => planFromFlags(values, {}), flag).toThrow(new RegExp(`^--${flag}: expected .*, got "-1"$`))
    }
  })

  it('infergate engine-sim', () => {
    const flags = numeric(engineSimSpec)
    expect(flags).toContain('ttft-ms')
    for (const flag of flags) {
      const { values } = parseFlags(engineSimSpec, [`--${flag}`, '-1'])
      expect(() => simOptions(values), flag).toThrow(new RegExp(`^--${flag}: expected .*, got "-1"$`))
    }
  })
})

describe('servers that cannot be benchmarked', () => {
  let plain: Server
  let plainUrl: string
  beforeAll(async () => {
    // Answers the model list, then plain JSON where an event stream belongs.
    plain = createServer((req, res) => {
      res.setHeader('content-type', 'application/json')
      if (req.url === '/v1/models') res.end(JSON.stringify({ data: [{ id: 'm', owned_by: 'x' }] }))
      else res.end(JSON.stringify({ choices: [{ text: 'hello' }] }))
    })
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r))
    plainUrl = `http://127.0.0.1:${(plain.address() as AddressInfo).port}/v1`
  })
  afterAll(() => new Promise<void>((r) => plain.close(() => r())))

  it('a server that is down', async () => {
    const free = createServer()
    await new Promise<void>((r) => free.listen(0, '127.0.0.1', r))
    const port = (free.address() as AddressInfo).port
    await new Promise<void>((r) => free.close(() => r()))
    const r = await cli(['bench', '--url', `http://127.0.0.1:${port}/v1`])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(
      new RegExp(`cannot reach http://127.0.0.1:${port}/v1/models: connection refused`),
    )
  })

  it('a server that answers without SSE', async () => {
    const out = join(tempDir(), 'r.json')
    const r = await cli(['bench', '--url', plainUrl, '--requests', '20', '--progress', 'off', '--out', out])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(
      /first requests all failed \(malformed_stream\): expected text\/event-stream, got application\/json/,
    )
    expect(existsSync(out)).toBe(false)
  })

  it('a server that rejects every request (4xx)', async () => {
    await withSim(['--max-model-len', '64'], async (s) => {
      const r = await cli([
        'bench',
        '--url',
        s.url,
        '--input-tokens',
        '100',
        '--requests',
        '30',
        '--progress',
        'off',
      ])
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(/\(http_400\): HTTP 400: This model's maximum context length is 64 tokens/)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
    })
  })

  it('a dataset line that is not an object is bad input', async () => {
    const path = join(tempDir(), 'd.jsonl')
    writeFileSync(path, '{"prompt": "hi"}\nnull\n')
    const r = await cli(['bench', '--url', plainUrl, '--dataset', path])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/line 2: expected a JSON object/)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
  })

  it('engine-sim on a port that is taken', async () => {
    const port = (plain.address() as AddressInfo).port
    const r = await cli(['engine-sim', '--port', String(port)])
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toBe(
      `infergate engine-sim: error: cannot listen on 127.0.0.1:${port}: the port is in use`,
    )
  })

  it('a model the server does not serve', async () => {
    const r = await cli(['bench', '--url', plainUrl, '--model', 'llama'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/--model llama is not served at .* \(it serves: m\)/)
  })
})

describe('a run for people', () => {
  it('prints the results table and progress lines when not on a terminal', async () => {
    await withSim(['--ttft-ms', '5', '--itl-ms', '2'], async (s) => {
      const r = await cli([
        'bench',
        '--url',
        s.url,
        '--concurrency',
        '1,2',
        '--requests',
        '6',
        '--output-tokens',
        '4',
      ])
      expect(r.code).toBe(0)
      expect(r.stdout).toMatch(/^scenario\s+ok\s+fail\s+req\/s/)
      expect(r.stdout).toMatch(/concurrency-1\s+6\s+0/)
      expect(r.stdout).toMatch(/concurrency-2\s+6\s+0/)
      expect(r.stderr).toMatch(/concurrency-2: 6 ok, 0 failed in/)
      expect(r.stderr).not.toContain('\r')
    })
  })
})
