// Combinations the schema cannot see that would fail the deployment or mislead the measurement,
// found before any cluster call. Errors stop the run; warnings become annotations.
import type { Config } from './schema.ts'

export interface ConfigIssue {
  severity: 'error' | 'warning'
  /** The key at fault, as a path into the file: `engine.tensor_parallel`. */
  path: (string | number)[]
  message: string
}

const PRE_QUANTIZED = /\b(awq|gptq)\b/i
const LABEL_NAME = '[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?'
const LABEL_KEY = new RegExp(`^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?${LABEL_NAME}$`)
const LABEL_VALUE = new RegExp(`^(${LABEL_NAME})?$`)

/** Deploy: Infergate creates the InferenceService. Existing: it benchmarks one already serving. */
export type Mode = 'deploy' | 'existing'

export function checkConfig(c: Config, mode: Mode = 'deploy'): ConfigIssue[] {
  const issues: ConfigIssue[] = []
  const error = (path: ConfigIssue['path'], message: string) =>
    issues.push({ severity: 'error', path, message })
  const warning = (path: ConfigIssue['path'], message: string) =>
    issues.push({ severity: 'warning', path, message })
  const { engine, resources, model, workload, kserve } = c

  if (mode === 'deploy' && !model.storage_uri) {
    error(
      ['model', 'storage_uri'],
      'required to deploy: where KServe fetches the model (hf://org/model, s3://…, pvc://…)',
    )
  }
  if (mode === 'deploy' && !resources.gpus) {
    error(
      ['resources', 'gpus'],
      'no GPU limit: vLLM needs at least one nvidia.com/gpu, and a pod without a GPU limit may land on any node',
    )
  } else if (resources.gpus && engine.tensor_parallel * engine.pipeline_parallel !== resources.gpus) {
    error(
      ['engine', 'tensor_parallel'],
      `tensor_parallel × pipeline_parallel = ${engine.tensor_parallel} × ${engine.pipeline_parallel} = ${engine.tensor_parallel * engine.pipeline_parallel}, but resources.gpus = ${resources.gpus}: vLLM uses exactly that many GPUs`,
    )
  }
  const q = engine.quantization
  if (q && /^(awq|gptq)/.test(q)) {
    const declared = model.quantized?.startsWith(q.replace(/_marlin$/, ''))
    const named =
      PRE_QUANTIZED.exec(`${model.name} ${model.storage_uri ?? ''}`)?.[1]?.toLowerCase() ===
      q.replace(/_marlin$/, '')
    if (!declared && !named) {
      error(
        ['engine', 'quantization'],
        `${q} needs a checkpoint already quantized with ${q.replace(/_marlin$/, '').toUpperCase()}; ${model.storage_uri ?? model.name} does not look like one (set model.quantized: ${q.replace(/_marlin$/, '')} if it is, or use fp8 to quantize at load time)`,
      )
    }
  }
  const util = engine.gpu_memory_utilization
  if (util !== undefined && !(util > 0 && util <= 1)) {
    error(
      ['engine', 'gpu_memory_utilization'],
      `must lie in (0, 1] (a fraction of each GPU's memory), got ${util}`,
    )
  }
  const highest = Math.max(0, ...(workload.concurrency ?? []), workload.max_concurrency ?? 0)
  if (engine.max_num_seqs !== undefined && highest > engine.max_num_seqs) {
    warning(
      ['engine', 'max_num_seqs'],
      `${engine.max_num_seqs} is below the highest concurrency tested (${highest}): requests beyond it wait in vLLM's queue, and the run measures queueing`,
    )
  }
  if (kserve.logger) {
    error(
      ['kserve', 'logger'],
      "KServe's request logger buffers each streamed answer in its sidecar: the first token arrives with the last and TTFT collapses into E2E latency. Remove it for benchmarks",
    )
  }
  // ngram drafts from the prompt, mtp with the model's own heads: the others need a draft model.
  const selfDrafting = engine.speculative?.method === 'ngram' || engine.speculative?.method === 'mtp'
  if (engine.speculative && !engine.speculative.model && !selfDrafting) {
    error(
      ['engine', 'speculative', 'model'],
      `method ${engine.speculative.method ?? 'draft_model'} needs a draft model`,
    )
  }
  for (const [key, value] of Object.entries(kserve.labels)) {
    if (!LABEL_KEY.test(key) || key.split('/').at(-1)!.length > 63) {
      error(
        ['kserve', 'labels', key],
        'not a Kubernetes label key ([prefix/]name, the name at most 63 of [A-Za-z0-9._-], alphanumeric at both ends)',
      )
    } else if (value.length > 63 || !LABEL_VALUE.test(value)) {
      error(
        ['kserve', 'labels', key],
        `${JSON.stringify(value)} is not a Kubernetes label value (at most 63 of [A-Za-z0-9._-], alphanumeric at both ends)`,
      )
    }
  }
  if (!workload.concurrency && !workload.rate) {
    warning(['workload'], 'no concurrency or rate given: one scenario at concurrency 1')
  }
  return issues
}
