// The machine a benchmark runs on, as the report records it (environment.client). Read here, by
// the CLI and the Action when they build a run's context, so runBenchmark itself reads no
// process globals and a test can say who measured.
import { hostname } from 'node:os'

export interface HostInfo {
  /** `linux-x64 runner-7`: OS, architecture and host name. */
  platform: string
  nodeVersion: string
}

export function thisHost(): HostInfo {
  return {
    platform: `${process.platform}-${process.arch} ${hostname()}`,
    nodeVersion: process.version,
  }
}
