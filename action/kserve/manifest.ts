// The InferenceService (serving.kserve.io/v1beta1) a run deploys: KServe's Hugging Face runtime
// with the vLLM backend, the engine's flags from its mapper, one replica (a benchmark measures
// one server, not an autoscaler), labelled so that what a run created can always be found.
import type { Config } from '../../core/config/schema.ts'
import { engineMapper } from '../../core/engines/index.ts'

export const GROUP = 'serving.kserve.io'
export const VERSION = 'v1beta1'
export const PLURAL = 'inferenceservices'
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'infergate' }
export const RUN_LABEL = 'infergate.dev/run-id'
/** Mode ab: which arm an InferenceService serves, baseline (the PR's base) or candidate (its head). */
export const ARM_LABEL = 'infergate.dev/arm'
/** NVIDIA's GPU feature discovery labels each node with its GPU product. */
export const GPU_PRODUCT_LABEL = 'nvidia.com/gpu.product'
/** KServe labels an InferenceService's pods with its name. */
export const ISVC_POD_LABEL = 'serving.kserve.io/inferenceservice'

export interface InferenceService {
  apiVersion: string
  kind: 'InferenceService'
  metadata: {
    name: string
    namespace: string
    labels?: Record<string, string>
    annotations?: Record<string, string>
    resourceVersion?: string
  }
  spec: Record<string, unknown>
  status?: {
    url?: string
    conditions?: { type: string; status: string; reason?: string; message?: string }[]
    modelStatus?: {
      states?: { activeModelState?: string; targetModelState?: string }
      lastFailureInfo?: { reason?: string; message?: string }
    }
  }
}

/** A valid label value: at most 63 of [A-Za-z0-9._-], beginning and ending alphanumeric. */
export function labelValue(v: string): string {
  return v
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '')
}

/**
 * `ig-<benchmark>-<run>-<nonce>`: a DNS-1035 label of at most 45 characters (KServe appends
 * "-predictor-…" to it). The run (GitHub's run id and attempt) says which workflow run made it;
 * the nonce keeps two jobs of one run (a matrix) apart. An A/B run's two end in `-base` and
 * `-head`, with one nonce. The benchmark is shortened to fit.
 */
export function serviceName(benchmark: string, run: string, nonce: string, arm?: 'base' | 'head'): string {
  const clean = (v: string) =>
    v
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/-+/g, '-')
      .replace(/^-+|-+$/g, '')
  const suffix = `${clean(run).slice(-14)}-${clean(nonce).slice(0, 6)}${arm ? `-${arm}` : ''}`.replace(
    /^-+/,
    '',
  )
  const slug = clean(benchmark)
    .slice(0, 45 - 'ig-'.length - 1 - suffix.length)
    .replace(/-+$/, '')
  return `ig-${slug}-${suffix}`
}

/**
 * The runtime's own arguments for what vLLM's mapper says: KServe's Hugging Face server names
 * the model with --model_name and the revision with --model_revision, and hands every other
 * flag to vLLM.
 */
export function runtimeArgs(config: Config): string[] {
  const args = engineMapper(config.engine.name)
    .args(config)
    .filter((a) => !a.startsWith('--served-model-name=') && !a.startsWith('--revision='))
  return [
    `--model_name=${config.model.name}`,
    ...(config.model.revision ? [`--model_revision=${config.model.revision}`] : []),
    ...args,
  ]
}

export function inferenceService(
  config: Config,
  o: { name: string; namespace: string; runId: string },
): InferenceService {
  const { resources, kserve } = config
  // validate (deploy mode) guarantees both.
  const gpu = { 'nvidia.com/gpu': String(resources.gpus ?? 0) }
  const requests: Record<string, string> = { ...gpu }
  const limits: Record<string, string> = { ...gpu }
  if (resources.cpu !== undefined) requests.cpu = String(resources.cpu)
  if (resources.memory !== undefined) requests.memory = limits.memory = String(resources.memory)
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'InferenceService',
    metadata: {
      name: o.name,
      namespace: o.namespace,
      labels: {
        ...kserve.labels,
        ...MANAGED_BY,
        [RUN_LABEL]: labelValue(o.runId),
        'infergate.dev/benchmark': labelValue(config.benchmark),
      },
      annotations: { ...kserve.annotations, 'serving.kserve.io/deploymentMode': kserve.deployment_mode },
    },
    spec: {
      predictor: {
        minReplicas: 1,
        maxReplicas: 1,
        ...(Object.keys(resources.node_selector).length ? { nodeSelector: resources.node_selector } : {}),
        ...(resources.tolerations.length ? { tolerations: resources.tolerations } : {}),
        model: {
          modelFormat: { name: kserve.model_format },
          ...(kserve.runtime ? { runtime: kserve.runtime } : {}),
          ...(kserve.image ? { image: kserve.image } : {}),
          storageUri: config.model.storage_uri ?? '',
          args: runtimeArgs(config),
          resources: { requests, limits },
        },
      },
    },
  }
}

type Predictor = {
  nodeSelector?: Record<string, string>
  affinity?: Record<string, unknown>
  [k: string]: unknown
}
const predictorOf = (isvc: InferenceService) => isvc.spec.predictor as Predictor

/** Mode ab: the arm's label, on the InferenceService (KServe copies its labels to the pods). */
export function withArm(isvc: InferenceService, arm: 'baseline' | 'candidate'): InferenceService {
  return { ...isvc, metadata: { ...isvc.metadata, labels: { ...isvc.metadata.labels, [ARM_LABEL]: arm } } }
}

/** The GPU product its pods must land on, as a node selector (kept where the config set one). */
export function withGpuProduct(isvc: InferenceService, product: string): InferenceService {
  const predictor = predictorOf(isvc)
  return {
    ...isvc,
    spec: {
      ...isvc.spec,
      predictor: { ...predictor, nodeSelector: { ...predictor.nodeSelector, [GPU_PRODUCT_LABEL]: product } },
    },
  }
}

/**
 * Its pods on the node of another InferenceService's pods (required pod affinity on the host
 * name). Only one of a pair gets it: two pods each waiting for the other would never schedule.
 */
export function withSameNodeAs(isvc: InferenceService, other: string): InferenceService {
  const predictor = predictorOf(isvc)
  return {
    ...isvc,
    spec: {
      ...isvc.spec,
      predictor: {
        ...predictor,
        affinity: {
          ...predictor.affinity,
          podAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
              {
                labelSelector: { matchLabels: { [ISVC_POD_LABEL]: other } },
                topologyKey: 'kubernetes.io/hostname',
              },
            ],
          },
        },
      },
    },
  }
}
