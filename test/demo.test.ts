// `npm start`'s main job: the service on the embedded database finds the demo's regression.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cli, tempDir } from './helpers.ts'

describe('infergate demo', () => {
  it('posts main runs and a slowed PR run to the service, which calls the regression', async () => {
    const cwd = tempDir()
    const r = await cli(['demo', '--exit', '--duration', '1.5', '--main-runs', '3'], {}, cwd)
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout.match(/^ {2}main [0-9a-f]{7} /gm)).toHaveLength(3)
    expect(r.stdout).toContain('chat-latency: regression (against 3 baseline runs)')
    // The slowed decode shows in TPOT; the unchanged prefill must not be called.
    const tpot = r.stdout.match(/^tpot_ms .*$/gm) ?? []
    expect(tpot.length).toBe(2)
    expect(tpot.some((l) => l.includes('✖ regression'))).toBe(true)
    for (const l of r.stdout.match(/^ttft_ms .*$/gm) ?? []) expect(l).not.toContain('regression')
    expect(r.stdout).toContain('--itl-ms 12')
    // The PR comment it would post, through the shared renderer.
    expect(r.stdout).toContain('<!-- infergate:comment benchmark=chat-latency -->')
    expect(r.stdout).toContain('### Infergate · `chat-latency`: 🔴 regression')
    expect(r.stdout).toMatch(
      /The commit status on [0-9a-f]{7} \(infergate\/chat-latency\): failure — "Regression: TPOT \+2\d\.\d% \(concurrency-\d+\)"/,
    )
    expect(r.stdout).toMatch(
      /curl -H "Authorization: Bearer \$TOKEN" 'http:\/\/127\.0\.0\.1:\d+\/api\/v1\/runs\/[0-9a-f-]{36}\/comparison'/,
    )
    expect(existsSync(join(cwd, '.infergate', 'demo-db'))).toBe(true)
  })
})
