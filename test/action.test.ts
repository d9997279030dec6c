// The bundled Action run the way GitHub's runner runs it: node on dist/action/main.js with
// INPUT_* and GITHUB_* variables and the GITHUB_OUTPUT, GITHUB_STEP_SUMMARY and GITHUB_STATE
// files, then dist/action/post.js with the saved state — against a fake Kubernetes API that
// plays KServe, a real `infergate serve`, and the fake GitHub API.
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { afterEach, describe, expect, it } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { parseReport } from '../core/report.ts'
import { DEFAULT_CONFIG } from '../service/app.ts'
import { startService } from '../service/server.ts'
import { FakeGithub } from './fakes/github-api.ts'
import { FakeKube } from './fakes/kube-api.ts'
import { tempDir, withSim } from './helpers.ts'

const DIST = resolve(import.meta.dirname, '../dist/action')

interface StepResult {
  code: number | null
  stdout: string
  output: Record<string, string>
  summary: string
  state: Record<string, string>
}

/** GitHub's file commands: `name<<delimiter\nvalue\ndelimiter` blocks. */
function fileCommands(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const m of text.matchAll(/^([^\n<]+)<<(\S+)\n([\s\S]*?)\n\2$/gm)) out[m[1]!] = m[3]!
  return out
}

function step(
  entry: 'main' | 'post',
  inputs: Record<string, string>,
  env: NodeJS.ProcessEnv,
  dir: string,
  onStart?: (child: ChildProcess) => void,
): Promise<StepResult> {
  const files = {
    GITHUB_OUTPUT: join(dir, `${entry}-output`),
    GITHUB_STEP_SUMMARY: join(dir, `${entry}-summary`),
    GITHUB_STATE: join(dir, `${entry}-state`),
  }
  for (const f of Object.values(files)) writeFileSync(f, '')
  const all: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir, ...env, ...files }
  for (const [k, v] of Object.entries(inputs)) all[`INPUT_${k.toUpperCase()}`] = v
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(DIST, `${entry}.js`)], { env: all, cwd: dir })
    let stdout = ''
    child.stdout.on('data', (c: Buffer) => {
      stdout += c
    })
    child.stderr.on('data', (c: Buffer) => {
      stdout += c
    })
    onStart?.(child)
    child.once('exit', (code, signal) =>
      done({
        code: code ?? (signal ? 128 : null),
        stdout,
        output: fileCommands(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
        summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
        state: fileCommands(readFileSync(files.GITHUB_STATE, 'utf8')),
      }),
    )
  })
}

/** The post step, given what the main step saved (the runner passes it as STATE_*). */
function postStep(main: StepResult, inputs: Record<string, string>, env: NodeJS.ProcessEnv, dir: string) {
  const state = Object.fromEntries(Object.entries(main.state).map(([k, v]) => [`STATE_${k}`, v]))
  return step('post', inputs, { ...env, ...state }, dir)
}

const CONFIG = `benchmark: chat
model:
  name: sim-llama
  storage_uri: hf://acme/sim-llama
resources:
  gpus: 1
  memory: 24Gi
workload:
  concurrency: [4]
  requests: 48
  output_tokens: 24
  input_tokens: 64
`

const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

async function kube(o: Partial<ConstructorParameters<typeof FakeKube>[0]> = {}): Promise<FakeKube> {
  const k = await new FakeKube({
    token: 'runner-token',
    node: { name: 'gpu-1', product: 'NVIDIA-L4', count: 4 },
    ...o,
  }).start()
  cleanups.push(() => k.close())
  return k
}

function workspace(config = CONFIG): string {
  const dir = tempDir()
  writeFileSync(join(dir, 'infergate.yaml'), config)
  return dir
}

describe('the bundled Action', () => {
  it('mode existing with a url, no service: measured, kept as a file, summary says why not compared', async () => {
    const dir = workspace(
      `benchmark: chat\nmodel: {name: sim}\nworkload: {concurrency: [1, 2], requests: 4, output_tokens: 4}\n`,
    )
    await withSim(['--ttft-ms', '5', '--itl-ms', '1', '--model', 'sim'], async (s) => {
      const r = await step('main', { mode: 'existing', url: s.url, 'report-path': 'out.json' }, {}, dir)
      expect(r.code).toBe(0)
      expect(r.output).toEqual({ 'report-path': 'out.json', status: 'not_compared', 'comparison-url': '' })
      const report = parseReport(JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8')))
      expect(report.scenarios.map((x) => x.name)).toEqual(['concurrency-1', 'concurrency-2'])
      expect(r.stdout).toContain('::warning::No regression service configured')
      expect(r.summary).toContain('### Infergate · `chat`: not compared')
      expect(r.summary).toContain('the report is `out.json`')
      expect(r.summary).toMatch(/concurrency-2\s+4\s+0/)
    })
  })

  it('refuses a bad config before any cluster call, with annotations on its lines', async () => {
    const k = await kube()
    const dir = workspace(`${CONFIG}engine:
  tensor_parallel: 2
  gpu_memory_utilization: 2
`)
    const r = await step('main', { kubeconfig: k.kubeconfig() }, {}, dir)
    expect(r.code).toBe(1)
    expect(r.stdout).toContain(
      '::error file=infergate.yaml,line=14,col=3::infergate.yaml:14:3: error: engine.tensor_parallel:',
    )
    expect(r.stdout).toContain('::error file=infergate.yaml,line=15,col=3::')
    expect(r.stdout).toContain('::error::infergate.yaml is not valid: see the annotations')
    expect(k.calls).toEqual([])
    const bad = await step('main', { mode: 'sideways' }, {}, dir)
    expect(bad.code).toBe(1)
    expect(bad.stdout).toContain('::error::input mode: expected deploy or existing, got "sideways"')
  })

  it('deploys on KServe, benchmarks it, records the cold start and the GPU, and the post step deletes it', async () => {
    const k = await kube({ readyAfterMs: 300 })
    const dir = workspace()
    const main = await step('main', { kubeconfig: k.kubeconfig('models') }, {}, dir)
    expect(main.code, main.stdout).toBe(0)
    expect(k.created).toHaveLength(1)
    const isvc = k.created[0]!
    expect(isvc.metadata.namespace).toBe('models')
    expect(isvc.metadata.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'infergate',
      'infergate.dev/benchmark': 'chat',
    })
    const report = parseReport(JSON.parse(readFileSync(join(dir, 'infergate-report.json'), 'utf8')))
    expect(report.environment.gpu).toEqual({ model: 'NVIDIA-L4', count: 1 })
    const kserve = report.environment.config.kserve as { inference_service: string; ready_s: number }
    expect(kserve.inference_service).toBe(`models/${isvc.metadata.name}`)
    expect(kserve.ready_s).toBeGreaterThan(0.2)
    expect(main.summary).toMatch(
      new RegExp(
        `Deployed InferenceService \`models/${isvc.metadata.name}\`: ready in \\d+ s \\(cold start\\)`,
      ),
    )
    expect(k.deleted).toEqual([])
    expect(JSON.parse(main.state.deployment!)).toEqual({ name: isvc.metadata.name, namespace: 'models' })

    const post = await postStep(main, { kubeconfig: k.kubeconfig('models') }, {}, dir)
    expect(post.code).toBe(0)
    expect(k.deleted).toEqual([isvc.metadata.name])
    expect(post.stdout).toContain(`deleted InferenceService models/${isvc.metadata.name}`)
  })

  it('a deployment that cannot come up is explained, and still deleted', async () => {
    const k = await kube({ readyAfterMs: 100 })
    k.failNext = 'OOMKilled'
    const dir = workspace()
    const main = await step('main', { kubeconfig: k.kubeconfig() }, {}, dir)
    expect(main.code).toBe(1)
    expect(main.stdout).toMatch(
      /::error::InferenceService ig-chat-local-1-[0-9a-f]{4} failed: OOMKilled: container kserve-container ran out of memory/,
    )
    // The container's last lines, from its previous (killed) run.
    expect(main.stdout).toMatch(
      /::group::the last lines of ig-chat-local-1-[0-9a-f]{4}-predictor-0's log\nINFO Loading model weights\nINFO Model loading took 14\.2 GiB\nKilled\n::endgroup::/,
    )
    const post = await postStep(main, { kubeconfig: k.kubeconfig() }, {}, dir)
    expect(post.code).toBe(0)
    expect(k.deleted).toHaveLength(1)
  })

  it('mode existing by name: benchmarks the InferenceService already serving, deletes nothing', async () => {
    const k = await kube({ readyAfterMs: 50 })
    const dir = workspace()
    // Someone else's deployment, made by an earlier run that kept it.
    const first = await step('main', { kubeconfig: k.kubeconfig(), 'keep-deployment': 'true' }, {}, dir)
    expect(first.code).toBe(0)
    const name = k.created[0]!.metadata.name as string
    const r = await step(
      'main',
      { kubeconfig: k.kubeconfig(), mode: 'existing', 'inference-service': name },
      {},
      dir,
    )
    expect(r.code, r.stdout).toBe(0)
    expect(k.created).toHaveLength(1)
    const post = await postStep(r, { kubeconfig: k.kubeconfig() }, {}, dir)
    expect(post.stdout).toContain('nothing was deployed')
    const kept = await postStep(first, { kubeconfig: k.kubeconfig(), 'keep-deployment': 'true' }, {}, dir)
    expect(kept.stdout).toContain(`keep-deployment: InferenceService default/${name} is left running`)
    expect(k.deleted).toEqual([])
    const missing = await step(
      'main',
      { kubeconfig: k.kubeconfig(), mode: 'existing', 'inference-service': 'nope' },
      {},
      dir,
    )
    expect(missing.stdout).toContain('::error::InferenceService default/nope not found')
  })

  it('a service that refuses the report: a warning, the report kept, the summary says why', async () => {
    const service = await startService(
      { memory: true },
      { ...DEFAULT_CONFIG, adminToken: 'adm' },
      { host: '127.0.0.1', port: 0 },
    )
    cleanups.push(() => service.close())
    const dir = workspace(
      `benchmark: chat\nmodel: {name: sim}\nworkload: {concurrency: [1], requests: 4, output_tokens: 4}\n`,
    )
    await withSim(['--ttft-ms', '5', '--itl-ms', '1', '--model', 'sim'], async (s) => {
      const inputs = {
        mode: 'existing',
        url: s.url,
        'service-url': service.url,
        'service-token': 'igt_wrong',
      }
      const r = await step('main', inputs, { GITHUB_REPOSITORY: 'acme/llm', GITHUB_SHA: 'a'.repeat(40) }, dir)
      expect(r.code).toBe(0)
      expect(r.stdout).toContain(
        '::warning::The regression service did not take the report: POST /api/v1/runs: 401 unknown token',
      )
      expect(r.output.status).toBe('not_compared')
      expect(r.summary).toContain('the report is `infergate-report.json`')
      expect(
        parseReport(JSON.parse(readFileSync(join(dir, 'infergate-report.json'), 'utf8'))).benchmark,
      ).toBe('chat')
    })
  })

  it("started by a comment on a PR: the PR's head, branch and base read with github-token", async () => {
    const github = await new FakeGithub({ token: 'ghp_action' }).start()
    cleanups.push(() => github.close())
    github.pulls.set('acme/llm#7', { head: { sha: 'c'.repeat(40), ref: 'faster-kv' }, base: { ref: 'main' } })
    const dir = workspace(
      `benchmark: chat\nmodel: {name: sim}\nworkload: {concurrency: [1], requests: 3, output_tokens: 4}\n`,
    )
    writeFileSync(
      join(dir, 'event.json'),
      JSON.stringify({ issue: { number: 7, pull_request: {} }, comment: { body: '/benchmark' } }),
    )
    const env = {
      GITHUB_EVENT_NAME: 'issue_comment',
      GITHUB_EVENT_PATH: join(dir, 'event.json'),
      GITHUB_REPOSITORY: 'acme/llm',
      GITHUB_API_URL: github.url,
      GITHUB_SHA: '0'.repeat(40), // the default branch's head: not what is measured
      GITHUB_REF_NAME: 'main',
    }
    await withSim(['--ttft-ms', '5', '--itl-ms', '1', '--model', 'sim'], async (s) => {
      const r = await step('main', { mode: 'existing', url: s.url, 'github-token': 'ghp_action' }, env, dir)
      expect(r.code, r.stdout).toBe(0)
      expect(r.stdout).toContain(`benchmarking pull request #7 at ${'c'.repeat(40)}`)
      const report = parseReport(JSON.parse(readFileSync(join(dir, 'infergate-report.json'), 'utf8')))
      expect(report.git).toMatchObject({
        sha: 'c'.repeat(40),
        branch: 'faster-kv',
        base_branch: 'main',
        pr_number: 7,
      })
      expect(github.calls.map((c) => [c.method, c.path, c.authorization])).toEqual([
        ['GET', '/repos/acme/llm/pulls/7', 'token ghp_action'],
      ])
      const without = await step('main', { mode: 'existing', url: s.url, 'github-token': '' }, env, dir)
      expect(without.stdout).toContain(
        '::error::input github-token: needed to find the commit of the pull request',
      )
    })
  })

  it('cancelled mid-benchmark (SIGTERM): deletes what it created before exiting', async () => {
    const k = await kube({ readyAfterMs: 100 })
    const dir = workspace(CONFIG.replace('  requests: 48', '  duration_s: 60'))
    const main = await step('main', { kubeconfig: k.kubeconfig() }, {}, dir, (child) => {
      // Progress goes to stderr, as with infergate bench.
      child.stderr!.on('data', (c: Buffer) => {
        if (c.toString().includes('benchmarking sim-llama')) child.kill('SIGTERM')
      })
    })
    expect(main.code).toBe(143)
    expect(main.stdout).toMatch(/::warning::SIGTERM: the run was cancelled; deleting ig-chat-/)
    expect(k.deleted).toHaveLength(1)
    // The post step runs anyway and finds nothing left to do.
    const post = await postStep(main, { kubeconfig: k.kubeconfig() }, {}, dir)
    expect(post.code).toBe(0)
    expect(post.stdout).toContain('was already gone')
  })
})

/** `infergate serve` (the bundled bin) on an embedded database; resolves with its URL. */
function serveProcess(env: NodeJS.ProcessEnv): Promise<{ url: string }> {
  const bin = resolve(import.meta.dirname, '../dist/infergate.js')
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--data-dir', join(tempDir(), 'db')], {
    env: { PATH: process.env.PATH, HOME: tempDir(), ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  cleanups.push(
    () =>
      new Promise<void>((done) => {
        child.once('exit', () => done())
        child.kill('SIGTERM')
      }),
  )
  return new Promise((done, fail) => {
    child.once('exit', (code) => fail(new Error(`serve exited with ${code}`)))
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const log = JSON.parse(line) as { msg: string; url?: string }
      if (log.msg === 'infergate serve listening') done({ url: log.url! })
    })
  })
}

/** RBAC's view of an API call: the resource and the verb it needs. */
function permissionOf(c: { method: string; path: string; query: Record<string, string> }): string {
  const m = c.path.match(
    /^\/(?:api\/v1|apis\/([^/]+)\/[^/]+)(?:\/namespaces\/[^/]+)?\/([^/]+)(\/[^/]+)?(\/[^/]+)?$/,
  )
  if (!m) return `unknown ${c.method} ${c.path}`
  const group = m[1] ?? ''
  const resource = m[4] ? `${m[2]}${m[4]}` : m[2]!
  const verb =
    c.method === 'POST'
      ? 'create'
      : c.method === 'DELETE'
        ? 'delete'
        : m[3]
          ? 'get'
          : c.query.watch === 'true'
            ? 'watch'
            : 'list'
  return `${group}/${resource}:${verb}`
}

function grantedByRunnerDoc(): Set<string> {
  const doc = readFileSync(resolve(import.meta.dirname, '../docs/runner.md'), 'utf8')
  const granted = new Set<string>()
  for (const block of doc.matchAll(/```yaml\n([\s\S]*?)```/g)) {
    for (const o of parseAllDocuments(block[1]!).map(
      (d) =>
        d.toJS() as { kind: string; rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[] },
    )) {
      if (o.kind !== 'Role' && o.kind !== 'ClusterRole') continue
      for (const r of o.rules ?? [])
        for (const g of r.apiGroups)
          for (const res of r.resources) for (const v of r.verbs) granted.add(`${g}/${res}:${v}`)
    }
  }
  return granted
}

describe('cancellation while waiting for Ready', () => {
  it("SIGINT (the runner's first signal): deleted before exiting, a later SIGTERM changes nothing", async () => {
    const k = await kube({ readyAfterMs: 30_000 })
    const dir = workspace()
    const main = await step('main', { kubeconfig: k.kubeconfig() }, {}, dir, (child) => {
      child.stdout!.on('data', (c: Buffer) => {
        if (c.toString().includes('::group::waiting for')) {
          child.kill('SIGINT')
          setTimeout(() => child.kill('SIGTERM'), 20)
        }
      })
    })
    expect(main.code).toBe(130)
    expect(main.stdout).toMatch(
      /::warning::SIGINT: the run was cancelled; deleting ig-chat-local-1-[0-9a-f]{4}/,
    )
    expect(k.deleted).toHaveLength(1)
    expect(k.services.size).toBe(0)
  })
})

describe('the Role in docs/runner.md', () => {
  it('grants every call a run makes, deployments that fail included', async () => {
    const k = await kube({ readyAfterMs: 100 })
    const dir = workspace()
    const inputs = { kubeconfig: k.kubeconfig(), 'ready-timeout': '2' }
    for (const failure of [null, 'OOMKilled', 'Unschedulable', 'QuotaExceeded'] as const) {
      k.failNext = failure
      const main = await step('main', inputs, {}, dir)
      expect(main.code).toBe(failure ? 1 : 0)
      await postStep(main, inputs, {}, dir)
    }
    const used = new Set(k.calls.map(permissionOf))
    expect([...used].sort()).toEqual([
      '/events:list',
      '/nodes:get',
      '/pods/log:get',
      '/pods:list',
      'serving.kserve.io/inferenceservices:create',
      'serving.kserve.io/inferenceservices:delete',
      'serving.kserve.io/inferenceservices:get',
      'serving.kserve.io/inferenceservices:watch',
    ])
    // Exactly what is used: nothing missing, nothing more.
    expect([...grantedByRunnerDoc()].sort()).toEqual([...used].sort())
  })
})

describe('end to end: fake cluster, the bundled infergate serve, fake GitHub', () => {
  it('deploy → benchmark → post → comment and failure status on the head SHA → deleted', async () => {
    const k = await kube({
      readyAfterMs: 100,
      simArgs: ['--ttft-ms', '10', '--itl-ms', '8', '--jitter', '0.05'],
    })
    const github = await new FakeGithub({ token: 'ghp_e2e' }).start()
    cleanups.push(() => github.close())
    // The service as users run it: the bundled CLI's serve, configured from its environment.
    const service = await serveProcess({
      INFERGATE_ADMIN_TOKEN: 'adm',
      INFERGATE_GITHUB_TOKEN: 'ghp_e2e',
      INFERGATE_GITHUB_API_URL: github.url,
    })
    const created = await fetch(`${service.url}/api/v1/projects`, {
      method: 'POST',
      headers: { authorization: 'Bearer adm', 'content-type': 'application/json' },
      body: JSON.stringify({ owner: 'acme', repo: 'llm' }),
    })
    const { token } = (await created.json()) as { token: string }
    const dir = workspace()
    const inputs = { kubeconfig: k.kubeconfig(), 'service-url': service.url, 'service-token': token }
    const github_env = (run: number, sha: string): NodeJS.ProcessEnv => ({
      GITHUB_REPOSITORY: 'acme/llm',
      GITHUB_RUN_ID: String(run),
      GITHUB_RUN_ATTEMPT: '1',
      GITHUB_SERVER_URL: 'https://github.test',
      GITHUB_SHA: sha,
    })
    // Three nightly runs on main: the baseline.
    for (let i = 0; i < 3; i++) {
      const env = {
        ...github_env(100 + i, `${i}`.repeat(40)),
        GITHUB_EVENT_NAME: 'schedule',
        GITHUB_REF: 'refs/heads/main',
        GITHUB_REF_NAME: 'main',
      }
      const main = await step('main', inputs, env, dir)
      expect(main.code, main.stdout).toBe(0)
      await postStep(main, inputs, env, dir)
    }
    // The PR's engine decodes 50% slower.
    k.simArgs = ['--ttft-ms', '10', '--itl-ms', '12', '--jitter', '0.05']
    const head = 'f'.repeat(40)
    writeFileSync(
      join(dir, 'event.json'),
      JSON.stringify({
        pull_request: { number: 42, head: { sha: head, ref: 'slow' }, base: { ref: 'main' } },
      }),
    )
    const prEnv = {
      ...github_env(200, 'e'.repeat(40)), // the merge commit: statuses must not go there
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_EVENT_PATH: join(dir, 'event.json'),
      GITHUB_REF: 'refs/pull/42/merge',
      GITHUB_HEAD_REF: 'slow',
      GITHUB_BASE_REF: 'main',
    }
    const pr = await step('main', inputs, prEnv, dir)
    expect(pr.code, pr.stdout).toBe(1)
    expect(pr.stdout).toMatch(/::error::chat: Regression: TPOT \+\d+\.\d%25 \(concurrency-4\)/)
    expect(pr.output.status).toBe('regression')
    expect(pr.output['comparison-url']).toMatch(
      new RegExp(`^${service.url}/api/v1/runs/[0-9a-f-]{36}/comparison$`),
    )
    expect(pr.summary).toContain('### Infergate · `chat`: 🔴 regression')
    const post = await postStep(pr, inputs, prEnv, dir)
    expect(post.code).toBe(0)
    expect(k.services.size).toBe(0)
    expect(k.deleted).toHaveLength(4)

    // The service tells GitHub: a pending status first, then the verdict, on the PR's head SHA.
    const until = Date.now() + 10_000
    while (github.comments.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50))
    const onHead = github.statuses.filter((s) => s.sha === head)
    expect(onHead.map((s) => [s.context, s.state])).toEqual([
      ['infergate/chat', 'pending'],
      ['infergate/chat', 'failure'],
    ])
    expect(github.statuses.some((s) => s.sha === 'e'.repeat(40))).toBe(false)
    expect(github.comments).toHaveLength(1)
    expect(github.comments[0]).toMatchObject({ issue_number: 42 })
    expect(github.comments[0]!.body).toContain('🔴 regression')
    // The job summary names the baselines as the comment does: by their commits, not run ids.
    const baselineLine = (md: string) => md.match(/^Baseline: .*$/m)?.[0]
    expect(baselineLine(pr.summary)).toBe('Baseline: 3 runs (`0000000`, `1111111`, `2222222`).')
    expect(baselineLine(github.comments[0]!.body)).toBe(baselineLine(pr.summary))

    // A run that fails after announcing itself says so: error, not an everlasting pending.
    k.failNext = 'ImagePullBackOff'
    const broken = { ...prEnv, GITHUB_RUN_ID: '201' }
    writeFileSync(
      join(dir, 'event.json'),
      JSON.stringify({
        pull_request: { number: 42, head: { sha: 'd'.repeat(40), ref: 'slow' }, base: { ref: 'main' } },
      }),
    )
    const failed = await step('main', inputs, broken, dir)
    expect(failed.code).toBe(1)
    await postStep(failed, inputs, broken, dir)
    const until2 = Date.now() + 10_000
    while (github.statuses.filter((s) => s.sha === 'd'.repeat(40)).length < 2 && Date.now() < until2) {
      await new Promise((r) => setTimeout(r, 50))
    }
    expect(github.statuses.filter((s) => s.sha === 'd'.repeat(40)).map((s) => s.state)).toEqual([
      'pending',
      'error',
    ])
  })
})
