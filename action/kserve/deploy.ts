// Deploying an InferenceService and waiting for it: created with @kubernetes/client-node, watched
// until Ready (re-listed whenever the watch ends), and when it will not come up, explained from
// its pods' states and events — the reason, one line, and the container's last log lines.
import {
  CoreV1Api,
  type CoreV1Event,
  CustomObjectsApi,
  type KubeConfig,
  type V1Pod,
  Watch,
} from '@kubernetes/client-node'
import { within } from '../within.ts'
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
  const names = [name, ...pods.flatMap((p) => p.metadata?.name ?? [])]
  const lists = await Promise.all(
    names.map((n) =>
      core(t).listNamespacedEvent({ namespace: t.namespace, fieldSelector: `involvedObject.name=${n}` }),
    ),
  )
  const when = (e: CoreV1Event) => new Date(e.lastTimestamp ?? e.eventTime ?? 0).getTime()
  const events = lists
    .flatMap((l) => l.items)
    .filter((e) => e.type === 'Warning')
    .sort((a, b) => when(a) - when(b))
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
  /** Ends the wait (rejecting with its reason): an A/B run stops waiting for one when the other failed. */
  signal?: AbortSignal
}

/**
 * Waits for Ready with a watch, re-listing each time the watch ends (API servers close watches
 * after a while), backing off while the API server errs. Fails at once on a failure waiting
 * cannot fix (a crash loop, an image that cannot be pulled, OOM, a model that failed to load, a
 * credential refused), else at the timeout with the best explanation found.
 */
export async function waitUntilReady(t: Target, name: string, o: WaitOptions): Promise<{ url: string }> {
  const deadline = Date.now() + o.timeoutMs
  const watch = new Watch(t.kc)
  const timers = new Set<NodeJS.Timeout>()
  const later = (f: () => void, ms: number) => {
    const timer = setTimeout(() => {
      timers.delete(timer)
      f()
    }, ms)
    timers.add(timer)
  }
  let abort: AbortController | null = null
  let settled = false
  let lastDiagnosis: Diagnosis | null = null
  let apiError: string | null = null
  let onAbort: (() => void) | null = null
  try {
    return await new Promise<{ url: string }>((resolve, reject) => {
      const finish = (f: () => void) => {
        if (settled) return
        settled = true
        f()
      }
      if (o.signal) {
        const signal = o.signal
        onAbort = () => finish(() => reject(signal.reason ?? new Error(`stopped waiting for ${name}`)))
        if (signal.aborted) return onAbort()
        signal.addEventListener('abort', onAbort, { once: true })
      }
      const refused = (e: unknown) => {
        const code =
          (e as { code?: number; statusCode?: number }).code ?? (e as { statusCode?: number }).statusCode
        return code === 401 || code === 403
      }
      const fail = (e: unknown) => {
        if (refused(e))
          finish(() =>
            reject(new Error(`the Kubernetes API refused the credential: ${(e as Error).message}`)),
          )
        else apiError = (e as Error).message
      }
      const timeout = async () => {
        // One last look, so the explanation is as fresh as the deadline.
        const d = await within(diagnose(t, name), 5_000, 'diagnosis').catch(() => null)
        const why = d ??
          lastDiagnosis ?? {
            reason: apiError ? 'APIError' : 'Timeout',
            message: apiError ?? 'no failure reported by its pods or events',
            pod: null,
            logTail: null,
          }
        const what = d?.fatal ? 'failed' : `was not ready within ${Math.round(o.timeoutMs / 1000)} s`
        finish(() => reject(new DeployError(name, why, what)))
      }
      // A hard deadline, whatever the API server does.
      later(() => void timeout(), o.timeoutMs)
      const check = async () => {
        try {
          const d = await within(diagnose(t, name), 15_000, 'diagnosis')
          if (d) lastDiagnosis = d
          if (d?.fatal) finish(() => reject(new DeployError(name, d, 'failed')))
        } catch (e) {
          fail(e)
        }
        if (!settled)
          later(() => void check(), Math.max(0, Math.min(o.checkMs ?? 3000, deadline - Date.now())))
      }
      let failures = 0
      const backoff = () => Math.min(5000, 200 * 2 ** failures++)
      const again = (ms: number) =>
        later(
          () =>
            void relist().catch((e: unknown) => {
              fail(e)
              if (!settled) again(backoff())
            }),
          ms,
        )
      const relist = async (): Promise<void> => {
        if (settled) return
        let current: InferenceService | null
        try {
          current = await within(readService(t, name), 15_000, `GET ${name}`)
        } catch (e) {
          fail(e)
          return again(backoff())
        }
        if (settled) return
        if (!current)
          return finish(() => reject(new Error(`InferenceService ${name} was deleted while waiting for it`)))
        if (isReady(current)) return finish(() => resolve({ url: current.status!.url! }))
        const opened = await watch.watch(
          `/apis/${GROUP}/${VERSION}/namespaces/${t.namespace}/${PLURAL}`,
          { fieldSelector: `metadata.name=${name}`, resourceVersion: current.metadata.resourceVersion },
          (type, obj: InferenceService) => {
            failures = 0
            if (type === 'DELETED')
              finish(() => reject(new Error(`InferenceService ${name} was deleted while waiting for it`)))
            else if (type !== 'ERROR' && isReady(obj)) finish(() => resolve({ url: obj.status!.url! }))
          },
          (err: unknown) => {
            // The watch ended: closed by the server (look again at once), or refused (back off).
            if (err) fail(err)
            if (!settled) again(err ? backoff() : 0)
          },
        )
        // The wait may have ended while the watch was being opened.
        if (settled) opened.abort()
        else abort = opened
      }
      void check()
      again(0)
    })
  } finally {
    settled = true
    if (onAbort) o.signal?.removeEventListener('abort', onAbort)
    for (const timer of timers) clearTimeout(timer)
    ;(abort as AbortController | null)?.abort()
  }
}

/**
 * Where its pod landed: the node, and the node's GPU product (NVIDIA's GPU feature discovery
 * label), each null while unknown (not scheduled yet; nodes unreadable without the permission).
 */
export async function placementOf(
  t: Target,
  name: string,
): Promise<{ node: string | null; product: string | null }> {
  let pods: V1Pod[]
  try {
    pods = await podsOf(t, name)
  } catch {
    return { node: null, product: null }
  }
  const node = pods.find((p) => p.spec?.nodeName)?.spec?.nodeName ?? null
  if (!node) return { node: null, product: null }
  try {
    const labels = (await core(t).readNode({ name: node })).metadata?.labels
    return { node, product: labels?.['nvidia.com/gpu.product'] ?? null }
  } catch {
    return { node, product: null }
  }
}

/**
 * Its placement once its pod is scheduled (polled each second), or nulls after `timeoutMs`: an
 * A/B run puts the base on the GPU product the head landed on.
 */
export async function waitForPlacement(
  t: Target,
  name: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<{ node: string | null; product: string | null }> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const p = await placementOf(t, name)
    if (p.node || Date.now() >= until || signal?.aborted) return p
    await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(0, until - Date.now()))))
  }
}

/**
 * The GPUs serving it: the count from its pod's nvidia.com/gpu limits (what it was given, not
 * what the node has), the model from its node's label (NVIDIA's GPU feature discovery sets
 * nvidia.com/gpu.product). Null parts when unreadable: nodes need a cluster-scoped permission.
 */
export async function gpuOfService(
  t: Target,
  name: string,
): Promise<{ model: string | null; count: number | null } | null> {
  let pods: V1Pod[]
  try {
    pods = await podsOf(t, name)
  } catch {
    return null
  }
  const pod = pods.find((p) => p.spec?.nodeName) ?? pods[0]
  if (!pod) return null
  const limits = (pod.spec?.containers ?? []).map((c) => Number(c.resources?.limits?.['nvidia.com/gpu'] ?? 0))
  const count = limits.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0)
  let model: string | null = null
  if (pod.spec?.nodeName) {
    try {
      model =
        (await core(t).readNode({ name: pod.spec.nodeName })).metadata?.labels?.['nvidia.com/gpu.product'] ??
        null
    } catch {
      // No permission to read nodes: the model stays unknown.
    }
  }
  return { model, count: count > 0 ? count : null }
}
