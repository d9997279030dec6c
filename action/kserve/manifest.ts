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
 * the nonce keeps two jobs of one run (a matrix) apart. The benchmark is shortened to fit.
 */
export function serviceName(benchmark: string, run: string, nonce: string): string {
  const clean = (v: string) =>
    v
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/-+/g, '-')
      .replace(/^-+|-+$/g, '')
  const suffix = `${clean(run).slice(-14)}-${clean(nonce).slice(0, 6)}`.replace(/^-+/, '')
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
