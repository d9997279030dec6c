import { defineConfig } from 'vitest/config'

// Tests that judge timings (the demo calls a 25% TPOT regression and must not call TTFT one)
// run after the rest, so the CPU-heavy files (the ingest fuzz, the service bursts) cannot slow
// one side of their comparison on a 2-core machine.
const TIMED = ['test/demo.test.ts']

// The benchmark's own tests, run a second time with the load on two worker threads
// (core/bench/workers.ts): every metric must come out as it does on one thread. Last, alone.
const ON_WORKERS = [
  'test/bench-metrics.test.ts',
  'test/open-loop.test.ts',
  'test/bench-servers.test.ts',
  'test/bench-errors.test.ts',
  'test/bench-run.test.ts',
]

export default defineConfig({
  test: {
    // Tests start real servers and processes on loopback; the 2-core CI machines are noisy.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
    projects: [
      { extends: true, test: { name: 'suite', include: ['test/**/*.test.ts'], exclude: TIMED } },
      { extends: true, test: { name: 'timed', include: TIMED, sequence: { groupOrder: 1 } } },
      {
        extends: true,
        test: {
          name: 'workers',
          include: ON_WORKERS,
          env: { INFERGATE_TEST_WORKERS: '2' },
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
})
