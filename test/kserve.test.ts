// Deploying on KServe through the real @kubernetes/client-node against a fake API server that
// plays the KServe controller: the manifest, Ready through a watch (re-listed when the server
// closes it), each way a deployment fails explained, deletion, GPU labels, credentials.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  createService,
  DeployError,
  deleteService,
  gpuOfService,
  readService,
  type Target,
  waitUntilReady,
} from '../action/kserve/deploy.ts'
import { loadKubeConfig } from '../action/kserve/kubeconfig.ts'
import { inferenceService, serviceName } from '../action/kserve/manifest.ts'
import { parseConfig } from '../core/config/load.ts'
import { type Failure, FakeKube } from './fakes/kube-api.ts'
import { tempDir } from './helpers.ts'

const CONFIG = parseConfig(`benchmark: llama3-8b-chat
model:
  name: llama-3-8b
  storage_uri: hf://meta-llama/Llama-3.1-8B-Instruct
  revision: 0e9e39f
engine:
  tensor_parallel: 2
  max_num_seqs: 64
  enable_prefix_caching: true
resources:
  gpus: 2
  cpu: 8
  memory: 64Gi
  node_selector: {nvidia.com/gpu.product: NVIDIA-L4}
  tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
kserve:
  image: vllm/vllm-openai:v0.11.0
`).config!

let fake: FakeKube | null = null
afterEach(async () => {
  await fake?.close()
  fake = null
})

async function cluster(o: Partial<ConstructorParameters<typeof FakeKube>[0]> = {}): Promise<Target> {
  fake = await new FakeKube({
    token: 'runner-token',
    node: { name: 'gpu-node-1', product: 'NVIDIA-L4', count: 4 },
    ...o,
  }).start()
  return { kc: loadKubeConfig(fake.kubeconfig('models')), namespace: 'models' }
}

describe('the InferenceService manifest', () => {
  it('KServe Hugging Face runtime, vLLM flags, GPUs requested and limited, labelled with the run', () => {
    const name = serviceName('llama3-8b-chat', '9876543210-2', 'a3f2')
    expect(name).toBe('ig-llama3-8b-chat-9876543210-2-a3f2')
    const long = serviceName('A_Very.Long'.repeat(10), '9876543210-1', 'ffff')
    expect(long).toMatch(/^ig-a-very-long[a-z0-9-]*[a-z0-9]-9876543210-1-ffff$/)
    expect(long.length).toBeLessThanOrEqual(45)
    expect(inferenceService(CONFIG, { name, namespace: 'models', runId: 'run-1234-abcdef99' })).toEqual({
      apiVersion: 'serving.kserve.io/v1beta1',
      kind: 'InferenceService',
      metadata: {
        name,
        namespace: 'models',
        labels: {
          'app.kubernetes.io/managed-by': 'infergate',
          'infergate.dev/run-id': 'run-1234-abcdef99',
          'infergate.dev/benchmark': 'llama3-8b-chat',
        },
        annotations: { 'serving.kserve.io/deploymentMode': 'RawDeployment' },
      },
      spec: {
        predictor: {
          minReplicas: 1,
          maxReplicas: 1,
          nodeSelector: { 'nvidia.com/gpu.product': 'NVIDIA-L4' },
          tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
          model: {
            modelFormat: { name: 'huggingface' },
            image: 'vllm/vllm-openai:v0.11.0',
            storageUri: 'hf://meta-llama/Llama-3.1-8B-Instruct',
            args: [
              '--model_name=llama-3-8b',
              '--model_revision=0e9e39f',
              '--tensor-parallel-size=2',
              '--enable-prefix-caching',
              '--max-num-seqs=64',
            ],
            resources: {
              requests: { 'nvidia.com/gpu': '2', cpu: '8', memory: '64Gi' },
              limits: { 'nvidia.com/gpu': '2', memory: '64Gi' },
            },
          },
        },
      },
    })
  })
})

describe('deploying on KServe', () => {
  it('creates it, waits for Ready through the watch, serves the OpenAI API, deletes it', async () => {
    const t = await cluster({ readyAfterMs: 400 })
    const name = serviceName(CONFIG.benchmark, 'r1', 'x')
    await createService(t, inferenceService(CONFIG, { name, namespace: t.namespace, runId: 'r1' }))
    const { url } = await waitUntilReady(t, name, { timeoutMs: 20_000 })
    const models = await fetch(`${url}/openai/v1/models`)
    expect(models.status).toBe(200)
    expect(
      fake!.calls.some((c) => c.query.watch === 'true' && c.query.fieldSelector === `metadata.name=${name}`),
    ).toBe(true)
    // The pod's own GPUs (its limit: 2), not the node's 4.
    expect(await gpuOfService(t, name)).toEqual({ model: 'NVIDIA-L4', count: 2 })
    expect(await deleteService(t, name)).toBe(true)
    expect(await readService(t, name)).toBeNull()
    expect(await deleteService(t, name)).toBe(false)
    expect(fake!.deleted).toEqual([name])
  })

  it('re-lists and watches again when the server closes the watch or answers 410 Gone', async () => {
    const t = await cluster({ readyAfterMs: 1200, watchLifetimeMs: 300 })
    fake!.goneWatches = 2
    await createService(
      t,
      inferenceService(CONFIG, { name: 'ig-relist', namespace: t.namespace, runId: 'r2' }),
    )
    await waitUntilReady(t, 'ig-relist', { timeoutMs: 20_000 })
    const watches = fake!.calls.filter((c) => c.query.watch === 'true')
    expect(watches.length).toBeGreaterThanOrEqual(3)
  })

  const cases: [Failure, RegExp, RegExp | null][] = [
    [
      'OOMKilled',
      /failed: OOMKilled: container kserve-container ran out of memory \(restarts: 3\)/,
      /Killed/,
    ],
    [
      'CrashLoopBackOff',
      /failed: CrashLoopBackOff: container kserve-container: back-off 40s/,
      /ValueError: --tensor-parallel-size 2/,
    ],
    [
      'ImagePullBackOff',
      /failed: ImagePullBackOff: container kserve-container: Back-off pulling image "vllm\/vllm-openai:v9\.9\.9"/,
      null,
    ],
    [
      'FailedToLoad',
      /failed: FailedToLoad: ValueError: Unknown quantization method: awq/,
      /Unknown quantization method/,
    ],
    [
      'QuotaExceeded',
      /was not ready within 2 s: InternalError: fails to reconcile predictor: pods "ig-broken-predictor-0" is forbidden: exceeded quota: gpu-quota/,
      null,
    ],
    [
      'Unschedulable',
      /was not ready within 2 s: Unschedulable: 0\/3 nodes are available: 3 Insufficient nvidia\.com\/gpu\./,
      null,
    ],
  ]
  for (const [failure, message, log] of cases) {
    it(`explains ${failure}`, async () => {
      const t = await cluster({ readyAfterMs: 100 })
      fake!.failNext = failure
      await createService(
        t,
        inferenceService(CONFIG, { name: 'ig-broken', namespace: t.namespace, runId: 'r3' }),
      )
      const started = Date.now()
      const error = await waitUntilReady(t, 'ig-broken', { timeoutMs: 2000, checkMs: 200 }).catch(
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(DeployError)
      expect((error as DeployError).message).toMatch(message)
      if (log) expect((error as DeployError).diagnosis.logTail).toMatch(log)
      else expect((error as DeployError).diagnosis.logTail).toBeNull()
      // A failure waiting cannot fix is reported at once, not at the timeout.
      if (failure !== 'Unschedulable' && failure !== 'QuotaExceeded')
        expect(Date.now() - started).toBeLessThan(1500)
    })
  }
})

describe('cluster credentials', () => {
  it('a clear error instead of a silent localhost', () => {
    const home = tempDir()
    expect(() => loadKubeConfig(null, { HOME: home, KUBECONFIG: '/nonexistent/config' })).toThrow(
      /^no Kubernetes credentials: set the kubeconfig input, KUBECONFIG \(\/nonexistent\/config\) or .*\.kube\/config, or run in a pod with a service account$/,
    )
    expect(() => loadKubeConfig('not: [a kubeconfig')).toThrow(/^kubeconfig: not a kubeconfig file/)
  })

  it("KUBECONFIG's files that exist are used, merged; a broken one is named", async () => {
    const t = await cluster()
    const dir = tempDir()
    writeFileSync(join(dir, 'real'), fake!.kubeconfig('models'))
    const kc = loadKubeConfig(null, { HOME: dir, KUBECONFIG: `${join(dir, 'missing')}:${join(dir, 'real')}` })
    expect(kc.getCurrentCluster()?.server).toBe(fake!.url)
    expect(await readService({ kc, namespace: t.namespace }, 'none')).toBeNull()
    writeFileSync(join(dir, 'broken'), 'clusters: [')
    expect(() => loadKubeConfig(null, { HOME: dir, KUBECONFIG: join(dir, 'broken') })).toThrow(
      new RegExp(`^${join(dir, 'broken')}: not a kubeconfig file`),
    )
    // ~/.kube/config when KUBECONFIG names nothing that exists.
    mkdirSync(join(dir, '.kube'))
    writeFileSync(join(dir, '.kube', 'config'), fake!.kubeconfig())
    expect(loadKubeConfig(null, { HOME: dir, KUBECONFIG: '/nope' }).getCurrentCluster()?.server).toBe(
      fake!.url,
    )
  })
})
