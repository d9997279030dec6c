// A Kubernetes API server on loopback for the Action's tests, spoken to by the real
// @kubernetes/client-node: REST and the watch protocol (JSON lines of {type, object}) for
// KServe InferenceServices, and pods, events, pod logs and nodes. It plays the KServe
// controller too: for each InferenceService it starts an engine-sim and, after a delay, sets
// status.url and the Ready condition — or fails in one of the ways real clusters fail.
// It also stores the kinds deploy/kubernetes renders (apps/v1 Deployments, v1 Services and
// ConfigMaps, policy/v1 PodDisruptionBudgets; test/deploy.test.ts): create, get, list, delete
// and nothing more (no controllers, no validation of specs, no apply/patch), with the API's
// conventions for create: 201 with the stored object and its server-set metadata, 409
// AlreadyExists for a name taken, 400 for a body of another kind or namespace, 422 without a
// name (https://kubernetes.io/docs/reference/using-api/api-concepts/ and
// https://github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md#http-status-codes).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { resolve } from 'node:path'
import { type SimProcess, spawnEngineSim } from '../../cli/spawn-sim.ts'

export type Failure =
  | 'OOMKilled'
  | 'CrashLoopBackOff'
  | 'ImagePullBackOff'
  | 'Unschedulable'
  | 'FailedToLoad'
  /** KServe cannot create the pod at all (a ResourceQuota): only an event on the service says so. */
  | 'QuotaExceeded'

export interface FakeKubeOptions {
  /** The bearer token clients must present. */
  token: string
  /** How long the "controller" takes to make a service Ready. */
  readyAfterMs?: number
  /** engine-sim flags per service (default: fast and steady). */
  simArgs?: string[]
  /** Close every watch after this long, as API servers do (client must re-list). */
  watchLifetimeMs?: number
  /** The node's GPU labels. */
  node?: { name: string; product: string; count: number }
}

interface Stored {
  object: Record<string, any>
  sim: SimProcess | null
  timer: NodeJS.Timeout | null
}

const CLI = resolve(import.meta.dirname, '../../cli/main.ts')

export class FakeKube {
  readonly calls: { method: string; path: string; query: Record<string, string> }[] = []
  readonly services = new Map<string, Stored>()
  /** Every InferenceService ever created, by name (kept after deletion). */
  readonly created: Record<string, any>[] = []
  readonly deleted: string[] = []
  /** Deployments, Services, ConfigMaps and PodDisruptionBudgets, by `resource/namespace/name`. */
  readonly objects = new Map<string, Record<string, any>>()
  /** Every body POSTed for those kinds, as it arrived (what the client sent, after its models). */
  readonly received: Record<string, any>[] = []
  url = ''
  /** The next service created fails this way. */
  failNext: Failure | null = null
  /** The next watches answer 410 Gone (an expired resourceVersion) and end. */
  goneWatches = 0
  /** engine-sim flags for services created from now on (a PR's slower engine). */
  simArgs: string[]
  #server: Server | null = null
  #watchers = new Set<{ res: ServerResponse; name: string | null; ns: string }>()
  #rv = 1
  readonly #o: FakeKubeOptions

  constructor(o: FakeKubeOptions) {
    this.#o = o
    this.simArgs = o.simArgs ?? ['--ttft-ms', '5', '--itl-ms', '1']
  }

  async start(): Promise<this> {
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((e) => this.#json(res, 500, status(500, String(e))))
    })
    await new Promise<void>((r) => this.#server!.listen(0, '127.0.0.1', r))
    this.url = `http://127.0.0.1:${(this.#server!.address() as AddressInfo).port}`
    return this
  }

  async close(): Promise<void> {
    for (const w of this.#watchers) w.res.end()
    for (const s of this.services.values()) {
      if (s.timer) clearTimeout(s.timer)
      await s.sim?.stop()
    }
    this.#server?.closeAllConnections()
    await new Promise<void>((r) => this.#server?.close(() => r()) ?? r())
  }

  /** A kubeconfig for this server, as the `kubeconfig` input carries it. */
  kubeconfig(namespace = 'default'): string {
    return [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: fake',
      // Plain HTTP on loopback: client-node allows it only with TLS verification off.
      `  cluster: {server: "${this.url}", insecure-skip-tls-verify: true}`,
      'users:',
      '- name: runner',
      `  user: {token: "${this.#o.token}"}`,
      'contexts:',
      '- name: fake',
      `  context: {cluster: fake, user: runner, namespace: ${namespace}}`,
      'current-context: fake',
      '',
    ].join('\n')
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url)
    this.calls.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
    })
    if (req.headers.authorization !== `Bearer ${this.#o.token}`)
      return this.#json(res, 401, status(401, 'Unauthorized'))
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : null
    const p = url.pathname
    let m: RegExpMatchArray | null = p.match(
      /^\/apis\/serving\.kserve\.io\/v1beta1\/namespaces\/([^/]+)\/inferenceservices(?:\/([^/]+))?$/,
    )
    if (m) return this.#isvc(req.method ?? 'GET', m[1]!, m[2] ?? null, url, body, res)
    m = p.match(/^\/api\/v1\/namespaces\/([^/]+)\/pods$/)
    if (m) {
      const selector = url.searchParams.get('labelSelector') ?? ''
      const name = selector.match(/serving\.kserve\.io\/inferenceservice=([^,]+)/)?.[1]
      const items = [...this.services.values()]
        .filter((s) => s.object.metadata.namespace === m![1] && (!name || s.object.metadata.name === name))
        .filter((s) => s.object.failure !== 'QuotaExceeded')
        .map((s) => this.#pod(s.object))
      return this.#json(res, 200, { apiVersion: 'v1', kind: 'PodList', metadata: {}, items })
    }
    m = p.match(/^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/log$/)
    if (m) {
      const svc = [...this.services.values()].find((s) => `${s.object.metadata.name}-predictor-0` === m![2])
      if (!svc) return this.#json(res, 404, status(404, 'pod not found'))
      const container = url.searchParams.get('container')
      if (container && container !== 'kserve-container') {
        return this.#json(res, 400, status(400, `container ${container} is not valid for pod ${m[2]}`))
      }
      if (svc.object.failure === 'ImagePullBackOff' || svc.object.failure === 'Unschedulable') {
        const why =
          'container "kserve-container" in pod is waiting to start: trying and failing to pull image'
        return this.#json(res, 400, status(400, why))
      }
      res.writeHead(200, { 'content-type': 'text/plain' })
      return void res.end(
        logOf(svc.object.failure as Failure | undefined, url.searchParams.get('previous') === 'true'),
      )
    }
    m = p.match(/^\/api\/v1\/namespaces\/([^/]+)\/events$/)
    if (m) {
      const about = url.searchParams.get('fieldSelector')?.match(/^involvedObject\.name=(.+)$/)?.[1]
      const items = [...this.services.values()]
        .flatMap((s) => eventsOf(s.object))
        .filter((e) => !about || e.involvedObject.name === about)
      return this.#json(res, 200, { apiVersion: 'v1', kind: 'EventList', metadata: {}, items })
    }
    m = p.match(/^\/api\/v1\/nodes\/([^/]+)$/)
    if (m) {
      const node = this.#o.node
      if (!node || node.name !== m[1]) return this.#json(res, 404, status(404, 'node not found'))
      return this.#json(res, 200, {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name: node.name,
          labels: { 'nvidia.com/gpu.product': node.product, 'nvidia.com/gpu.count': String(node.count) },
        },
      })
    }
    const stored = storedKind(p)
    if (stored) return this.#stored(req.method ?? 'GET', stored, body, res)
    return this.#json(res, 404, status(404, `the server could not find the requested resource (${p})`))
  }

  /** Create, get, list and delete of the kinds a Deployment of the service needs; no more. */
  #stored(method: string, at: StoredAt, body: any, res: ServerResponse) {
    const { kind, ns, name } = at
    const key = (n: string) => `${kind.resource}/${ns}/${n}`
    const qualified = kind.group ? `${kind.resource}.${kind.group}` : kind.resource
    if (method === 'POST' && !name) {
      this.received.push(structuredClone(body))
      const apiVersion = kind.group ? `${kind.group}/${kind.version}` : kind.version
      if (body?.kind !== kind.kind || body?.apiVersion !== apiVersion) {
        const got = `${body?.apiVersion ?? '?'} ${body?.kind ?? '?'}`
        return this.#json(
          res,
          400,
          status(400, `expected ${apiVersion} ${kind.kind} here, got ${got}`, 'BadRequest'),
        )
      }
      if (body.metadata?.namespace && body.metadata.namespace !== ns) {
        const why = 'the namespace of the provided object does not match the namespace sent on the request'
        return this.#json(res, 400, status(400, why, 'BadRequest'))
      }
      const n = body.metadata?.name
      if (!n) {
        const why = `${kind.kind}${kind.group ? `.${kind.group}` : ''} "" is invalid: metadata.name: Required value: name or generateName is required`
        return this.#json(res, 422, status(422, why, 'Invalid'))
      }
      if (this.objects.has(key(n))) {
        return this.#json(
          res,
          409,
          status(409, `${qualified} "${n}" already exists`, 'AlreadyExists', {
            name: n,
            ...(kind.group ? { group: kind.group } : {}),
            kind: kind.resource,
          }),
        )
      }
      const object = {
        ...body,
        metadata: {
          ...body.metadata,
          namespace: ns,
          uid: `uid-${kind.resource}-${n}`,
          resourceVersion: String(this.#rv++),
          creationTimestamp: new Date().toISOString(),
          ...(kind.generation ? { generation: 1 } : {}),
        },
      }
      this.objects.set(key(n), object)
      return this.#json(res, 201, object)
    }
    if (method === 'GET' && name) {
      const o = this.objects.get(key(name))
      return o
        ? this.#json(res, 200, o)
        : this.#json(res, 404, status(404, `${qualified} "${name}" not found`, 'NotFound'))
    }
    if (method === 'GET') {
      const items = [...this.objects.entries()]
        .filter(([k]) => k.startsWith(`${kind.resource}/${ns}/`))
        .map(([, o]) => o)
      const apiVersion = kind.group ? `${kind.group}/${kind.version}` : kind.version
      return this.#json(res, 200, { apiVersion, kind: `${kind.kind}List`, metadata: {}, items })
    }
    if (method === 'DELETE' && name) {
      if (!this.objects.delete(key(name)))
        return this.#json(res, 404, status(404, `${qualified} "${name}" not found`, 'NotFound'))
      return this.#json(res, 200, status(200, 'Success'))
    }
    return this.#json(res, 405, status(405, 'method not allowed', 'MethodNotAllowed'))
  }

  async #isvc(method: string, ns: string, name: string | null, url: URL, body: any, res: ServerResponse) {
    const key = (n: string) => `${ns}/${n}`
    if (method === 'POST' && !name) {
      const n = body?.metadata?.name
      if (this.services.has(key(n)))
        return this.#json(res, 409, status(409, `inferenceservices "${n}" already exists`))
      const object = {
        ...body,
        metadata: {
          ...body.metadata,
          namespace: ns,
          uid: `uid-${n}`,
          resourceVersion: String(this.#rv++),
          creationTimestamp: new Date().toISOString(),
        },
        status: { conditions: [{ type: 'Ready', status: 'Unknown', reason: 'Pending' }] },
        failure: this.failNext ?? undefined,
        simArgs: this.simArgs,
      }
      this.failNext = null
      const stored: Stored = { object, sim: null, timer: null }
      this.services.set(key(n), stored)
      this.created.push(structuredClone(body))
      this.#emit('ADDED', object)
      this.#control(stored)
      return this.#json(res, 201, strip(object))
    }
    if (method === 'GET' && name) {
      const s = this.services.get(key(name))
      return s
        ? this.#json(res, 200, strip(s.object))
        : this.#json(res, 404, status(404, `inferenceservices "${name}" not found`))
    }
    if (method === 'GET' && url.searchParams.get('watch') === 'true') {
      const field = url.searchParams.get('fieldSelector')?.match(/^metadata\.name=(.+)$/)?.[1] ?? null
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' })
      if (this.goneWatches > 0) {
        // "too old resource version": the client must list again.
        this.goneWatches--
        res.end(`${JSON.stringify({ type: 'ERROR', object: status(410, 'too old resource version') })}\n`)
        return
      }
      const w = { res, name: field, ns }
      this.#watchers.add(w)
      res.on('close', () => this.#watchers.delete(w))
      if (this.#o.watchLifetimeMs) setTimeout(() => res.end(), this.#o.watchLifetimeMs).unref()
      return
    }
    if (method === 'DELETE' && name) {
      const s = this.services.get(key(name))
      if (!s) return this.#json(res, 404, status(404, `inferenceservices "${name}" not found`))
      this.services.delete(key(name))
      this.deleted.push(name)
      if (s.timer) clearTimeout(s.timer)
      await s.sim?.stop()
      this.#emit('DELETED', s.object)
      return this.#json(res, 200, status(200, 'Success'))
    }
    return this.#json(res, 405, status(405, 'method not allowed'))
  }

  /** The controller: Ready with an engine-sim behind status.url, or the configured failure. */
  #control(s: Stored): void {
    s.timer = setTimeout(async () => {
      s.timer = null
      const o = s.object
      if (o.failure) {
        o.status =
          o.failure === 'FailedToLoad'
            ? {
                conditions: [{ type: 'Ready', status: 'False', reason: 'ModelLoadFailed' }],
                modelStatus: {
                  states: { activeModelState: 'FailedToLoad', targetModelState: 'FailedToLoad' },
                  lastFailureInfo: {
                    reason: 'ModelLoadFailed',
                    message:
                      'ValueError: Unknown quantization method: awq (checkpoint has no quantization_config)',
                  },
                },
              }
            : { conditions: [{ type: 'Ready', status: 'False', reason: 'PredictorNotReady' }] }
        o.metadata.resourceVersion = String(this.#rv++)
        return this.#emit('MODIFIED', o)
      }
      // The runtime serves the model under its --model_name, as KServe's Hugging Face server does.
      const served = (o.spec?.predictor?.model?.args as string[] | undefined)
        ?.find((a) => a.startsWith('--model_name='))
        ?.slice('--model_name='.length)
      s.sim = await spawnEngineSim(CLI, [...o.simArgs, ...(served ? ['--model', served] : [])])
      if (!this.services.has(`${o.metadata.namespace}/${o.metadata.name}`)) return void (await s.sim.stop())
      o.status = {
        // KServe's URL is the service's address, without a path.
        url: new URL(s.sim.url).origin,
        conditions: [
          { type: 'PredictorReady', status: 'True' },
          { type: 'Ready', status: 'True' },
        ],
        modelStatus: { states: { activeModelState: 'Loaded', targetModelState: 'Loaded' } },
      }
      o.metadata.resourceVersion = String(this.#rv++)
      this.#emit('MODIFIED', o)
    }, this.#o.readyAfterMs ?? 300)
  }

  #pod(isvc: Record<string, any>): Record<string, any> {
    const name = `${isvc.metadata.name}-predictor-0`
    const failure = isvc.failure as Failure | undefined
    const failed = failure && isvc.status?.conditions?.some((c: any) => c.status === 'False')
    const container = (state: Record<string, any>, last: Record<string, any> = {}, restarts = 0) => ({
      name: 'kserve-container',
      ready: false,
      restartCount: restarts,
      image: 'kserve/huggingfaceserver:v0.15.0',
      imageID: '',
      state,
      lastState: last,
    })
    const statuses: Record<Failure, Record<string, any>> = {
      OOMKilled: container(
        { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container' } },
        { terminated: { reason: 'OOMKilled', exitCode: 137 } },
        3,
      ),
      CrashLoopBackOff: container(
        { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container' } },
        { terminated: { reason: 'Error', exitCode: 1 } },
        4,
      ),
      ImagePullBackOff: container({
        waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "vllm/vllm-openai:v9.9.9"' },
      }),
      Unschedulable: {},
      QuotaExceeded: {},
      FailedToLoad: container({ running: { startedAt: new Date().toISOString() } }),
    }
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: isvc.metadata.namespace,
        labels: { 'serving.kserve.io/inferenceservice': isvc.metadata.name },
      },
      spec: {
        nodeName: failure === 'Unschedulable' ? undefined : this.#o.node?.name,
        containers: [{ name: 'kserve-container', resources: isvc.spec?.predictor?.model?.resources ?? {} }],
      },
      status: {
        phase: failed ? 'Pending' : 'Running',
        conditions:
          failed && failure === 'Unschedulable'
            ? [
                {
                  type: 'PodScheduled',
                  status: 'False',
                  reason: 'Unschedulable',
                  message: '0/3 nodes are available: 3 Insufficient nvidia.com/gpu.',
                },
              ]
            : [{ type: 'PodScheduled', status: 'True' }],
        containerStatuses: failed && failure !== 'Unschedulable' ? [statuses[failure]] : [],
      },
    }
  }

  #emit(type: string, object: Record<string, any>): void {
    const line = `${JSON.stringify({ type, object: strip(object) })}\n`
    for (const w of this.#watchers) {
      if (w.ns === object.metadata.namespace && (!w.name || w.name === object.metadata.name))
        w.res.write(line)
    }
  }

  #json(res: ServerResponse, code: number, body: unknown): void {
    res.writeHead(code, { 'content-type': 'application/json' })
    res.end(JSON.stringify(body))
  }
}

const strip = ({ failure: _failure, simArgs: _simArgs, ...o }: Record<string, any>) => o

function status(code: number, message: string, reason?: string, details?: Record<string, string>) {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: code < 400 ? 'Success' : 'Failure',
    message,
    ...(reason ? { reason } : {}),
    ...(details ? { details } : {}),
    code,
  }
}

interface StoredKind {
  group: string
  version: string
  resource: string
  kind: string
  /** Whether the API server sets metadata.generation (kinds with a spec it tracks). */
  generation: boolean
}

/** The kinds stored as they are, by their REST path's group/version/resource. */
const STORED_KINDS: StoredKind[] = [
  { group: 'apps', version: 'v1', resource: 'deployments', kind: 'Deployment', generation: true },
  { group: '', version: 'v1', resource: 'services', kind: 'Service', generation: false },
  { group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', generation: false },
  {
    group: 'policy',
    version: 'v1',
    resource: 'poddisruptionbudgets',
    kind: 'PodDisruptionBudget',
    generation: true,
  },
]

interface StoredAt {
  kind: StoredKind
  ns: string
  name: string | null
}

function storedKind(path: string): StoredAt | null {
  const m = path.match(/^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))\/namespaces\/([^/]+)\/([^/]+)(?:\/([^/]+))?$/)
  if (!m) return null
  const [group, version] = m[1] ? ['', m[1]] : [m[2]!, m[3]!]
  const kind = STORED_KINDS.find((k) => k.group === group && k.version === version && k.resource === m[5])
  return kind ? { kind, ns: m[4]!, name: m[6] ?? null } : null
}

function eventsOf(isvc: Record<string, any>): Record<string, any>[] {
  if (!isvc.status?.conditions?.some((c: any) => c.status === 'False')) return []
  if (isvc.failure === 'QuotaExceeded') {
    return [
      {
        metadata: { name: `${isvc.metadata.name}.2` },
        type: 'Warning',
        reason: 'InternalError',
        message:
          'fails to reconcile predictor: pods "' +
          isvc.metadata.name +
          '-predictor-0" is forbidden: exceeded quota: gpu-quota, requested: requests.nvidia.com/gpu=1, used: requests.nvidia.com/gpu=4, limited: requests.nvidia.com/gpu=4',
        involvedObject: { kind: 'InferenceService', name: isvc.metadata.name },
        eventTime: new Date().toISOString(),
      },
    ]
  }
  if (isvc.failure !== 'Unschedulable') return []
  return [
    {
      metadata: { name: `${isvc.metadata.name}.1` },
      type: 'Warning',
      reason: 'FailedScheduling',
      message: '0/3 nodes are available: 3 Insufficient nvidia.com/gpu.',
      involvedObject: { kind: 'Pod', name: `${isvc.metadata.name}-predictor-0` },
      lastTimestamp: new Date().toISOString(),
    },
  ]
}

/** A crashed container's story is in its previous run's log; the current one has barely started. */
function logOf(failure: Failure | undefined, previous: boolean): string {
  if ((failure === 'OOMKilled' || failure === 'CrashLoopBackOff') && !previous) return 'INFO Starting\n'
  if (failure === 'OOMKilled') return 'INFO Loading model weights\nINFO Model loading took 14.2 GiB\nKilled\n'
  if (failure === 'CrashLoopBackOff')
    return 'Traceback (most recent call last):\nValueError: --tensor-parallel-size 2 exceeds the 1 visible GPU\n'
  if (failure === 'FailedToLoad') return 'ERROR ValueError: Unknown quantization method: awq\n'
  return 'INFO Uvicorn running on http://0.0.0.0:8080\n'
}
