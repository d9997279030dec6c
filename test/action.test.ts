// The bundled Action run the way GitHub's runner runs it: node on dist/action/main.js with
// INPUT_* and GITHUB_* variables and the GITHUB_OUTPUT, GITHUB_STEP_SUMMARY and GITHUB_STATE
// files, then dist/action/post.js with the saved state — against a fake Kubernetes API that
// plays KServe, a real `infergate serve`, and the fake GitHub API.
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { afterEach, describe, expect, it } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { compareArms } from '../core/detect/arms.ts'
import { Comparison, METRICS } from '../core/detect/comparison.ts'
import type { NoisePriors } from '../core/detect/noise-prior.ts'
import { statusDescription } from '../core/render/markdown.ts'
import { parseReport } from '../core/report.ts'
import { DEFAULT_CONFIG } from '../service/app.ts'
import { startService } from '../service/server.ts'
import { FakeGithub } from './fakes/github-api.ts'
import { FakeKube } from './fakes/kube-api.ts'
import { FakeOidcIssuer } from './fakes/oidc-issuer.ts'
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
    expect(bad.stdout).toContain('::error::input mode: expected deploy, existing or ab, got "sideways"')
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
      // History mode: no A/B prior asked for.
      expect(r.stdout).not.toMatch(/noise priors|is the prior/)
      expect(r.summary).toContain('the report is `infergate-report.json`')
      expect(
        parseReport(JSON.parse(readFileSync(join(dir, 'infergate-report.json'), 'utf8'))).benchmark,
      ).toBe('chat')
    })
  })

  it("no service-token: the job's GitHub OIDC token, asked for each call, verified by the bundled serve", async () => {
    const issuer = await new FakeOidcIssuer().start()
    cleanups.push(() => issuer.close())
    const audience = 'https://infergate.test'
    const service = await serveProcess({
      INFERGATE_ADMIN_TOKEN: 'adm',
      INFERGATE_OIDC_AUDIENCE: audience,
      INFERGATE_OIDC_ISSUER: issuer.url,
    })
    const admin = (method: string, path: string, body: unknown) =>
      fetch(`${service.url}${path}`, {
        method,
        headers: { authorization: 'Bearer adm', 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
    expect((await admin('POST', '/api/v1/projects', { owner: 'acme', repo: 'llm' })).status).toBe(201)
    expect((await admin('PUT', '/api/v1/projects/acme/llm/oidc', { repository_id: '74' })).status).toBe(200)
    const dir = workspace(
      `benchmark: chat\nmodel: {name: sim}\nworkload: {concurrency: [1], requests: 4, output_tokens: 4}\n`,
    )
    await withSim(['--ttft-ms', '5', '--itl-ms', '1', '--model', 'sim'], async (s) => {
      const inputs = { mode: 'existing', url: s.url, 'service-url': service.url, 'oidc-audience': audience }
      const runner = {
        GITHUB_REPOSITORY: 'acme/llm',
        GITHUB_RUN_ATTEMPT: '1',
        ACTIONS_ID_TOKEN_REQUEST_URL: issuer.requestUrl,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: issuer.requestToken,
      }
      const sha = 'a'.repeat(40)
      issuer.job = {
        repository: 'acme/llm',
        repository_id: '74',
        ref: 'refs/heads/main',
        sha,
        event_name: 'push',
        run_id: '300',
      }
      const push = {
        ...runner,
        GITHUB_RUN_ID: '300',
        GITHUB_SHA: sha,
        GITHUB_EVENT_NAME: 'push',
        GITHUB_REF: 'refs/heads/main',
        GITHUB_REF_NAME: 'main',
      }
      const main = await step('main', inputs, push, dir)
      expect(main.code, main.stdout).toBe(0)
      expect(main.output.status, main.stdout).toBe('no_baseline')
      // A token per call (the pending status, the report), each masked in the log.
      expect(issuer.issued.length).toBeGreaterThanOrEqual(2)
      for (const t of issuer.issued) expect(main.stdout).toContain(`::add-mask::${t}`)

      // The pull request's run, with its own token, is compared with main's.
      writeFileSync(
        join(dir, 'event.json'),
        JSON.stringify({
          pull_request: { number: 9, head: { sha: 'b'.repeat(40), ref: 'x' }, base: { ref: 'main' } },
        }),
      )
      issuer.job = {
        ...issuer.job,
        ref: 'refs/pull/9/merge',
        sha: 'c'.repeat(40),
        event_name: 'pull_request',
        run_id: '301',
      }
      const pr = await step(
        'main',
        inputs,
        {
          ...runner,
          GITHUB_RUN_ID: '301',
          GITHUB_SHA: 'c'.repeat(40),
          GITHUB_EVENT_NAME: 'pull_request',
          GITHUB_EVENT_PATH: join(dir, 'event.json'),
          GITHUB_REF: 'refs/pull/9/merge',
          GITHUB_HEAD_REF: 'x',
          GITHUB_BASE_REF: 'main',
        },
        dir,
      )
      expect(pr.code, pr.stdout).toBe(0)
      expect(pr.output['comparison-url']).toMatch(/\/api\/v1\/runs\/[0-9a-f-]{36}\/comparison$/)
      expect(pr.summary).toContain('Baseline: 1 run (`aaaaaaa`).')

      // A token for another repository is refused: a warning, the report kept.
      issuer.job = { ...issuer.job, repository: 'evil/fork', repository_id: '999', run_id: '302' }
      const foreign = await step('main', inputs, { ...push, GITHUB_RUN_ID: '302' }, dir)
      expect(foreign.code).toBe(0)
      expect(foreign.stdout).toMatch(
        /::warning::The regression service did not take the report: POST \/api\/v1\/runs: 401 OIDC token refused: no project is bound to repository evil\/fork/,
      )
      // Without a token to ask for, service-url alone is refused before anything runs.
      const bare = await step(
        'main',
        { ...inputs, 'oidc-audience': '' },
        { GITHUB_REPOSITORY: 'acme/llm' },
        dir,
      )
      expect(bare.code).toBe(1)
      expect(bare.stdout).toContain(
        'input service-token: required with service-url, unless the job may request a GitHub OIDC token (permissions: id-token: write)',
      )
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
    for (const failure of [null, 'OOMKilled', 'Unschedulable', 'QuotaExceeded'] as const) {
      // The failures that wait for the timeout wait 2 s; the one that succeeds may take longer
      // (an engine-sim starting on a busy machine).
      const inputs = { kubeconfig: k.kubeconfig(), 'ready-timeout': failure ? '2' : '60' }
      k.failNext = failure
      const main = await step('main', inputs, {}, dir)
      expect(main.code, main.stdout).toBe(failure ? 1 : 0)
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

// Mode ab: the PR's base and head in one interleaved run, kept short (two or three blocks of
// half a second per arm).
const AB_CONFIG = `benchmark: chat
model:
  name: sim-llama
  storage_uri: hf://acme/sim-llama
resources:
  gpus: 1
  memory: 24Gi
workload:
  concurrency: [2]
  duration_s: 0.5
  input_tokens: 32
  output_tokens: 8
  max_trials: 2
`
/** Mode ab against two servers already running: a short run of at most three blocks. */
const AB_SERVERS_CONFIG =
  'benchmark: chat\nmodel: {name: sim}\nworkload: {concurrency: [2], duration_s: 0.5, output_tokens: 16, max_trials: 3}\n'
const BASE_SHA = 'b'.repeat(40)
const HEAD_SHA = 'c'.repeat(40)

/** A pull_request event for PR #42 of acme/llm, head HEAD_SHA on `faster`, base BASE_SHA on main. */
function prEvent(dir: string, github: FakeGithub): NodeJS.ProcessEnv {
  writeFileSync(
    join(dir, 'event.json'),
    JSON.stringify({
      pull_request: {
        number: 42,
        head: { sha: HEAD_SHA, ref: 'faster' },
        base: { sha: BASE_SHA, ref: 'main' },
      },
    }),
  )
  return {
    GITHUB_EVENT_NAME: 'pull_request',
    GITHUB_EVENT_PATH: join(dir, 'event.json'),
    GITHUB_REPOSITORY: 'acme/llm',
    GITHUB_API_URL: github.url,
    GITHUB_SHA: 'e'.repeat(40), // the merge commit
    GITHUB_REF: 'refs/pull/42/merge',
    GITHUB_HEAD_REF: 'faster',
    GITHUB_BASE_REF: 'main',
    GITHUB_RUN_ID: '300',
    GITHUB_RUN_ATTEMPT: '1',
  }
}

async function fakeGithub(): Promise<FakeGithub> {
  const github = await new FakeGithub({ token: 'ghp_action' }).start()
  cleanups.push(() => github.close())
  return github
}

const readReport = (dir: string) =>
  parseReport(JSON.parse(readFileSync(join(dir, 'infergate-report.json'), 'utf8')))

/**
 * A loopback stand-in for the regression service in mode ab: it answers the noise-priors route
 * as told, takes statuses, and judges a posted A/B report between its arms with the priors it
 * served (as the service does); every request it saw is in `requests`.
 */
async function abService(answer: () => { status: number; body: unknown }) {
  const requests: { method: string; url: string; authorization: string | null }[] = []
  const comparisons: Comparison[] = []
  let served: NoisePriors | null = null
  const json = (res: ServerResponse, status: number, body: unknown) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    requests.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization ?? null })
    if (req.method === 'GET' && /^\/api\/v1\/projects\/[^/]+\/[^/]+\/noise-priors\?/.test(req.url!)) {
      const { status, body } = answer()
      if (status === 200) served = body as NoisePriors
      return json(res, status, body)
    }
    if (req.method === 'POST' && req.url === '/api/v1/statuses') return json(res, 201, { notifications: [] })
    if (req.method === 'POST' && req.url === '/api/v1/runs') {
      const id = `00000000-0000-4000-8000-${String(comparisons.length + 1).padStart(12, '0')}`
      const report = parseReport(JSON.parse(Buffer.concat(chunks).toString('utf8')))
      const comparison = compareArms({ id, report }, { priors: served })
      comparisons.push(comparison)
      return json(res, 201, { id, comparison, notifications: [] })
    }
    json(res, 404, { error: { code: 'not_found', message: `no route ${req.method} ${req.url}` } })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  cleanups.push(() => new Promise((r) => server.close(r)))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { url, requests, comparisons }
}

describe('mode ab', () => {
  it("deploys the PR's config and the base's (read at the base SHA) at once, benchmarks both, the post step deletes both", async () => {
    const k = await kube({ readyAfterMs: 100 })
    const github = await fakeGithub()
    const dir = workspace(AB_CONFIG)
    // The PR raises max_num_seqs; the base's config, at the base commit, is the old one.
    writeFileSync(join(dir, 'infergate.yaml'), `${AB_CONFIG}engine:\n  max_num_seqs: 16\n`)
    github.setFile('acme/llm', BASE_SHA, 'infergate.yaml', `${AB_CONFIG}engine:\n  max_num_seqs: 8\n`)
    const env = prEvent(dir, github)
    const inputs = { mode: 'ab', kubeconfig: k.kubeconfig('models'), 'github-token': 'ghp_action' }
    const main = await step('main', inputs, env, dir)
    expect(main.code, main.stdout).toBe(0)

    // The base's config was read at the PR's base commit, through the contents API.
    const reads = github.callsTo('GET', /\/contents\//)
    expect(reads.map((c) => [c.path, c.query.ref, c.authorization])).toEqual([
      ['/repos/acme/llm/contents/infergate.yaml', BASE_SHA, 'token ghp_action'],
    ])
    // Two InferenceServices, one run and nonce, told apart by their arm.
    expect(k.created).toHaveLength(2)
    const byArm = Object.fromEntries(k.created.map((c) => [c.metadata.labels['infergate.dev/arm'], c]))
    const head = byArm.candidate!
    const base = byArm.baseline!
    expect(head.metadata.name).toMatch(/^ig-chat-300-1-[0-9a-f]{4}-head$/)
    expect(base.metadata.name).toBe(head.metadata.name.replace(/-head$/, '-base'))
    expect(head.spec.predictor.model.args).toContain('--max-num-seqs=16')
    expect(base.spec.predictor.model.args).toContain('--max-num-seqs=8')
    // Neither config names a GPU: the base goes where the head landed, an NVIDIA-L4.
    expect(head.spec.predictor.nodeSelector).toBeUndefined()
    expect(base.spec.predictor.nodeSelector).toEqual({ 'nvidia.com/gpu.product': 'NVIDIA-L4' })
    expect(base.spec.predictor.affinity).toBeUndefined()
    // Both remembered, before either was created.
    expect(JSON.parse(main.state.deployment!)).toEqual([
      { name: head.metadata.name, namespace: 'models' },
      { name: base.metadata.name, namespace: 'models' },
    ])

    const report = readReport(dir)
    expect(report.paired).toMatchObject({ order: 'counterbalanced', max_blocks: 2 })
    const arm = (name: string) => report.arms!.find((a) => a.name === name)!
    expect(arm('baseline').git).toEqual({ sha: BASE_SHA, ref: 'refs/heads/main' })
    expect(arm('candidate').git).toEqual({ sha: HEAD_SHA, ref: 'refs/pull/42/merge' })
    expect(report.git).toMatchObject({ sha: HEAD_SHA, pr_number: 42, base_branch: 'main' })
    // Each arm records what served it: its own InferenceService and engine settings.
    const kserveOf = (n: string) =>
      (arm(n).environment.config as { kserve: { inference_service: string } }).kserve.inference_service
    expect(kserveOf('baseline')).toBe(`models/${base.metadata.name}`)
    expect(kserveOf('candidate')).toBe(`models/${head.metadata.name}`)
    expect((arm('baseline').environment.config as { engine: object }).engine).toMatchObject({
      max_num_seqs: 8,
    })
    expect(report.environment).toEqual(arm('candidate').environment)
    expect(arm('baseline').environment.gpu).toEqual({ model: 'NVIDIA-L4', count: 1 })
    const trials = report.scenarios[0]!.trials
    expect(trials.map((t) => t.arm).sort()).toEqual(['baseline', 'baseline', 'candidate', 'candidate'])
    expect(main.summary).toContain(
      `Deployed InferenceService \`models/${base.metadata.name}\` (baseline, the PR's base)`,
    )
    expect(main.summary).toContain(
      `Deployed InferenceService \`models/${head.metadata.name}\` (candidate, the PR's head)`,
    )
    // No service: the A/B run is judged here, from its own arms, and the gate holds.
    expect(main.stdout).toMatch(/compared the two arms here: (regression|improvement|unchanged|inconclusive)/)
    // No service, no learned prior asked for: the default.
    expect(main.stdout).not.toMatch(/noise priors|is the prior/)
    expect(['regression', 'improvement', 'unchanged', 'inconclusive']).toContain(main.output.status)
    expect(main.summary).toContain('A/B: the base and this PR ran interleaved on the same hardware')
    expect(main.summary).toContain('this verdict was reached here, from the run')

    expect(k.deleted).toEqual([])
    const post = await postStep(main, inputs, env, dir)
    expect(post.code).toBe(0)
    expect(k.deleted.sort()).toEqual([base.metadata.name, head.metadata.name].sort())
    expect(k.services.size).toBe(0)
    expect(post.stdout).toContain(`deleted InferenceService models/${base.metadata.name}`)
    expect(post.stdout).toContain(`deleted InferenceService models/${head.metadata.name}`)
    // Nothing the Role in docs/runner.md does not grant.
    const granted = grantedByRunnerDoc()
    for (const p of new Set(k.calls.map(permissionOf))) expect(granted, p).toContain(p)
  })

  it('baseline-config and same-node: the base read from its own path, put on the head’s node; a different workload is warned of', async () => {
    const k = await kube({ readyAfterMs: 100 })
    const github = await fakeGithub()
    const gpu =
      'resources:\n  gpus: 1\n  memory: 24Gi\n  node_selector: {nvidia.com/gpu.product: NVIDIA-L4}\n'
    const headConfig = AB_CONFIG.replace(/resources:\n {2}gpus: 1\n {2}memory: 24Gi\n/, gpu)
    const dir = workspace(headConfig)
    // The base's config lived elsewhere, with another workload.
    github.setFile(
      'acme/llm',
      BASE_SHA,
      'bench/old.yaml',
      AB_CONFIG.replace('output_tokens: 8', 'output_tokens: 16'),
    )
    const env = prEvent(dir, github)
    const inputs = {
      mode: 'ab',
      kubeconfig: k.kubeconfig(),
      'github-token': 'ghp_action',
      'baseline-config': './bench/old.yaml',
      'same-node': 'true',
      'keep-deployment': 'true',
    }
    const main = await step('main', inputs, env, dir)
    expect(main.code, main.stdout).toBe(0)
    expect(github.callsTo('GET', /\/contents\//).map((c) => c.path)).toEqual([
      '/repos/acme/llm/contents/bench%2Fold.yaml',
    ])
    expect(main.stdout).toContain(
      `::warning::the base's workload (bench/old.yaml@${BASE_SHA}) differs from the PR's: both arms run the PR's workload`,
    )
    const head = k.created.find((c) => c.metadata.name.endsWith('-head'))!
    const base = k.created.find((c) => c.metadata.name.endsWith('-base'))!
    // Only the head's config names the GPU: the base gets the same selector, and the head's node.
    expect(base.spec.predictor.nodeSelector).toEqual({ 'nvidia.com/gpu.product': 'NVIDIA-L4' })
    expect(base.spec.predictor.affinity).toEqual({
      podAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [
          {
            labelSelector: { matchLabels: { 'serving.kserve.io/inferenceservice': head.metadata.name } },
            topologyKey: 'kubernetes.io/hostname',
          },
        ],
      },
    })
    expect(head.spec.predictor.affinity).toBeUndefined()
    // Both arms ran the PR's workload.
    expect(readReport(dir).workload.output_tokens).toMatchObject({ mean: 8 })
    const kept = await postStep(main, inputs, env, dir)
    expect(kept.stdout).toContain(
      `keep-deployment: InferenceService default/${base.metadata.name} is left running`,
    )
    expect(kept.stdout).toContain(
      `keep-deployment: InferenceService default/${head.metadata.name} is left running`,
    )
    expect(k.deleted).toEqual([])
  })

  it('two servers already running (url and baseline-url): posted to the service, compared between its arms; fail-on-inconclusive', async () => {
    const service = await startService(
      { memory: true },
      { ...DEFAULT_CONFIG, adminToken: 'adm' },
      { host: '127.0.0.1', port: 0 },
    )
    cleanups.push(() => service.close())
    const created = await fetch(`${service.url}/api/v1/projects`, {
      method: 'POST',
      headers: { authorization: 'Bearer adm', 'content-type': 'application/json' },
      body: JSON.stringify({ owner: 'acme', repo: 'llm' }),
    })
    const { token } = (await created.json()) as { token: string }
    const github = await fakeGithub()
    const dir = workspace(
      `benchmark: chat\nmodel: {name: sim}\nworkload: {concurrency: [2], duration_s: 0.5, output_tokens: 16, max_trials: 3}\n`,
    )
    const env = prEvent(dir, github)
    // The base decodes twice as slowly as the PR's head.
    await withSim(['--ttft-ms', '5', '--itl-ms', '8', '--model', 'sim'], async (baseSim) => {
      await withSim(['--ttft-ms', '5', '--itl-ms', '4', '--model', 'sim'], async (headSim) => {
        const inputs = {
          mode: 'ab',
          url: headSim.url,
          'baseline-url': baseSim.url,
          'service-url': service.url,
          'service-token': token,
        }
        const r = await step('main', inputs, env, dir)
        expect(r.code, r.stdout).toBe(0)
        const report = readReport(dir)
        const arm = (name: string) => report.arms!.find((a) => a.name === name)!
        expect(arm('baseline').environment.endpoint.url).toBe(baseSim.url)
        expect(arm('candidate').environment.endpoint.url).toBe(headSim.url)
        expect(arm('baseline').git).toEqual({ sha: BASE_SHA, ref: 'refs/heads/main' })
        expect(arm('candidate').git.sha).toBe(HEAD_SHA)
        // Nothing read from GitHub: nothing was deployed from the base's config.
        expect(github.calls).toEqual([])
        expect(r.output.status).toBe('improvement')
        expect(r.summary).toContain('A/B: the base and this PR ran interleaved on the same hardware')
        expect(r.stdout).toMatch(/posted run [0-9a-f-]{36}: improvement/)

        // An A/A run (two servers alike) cannot tell three blocks' noise from a change of the
        // minimum effect: inconclusive, which fail-on-inconclusive turns into a failed step.
        const aa = await withSim(['--ttft-ms', '5', '--itl-ms', '4', '--model', 'sim'], (twin) =>
          step(
            'main',
            { ...inputs, 'baseline-url': twin.url, 'fail-on-inconclusive': 'true' },
            { ...env, GITHUB_RUN_ID: '301' },
            dir,
          ),
        )
        expect(aa.output.status, aa.stdout).toBe('inconclusive')
        expect(aa.code).toBe(1)
        const answer = await fetch(aa.output['comparison-url']!, {
          headers: { authorization: `Bearer ${token}` },
        })
        const comparison = Comparison.parse(await answer.json())
        expect(comparison.mode).toBe('paired')
        // Workflow commands escape % as %25.
        expect(aa.stdout).toContain(`::error::chat: ${statusDescription(comparison).replaceAll('%', '%25')}`)
      })
    })
  })

  it("with a service: the block noise of the project's earlier A/B runs, asked for before the run, is the stop rule's prior", async () => {
    const priors: NoisePriors = {
      schema: 'infergate.noise-priors/v1',
      benchmark: 'chat',
      run_ids: ['run-3', 'run-2', 'run-1'],
      priors: METRICS.map((metric) => ({ scenario: 'concurrency-2', metric, noise_pct: 1, df: 30, runs: 3 })),
    }
    const service = await abService(() => ({ status: 200, body: priors }))
    const github = await fakeGithub()
    const dir = workspace(AB_SERVERS_CONFIG)
    const env = prEvent(dir, github)
    // The base answers and decodes twice as slowly as the PR's head.
    await withSim(['--ttft-ms', '10', '--itl-ms', '8', '--model', 'sim'], async (baseSim) => {
      await withSim(['--ttft-ms', '5', '--itl-ms', '4', '--model', 'sim'], async (headSim) => {
        const inputs = {
          mode: 'ab',
          url: headSim.url,
          'baseline-url': baseSim.url,
          'service-url': service.url,
          'service-token': 'igt_project',
        }
        const r = await step('main', inputs, env, dir)
        expect(r.code, r.stdout).toBe(0)
        // Asked for with the repository and benchmark the report carries, before the report.
        const calls = service.requests.map((q) => `${q.method} ${q.url}`)
        const asked = calls.indexOf('GET /api/v1/projects/acme/llm/noise-priors?benchmark=chat')
        expect(asked, calls.join('\n')).toBeGreaterThanOrEqual(0)
        expect(service.requests[asked]!.authorization).toBe('Bearer igt_project')
        expect(asked).toBeLessThan(calls.indexOf('POST /api/v1/runs'))
        expect(readReport(dir).git.repository).toBe('acme/llm')
        // Told before the first block: the stop rule had them from the start.
        const said = r.stdout.indexOf('A/B: the block noise of 3 earlier A/B runs is the prior (14 series)')
        expect(said, r.stdout).toBeGreaterThanOrEqual(0)
        expect(said).toBeLessThan(r.stdout.indexOf('block 1/3'))
        expect(r.stdout).not.toContain('::warning::the regression service')
        // The service judged with the same priors, and the summary says so.
        expect(service.comparisons[0]!.paired!.prior_run_ids).toEqual(['run-3', 'run-2', 'run-1'])
        expect(r.output.status).toBe('improvement')
        expect(r.summary).toContain('The block noise of 3 earlier A/B run(s) was the prior')
      })
    })
  })

  it('a service that fails on the priors (500 every attempt) or predates them (404): the default prior, the run goes on', async () => {
    const failing = await abService(() => ({
      status: 500,
      body: { error: { code: 'internal', message: 'the database is down' } },
    }))
    const old = await abService(() => ({
      status: 404,
      body: { error: { code: 'not_found', message: 'no route' } },
    }))
    const github = await fakeGithub()
    const dir = workspace(AB_SERVERS_CONFIG.replace('max_trials: 3', 'max_trials: 2'))
    const env = prEvent(dir, github)
    await withSim(['--ttft-ms', '5', '--itl-ms', '4', '--model', 'sim'], async (baseSim) => {
      await withSim(['--ttft-ms', '5', '--itl-ms', '4', '--model', 'sim'], async (headSim) => {
        const inputs = {
          mode: 'ab',
          url: headSim.url,
          'baseline-url': baseSim.url,
          'service-url': failing.url,
          'service-token': 'igt_project',
        }
        const r = await step('main', inputs, env, dir)
        expect(r.code, r.stdout).toBe(0)
        const asked = failing.requests.filter((q) => q.url.includes('/noise-priors?'))
        expect(asked).toHaveLength(2) // two attempts: a short wait, not the benchmark's time
        expect(r.stdout).toContain(
          `::warning::the regression service (${failing.url}) did not give the noise priors: GET /api/v1/projects/acme/llm/noise-priors?benchmark=chat: 500 the database is down (after 2 attempts); the A/B run uses the weak default prior`,
        )
        // Benchmarked and posted all the same, judged without a learned prior.
        const trials = readReport(dir).scenarios[0]!.trials
        expect(trials.map((t) => t.arm).sort()).toEqual(['baseline', 'baseline', 'candidate', 'candidate'])
        expect(r.stdout).toMatch(/posted run [0-9a-f-]{36}: /)
        expect(failing.comparisons[0]!.paired!.prior_run_ids).toEqual([])
        expect(r.summary).not.toContain('earlier A/B run(s) was the prior')

        // A service older than the route: nothing learned, said without a warning.
        const o = await step(
          'main',
          { ...inputs, 'service-url': old.url },
          { ...env, GITHUB_RUN_ID: '301' },
          dir,
        )
        expect(o.code, o.stdout).toBe(0)
        expect(o.stdout).toContain(
          'A/B: the regression service has no earlier A/B runs of chat to learn the block noise from yet: the default prior',
        )
        expect(o.stdout).not.toContain('::warning::the regression service')
        expect(old.requests.filter((q) => q.url.includes('/noise-priors?'))).toHaveLength(1)
        expect(old.comparisons).toHaveLength(1)
      })
    })
  })

  it("a base without the config fails before anything is deployed, naming the path and the SHA; the base's errors name path@sha", async () => {
    const k = await kube({ readyAfterMs: 100 })
    const github = await fakeGithub()
    const dir = workspace(AB_CONFIG)
    const env = prEvent(dir, github)
    const inputs = { mode: 'ab', kubeconfig: k.kubeconfig(), 'github-token': 'ghp_action' }
    const main = await step('main', inputs, env, dir)
    expect(main.code).toBe(1)
    expect(main.stdout).toContain(
      `::error::the base branch has no infergate.yaml at ${BASE_SHA}: A/B needs one; use mode deploy for the first PR that adds it`,
    )
    expect(main.output.status).toBe('error')
    expect(k.calls).toEqual([])
    expect(k.created).toEqual([])
    const post = await postStep(main, inputs, env, dir)
    expect(post.stdout).toContain('nothing was deployed')

    // A base config that does not validate: plain errors (not annotations on the PR's file).
    github.setFile(
      'acme/llm',
      BASE_SHA,
      'infergate.yaml',
      `${AB_CONFIG}engine:\n  gpu_memory_utilization: 2\n`,
    )
    const bad = await step('main', inputs, env, dir)
    expect(bad.code).toBe(1)
    expect(bad.stdout).toMatch(
      new RegExp(`::error::infergate\\.yaml@${BASE_SHA}:15:3: error: engine\\.gpu_memory_utilization: `),
    )
    expect(bad.stdout).toContain(
      `::error::infergate.yaml@${BASE_SHA} (the base's config) is not valid: see the errors above`,
    )
    expect(k.calls).toEqual([])

    // No pull request, no base commit: said so.
    const push = await step('main', inputs, { ...env, GITHUB_EVENT_NAME: 'push' }, dir)
    expect(push.code).toBe(1)
    expect(push.stdout).toContain("::error::mode ab deploys the PR's base from its own config")
  })

  it('cancelled mid-benchmark (SIGTERM): deletes both before exiting', async () => {
    const k = await kube({ readyAfterMs: 100 })
    const github = await fakeGithub()
    const long = AB_CONFIG.replace('duration_s: 0.5', 'duration_s: 60')
    const dir = workspace(long)
    github.setFile('acme/llm', BASE_SHA, 'infergate.yaml', long)
    const env = prEvent(dir, github)
    const inputs = { mode: 'ab', kubeconfig: k.kubeconfig(), 'github-token': 'ghp_action' }
    let signalled = false
    const main = await step('main', inputs, env, dir, (child) => {
      child.stderr!.on('data', (c: Buffer) => {
        // The first trial under way: both servers are up.
        if (!signalled && /block 1\/2 (baseline|candidate)/.test(c.toString())) {
          signalled = true
          child.kill('SIGTERM')
        }
      })
    })
    expect(signalled, main.stdout).toBe(true)
    expect(main.code).toBe(143)
    expect(main.stdout).toMatch(
      /::warning::SIGTERM: the run was cancelled; deleting ig-chat-300-1-[0-9a-f]{4}-head and ig-chat-300-1-[0-9a-f]{4}-base/,
    )
    expect(k.deleted).toHaveLength(2)
    expect(k.services.size).toBe(0)
    const post = await postStep(main, inputs, env, dir)
    expect(post.code).toBe(0)
    expect(post.stdout.match(/was already gone/g)).toHaveLength(2)
  })

  it('refuses inputs that do not make an A/B run', async () => {
    const dir = workspace(AB_CONFIG)
    const cases: [Record<string, string>, string][] = [
      [{ mode: 'ab', url: 'http://a/v1' }, 'mode ab with servers already running needs the base too'],
      [
        { mode: 'ab', 'baseline-url': 'http://a/v1' },
        'mode ab with servers already running needs the PR head too',
      ],
      [{ mode: 'existing', url: 'http://a/v1', 'baseline-url': 'http://b/v1' }, 'are for mode ab'],
      [
        { mode: 'ab', url: 'http://a/v1', 'baseline-url': 'http://b/v1', 'same-node': 'true' },
        'input same-node: only for mode ab when it deploys both',
      ],
      [{ mode: 'ab', url: 'http://a/v1', 'baseline-url': 'http://a/v1/' }, 'name the same server'],
      [{ mode: 'ab', 'baseline-config': '../elsewhere.yaml' }, 'is not a file in the repository'],
      [{ mode: 'ab', 'fail-on-inconclusive': 'maybe' }, 'input fail-on-inconclusive: expected true or false'],
    ]
    for (const [inputs, said] of cases) {
      const r = await step('main', inputs, {}, dir)
      expect(r.code, JSON.stringify(inputs)).toBe(1)
      expect(r.stdout, JSON.stringify(inputs)).toContain(said)
    }
  })
})
