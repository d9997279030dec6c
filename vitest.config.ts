import { defineConfig } from 'vitest/config'

// Tests that judge timings (the demo calls a 25% TPOT regression and must not call TTFT one)
// run after the rest, so the CPU-heavy files (the ingest fuzz, the service bursts) cannot slow
// one side of their comparison on a 2-core machine.
const TIMED = ['test/demo.test.ts']

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
    ],
  },
})
