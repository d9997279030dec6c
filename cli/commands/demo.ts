// The main job on embedded defaults (what `npm start` runs): the regression service on an
// embedded PGlite database, a few benchmark runs of a simulated vLLM "on main" posted to it,
// then a pull-request run against a slowed engine, and the verdict the service gives; then a PR
// whose run meets a slow node, judged by history (fooled) and by an A/B run (not).
// Every number is measured; only the git identities (demo commits) are made up.
import { randomBytes } from 'node:crypto'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { runAbBenchmark } from '../../core/bench/ab.ts'
import { thisHost } from '../../core/bench/host.ts'
import { resolvePlan } from '../../core/bench/plan.ts'
import { createProgress } from '../../core/bench/progress.ts'
import { runBenchmark } from '../../core/bench/run.ts'
import type { Comparison } from '../../core/detect/comparison.ts'
import { renderComparisonMarkdown, statusDescription } from '../../core/render/markdown.ts'
import type { GitContext, Report } from '../../core/report.ts'
import { ServiceClient } from '../../core/service-client.ts'
import { DEFAULT_CONFIG } from '../../service/defaults.ts'
import { bool, type CommandSpec, type FlagValues, num } from '../args.ts'
import { spawnEngineSim } from '../spawn-sim.ts'
import { renderComparison } from './compare.ts'

export const demoSpec: CommandSpec = {
  name: 'demo',
  summary:
    'the service finds a real regression in a simulated vLLM, and A/B sees through a slow node (what `npm start` runs)',
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
// PR #2 changes nothing in the engine, but runs while its node is 15% slower (a noisy neighbour,
// a throttled GPU): the slow phase lasts the whole run.
const SLOW_NODE = ['--slow-phase', '0:86400:15']
/** The A/B run's block budget: enough for the demo, short enough for `npm start`. */
const AB_BLOCKS = 3

const sha = () => randomBytes(20).toString('hex')
const out = (line = '') => process.stdout.write(`${line}\n`)

/** The demo's benchmark: two closed-loop scenarios of a chat-sized workload, with SLOs. */
function demoPlan(simArgs: string[], seed: number, durationS: number, maxTrials?: number) {
  return resolvePlan({
    name: 'chat-latency',
    concurrency: [4, 16],
    durationS,
    warmup: 4,
    input: { mean: 256 },
    output: { mean: 48 },
    ignoreEos: true,
    slo: { ttft_ms: 200, tpot_ms: 20 },
    seed,
    ...(maxTrials ? { maxTrials } : {}),
    config: { server: `engine-sim ${simArgs.join(' ')}` },
  })
}

const targetOf = (url: string) => ({ url, apiKey: null, headers: {}, model: null })

async function benchRun(
  simArgs: string[],
  git: GitContext,
  seed: number,
  durationS: number,
): Promise<Report> {
  const sim = await spawnEngineSim(process.argv[1]!, simArgs)
  try {
    return await runBenchmark(demoPlan(simArgs, seed, durationS), targetOf(sim.url), {
      progress: createProgress('off'),
      git,
      ci: null,
      ...thisHost(),
    })
  } finally {
    await sim.stop()
  }
}

/** Base and PR side by side (two sims on one "node": one epoch for their slow phase), in blocks. */
async function abRun(
  baseArgs: string[],
  headArgs: string[],
  git: GitContext,
  baseSha: string,
  seed: number,
  durationS: number,
): Promise<Report> {
  const epoch = ['--phase-epoch', String(Date.now())]
  const [base, head] = await Promise.all([
    spawnEngineSim(process.argv[1]!, [...baseArgs, ...epoch]),
    spawnEngineSim(process.argv[1]!, [...headArgs, ...epoch]),
  ])
  try {
    return await runAbBenchmark(
      demoPlan(headArgs, seed, durationS, AB_BLOCKS),
      { baseline: targetOf(base.url), candidate: targetOf(head.url) },
      {
        progress: createProgress('off'),
        git,
        ci: null,
        ...thisHost(),
        baselineGit: { sha: baseSha, ref: 'refs/heads/main' },
      },
    )
  } finally {
    await Promise.all([base.stop(), head.stop()])
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
  // The demo signs its own read-only link to the PR's page, so it knows the secret.
  const linkSecret = randomBytes(32).toString('base64url')
  // Loaded here, not with the CLI (see serve.ts).
  const { startService } = await import('../../service/server.ts')
  const { commitState, statusContext } = await import('../../service/notifications/notification.ts')
  const { runLinkQuery, signRunLink } = await import('../../service/web/links.ts')
  const service = await startService(
    { dataDir: DATA_DIR },
    { ...DEFAULT_CONFIG, adminToken, linkSecret },
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
    const expires = new Date(Date.now() + DEFAULT_CONFIG.linkTtlDays * 86_400_000)
    const page = `${service.url}/runs/${posted.id}?${runLinkQuery(signRunLink(Buffer.from(linkSecret), posted.id, expires))}`
    out(
      renderComparisonMarkdown(posted.comparison, {
        comparisonUrl: page,
        baselineShas: Object.fromEntries(mainShas),
        commit: git.sha,
      }),
    )
    const { state, conclusion } = commitState(posted.comparison)
    out(
      `The commit status on ${git.sha!.slice(0, 7)} (${statusContext(posted.comparison.benchmark)}): ${state} — "${statusDescription(posted.comparison)}"`,
    )
    out(
      `(a check run concluding ${conclusion} when the service runs as a GitHub App). With GitHub credentials,`,
    )
    out('`infergate serve` posts both to the pull request itself: docs/github.md.\n')

    // PR #2: drift, not code. History mode compares a slow moment with main's fast ones; A/B
    // measures base and PR in the same moments, and the slowness cancels in their ratio.
    const git2: GitContext = { ...git, sha: sha(), branch: 'docs-only', pr_number: 2 }
    out(
      `PR #2 ${git2.sha!.slice(0, 7)} changes no engine code, but its benchmark runs while the node is 15% slower (a noisy neighbour):`,
    )
    const drifted = await benchRun([...SIM_MAIN, ...SLOW_NODE], git2, 200, durationS)
    const history = await client.postReport(drifted)
    out(
      `  history mode, against main's runs: ${history.comparison.status} — "${statusDescription(history.comparison)}"`,
    )
    const baseSha = mainShas.at(-1)![1]!
    const ab = await abRun(
      [...SIM_MAIN, ...SLOW_NODE],
      [...SIM_MAIN, ...SLOW_NODE],
      git2,
      baseSha,
      300,
      durationS,
    )
    const paired = await client.postReport(ab)
    out(
      `  A/B, the base (${baseSha.slice(0, 7)}) and the PR side by side on that node: ${paired.comparison.status} — "${statusDescription(paired.comparison)}"`,
    )
    out('')
    out(renderComparison(paired.comparison))
    out(
      'A/B needs both deployments at once (twice the GPUs while it runs): docs/detection.md, docs/action.md.\n',
    )
    printUrls(service.url, body.token, posted.id, posted.comparison)
    const exit = bool(values, 'exit')
    out(
      exit
        ? `\nThe dashboard (stopped with --exit; see it again with infergate serve --data-dir ${DATA_DIR}):`
        : `\nServing until Ctrl-C (later: infergate serve --data-dir ${DATA_DIR}). The dashboard: sign in at ${service.url}/ with the token, or open PR #1's comparison, read-only, without one:`,
    )
    out(`  ${page}`)
    if (exit) return 0
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
