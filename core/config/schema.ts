// infergate.yaml: what to deploy (model, engine settings, resources, KServe) and how to load it
// (the workload: `infergate bench`'s options). One zod definition for the Action and
// `infergate validate`; unknown keys are errors, so a typo never silently means a default.
// Documented key by key in docs/config.md.
import { z } from 'zod'
import { BENCHMARK_NAME, Slo } from '../report.ts'

const positiveInt = z.number().int().positive()
/** Kubernetes quantities ("8", "500m", "32Gi") as strings or plain numbers. */
const quantity = z.union([
  z
    .string()
    .regex(/^\d+(\.\d+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$/, 'expected a Kubernetes quantity such as 8, 500m or 32Gi'),
  z.number().positive(),
])

export const QUANTIZATIONS = [
  'awq',
  'awq_marlin',
  'gptq',
  'gptq_marlin',
  'fp8',
  'bitsandbytes',
  'compressed-tensors',
] as const

export const Model = z.strictObject({
  /** The name clients request (served-model-name). */
  name: z.string().min(1),
  /** Where KServe's storage initializer fetches it: hf://org/model, s3://…, gs://…, pvc://… */
  storage_uri: z
    .string()
    .regex(/^[a-z][a-z0-9+.-]*:\/\/\S+$/, 'expected a URI such as hf://org/model or s3://bucket/path')
    .optional(),
  /** A Hugging Face revision (commit, tag or branch): baselines are compared across it. */
  revision: z.string().min(1).optional(),
  /** The checkpoint's own quantization, for weights that were quantized before upload. */
  quantized: z.enum(QUANTIZATIONS).optional(),
})

export const Speculative = z.strictObject({
  /** A draft model, or a method that needs none (ngram). */
  model: z.string().min(1).optional(),
  method: z.enum(['draft_model', 'ngram', 'eagle', 'eagle3', 'medusa', 'mtp']).optional(),
  num_speculative_tokens: positiveInt,
})

/** Engine settings, named independently of any engine; a mapper turns them into its flags. */
export const Engine = z.strictObject({
  name: z.enum(['vllm']).default('vllm'),
  tensor_parallel: positiveInt.default(1),
  pipeline_parallel: positiveInt.default(1),
  quantization: z.enum(QUANTIZATIONS).optional(),
  kv_cache_dtype: z.enum(['auto', 'fp8', 'fp8_e4m3', 'fp8_e5m2']).optional(),
  max_model_len: positiveInt.optional(),
  /** A fraction of each GPU's memory; checked to lie in (0, 1] by validate. */
  gpu_memory_utilization: z.number().optional(),
  enable_prefix_caching: z.boolean().optional(),
  max_num_seqs: positiveInt.optional(),
  speculative: Speculative.optional(),
  /** Passed to the engine as they are, after the mapped flags. */
  extra_args: z.array(z.string()).default([]),
})

export const Toleration = z.strictObject({
  key: z.string().optional(),
  operator: z.enum(['Exists', 'Equal']).optional(),
  value: z.string().optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
  tolerationSeconds: z.number().int().optional(),
})

export const Resources = z.strictObject({
  /** nvidia.com/gpu requested and limited (required to deploy). */
  gpus: z.number().int().min(0).optional(),
  cpu: quantity.optional(),
  memory: quantity.optional(),
  node_selector: z.record(z.string(), z.string()).default({}),
  tolerations: z.array(Toleration).default([]),
})

export const Kserve = z.strictObject({
  /** A ServingRuntime or ClusterServingRuntime; default: KServe picks one for the format. */
  runtime: z.string().min(1).optional(),
  model_format: z.string().min(1).default('huggingface'),
  /** Replaces the runtime's image (e.g. a vLLM build under test). */
  image: z.string().min(1).optional(),
  deployment_mode: z.enum(['RawDeployment', 'Serverless']).default('RawDeployment'),
  /** KServe's request logger: refused by validate (its sidecar buffers streamed answers). */
  logger: z.strictObject({ mode: z.string().optional(), url: z.string().optional() }).optional(),
  annotations: z.record(z.string(), z.string()).default({}),
  labels: z.record(z.string(), z.string()).default({}),
})

const tokenLength = z.union([
  positiveInt,
  z.strictObject({
    mean: positiveInt,
    stddev: z.number().min(0).optional(),
    min: positiveInt.optional(),
    max: positiveInt.optional(),
  }),
])

/** The load, as `infergate bench` takes it (each key is its flag). */
export const Workload = z.strictObject({
  endpoint: z.enum(['completions', 'chat']).default('completions'),
  input_tokens: tokenLength.default(512),
  output_tokens: tokenLength.default(128),
  ignore_eos: z.boolean().default(true),
  dataset: z.string().min(1).optional(),
  concurrency: z.array(positiveInt).min(1).optional(),
  rate: z
    .array(z.union([z.number().positive(), z.literal('inf')]))
    .min(1)
    .optional(),
  arrival: z.enum(['poisson', 'gamma', 'constant']).optional(),
  burstiness: z.number().positive().optional(),
  schedule: z.enum(['exact', 'drawn']).optional(),
  max_concurrency: positiveInt.optional(),
  requests: positiveInt.optional(),
  duration_s: z.number().positive().optional(),
  trials: positiveInt.default(1),
  /** A/B (mode: ab): the block budget of the sequential test (default 10, at least trials). */
  max_trials: positiveInt.optional(),
  /** A/B: no block starts that would end past this many seconds of measuring. */
  time_budget_s: z.number().positive().optional(),
  /** A/B: the arms' order within a block, alternated or drawn. */
  order: z.enum(['counterbalanced', 'random']).optional(),
  /** Unset: one warm-up request per connection (bench's --warmup auto). */
  warmup: z.union([z.number().int().min(0), z.literal('auto')]).optional(),
  timeout_s: z.number().positive().default(300),
  workers: positiveInt.optional(),
  /** Unset: drawn per run (and recorded), so a long-lived server's prefix cache cannot remember earlier runs' prompts. */
  seed: z.number().int().min(0).optional(),
})

export const Config = z.strictObject({
  benchmark: z.string().regex(BENCHMARK_NAME, "1-100 letters, digits, '.', '_' or '-'"),
  model: Model,
  engine: Engine.prefault({}),
  /** What the deployment gets; in existing mode, what the target has (for cost and the report). */
  resources: Resources.prefault({}),
  kserve: Kserve.prefault({}),
  workload: Workload.prefault({}),
  slo: Slo.strict().optional(),
  /** Cost of one GPU-hour in USD, for cost per million tokens. */
  gpu_hourly_cost: z.number().positive().optional(),
})
export type Config = z.infer<typeof Config>
