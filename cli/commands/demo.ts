// The main job on embedded defaults (what `npm start` runs): the regression service on an
// embedded PGlite database, a few benchmark runs of a simulated vLLM "on main" posted to it,
// then a pull-request run against a slowed engine, and the verdict the service gives.
// Every number is measured; only the git identities (demo commits) are made up.
import { randomBytes } from 'node:crypto'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { thisHost } from '../../core/bench/host.ts'
import { resolvePlan } from '../../core/bench/plan.ts'
import { createProgress } from '../../core/bench/progress.ts'
import { runBenchmark } from '../../core/bench/run.ts'
import type { Comparison } from '../../core/detect/comparison.ts'
import { renderComparisonMarkdown, statusDescription } from '../../core/render/markdown.ts'
import type { GitContext, Report } from '../../core/report.ts'
import { ServiceClient } from '../../core/service-client.ts'
import { DEFAULT_CONFIG } from '../../service/app.ts'
import { COMMIT_STATE, statusContext } from '../../service/notifications/notification.ts'
import { startService } from '../../service/server.ts'
import { bool, type CommandSpec, type FlagValues, num } from '../args.ts'
import { spawnEngineSim } from '../spawn-sim.ts'
import { renderComparison } from './compare.ts'

export const demoSpec: CommandSpec = {
  name: 'demo',
  summary: 'the service finds a real regression in a simulated vLLM (what `npm start` runs)',
  usage: 'infergate demo [options]',
  flags: {
    'main-runs': { type: 'string', value: 'N', help: 'benchmark runs on main before the PR', default: '3' },
    duration: { type: 'string', value: 'S', help: 'seconds per scenario and run', default: '2.5' },
    port: { type: 'string', value: 'N', help: "the service's port (0 picks a free one)", default: '0' },
    exit: { type: 'boolean', help: 'stop the service after the demo instead of serving until Ctrl-C' },
  },
}

const REPOSITORY = { owner: 'demo', repo: 'llm-service' }
const DATA_DIR = join('.infergate', 'demo-db')
const SIM_MAIN = ['--ttft-ms', '60', '--itl-ms', '12', '--jitter', '0.1', '--max-num-seqs', '16']
// The pull request's change: decoding 25% slower per token (as when CUDA graphs get disabled).
const SIM_PR = SIM_MAIN.map((x, i) => (SIM_MAIN[i - 1] === '--itl-ms' ? '15' : x))

const sha = () => randomBytes(20).toString('hex')
const out = (line = '') => process.stdout.write(`${line}\n`)

async function benchRun(
  simArgs: string[],
  git: GitContext,
  seed: number,
  durationS: number,
): Promise<Report> {
  const sim = await spawnEngineSim(process.argv[1]!, simArgs)
  try {
    const plan = resolvePlan({
      name: 'chat-latency',
      concurrency: [4, 16],
      durationS,
      warmup: 4,
      input: { mean: 256 },
      output: { mean: 48 },
      ignoreEos: true,
      slo: { ttft_ms: 200, tpot_ms: 20 },
      seed,
      config: { server: `engine-sim ${simArgs.join(' ')}` },
    })
    const target = { url: sim.url, apiKey: null, headers: {}, model: null }
    return await runBenchmark(plan, target, { progress: createProgress('off'), git, ci: null, ...thisHost() })
  } finally {
    await sim.stop()
  }
}

function oneLine(r: Report): string {
  return r.scenarios
    .map((s) => {
      const m = s.trials[0]!.summary
      return `${s.name}: TTFT p50 ${m.median_ttft_ms?.toFixed(1)} ms, TPOT p50 ${m.median_tpot_ms?.toFixed(2)} ms, ${m.output_throughput.toFixed(0)} tok/s`
    })
    .join(' · ')
}

export async function demo(values: FlagValues): Promise<number> {
  const mainRuns = num(values, 'main-runs', { int: true, min: 3, max: 20 }) ?? 3
  const durationS = num(values, 'duration', { min: 0.5, max: 60 }) ?? 2.5
  const port = num(values, 'port', { int: true, min: 0, max: 65535 }) ?? 0
  // A fresh database each time, so the history is this demo's and nothing else's.
  rmSync(DATA_DIR, { recursive: true, force: true })
  const adminToken = randomBytes(16).toString('hex')
  const service = await startService(
    { dataDir: DATA_DIR },
    { ...DEFAULT_CONFIG, adminToken },
    { host: '127.0.0.1', port },
  )
  try {
    out(`The regression service is running at ${service.url} (embedded PGlite in ${DATA_DIR}).`)
    const admin = new ServiceClient({ url: service.url, token: adminToken, attempts: 1 })
    const { body } = await admin.call<{ token: string }>('POST', '/api/v1/projects', REPOSITORY)
    const client = new ServiceClient({ url: service.url, token: body.token, attempts: 1 })
    const repository = `${REPOSITORY.owner}/${REPOSITORY.repo}`

    out(`\nBenchmarking a simulated vLLM at concurrency 4 and 16, ${durationS} s each, per run:`)
    const mainShas: [string, string | null][] = []
    for (let i = 1; i <= mainRuns; i++) {
      const git: GitContext = {
        repository,
        sha: sha(),
        ref: 'refs/heads/main',
        branch: 'main',
        base_branch: null,
        pr_number: null,
        event_name: 'push',
      }
      const report = await benchRun(SIM_MAIN, git, i, durationS)
      const { id } = await client.postReport(report)
      mainShas.push([id, git.sha])
      out(`  main ${git.sha!.slice(0, 7)}  ${oneLine(report)}`)
    }
    const git: GitContext = {
      repository,
      sha: sha(),
      ref: 'refs/pull/1/merge',
      branch: 'slower-decode',
      base_branch: 'main',
      pr_number: 1,
      event_name: 'pull_request',
    }
    const report = await benchRun(SIM_PR, git, 100, durationS)
    const posted = await client.postReport(report)
    out(`  PR #1 ${git.sha!.slice(0, 7)}  ${oneLine(report)}  (engine decoding 25% slower)`)

    out(`\nThe service's verdict on PR #1:\n`)
    out(renderComparison(posted.comparison))
    out('The comment the pull request gets (markdown, shared with the check run and the job summary):\n')
    out(
      renderComparisonMarkdown(posted.comparison, {
        comparisonUrl: `${service.url}/api/v1/runs/${posted.id}/comparison`,
        baselineShas: Object.fromEntries(mainShas),
        commit: git.sha,
      }),
    )
    const { state, conclusion } = COMMIT_STATE[posted.comparison.status]
    out(
      `The commit status on ${git.sha!.slice(0, 7)} (${statusContext(posted.comparison.benchmark)}): ${state} — "${statusDescription(posted.comparison)}"`,
    )
    out(
      `(a check run concluding ${conclusion} when the service runs as a GitHub App). With GitHub credentials,`,
    )
    out('`infergate serve` posts both to the pull request itself: docs/github.md.\n')
    printUrls(service.url, body.token, posted.id, posted.comparison)
    if (bool(values, 'exit')) return 0
    out(`\nServing until Ctrl-C. Later: infergate serve --data-dir ${DATA_DIR}`)
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve)
      process.once('SIGTERM', resolve)
    })
    return 0
  } finally {
    await service.close()
  }
}

function printUrls(base: string, token: string, runId: string, c: Comparison): void {
  const p = `${base}/api/v1/projects/${REPOSITORY.owner}/${REPOSITORY.repo}`
  const scenario = c.metrics[0]?.scenario ?? 'concurrency-16'
  out('Explore the API (every read needs the project token):')
  out(`  TOKEN=${token}`)
  for (const url of [
    `${base}/api/v1/runs/${runId}/comparison`,
    `${base}/api/v1/runs/${runId}`,
    `${p}/benchmarks`,
    `${p}/series?benchmark=${c.benchmark}&scenario=${scenario}&metric=tpot&stat=median`,
  ]) {
    out(`  curl -H "Authorization: Bearer $TOKEN" '${url}'`)
  }
}
