// What a person sees while a benchmark runs: a redrawn bar on a terminal, a line every
// few seconds in CI logs (where \r redraws turn into thousands of lines).
export interface Progress {
  startTrial(label: string, total: number | null, durationS: number | null): void
  request(ok: boolean): void
  endTrial(summaryLine: string): void
  info(line: string): void
}

export type ProgressMode = 'auto' | 'bar' | 'lines' | 'off'

export function createProgress(mode: ProgressMode, stream: NodeJS.WriteStream = process.stderr): Progress {
  const resolved = mode === 'auto' ? (stream.isTTY ? 'bar' : 'lines') : mode
  if (resolved === 'off') return { startTrial() {}, request() {}, endTrial() {}, info() {} }
  return new TrialProgress(stream, resolved === 'bar')
}

class TrialProgress implements Progress {
  private label = ''
  private total: number | null = null
  private durationS: number | null = null
  private done = 0
  private failed = 0
  private startedAt = 0
  private timer: NodeJS.Timeout | undefined
  private readonly stream: NodeJS.WriteStream
  private readonly bar: boolean

  constructor(stream: NodeJS.WriteStream, bar: boolean) {
    this.stream = stream
    this.bar = bar
  }

  startTrial(label: string, total: number | null, durationS: number | null): void {
    Object.assign(this, { label, total, durationS, done: 0, failed: 0, startedAt: Date.now() })
    // Redraws read the counters on a timer, so the request hot path only increments them.
    this.timer = setInterval(() => this.render(), this.bar ? 100 : 10_000)
    this.timer.unref()
    if (this.bar) this.render()
  }

  request(ok: boolean): void {
    this.done++
    if (!ok) this.failed++
  }

  endTrial(summaryLine: string): void {
    clearInterval(this.timer)
    if (this.bar) this.stream.write('\r\x1b[2K')
    this.stream.write(`${this.label}: ${summaryLine}\n`)
  }

  info(line: string): void {
    if (this.bar) this.stream.write('\r\x1b[2K')
    this.stream.write(`${line}\n`)
  }

  private fraction(elapsed: number): number {
    const byCount = this.total ? this.done / this.total : 0
    const byTime = this.durationS ? elapsed / this.durationS : 0
    return Math.min(1, Math.max(byCount, byTime))
  }

  private render(): void {
    const elapsed = (Date.now() - this.startedAt) / 1000
    const f = this.fraction(elapsed)
    const counts = `${this.done}${this.total ? `/${this.total}` : ''} requests${this.failed ? `, ${this.failed} failed` : ''}`
    const time = `${elapsed.toFixed(1)} s${this.durationS ? `/${this.durationS} s` : ''}`
    if (this.bar) {
      const width = 24
      const filled = Math.round(f * width)
      const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`
      this.stream.write(`\r\x1b[2K${this.label} ${bar} ${Math.round(f * 100)}%  ${counts}  ${time}`)
    } else {
      this.stream.write(`${this.label}: ${Math.round(f * 100)}%  ${counts}  ${time}\n`)
    }
  }
}
