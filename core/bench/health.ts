// How busy the load generator itself was during a trial. A client whose event loop is always
// busy timestamps late: a chunk that arrived while it parsed other streams is seen when it gets
// round to it. These figures say when the measurement, not the server, is the bottleneck.
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'

export interface GeneratorHealth {
  /** Share of the trial's wall time the event loop was busy (Node's eventLoopUtilization). */
  busy: number
  /** p99 of how late a 1 ms timer fired: how long one turn of the loop held everything else up. */
  lagP99Ms: number
  /** CPU seconds the process used per wall second (1 = one core's worth). */
  cpu: number
}

/** Above this share of busy time, timings are suspect: the table and the report say so. */
export const BUSY_WARN = 0.9
/** A p99 loop delay above this many ms is the generator's own latency in every timing. */
export const LAG_WARN_MS = 5

/** Starts measuring; the function returned stops and reads the figures. */
export function watchGenerator(): () => GeneratorHealth {
  const elu = performance.eventLoopUtilization()
  const cpu = process.cpuUsage()
  const t0 = performance.now()
  const delay = monitorEventLoopDelay({ resolution: 1 })
  delay.enable()
  return () => {
    delay.disable()
    const wallMs = Math.max(performance.now() - t0, 1e-3)
    const used = process.cpuUsage(cpu)
    // The histogram counts from the 1 ms the timer was set for: what is above it is lag.
    const lag = delay.count > 0 ? Math.max(0, delay.percentile(99) / 1e6 - 1) : 0
    return {
      busy: performance.eventLoopUtilization(elu).utilization,
      lagP99Ms: lag,
      cpu: (used.user + used.system) / 1000 / wallMs,
    }
  }
}

/** Below this, one start-up pause (code compiled on first use, a GC) is the trial's p99 lag. */
const LAG_MIN_TRIAL_S = 2

/** The trial's warning when the generator was the bottleneck, else null. */
export function healthWarning(h: GeneratorHealth, durationS: number): string | null {
  const lagging = h.lagP99Ms > LAG_WARN_MS && durationS >= LAG_MIN_TRIAL_S
  if (h.busy < BUSY_WARN && !lagging) return null
  return `the load generator was busy ${(h.busy * 100).toFixed(0)}% of the time (event-loop delay p99 ${h.lagP99Ms.toFixed(1)} ms, ${h.cpu.toFixed(2)} CPU): timings include its own lag; use fewer connections or more workers`
}
