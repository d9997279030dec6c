import { readFileSync } from 'node:fs'
import { expect, describe as group, it } from 'vitest'
import { describe, percentile, sortInPlace } from '../core/stats.ts'

// Reference values from numpy (test/fixtures/describe.py, the command is in its header).
const fixture = JSON.parse(readFileSync(new URL('./fixtures/describe.json', import.meta.url), 'utf8')) as {
  cases: {
    name: string
    data: number[]
    mean: number
    std: number
    median: number
    p90: number
    p95: number
    p99: number
  }[]
}

group('descriptive statistics match numpy', () => {
  for (const c of fixture.cases) {
    it(c.name, () => {
      const d = describe(c.data)
      for (const k of ['mean', 'std', 'median', 'p90', 'p95', 'p99'] as const) {
        expect(d[k], k).toBeCloseTo(c[k], 9)
      }
    })
  }

  it('does not depend on input order', () => {
    const xs = fixture.cases[0]!.data
    expect(percentile([...xs].reverse(), 99)).toBe(percentile(xs, 99))
  })

  it('an array sorted in place describes as its unsorted original, without another copy', () => {
    for (const c of fixture.cases) {
      const scratch = Float64Array.from(c.data).reverse()
      const same = sortInPlace(scratch)
      expect(same).toBe(scratch)
      expect(Array.from(scratch)).toEqual([...c.data].sort((a, b) => a - b))
      expect(describe(scratch)).toEqual(describe(c.data))
    }
  })
})
