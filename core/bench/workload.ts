// The requests a benchmark sends: synthetic prompts of a given token length, or a JSONL dataset.
// Request i is a pure function of (seed, i), so a run is reproducible whatever the timing.
import { readFileSync } from 'node:fs'
import type { TokenDistribution, Workload as WorkloadInfo } from '../report.ts'
import { Rng } from '../rng.ts'
import type { Api } from './endpoint.ts'
import { BenchError } from './errors.ts'
import { WORDS } from './vocabulary.ts'

export interface PreparedRequest {
  /** JSON body, serialized ahead of the send so the hot path only writes bytes. */
  body: string
  /** Client-side estimate, used only when the server reports no usage. */
  inputTokensEstimate: number
  maxTokens: number
}

export interface WorkloadOptions {
  api: Api
  model: string
  input: TokenDistribution
  output: TokenDistribution
  ignoreEos: boolean
  seed: number
  /** Whether the seed was given (--seed) rather than drawn for the run. */
  seedPinned?: boolean
  dataset: string | null
  warmup: number | 'auto'
}

export interface DatasetEntry {
  prompt?: string
  messages?: { role: string; content: string }[]
  maxTokens: number | null
}

export function sampleTokens(d: TokenDistribution, rng: Rng): number {
  if (d.stddev === 0) return d.mean
  const x = Math.round(d.mean + d.stddev * rng.normal())
  return Math.min(d.max, Math.max(d.min, x))
}

export function syntheticPrompt(tokens: number, rng: Rng): string {
  const words = new Array<string>(tokens)
  for (let i = 0; i < tokens; i++) words[i] = WORDS[rng.int(WORDS.length)]!
  return words.join(' ')
}

const countWords = (s: string) => s.split(/\s+/).filter(Boolean).length

export function loadDataset(path: string): DatasetEntry[] {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    throw new BenchError(`--dataset: cannot read ${path}: ${(e as Error).message}`)
  }
  const entries: DatasetEntry[] = []
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return
    const where = `--dataset ${path} line ${i + 1}`
    let obj: Record<string, unknown>
    try {
      obj = JSON.parse(line) as Record<string, unknown>
    } catch {
      throw new BenchError(`${where}: not valid JSON`)
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      throw new BenchError(`${where}: expected a JSON object with "prompt" or "messages"`)
    }
    const max = obj.output_tokens ?? obj.max_tokens ?? null
    if (max !== null && !(Number.isInteger(max) && (max as number) > 0)) {
      throw new BenchError(`${where}: output_tokens must be a positive integer`)
    }
    if (typeof obj.prompt === 'string' && obj.prompt) {
      entries.push({ prompt: obj.prompt, maxTokens: max as number | null })
    } else if (
      Array.isArray(obj.messages) &&
      obj.messages.length > 0 &&
      obj.messages.every((m) => typeof m?.role === 'string' && typeof m?.content === 'string')
    ) {
      entries.push({ messages: obj.messages, maxTokens: max as number | null })
    } else {
      throw new BenchError(
        `${where}: expected "prompt" (a string) or "messages" (an array of {role, content})`,
      )
    }
  })
  if (entries.length === 0) throw new BenchError(`--dataset ${path}: no prompts in the file`)
  return entries
}

export class Workload {
  private readonly dataset: DatasetEntry[] | null
  private readonly order: number[]
  readonly options: WorkloadOptions

  /** `entries`: the dataset already loaded (bad input is found before any server is contacted). */
  constructor(options: WorkloadOptions, entries?: DatasetEntry[]) {
    this.options = options
    this.dataset = entries ?? (options.dataset ? loadDataset(options.dataset) : null)
    // A seeded shuffle of the dataset, cycled when a run needs more requests than it has lines.
    this.order = this.dataset ? this.dataset.map((_, i) => i) : []
    const rng = new Rng(options.seed, 0x5eed)
    for (let i = this.order.length - 1; i > 0; i--) {
      const j = rng.int(i + 1)
      ;[this.order[i], this.order[j]] = [this.order[j]!, this.order[i]!]
    }
  }

  /** The dataset's lines as loaded (a load worker builds the same workload from them). */
  get entries(): DatasetEntry[] | undefined {
    return this.dataset ?? undefined
  }

  /**
   * The i-th request of the run. Warm-up requests use negative indices, so their prompts are never
   * measured ones: synthetic prompts differ by index; dataset lines come from the end of the
   * shuffled order, measured ones from its start (they meet only when a run needs more lines
   * than the dataset has).
   */
  request(i: number): PreparedRequest {
    const rng = new Rng(this.options.seed, i)
    let prompt: string | undefined
    let messages: { role: string; content: string }[] | undefined
    let maxTokens: number
    if (this.dataset) {
      const idx = this.order[((i % this.order.length) + this.order.length) % this.order.length]!
      const e = this.dataset[idx]!
      prompt = e.prompt
      messages = e.messages
      maxTokens = e.maxTokens ?? sampleTokens(this.options.output, rng)
    } else {
      const inputTokens = sampleTokens(this.options.input, rng)
      maxTokens = sampleTokens(this.options.output, rng)
      prompt = syntheticPrompt(inputTokens, rng)
    }
    if (this.options.api === 'chat') messages ??= [{ role: 'user', content: prompt! }]
    else prompt ??= messages!.map((m) => m.content).join('\n')
    const body: Record<string, unknown> = { model: this.options.model }
    if (this.options.api === 'chat') {
      body.messages = messages
      body.max_completion_tokens = maxTokens
    } else {
      body.prompt = prompt
      body.max_tokens = maxTokens
    }
    body.temperature = 0
    body.stream = true
    body.stream_options = { include_usage: true }
    if (this.options.ignoreEos) body.ignore_eos = true
    const text = messages ? messages.map((m) => m.content).join(' ') : prompt!
    return { body: JSON.stringify(body), inputTokensEstimate: countWords(text), maxTokens }
  }

  describe(): WorkloadInfo {
    const o = this.options
    return {
      source: o.dataset ? 'dataset' : 'synthetic',
      dataset: o.dataset,
      input_tokens: o.dataset ? null : o.input,
      output_tokens: o.output,
      ignore_eos: o.ignoreEos,
      seed: o.seed,
      seed_pinned: o.seedPinned ?? true,
      warmup_requests: o.warmup === 'auto' ? 0 : o.warmup,
      warmup_per_connection: o.warmup === 'auto',
    }
  }
}
