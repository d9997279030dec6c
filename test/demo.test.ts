// `npm start`'s main job: the service on the embedded database finds the demo's regression, and
// an A/B run is not fooled by a slow node that fools history mode.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cli, tempDir } from './helpers.ts'

describe('infergate demo', () => {
  it('posts main runs and a slowed PR run to the service, which calls the regression; A/B sees through a slow node', {
    timeout: 300_000,
  }, async () => {
    const cwd = tempDir()
    const r = await cli(['demo', '--exit', '--duration', '1.5', '--main-runs', '3'], {}, cwd)
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout.match(/^ {2}main [0-9a-f]{7} /gm)).toHaveLength(3)
    const [pr1, pr2] = r.stdout.split(/^PR #2 /m) as [string, string]
    expect(pr1).toContain('chat-latency: regression (against 3 baseline runs)')
    // The slowed decode shows in TPOT; the unchanged prefill must not be called.
    const tpot = pr1.match(/^tpot_ms .*$/gm) ?? []
    expect(tpot.length).toBe(2)
    expect(tpot.some((l) => l.includes('✖ regression'))).toBe(true)
    for (const l of pr1.match(/^ttft_ms .*$/gm) ?? []) expect(l).not.toContain('regression')
    // PR #2 meets a slow node: history mode is fooled, the A/B run of base and PR side by side is not.
    expect(pr2).toMatch(/^ {2}history mode, against main's runs: regression — /m)
    expect(pr2).toMatch(
      /^ {2}A\/B, the base \([0-9a-f]{7}\) and the PR side by side on that node: (unchanged|inconclusive) — /m,
    )
    expect(pr2).toMatch(
      /^chat-latency: (unchanged|inconclusive) \(A\/B: the two arms interleaved in \d+ blocks on the same hardware\)$/m,
    )
    expect(pr2).not.toMatch(/^(ttft|tpot|e2el)_ms .*✖ regression/m)
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
    // It ends with the signed link to PR #1's page on the dashboard.
    expect(r.stdout.trimEnd().split('\n').at(-1)).toMatch(
      /^ {2}http:\/\/127\.0\.0\.1:\d+\/runs\/[0-9a-f-]{36}\?expires=\d+&sig=[\w-]{43}$/,
    )
    expect(existsSync(join(cwd, '.infergate', 'demo-db'))).toBe(true)
  })
})
