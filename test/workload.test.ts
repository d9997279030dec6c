import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BenchError } from '../core/bench/errors.ts'
import { Workload, type WorkloadOptions } from '../core/bench/workload.ts'
import { tempDir } from './helpers.ts'

const base: WorkloadOptions = {
  api: 'completions',
  model: 'm',
  input: { mean: 300, stddev: 0, min: 1, max: 1000 },
  output: { mean: 64, stddev: 16, min: 8, max: 80 },
  ignoreEos: false,
  seed: 1,
  dataset: null,
  warmup: 0,
}
const body = (w: Workload, i: number) => JSON.parse(w.request(i).body)

describe('synthetic workload', () => {
  it('request i is a function of (seed, i): reproducible, and distinct across i', () => {
    const a = new Workload(base)
    const b = new Workload(base)
    expect(a.request(7).body).toBe(b.request(7).body)
    expect(a.request(7).body).not.toBe(a.request(8).body)
    expect(new Workload({ ...base, seed: 2 }).request(7).body).not.toBe(a.request(7).body)
  })

  it('prompts have the requested length in words, max_tokens follows its distribution within bounds', () => {
    const w = new Workload(base)
    const maxes = Array.from({ length: 500 }, (_, i) => body(w, i).max_tokens as number)
    expect(body(w, 0).prompt.split(' ')).toHaveLength(300)
    expect(Math.min(...maxes)).toBeGreaterThanOrEqual(8)
    expect(Math.max(...maxes)).toBeLessThanOrEqual(80)
    expect(new Set(maxes).size).toBeGreaterThan(20)
  })

  it('asks for streaming with usage, and ignore_eos only when chosen', () => {
    expect(body(new Workload(base), 0)).toMatchObject({
      stream: true,
      stream_options: { include_usage: true },
    })
    expect(body(new Workload(base), 0).ignore_eos).toBeUndefined()
    expect(body(new Workload({ ...base, ignoreEos: true }), 0).ignore_eos).toBe(true)
  })

  it('chat sends one user message and max_completion_tokens', () => {
    const b = body(new Workload({ ...base, api: 'chat' }), 0)
    expect(b.messages).toHaveLength(1)
    expect(b.messages[0].role).toBe('user')
    expect(b.max_completion_tokens).toBeGreaterThan(0)
  })
})

describe('what the report says about it', () => {
  it('a drawn seed and the per-connection warm-up are recorded as such', () => {
    expect(new Workload({ ...base, seed: 77, seedPinned: false, warmup: 'auto' }).describe()).toMatchObject({
      seed: 77,
      seed_pinned: false,
      warmup_requests: 0,
      warmup_per_connection: true,
    })
    expect(new Workload({ ...base, seed: 3, seedPinned: true, warmup: 5 }).describe()).toMatchObject({
      seed: 3,
      seed_pinned: true,
      warmup_requests: 5,
      warmup_per_connection: false,
    })
  })
})

describe('dataset workload', () => {
  const file = (lines: string[]) => {
    const path = join(tempDir(), 'prompts.jsonl')
    writeFileSync(path, lines.join('\n'))
    return path
  }

  it('cycles through prompts in a seeded order, with per-line output lengths', () => {
    const path = file([
      '{"prompt": "one two", "output_tokens": 5}',
      '{"messages": [{"role": "user", "content": "three"}]}',
      '',
      '{"prompt": "four"}',
    ])
    const w = new Workload({ ...base, dataset: path })
    const prompts = Array.from({ length: 6 }, (_, i) => body(w, i).prompt as string)
    expect(new Set(prompts.slice(0, 3))).toEqual(new Set(['one two', 'three', 'four']))
    expect(prompts.slice(3)).toEqual(prompts.slice(0, 3))
    const i = prompts.indexOf('one two')
    expect(body(w, i).max_tokens).toBe(5)
    expect(w.describe()).toMatchObject({ source: 'dataset', dataset: path, input_tokens: null })
  })

  it('warm-up lines (negative indices) are not the measured ones while the dataset lasts', () => {
    const path = file(Array.from({ length: 10 }, (_, i) => `{"prompt": "line ${i}"}`))
    const w = new Workload({ ...base, dataset: path })
    const warm = new Set([-1, -2, -3].map((i) => body(w, i).prompt))
    const measured = Array.from({ length: 7 }, (_, i) => body(w, i).prompt)
    expect(warm.size).toBe(3)
    expect(measured.filter((p) => warm.has(p))).toEqual([])
  })

  it('names the line of a bad entry', () => {
    const path = file(['{"prompt": "ok"}', '{"prompt": 3}'])
    expect(() => new Workload({ ...base, dataset: path })).toThrow(BenchError)
    expect(() => new Workload({ ...base, dataset: path })).toThrow(/line 2: expected "prompt"/)
    expect(() => new Workload({ ...base, dataset: file(['{nope']) })).toThrow(/line 1: not valid JSON/)
    expect(() => new Workload({ ...base, dataset: '/nonexistent.jsonl' })).toThrow(/cannot read/)
  })
})
