// vLLM's scheduler, reduced to what shapes latency: at most max_num_seqs requests run at once
// (the rest wait in FIFO order), and every running request slows decoding a little
// (continuous batching shares each engine step).

export class Scheduler {
  running = 0
  private readonly queue: (() => void)[] = []
  /** Tokens held by running requests (prompt + generated so far), for kv_cache_usage_perc. */
  kvTokens = 0
  promptTokensTotal = 0
  generationTokensTotal = 0
  requestsTotal = 0
  readonly maxNumSeqs: number
  readonly kvCapacityTokens: number

  constructor(maxNumSeqs: number, kvCapacityTokens: number) {
    this.maxNumSeqs = maxNumSeqs
    this.kvCapacityTokens = kvCapacityTokens
  }

  get waiting(): number {
    return this.queue.length
  }

  /** Resolves when the request may run. */
  admit(): Promise<void> {
    if (this.running < this.maxNumSeqs) {
      this.running++
      return Promise.resolve()
    }
    return new Promise((resolve) => this.queue.push(resolve))
  }

  /** Hands the slot to the next waiting request, or frees it. */
  release(): void {
    const next = this.queue.shift()
    if (next) next()
    else this.running--
  }

  kvUsage(): number {
    return Math.min(1, this.kvTokens / this.kvCapacityTokens)
  }
}
