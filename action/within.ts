// A deadline on a promise: client-node's requests and the service client's status calls have
// none of their own that fits a step's remaining time (a cancelled job has seconds).
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms)
    }),
  ])
}
