// The bundled Action, run the way GitHub's runner runs it: node on dist/action/main.js with
// INPUT_* variables, and the GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files.
import { execFile } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseReport } from '../core/report.ts'
import { tempDir, withSim } from './helpers.ts'

const MAIN = resolve(import.meta.dirname, '../dist/action/main.js')

function runAction(inputs: Record<string, string>, dir: string) {
  const files = { GITHUB_OUTPUT: join(dir, 'output'), GITHUB_STEP_SUMMARY: join(dir, 'summary') }
  for (const f of Object.values(files)) writeFileSync(f, '')
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, ...files }
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v
  return new Promise<{ code: number; stdout: string; output: string; summary: string }>((done) => {
    execFile(process.execPath, [MAIN], { env, cwd: dir }, (error, stdout) => {
      done({
        code: error ? ((error as { code?: number }).code ?? 1) : 0,
        stdout,
        output: readFileSync(files.GITHUB_OUTPUT, 'utf8'),
        summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
      })
    })
  })
}

describe('the bundled Action', () => {
  it('benchmarks the url, writes the report, the output and the job summary', async () => {
    const dir = tempDir()
    await withSim(['--ttft-ms', '5', '--itl-ms', '1'], async (s) => {
      const r = await runAction(
        {
          url: s.url,
          name: 'action-test',
          concurrency: '1,2',
          requests: '4',
          'output-tokens': '4',
          'ignore-eos': 'true',
          'report-path': 'out.json',
        },
        dir,
      )
      expect(r.code).toBe(0)
      expect(r.output).toMatch(/^report-path<<.*\nout\.json\n/m)
      const report = parseReport(JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8')))
      expect(report.benchmark).toBe('action-test')
      expect(report.scenarios.map((x) => x.name)).toEqual(['concurrency-1', 'concurrency-2'])
      expect(r.summary).toContain('Infergate: action-test')
      expect(r.summary).toMatch(/concurrency-2\s+4\s+0/)
    })
  })

  it('fails the step with the flag named on bad input', async () => {
    const r = await runAction(
      { url: 'http://127.0.0.1:9/v1', concurrency: 'zero', 'ignore-eos': 'false' },
      tempDir(),
    )
    expect(r.code).toBe(1)
    expect(r.stdout).toContain('::error::--concurrency: expected an integer ≥ 1, got "zero"')
  })
})
