/** A benchmark that cannot go on; its message is the one line the user sees. */
export class BenchError extends Error {
  override name = 'BenchError'
}
