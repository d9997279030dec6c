// Deploying an InferenceService and waiting for it: created with @kubernetes/client-node, watched
// until Ready (re-listed whenever the watch ends), and when it will not come up, explained from
// its pods' states and events — the reason, one line, and the container's last log lines.
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Pod, Watch } from '@kubernetes/client-node'
import { GROUP, type InferenceService, PLURAL, VERSION } from './manifest.ts'

export interface Target {
  kc: KubeConfig
  namespace: string
}

export interface Diagnosis {
  /** OOMKilled, CrashLoopBackOff, ImagePullBackOff, Unschedulable, FailedToLoad, or KServe's own. */
  reason: string
  message: string
  pod: string | null
  /** The serving container's last lines (of its previous run after a crash). */
  logTail: string | null
}

export class DeployError extends Error {
  readonly diagnosis: Diagnosis
  constructor(name: string, d: Diagnosis, why: string) {
    super(`InferenceService ${name} ${why}: ${d.reason}: ${d.message}`)
    this.name = 'DeployError'
    this.diagnosis = d
  }
}

const custom = (t: Target) => t.kc.makeApiClient(CustomObjectsApi)
const core = (t: Target) => t.kc.makeApiClient(CoreV1Api)
const coords = (t: Target) => ({ group: GROUP, version: VERSION, namespace: t.namespace, plural: PLURAL })
const statusOf = (e: unknown) => (e as { code?: number }).code

export async function createService(t: Target, isvc: InferenceService): Promise<void> {
  await custom(t).createNamespacedCustomObject({ ...coords(t), body: isvc })
}

export async function readService(t: Target, name: string): Promise<InferenceService | null> {
  try {
    return (await custom(t).getNamespacedCustomObject({ ...coords(t), name })) as InferenceService
  } catch (e) {
    if (statusOf(e) === 404) return null
    throw e
  }
}

/** Deletes it (and, through KServe's owner references, its pods); false when already gone. */
export async function deleteService(t: Target, name: string): Promise<boolean> {
  try {
    await custom(t).deleteNamespacedCustomObject({ ...coords(t), name, propagationPolicy: 'Foreground' })
    return true
  } catch (e) {
    if (statusOf(e) === 404) return false
    throw e
  }
}

export const isReady = (s: InferenceService | null) =>
  Boolean(s?.status?.url) &&
  s?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true

const podsOf = async (t: Target, name: string) =>
  (
    await core(t).listNamespacedPod({
      namespace: t.namespace,
      labelSelector: `serving.kserve.io/inferenceservice=${name}`,
    })
  ).items

const FATAL_WAITING = new Set([
  'CrashLoopBackOff',
  'ImagePullBackOff',
  'ErrImagePull',
  'InvalidImageName',
  'CreateContainerConfigError',
])

/** What is wrong with a pod, if anything: fatal means waiting longer cannot help. */
function podTrouble(
  pod: V1Pod,
): { reason: string; message: string; fatal: boolean; container: string | null } | null {
  for (const c of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    const last = c.lastState?.terminated
    if (last?.reason === 'OOMKilled' || c.state?.terminated?.reason === 'OOMKilled') {
      return {
        reason: 'OOMKilled',
        message: `container ${c.name} ran out of memory (restarts: ${c.restartCount}); raise resources.memory or lower max_model_len`,
        fatal: true,
        container: c.name,
      }
    }
    const waiting = c.state?.waiting
    if (waiting?.reason && FATAL_WAITING.has(waiting.reason)) {
      const reason = waiting.reason === 'ErrImagePull' ? 'ImagePullBackOff' : waiting.reason
      return {
        reason,
        message: `container ${c.name}: ${waiting.message ?? waiting.reason}`,
        fatal: true,
        container: c.name,
      }
    }
  }
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled')
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    return {
      reason: 'Unschedulable',
      message: scheduled.message ?? 'no node fits the pod',
      fatal: false,
      container: null,
    }
  }
  return null
}

async function logTail(
  t: Target,
  pod: string,
  container: string | null,
  previous: boolean,
): Promise<string | null> {
  try {
    const text = await core(t).readNamespacedPodLog({
      name: pod,
      namespace: t.namespace,
      ...(container ? { container } : {}),
      tailLines: 30,
      previous,
    })
    return text.trimEnd() || null
  } catch {
    return null
  }
}

/** The most telling explanation available now, or null when nothing looks wrong yet. */
export async function diagnose(t: Target, name: string): Promise<(Diagnosis & { fatal: boolean }) | null> {
  const isvc = await readService(t, name)
  const failure = isvc?.status?.modelStatus
  const pods = await podsOf(t, name)
  for (const pod of pods) {
    const trouble = podTrouble(pod)
    if (!trouble) continue
    const podName = pod.metadata?.name ?? null
    const crashed = trouble.reason === 'OOMKilled' || trouble.reason === 'CrashLoopBackOff'
    return {
      reason: trouble.reason,
      message: trouble.message,
      pod: podName,
      logTail: podName && trouble.container ? await logTail(t, podName, trouble.container, crashed) : null,
      fatal: trouble.fatal,
    }
  }
  if (
    failure?.states?.activeModelState === 'FailedToLoad' ||
    failure?.states?.targetModelState === 'FailedToLoad'
  ) {
    const podName = pods[0]?.metadata?.name ?? null
    return {
      reason: 'FailedToLoad',
      message:
        failure.lastFailureInfo?.message ??
        failure.lastFailureInfo?.reason ??
        'the model server could not load the model',
      pod: podName,
      logTail: podName ? await logTail(t, podName, 'kserve-container', false) : null,
      fatal: true,
    }
  }
  // Nothing in the pods: the latest warning event about the service or its pods, if any.
  const names = new Set([name, ...pods.map((p) => p.metadata?.name ?? '')])
  const events = (await core(t).listNamespacedEvent({ namespace: t.namespace })).items
    .filter((e) => e.type === 'Warning' && names.has(e.involvedObject?.name ?? ''))
    .sort((a, b) => String(a.lastTimestamp ?? '').localeCompare(String(b.lastTimestamp ?? '')))
  const last = events.at(-1)
  if (last)
    return {
      reason: last.reason ?? 'Warning',
      message: last.message ?? '',
      pod: null,
      logTail: null,
      fatal: false,
    }
  const notReady = isvc?.status?.conditions?.find((c) => c.type === 'Ready' && c.status !== 'True')
  if (notReady?.reason) {
    return {
      reason: notReady.reason,
      message: notReady.message ?? 'not ready',
      pod: null,
      logTail: null,
      fatal: false,
    }
  }
  return null
}

export interface WaitOptions {
  timeoutMs: number
  /** How often the pods are looked at for a failure no watch event reports. */
  checkMs?: number
}

/**
 * Waits for Ready with a watch, re-listing each time the watch ends (API servers close watches
 * after a while). Fails at once on a failure waiting cannot fix (a crash loop, an image that
 * cannot be pulled, OOM, a model that failed to load), else at the timeout with the best
 * explanation found.
 */
export async function waitUntilReady(t: Target, name: string, o: WaitOptions): Promise<{ url: string }> {
  const deadline = Date.now() + o.timeoutMs
  const watch = new Watch(t.kc)
  let abort: AbortController | null = null
  let timer: NodeJS.Timeout | null = null
  try {
    return await new Promise<{ url: string }>((resolve, reject) => {
      let settled = false
      const finish = (f: () => void) => {
        if (settled) return
        settled = true
        f()
      }
      const check = async () => {
        const d = await diagnose(t, name)
        if (d?.fatal) finish(() => reject(new DeployError(name, d, 'failed')))
        else if (Date.now() >= deadline) {
          const why = d ?? {
            reason: 'Timeout',
            message: 'no failure reported by its pods or events',
            pod: null,
            logTail: null,
          }
          finish(() =>
            reject(new DeployError(name, why, `was not ready within ${Math.round(o.timeoutMs / 1000)} s`)),
          )
        }
      }
      const poll = () => {
        timer = setTimeout(
          () => {
            check().then(
              () => !settled && poll(),
              (e) => finish(() => reject(e)),
            )
          },
          Math.max(0, Math.min(o.checkMs ?? 3000, deadline - Date.now())),
        )
      }
      const relist = async () => {
        if (settled) return
        const current = await readService(t, name)
        if (!current)
          return finish(() => reject(new Error(`InferenceService ${name} was deleted while waiting for it`)))
        if (isReady(current)) return finish(() => resolve({ url: current.status!.url! }))
        abort = await watch.watch(
          `/apis/${GROUP}/${VERSION}/namespaces/${t.namespace}/${PLURAL}`,
          { fieldSelector: `metadata.name=${name}`, resourceVersion: current.metadata.resourceVersion },
          (type, obj: InferenceService) => {
            if (type === 'DELETED')
              finish(() => reject(new Error(`InferenceService ${name} was deleted while waiting for it`)))
            else if (isReady(obj)) finish(() => resolve({ url: obj.status!.url! }))
          },
          () => {
            // The watch ended (closed by the server, or an error): look again and watch again.
            if (!settled) setTimeout(() => relist().catch((e) => finish(() => reject(e))), 200)
          },
        )
      }
      poll()
      relist().catch((e) => finish(() => reject(e)))
    })
  } finally {
    if (timer) clearTimeout(timer)
    ;(abort as AbortController | null)?.abort()
  }
}

/** GPU model and count from the labels of the node serving the pod (NVIDIA's GPU feature discovery). */
export async function gpuOfService(
  t: Target,
  name: string,
): Promise<{ model: string | null; count: number | null } | null> {
  try {
    const node = (await podsOf(t, name)).find((p) => p.spec?.nodeName)?.spec?.nodeName
    if (!node) return null
    const labels = (await core(t).readNode({ name: node })).metadata?.labels ?? {}
    const count = Number(labels['nvidia.com/gpu.count'])
    return {
      model: labels['nvidia.com/gpu.product'] ?? null,
      count: Number.isInteger(count) && count > 0 ? count : null,
    }
  } catch {
    // Reading nodes is a cluster-scoped permission the runner may not have: use the config.
    return null
  }
}
