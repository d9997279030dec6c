/** A benchmark that cannot go on; its message is the one line the user sees. */
export class BenchError extends Error {
  override name = 'BenchError'
}

/** The run was stopped (Ctrl-C) before anything was measured: there is no report to write. */
export class Interrupted extends BenchError {
  override name = 'Interrupted'
}
