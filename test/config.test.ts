// infergate.yaml: the schema, the known-bad combinations with their lines, the vLLM flags, the
// workload read as `infergate bench` reads it, and `infergate validate` as a user runs it.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { formatIssue, parseConfig } from '../core/config/load.ts'
import { planFromConfig } from '../core/config/plan.ts'
import { vllm } from '../core/engines/vllm.ts'
import { parseReport } from '../core/report.ts'
import { cli, tempDir, withSim } from './helpers.ts'

const BASE = `benchmark: llama3-8b-chat
model:
  name: llama-3-8b
  storage_uri: hf://meta-llama/Llama-3.1-8B-Instruct
resources:
  gpus: 1
`

const issues = (text: string) => parseConfig(text).issues.map((i) => formatIssue('f.yaml', i))

describe('infergate.yaml', () => {
  it('a minimal file gets every default', () => {
    const { config, issues: found } = parseConfig(`${BASE}workload:\n  concurrency: [1, 4]\n`)
    expect(found).toEqual([])
    expect(config).toMatchObject({
      engine: { name: 'vllm', tensor_parallel: 1, pipeline_parallel: 1, extra_args: [] },
      kserve: { model_format: 'huggingface', deployment_mode: 'RawDeployment' },
      workload: {
        endpoint: 'completions',
        input_tokens: 512,
        output_tokens: 128,
        ignore_eos: true,
        trials: 1,
      },
    })
  })

  it('schema errors name the key and its line; typos are errors, not defaults', () => {
    expect(issues(`${BASE}engine:\n  tensor_paralel: 2\n`)).toEqual([
      'f.yaml:8:3: error: engine.tensor_paralel: Unrecognized key: "tensor_paralel"',
    ])
    expect(issues(BASE.replace('  gpus: 1\n', '  gpus: two\n'))).toEqual([
      'f.yaml:6:3: error: resources.gpus: Invalid input: expected number, received string',
    ])
    expect(issues('benchmark: x\nresources: {gpus: 1}\n')).toEqual(['f.yaml: error: model: required'])
    // Deploying needs to know where the model is and how many GPUs it gets; benchmarking an
    // existing service does not.
    const bare = 'benchmark: x\nmodel: {name: m}\nworkload: {concurrency: [1]}\n'
    expect(issues(bare)).toEqual([
      'f.yaml:2:1: error: model.storage_uri: required to deploy: where KServe fetches the model (hf://org/model, s3://…, pvc://…)',
      'f.yaml: error: resources.gpus: no GPU limit: vLLM needs at least one nvidia.com/gpu, and a pod without a GPU limit may land on any node',
    ])
    expect(parseConfig(bare, 'existing')).toMatchObject({ issues: [], config: { model: { name: 'm' } } })
    expect(issues('benchmark: [x\n')[0]).toMatch(/^f\.yaml:2:1: error: YAML: /)
    expect(issues(BASE.replace('hf://meta-llama', 'meta-llama'))[0]).toMatch(
      /^f\.yaml:4:3: error: model\.storage_uri: expected a URI such as hf:\/\/org\/model/,
    )
  })

  it('refuses the combinations that would fail or mislead', () => {
    const text = `${BASE.replace('gpus: 1', 'gpus: 4')}engine:
  tensor_parallel: 2
  quantization: awq
  gpu_memory_utilization: 0
  max_num_seqs: 16
kserve:
  logger: {mode: all}
workload:
  concurrency: [1, 64]
`
    expect(issues(text)).toEqual([
      'f.yaml:8:3: error: engine.tensor_parallel: tensor_parallel × pipeline_parallel = 2 × 1 = 2, but resources.gpus = 4: vLLM uses exactly that many GPUs',
      'f.yaml:9:3: error: engine.quantization: awq needs a checkpoint already quantized with AWQ; hf://meta-llama/Llama-3.1-8B-Instruct does not look like one (set model.quantized: awq if it is, or use fp8 to quantize at load time)',
      "f.yaml:10:3: error: engine.gpu_memory_utilization: must lie in (0, 1] (a fraction of each GPU's memory), got 0",
      "f.yaml:11:3: warning: engine.max_num_seqs: 16 is below the highest concurrency tested (64): requests beyond it wait in vLLM's queue, and the run measures queueing",
      "f.yaml:13:3: error: kserve.logger: KServe's request logger buffers each streamed answer in its sidecar: the first token arrives with the last and TTFT collapses into E2E latency. Remove it for benchmarks",
    ])
    expect(parseConfig(text).config).toBeNull()
    expect(issues(BASE.replace('gpus: 1', 'gpus: 0'))[0]).toMatch(/resources\.gpus: no GPU limit/)
    // A pre-quantized checkpoint, by name or declared, is fine.
    const awq = `${BASE.replace('Llama-3.1-8B-Instruct', 'Llama-3.1-8B-Instruct-AWQ')}engine:\n  quantization: awq_marlin\n`
    expect(parseConfig(awq).issues.filter((i) => i.severity === 'error')).toEqual([])
    const declared = `${BASE.replace('  storage_uri', '  quantized: gptq\n  storage_uri')}engine:\n  quantization: gptq\n`
    expect(parseConfig(declared).issues.filter((i) => i.severity === 'error')).toEqual([])
  })

  it('maps engine settings to vLLM flags', () => {
    const { config } = parseConfig(`benchmark: llama3-8b-chat
model:
  name: llama-3-8b
  storage_uri: hf://meta-llama/Llama-3.1-8B-Instruct
  revision: abc123
engine:
  tensor_parallel: 2
  pipeline_parallel: 2
  quantization: fp8
  kv_cache_dtype: fp8
  max_model_len: 8192
  gpu_memory_utilization: 0.92
  enable_prefix_caching: false
  max_num_seqs: 128
  speculative: {model: meta-llama/Llama-3.2-1B, num_speculative_tokens: 5}
  extra_args: [--enforce-eager]
resources:
  gpus: 4
`)
    expect(config).not.toBeNull()
    expect(vllm.args(config!)).toEqual([
      '--served-model-name=llama-3-8b',
      '--revision=abc123',
      '--tensor-parallel-size=2',
      '--pipeline-parallel-size=2',
      '--quantization=fp8',
      '--kv-cache-dtype=fp8',
      '--max-model-len=8192',
      '--gpu-memory-utilization=0.92',
      '--no-enable-prefix-caching',
      '--max-num-seqs=128',
      '--speculative-config={"model":"meta-llama/Llama-3.2-1B","num_speculative_tokens":5}',
      '--enforce-eager',
    ])
  })

  it('the workload becomes the benchmark plan, with bench defaults', () => {
    const { config } = parseConfig(`${BASE}workload:
  endpoint: chat
  input_tokens: {mean: 256, stddev: 32}
  output_tokens: 64
  rate: [2, inf]
  requests: 50
  trials: 3
slo: {ttft_ms: 500, tpot_ms: 40}
gpu_hourly_cost: 2.5
`)
    const plan = planFromConfig(config!)
    expect(plan).toMatchObject({
      name: 'llama3-8b-chat',
      workload: { api: 'chat', input: { mean: 256, stddev: 32 }, output: { mean: 64 } },
      load: { rates: [2, null], concurrency: [] },
      stop: { requests: 50 },
      trials: 3,
      slo: { ttft_ms: 500, tpot_ms: 40 },
      gpu: { count: 1, hourlyCostUsd: 2.5 },
      engine: 'vllm',
    })
    // Unset, the seed is drawn per run and each connection is warmed, as bench does by default:
    // a long-lived server (mode: existing) must not remember the prompts of earlier runs.
    expect(plan.workload).toMatchObject({ seed: null, warmup: 'auto' })
    const pinned = parseConfig(`${BASE}workload:\n  seed: 7\n  warmup: 3\n`).config!
    expect(planFromConfig(pinned).workload).toMatchObject({ seed: 7, warmup: 3 })
  })
})

describe('infergate bench --config', () => {
  it("runs the config's workload against any server; flags win", async () => {
    const dir = tempDir()
    writeFileSync(
      join(dir, 'infergate.yaml'),
      'benchmark: cfg\nmodel: {name: sim}\nworkload: {concurrency: [1, 2], requests: 6, output_tokens: 4}\n',
    )
    await withSim(['--ttft-ms', '2', '--itl-ms', '1', '--model', 'sim'], async (s) => {
      const r = await cli(
        ['bench', '--config', 'infergate.yaml', '--url', s.url, '--requests', '3', '--out', 'r.json'],
        {},
        dir,
      )
      expect(r.code, r.stderr).toBe(0)
      const report = parseReport(JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')))
      expect(report.benchmark).toBe('cfg')
      expect(report.scenarios.map((x) => [x.name, x.stop.requests])).toEqual([
        ['concurrency-1', 3],
        ['concurrency-2', 3],
      ])
      expect(report.workload.output_tokens?.mean).toBe(4)
      // Scenarios on the command line replace the config's, whatever their kind.
      const open = await cli(
        ['bench', '--config', 'infergate.yaml', '--url', s.url, '--rate', '50', '--out', 'o.json'],
        {},
        dir,
      )
      expect(open.code, open.stderr).toBe(0)
      const rated = parseReport(JSON.parse(readFileSync(join(dir, 'o.json'), 'utf8')))
      expect(rated.scenarios.map((x) => x.load.mode)).toEqual(['open'])
    })
    writeFileSync(join(dir, 'bad.yaml'), 'benchmark: cfg\nmodel: {name: sim}\nworkload: {concurency: [1]}\n')
    const bad = await cli(['bench', '--config', 'bad.yaml', '--url', 'http://127.0.0.1:9/v1'], {}, dir)
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain(
      '--config: bad.yaml:3:12: error: workload.concurency: Unrecognized key: "concurency"',
    )
  })
})

describe('infergate validate', () => {
  it('exit 0 and what would be deployed; exit 2 with every error on stderr', async () => {
    const dir = tempDir()
    writeFileSync(
      join(dir, 'infergate.yaml'),
      `${BASE}engine:\n  max_num_seqs: 8\nworkload:\n  concurrency: [1, 16]\n`,
    )
    const ok = await cli(['validate'], {}, dir)
    expect(ok.code).toBe(0)
    expect(ok.stdout).toContain('infergate.yaml: valid (1 warning)')
    expect(ok.stdout).toContain('vllm       --served-model-name=llama-3-8b --max-num-seqs=8')
    expect(ok.stdout).toContain('scenarios  concurrency-1, concurrency-16')
    expect(ok.stderr).toContain('infergate.yaml:8:3: warning: engine.max_num_seqs: 8 is below')

    writeFileSync(join(dir, 'bad.yaml'), `${BASE}workload:\n  burstiness: 2\n  concurrency: [1]\n`)
    const bad = await cli(['validate', 'bad.yaml'], {}, dir)
    expect(bad.code).toBe(2)
    // The plan's rules name the key, on its line, as the schema's do.
    expect(bad.stderr).toContain(
      'bad.yaml:8:3: error: workload.burstiness: applies to open-loop runs: add workload.rate',
    )
    const missing = await cli(['validate', 'nope.yaml'], {}, dir)
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('nope.yaml: error: cannot read nope.yaml: no such file')
  })
})
