// Infergate's engine settings as vLLM's `vllm serve` / KServe Hugging Face runtime flags
// (vLLM ≥ 0.10: speculative decoding through --speculative-config JSON).
import type { EngineMapper } from './engine.ts'

export const vllm: EngineMapper = {
  name: 'vllm',
  args({ model, engine: e }) {
    const out = [`--served-model-name=${model.name}`]
    if (model.revision) out.push(`--revision=${model.revision}`)
    if (e.tensor_parallel !== 1) out.push(`--tensor-parallel-size=${e.tensor_parallel}`)
    if (e.pipeline_parallel !== 1) out.push(`--pipeline-parallel-size=${e.pipeline_parallel}`)
    if (e.quantization) out.push(`--quantization=${e.quantization}`)
    if (e.kv_cache_dtype) out.push(`--kv-cache-dtype=${e.kv_cache_dtype}`)
    if (e.max_model_len !== undefined) out.push(`--max-model-len=${e.max_model_len}`)
    if (e.gpu_memory_utilization !== undefined)
      out.push(`--gpu-memory-utilization=${e.gpu_memory_utilization}`)
    if (e.enable_prefix_caching !== undefined) {
      out.push(e.enable_prefix_caching ? '--enable-prefix-caching' : '--no-enable-prefix-caching')
    }
    if (e.max_num_seqs !== undefined) out.push(`--max-num-seqs=${e.max_num_seqs}`)
    if (e.speculative) {
      const { model: draft, method, num_speculative_tokens } = e.speculative
      const spec = {
        ...(method ? { method } : {}),
        ...(draft ? { model: draft } : {}),
        num_speculative_tokens,
      }
      out.push(`--speculative-config=${JSON.stringify(spec)}`)
    }
    return [...out, ...e.extra_args]
  },
}
