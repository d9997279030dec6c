// deploy/kubernetes and the Dockerfile, checked as far as a machine without a cluster or a
// container engine can: the base rendered by the real `kubectl kustomize` and read at schema
// level (kinds, required fields, labels and selectors that meet, the security context, env names
// that `infergate serve` reads), its probes requested of the real bin started as the image
// starts it, the objects created through the real @kubernetes/client-node on the fake API
// server (whose models drop any field they do not know: a typo shows as a difference), and the
// Dockerfile linted. Building the image and running it on a real cluster are not done here
// (docs/deploy.md says so). kubectl missing is a failure: .ci/run installs Debian's.
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  PolicyV1Api,
  type V1Deployment,
} from '@kubernetes/client-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse, parseAllDocuments } from 'yaml'
import { serveSpec } from '../cli/commands/serve.ts'
import { FakeKube } from './fakes/kube-api.ts'
import { cli, tempDir } from './helpers.ts'
import { serveDatabase, startServe } from './serve-process.ts'

const ROOT = resolve(import.meta.dirname, '..')
const BASE = join(ROOT, 'deploy', 'kubernetes')
const BIN = join(ROOT, 'dist', 'infergate.js')
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }

type Obj = Record<string, any>

function kubectl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    execFile('kubectl', args, { cwd: ROOT, timeout: 30_000, maxBuffer: 8 << 20 }, (error, stdout, stderr) => {
      if ((error as NodeJS.ErrnoException | null)?.code === 'ENOENT') {
        return fail(
          new Error(
            'kubectl not found on PATH: these tests render deploy/kubernetes with `kubectl kustomize` (apt-get install kubernetes-client; .ci/run does)',
          ),
        )
      }
      const code = error ? (error as { code?: number }).code : 0
      done({ code: typeof code === 'number' ? code : 1, stdout, stderr })
    })
  })
}

async function render(dir: string): Promise<Obj[]> {
  const r = await kubectl(['kustomize', dir])
  if (r.code !== 0) throw new Error(`kubectl kustomize ${dir} exited ${r.code}: ${r.stderr}`)
  const docs = parseAllDocuments(r.stdout)
  for (const d of docs) expect(d.errors).toEqual([])
  return docs.map((d) => d.toJS() as Obj)
}

/** Every environment variable `infergate serve` reads: its flags' [$VAR] and its Environment list. */
const SERVE_READS = new Set([
  ...Object.values(serveSpec.flags).flatMap((f) =>
    [...(f.help.match(/\[\$([A-Z0-9_]+)\]/g) ?? [])].map((m) => m.slice(2, -1)),
  ),
  ...(serveSpec.environment ?? []).map((e) => e.name),
])

/** Kubernetes quantities as numbers (cores, bytes) for comparing requests and limits. */
function quantity(q: string | number): number {
  const m = String(q).match(/^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/)
  if (!m) throw new Error(`not a quantity: ${q}`)
  const scale: Record<string, number> = {
    m: 1e-3,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
  }
  return Number(m[1]) * (m[2] ? scale[m[2]]! : 1)
}

interface Instruction {
  op: string
  args: string
  stage: number
}

/** The Dockerfile's instructions (continuations joined, comments dropped), with their stage. */
function dockerfile(text: string): {
  instructions: Instruction[]
  stages: { image: string; name: string | null }[]
} {
  const lines = text.split('\n').filter((l) => !/^\s*#/.test(l))
  const joined: string[] = []
  let current = ''
  for (const line of lines) {
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `
      continue
    }
    current += line
    if (current.trim()) joined.push(current.trim())
    current = ''
  }
  const args: Record<string, string> = {}
  const stages: { image: string; name: string | null }[] = []
  const instructions: Instruction[] = []
  for (const l of joined) {
    const [, op, rest] = l.match(/^(\w+)\s+(.*)$/s)!
    const upper = op!.toUpperCase()
    if (upper === 'ARG' && stages.length === 0) {
      const [k, v] = rest!.split('=')
      args[k!.trim()] = (v ?? '').trim()
    }
    if (upper === 'FROM') {
      const m = rest!.match(/^(\S+)(?:\s+AS\s+(\S+))?$/i)!
      stages.push({
        image: m[1]!.replace(/\$\{(\w+)\}/g, (_, k: string) => args[k] ?? ''),
        name: m[2] ?? null,
      })
    }
    instructions.push({ op: upper, args: rest!, stage: stages.length - 1 })
  }
  return { instructions, stages }
}

let objects: Obj[] = []
const byKind = (kind: string) => objects.filter((o) => o.kind === kind)
const one = (kind: string) => {
  const found = byKind(kind)
  expect(found, kind).toHaveLength(1)
  return found[0]!
}
let deployment: Obj
let pod: Obj
let container: Obj
let configMap: Obj
const docker = dockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))
const runtime = docker.stages.length - 1
const inRuntime = (op: string) => docker.instructions.filter((i) => i.stage === runtime && i.op === op)

// Without kubectl here: said, and skipped (npm test on a fresh machine); in CI, which installs
// Debian's, a missing kubectl is a failure.
const haveKubectl =
  (await kubectl(['version', '--client']).then(
    () => true,
    () => false,
  )) || process.env.CI === 'true'
if (!haveKubectl) console.warn('deploy tests skipped: no kubectl on PATH (apt-get install kubernetes-client)')

beforeAll(async () => {
  if (!haveKubectl) return
  objects = await render('deploy/kubernetes')
  deployment = one('Deployment')
  pod = deployment.spec.template.spec
  container = pod.containers[0]
  configMap = one('ConfigMap')
})

describe.skipIf(!haveKubectl)('deploy/kubernetes, as kubectl kustomize renders it', () => {
  it('is a Deployment, a Service, a PodDisruptionBudget and a ConfigMap, at the API versions clusters serve', () => {
    expect(objects.map((o) => `${o.apiVersion} ${o.kind}`).sort()).toEqual([
      'apps/v1 Deployment',
      'policy/v1 PodDisruptionBudget',
      'v1 ConfigMap',
      'v1 Service',
    ])
    for (const o of objects) expect(o.metadata?.name, o.kind).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
    // No Secret, and no namespace: both are the installer's (docs/deploy.md).
    expect(byKind('Secret')).toEqual([])
    for (const o of objects) expect(o.metadata.namespace, o.kind).toBeUndefined()
  })

  it('runs 2 replicas of one container, the image pinned to the package version', () => {
    expect(deployment.spec.replicas).toBe(2)
    expect(pod.containers).toHaveLength(1)
    expect(container.name).toBeTruthy()
    const [, tag] = (container.image as string).split(/:(?=[^:/]+$)/)
    expect(tag).toBe(pkg.version)
    expect(deployment.spec.strategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
    })
  })

  it("selectors and labels meet: the Deployment's pods, the Service, the PDB and the spread constraints", () => {
    const selector = deployment.spec.selector.matchLabels as Record<string, string>
    expect(Object.keys(selector).length).toBeGreaterThan(0)
    // The API server refuses a Deployment whose selector does not match its template's labels.
    expect(deployment.spec.template.metadata.labels).toMatchObject(selector)
    expect(one('Service').spec.selector).toEqual(selector)
    expect(one('PodDisruptionBudget').spec.selector).toEqual({ matchLabels: selector })
    for (const c of pod.topologySpreadConstraints) expect(c.labelSelector).toEqual({ matchLabels: selector })
    expect(pod.topologySpreadConstraints.map((c: Obj) => c.topologyKey).sort()).toEqual([
      'kubernetes.io/hostname',
      'topology.kubernetes.io/zone',
    ])
    // A one-node cluster still schedules both replicas.
    for (const c of pod.topologySpreadConstraints) expect(c.whenUnsatisfiable).toBe('ScheduleAnyway')
  })

  it("the Service's target port and every probe's port are the container's named port, the one serve listens on", () => {
    const ports = container.ports as Obj[]
    const http = ports.find((p) => p.name === 'http')!
    expect(http.containerPort).toBe(Number(configMap.data.INFERGATE_PORT))
    expect(one('Service').spec.ports).toEqual([
      { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' },
    ])
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe'])
      expect(container[probe].httpGet.port, probe).toBe('http')
  })

  it('a disruption leaves a replica serving', () => {
    const pdb = one('PodDisruptionBudget').spec
    expect(pdb.maxUnavailable).toBe(1)
    expect(pdb.maxUnavailable).toBeLessThan(deployment.spec.replicas)
  })

  it('runs as non-root with a read-only root, no privilege escalation, no capabilities, the default seccomp profile', () => {
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    })
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0)
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      privileged: false,
      capabilities: { drop: ['ALL'] },
    })
    // A writable /tmp on the read-only root.
    const tmp = container.volumeMounts.find((m: Obj) => m.mountPath === '/tmp')
    expect(pod.volumes.find((v: Obj) => v.name === tmp.name)).toMatchObject({ emptyDir: {} })
    expect(pod.automountServiceAccountToken).toBe(false)
  })

  it('requests and limits CPU and memory, requests within limits', () => {
    const { requests, limits } = container.resources
    for (const r of ['cpu', 'memory']) {
      expect(requests[r], r).toBeDefined()
      expect(limits[r], r).toBeDefined()
      expect(quantity(requests[r]), r).toBeLessThanOrEqual(quantity(limits[r]))
    }
  })

  it('sets only variables infergate serve reads, DATABASE_URL from the Secret', () => {
    const env = container.env as Obj[]
    const names = [...env.map((e) => e.name as string), ...Object.keys(configMap.data)]
    for (const n of names) expect(SERVE_READS, n).toContain(n)
    expect(container.envFrom).toEqual([{ configMapRef: { name: configMap.metadata.name } }])
    // The generated ConfigMap's name has its content's hash: a change rolls the pods.
    expect(configMap.metadata.name).toMatch(/^infergate-config-[a-z0-9]+$/)
    expect(configMap.data).toMatchObject({ INFERGATE_HOST: '0.0.0.0' })
    const database = env.find((e) => e.name === 'DATABASE_URL')!
    expect(database.valueFrom.secretKeyRef).toEqual({ name: 'infergate', key: 'DATABASE_URL' })
    for (const e of env) {
      // Secrets come from the Secret, never inline in the manifest.
      expect(e.value, e.name).toBeUndefined()
      expect(e.valueFrom.secretKeyRef.key, e.name).toBe(e.name)
      expect(e.valueFrom.secretKeyRef.optional ?? false, e.name).toBe(e.name !== 'DATABASE_URL')
    }
  })

  it('secret.example.yaml: the keys the Deployment reads, placeholders only, and not rendered', () => {
    const text = readFileSync(join(BASE, 'secret.example.yaml'), 'utf8')
    const secret = parse(text) as Obj
    expect(secret).toMatchObject({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'infergate' } })
    const referenced = new Set((container.env as Obj[]).map((e) => e.valueFrom.secretKeyRef.key))
    for (const [key, value] of Object.entries(secret.stringData as Record<string, string>)) {
      expect(referenced, key).toContain(key)
      expect(value, key).toContain('CHANGE-ME')
    }
    expect(Object.keys(secret.stringData)).toContain('DATABASE_URL')
    const kustomization = parse(readFileSync(join(BASE, 'kustomization.yaml'), 'utf8')) as Obj
    expect(kustomization.resources).not.toContain('secret.example.yaml')
  })

  it('turns service links off: with them, the Service named infergate would set INFERGATE_PORT=tcp://… in every pod', async () => {
    expect(pod.enableServiceLinks).toBe(false)
    expect(one('Service').metadata.name.toUpperCase().replaceAll('-', '_')).toBe('INFERGATE')
    // What serve would make of it.
    const r = await cli(['serve', '--data-dir', join(tempDir(), 'db')], {
      INFERGATE_PORT: 'tcp://10.96.12.34:80',
      DATABASE_URL: '',
    })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('$INFERGATE_PORT: expected an integer')
  })

  it('probes: startup and liveness on /healthz, readiness on /readyz, with a startup budget for migrations', () => {
    expect(container.startupProbe.httpGet.path).toBe('/healthz')
    expect(container.livenessProbe.httpGet.path).toBe('/healthz')
    expect(container.readinessProbe.httpGet.path).toBe('/readyz')
    const { periodSeconds, failureThreshold } = container.startupProbe
    expect(periodSeconds * failureThreshold).toBeGreaterThanOrEqual(300)
    // /readyz waits up to INFERGATE_DB_CONNECT_TIMEOUT_MS (5 s by default) for a connection and
    // answers 503 itself: the probe waits longer than that.
    expect(container.readinessProbe.timeoutSeconds).toBeGreaterThan(5)
  })
})

describe.skipIf(!haveKubectl)('the image runs `infergate serve`, and the probes find what it answers', () => {
  it('the Dockerfile enters the bin and the Deployment adds serve: `infergate serve`', () => {
    const [entrypoint] = inRuntime('ENTRYPOINT')
    expect(JSON.parse(entrypoint!.args)).toEqual(['infergate'])
    expect(container.command).toBeUndefined()
    expect(container.args).toEqual(['serve'])
    expect(JSON.parse(inRuntime('CMD')[0]!.args)).toEqual(['serve'])
  })

  it("the real bin, started with the ConfigMap's settings, answers every probe path with 200", async () => {
    const db = await serveDatabase()
    try {
      // The flag --port 0 (startServe's) wins over INFERGATE_PORT: a free port for the test.
      const s = await startServe({ ...configMap.data, ...db.env }, db.args, BIN)
      try {
        const url = new URL(s.url)
        expect(url.hostname).toBe('0.0.0.0') // INFERGATE_HOST from the ConfigMap took
        for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
          const path = container[probe].httpGet.path
          const res = await fetch(`http://127.0.0.1:${url.port}${path}`)
          expect(res.status, `${probe} ${path}`).toBe(200)
        }
        // And a path it does not serve is not 200: the check above can fail.
        expect((await fetch(`http://127.0.0.1:${url.port}/health`)).status).not.toBe(200)
      } finally {
        expect(await s.stop()).toBe(0)
      }
    } finally {
      await db.drop()
    }
  })
})

describe.skipIf(!haveKubectl)('the Dockerfile (linted: no container engine here to build it)', () => {
  it('is multi-stage: npm ci and npm run build in the build stage, a node:24 slim image at run time', () => {
    expect(docker.stages.length).toBeGreaterThanOrEqual(2)
    const build = docker.stages.findIndex((s) => s.name === 'build')
    expect(build).toBeGreaterThanOrEqual(0)
    expect(build).toBeLessThan(runtime)
    const buildRuns = docker.instructions
      .filter((i) => i.stage === build && i.op === 'RUN')
      .map((i) => i.args)
    expect(buildRuns.join('\n')).toMatch(/npm ci\b/)
    expect(buildRuns.join('\n')).toContain('npm run build')
    expect(buildRuns.join('\n')).toContain('npm pack')
    expect(docker.stages[runtime]!.image).toMatch(/^node:24(\.\d+)*-(\w+-)?slim$/)
  })

  it('the runtime stage copies only the installed package from the build, and runs no npm', () => {
    const copies = docker.instructions.filter(
      (i) => i.stage === runtime && (i.op === 'COPY' || i.op === 'ADD'),
    )
    expect(copies.map((c) => c.args)).toEqual(['--from=build /opt/infergate /opt/infergate'])
    for (const r of inRuntime('RUN')) expect(r.args).not.toMatch(/\bnpm\b|\bapt-get\b/)
  })

  it("runs as a numeric non-root user, the Deployment's", () => {
    const users = inRuntime('USER')
    expect(users).toHaveLength(1)
    const m = users[0]!.args.match(/^(\d+)(?::(\d+))?$/)
    expect(m, 'USER must be numeric, so that runAsNonRoot can check it').not.toBeNull()
    expect(Number(m![1])).toBeGreaterThan(0)
    expect(pod.securityContext.runAsUser).toBe(Number(m![1]))
    if (m![2]) expect(pod.securityContext.runAsGroup).toBe(Number(m![2]))
  })

  it('exposes the port serve listens on, and sets only variables serve reads (and PATH)', () => {
    expect(inRuntime('EXPOSE').map((e) => e.args)).toEqual([configMap.data.INFERGATE_PORT])
    const env = inRuntime('ENV')
      .flatMap((e) => e.args.split(/\s+/))
      .map((kv) => kv.split('=')[0]!)
    expect(env).toContain('INFERGATE_PORT')
    for (const n of env.filter((n) => n !== 'PATH')) expect(SERVE_READS, n).toContain(n)
  })

  it(".dockerignore keeps the checkout's own state out: the image builds dist/ from the sources", () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
    for (const p of ['.git', 'node_modules', 'dist', '.infergate']) expect(ignored, p).toContain(p)
    for (const needed of ['package.json', 'package-lock.json', 'scripts', 'cli', 'core', 'service'])
      expect(ignored, needed).not.toContain(needed)
  })
})

describe.skipIf(!haveKubectl)(
  'the rendered objects, created through @kubernetes/client-node on the fake API server',
  () => {
    let fake: FakeKube
    let kc: KubeConfig
    const ns = 'infergate'
    beforeAll(async () => {
      fake = await new FakeKube({ token: 'deploy-test' }).start()
      kc = new KubeConfig()
      kc.loadFromString(fake.kubeconfig(ns))
    })
    afterAll(async () => {
      await fake.close()
    })

    const create = (o: Obj) => {
      const body = structuredClone(o) as any
      switch (o.kind) {
        case 'ConfigMap':
          return kc.makeApiClient(CoreV1Api).createNamespacedConfigMap({ namespace: ns, body })
        case 'Service':
          return kc.makeApiClient(CoreV1Api).createNamespacedService({ namespace: ns, body })
        case 'Deployment':
          return kc.makeApiClient(AppsV1Api).createNamespacedDeployment({ namespace: ns, body })
        case 'PodDisruptionBudget':
          return kc.makeApiClient(PolicyV1Api).createNamespacedPodDisruptionBudget({ namespace: ns, body })
        default:
          throw new Error(`no client call for ${o.kind}`)
      }
    }

    it('creates each (201), with no field the client models drop, and refuses a second create (409 AlreadyExists)', async () => {
      for (const o of objects) {
        const created = (await create(o)) as Obj
        expect(created.metadata, o.kind).toMatchObject({ name: o.metadata.name, namespace: ns })
        expect(created.metadata.uid, o.kind).toBeTruthy()
      }
      // What arrived is what was rendered: a field unknown to the API's models would be missing.
      expect(fake.received).toEqual(objects)
      const back = await kc
        .makeApiClient(AppsV1Api)
        .readNamespacedDeployment({ name: 'infergate', namespace: ns })
      expect(back.spec?.replicas).toBe(2)
      expect(back.spec?.template.spec?.containers[0]?.readinessProbe?.httpGet?.path).toBe('/readyz')
      for (const o of objects) {
        const again = await create(o).then(
          () => null,
          (e: unknown) => e,
        )
        expect(again, o.kind).toBeInstanceOf(ApiException)
        const e = again as ApiException<string>
        expect(e.code, o.kind).toBe(409)
        expect(JSON.parse(e.body as string)).toMatchObject({ reason: 'AlreadyExists', code: 409 })
      }
    })

    it('(the check above can fail: a misspelled field is dropped by the client on its way)', async () => {
      const typo = structuredClone(deployment) as Obj
      typo.metadata.name = 'typo'
      typo.spec.template.spec.containers[0].readinessprobe =
        typo.spec.template.spec.containers[0].readinessProbe
      delete typo.spec.template.spec.containers[0].readinessProbe
      await kc
        .makeApiClient(AppsV1Api)
        .createNamespacedDeployment({ namespace: ns, body: typo as V1Deployment })
      const sent = fake.received.at(-1)!
      expect(sent.spec.template.spec.containers[0].readinessprobe).toBeUndefined()
      expect(sent).not.toEqual(typo)
    })
  },
)

const version = haveKubectl ? await kubectl(['version', '--client']).catch(() => null) : null
const minor = Number(
  version?.stdout
    .match(/Minor:"(\d+)|Client Version: v1\.(\d+)/)
    ?.slice(1)
    .find(Boolean) ?? 0,
)

describe.skipIf(!haveKubectl)('deploy/overlays/example', () => {
  it.skipIf(minor > 0 && minor < 21)(
    `sets the namespace, the image, 3 replicas and the public URL${minor > 0 && minor < 21 ? ` (skipped: kubectl 1.${minor}'s kustomize 2.0 reads no directory in resources; the overlay needs 1.21+)` : ''}`,
    async () => {
      const rendered = await render('deploy/overlays/example')
      for (const o of rendered) expect(o.metadata.namespace, o.kind).toBe('infergate')
      const d = rendered.find((o) => o.kind === 'Deployment')!
      expect(d.spec.replicas).toBe(3)
      expect(d.spec.template.spec.containers[0].image).toBe(
        `registry.example.com/platform/infergate:${pkg.version}`,
      )
      const cm = rendered.find((o) => o.kind === 'ConfigMap')!
      expect(cm.data).toMatchObject({
        ...configMap.data,
        INFERGATE_PUBLIC_URL: 'https://infergate.example.com',
      })
      expect(d.spec.template.spec.containers[0].envFrom).toEqual([
        { configMapRef: { name: cm.metadata.name } },
      ])
      for (const n of Object.keys(cm.data)) expect(SERVE_READS, n).toContain(n)
    },
  )
})
