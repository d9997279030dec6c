// The ingest gate's rules, alone: at most `concurrency` at work, at most `queue` waiting, each
// for at most `queueTimeoutMs`; beyond, a 503 `busy` with a Retry-After of whole seconds.
import { describe, expect, it } from 'vitest'
import { ApiError } from '../service/http.ts'
import { createIngestGate } from '../service/runs/gate.ts'

const never = () => new Promise<never>(() => {})
const busy = async (p: Promise<unknown>) => {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  )
  expect(e).toBeInstanceOf(ApiError)
  const err = e as ApiError
  expect(err.status).toBe(503)
  expect(err.code).toBe('busy')
  expect(Number(err.headers['retry-after'])).toBeGreaterThanOrEqual(1)
  return err
}

describe('ingest gate', () => {
  it('lets `concurrency` work, queues `queue` more in order, and refuses the rest at once', async () => {
    const gate = createIngestGate({ concurrency: 2, queue: 1, queueTimeoutMs: 60_000 })
    const release: (() => void)[] = []
    const order: number[] = []
    const work = (i: number) => () =>
      new Promise<number>((resolve) => {
        order.push(i)
        release.push(() => resolve(i))
      })
    const a = gate.run(work(1))
    const b = gate.run(work(2))
    const c = gate.run(work(3))
    expect([gate.active, gate.waiting]).toEqual([2, 1])
    const started = performance.now()
    await busy(gate.run(work(4)))
    expect(performance.now() - started).toBeLessThan(1_000)
    release[0]!()
    expect(await a).toBe(1)
    await new Promise((r) => setTimeout(r, 0))
    expect(order).toEqual([1, 2, 3])
    release[1]!()
    release[2]!()
    expect(await Promise.all([b, c])).toEqual([2, 3])
    expect([gate.active, gate.waiting]).toEqual([0, 0])
  })

  it('a wait longer than the limit is a 503, and leaves the queue', async () => {
    const gate = createIngestGate({ concurrency: 1, queue: 5, queueTimeoutMs: 50 })
    void gate.run(never)
    const err = await busy(gate.run(async () => 1))
    expect(err.message).toContain('no turn within 50 ms')
    expect(gate.waiting).toBe(0)
  })

  it('a failed ingest frees its turn', async () => {
    const gate = createIngestGate({ concurrency: 1, queue: 0, queueTimeoutMs: 1_000 })
    await expect(gate.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom')
    expect(await gate.run(async () => 'next')).toBe('next')
  })

  it('a freed turn goes to the first waiter, not to a run() that arrives before it resumes', async () => {
    const gate = createIngestGate({ concurrency: 1, queue: 1, queueTimeoutMs: 60_000 })
    const releases: (() => void)[] = []
    let atWork = 0
    let most = 0
    const work = () =>
      new Promise<void>((resolve) => {
        most = Math.max(most, ++atWork)
        releases.push(() => {
          atWork--
          resolve()
        })
      })
    const first = gate.run(work)
    const waiter = gate.run(work)
    // The first ends; a run() scheduled right behind it runs after the turn is freed and before
    // the woken waiter resumes.
    releases.shift()!()
    let late: Promise<void> = Promise.resolve()
    queueMicrotask(() => {
      late = gate.run(work)
    })
    await first
    await new Promise((r) => setTimeout(r, 0))
    expect(most).toBe(1)
    expect([gate.active, gate.waiting]).toEqual([1, 1])
    releases.shift()!()
    await waiter
    await new Promise((r) => setTimeout(r, 0))
    releases.shift()!()
    await late
    expect(most).toBe(1)
  })
})
