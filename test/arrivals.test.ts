import { describe, expect, it } from 'vitest'
import { ARRIVAL_STREAM, arrivalSchedule, interArrival } from '../core/bench/arrivals.ts'
import { Rng } from '../core/rng.ts'
import { mean, std } from '../core/stats.ts'

const gaps = (f: () => number, n: number) => Array.from({ length: n }, f)

describe('arrival processes', () => {
  const n = 20_000
  it('constant: every gap is 1/rate', () => {
    const g = gaps(interArrival(50, 'constant', 1, new Rng(1)), 100)
    expect(new Set(g)).toEqual(new Set([20]))
  })

  it('poisson: exponential gaps, mean 1/rate and coefficient of variation 1', () => {
    const g = gaps(interArrival(100, 'poisson', 1, new Rng(2)), n)
    expect(mean(g)).toBeGreaterThan(9.7)
    expect(mean(g)).toBeLessThan(10.3)
    expect(std(g) / mean(g)).toBeGreaterThan(0.96)
    expect(std(g) / mean(g)).toBeLessThan(1.04)
  })

  for (const b of [0.25, 4]) {
    it(`gamma with burstiness ${b}: mean 1/rate, coefficient of variation 1/sqrt(b)`, () => {
      const g = gaps(interArrival(20, 'gamma', b, new Rng(3)), n)
      expect(mean(g) / 50).toBeGreaterThan(0.96)
      expect(mean(g) / 50).toBeLessThan(1.04)
      const cv = std(g) / mean(g)
      expect(cv / (1 / Math.sqrt(b))).toBeGreaterThan(0.94)
      expect(cv / (1 / Math.sqrt(b))).toBeLessThan(1.06)
    })
  }

  it('rate inf sends everything at once', () => {
    expect(gaps(interArrival(null, 'poisson', 1, new Rng(4)), 5)).toEqual([0, 0, 0, 0, 0])
  })

  it('is reproducible from the seed', () => {
    const a = gaps(interArrival(10, 'gamma', 0.5, new Rng(9)), 50)
    const b = gaps(interArrival(10, 'gamma', 0.5, new Rng(9)), 50)
    expect(a).toEqual(b)
    expect(gaps(interArrival(10, 'gamma', 0.5, new Rng(10)), 50)).not.toEqual(a)
  })

  describe('the schedule of a trial', () => {
    const spec = { rate: 25, arrival: 'gamma' as const, burstiness: 0.5, seed: 13 }
    const times = (exact: boolean, count: number) => {
      const next = arrivalSchedule({ ...spec, exact }, count)
      return Array.from({ length: count }, next)
    }

    it('exact: the N-th request planned at (N − 1) / rate, every gap the drawn one times one factor', () => {
      for (const count of [2, 10, 1000]) {
        const t = times(true, count)
        expect(t[0]).toBe(0)
        expect(t[count - 1]).toBeCloseTo(((count - 1) * 1000) / 25, 6)
        const g = gaps(interArrival(25, 'gamma', 0.5, new Rng(13, ARRIVAL_STREAM)), count - 1)
        const factor = (t[1]! - t[0]!) / g[0]!
        for (let i = 1; i < count; i++) expect((t[i]! - t[i - 1]!) / g[i - 1]!).toBeCloseTo(factor, 6)
      }
    })

    it('drawn: the running sum of the gaps, whose total is off (N − 1) / rate', () => {
      const t = times(false, 1000)
      const g = gaps(interArrival(25, 'gamma', 0.5, new Rng(13, ARRIVAL_STREAM)), 999)
      let sum = 0
      for (let i = 1; i < 1000; i++) {
        sum += g[i - 1]!
        expect(t[i]).toBeCloseTo(sum, 6)
      }
      expect(Math.abs(t[999]! / (999 * 40) - 1)).toBeGreaterThan(0.02)
    })

    it('a schedule without an end (a duration and no rate to size it) stays as drawn', () => {
      const next = arrivalSchedule({ ...spec, exact: true }, Number.POSITIVE_INFINITY)
      const g = gaps(interArrival(25, 'gamma', 0.5, new Rng(13, ARRIVAL_STREAM)), 5)
      expect([next(), next(), next()]).toEqual([0, g[0], g[0]! + g[1]!])
    })
  })
})
