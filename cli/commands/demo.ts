// The main job on embedded defaults: a simulated vLLM in its own process, benchmarked for
// real, with the results table and the report file. No cluster, GPU or database needed.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { createProgress } from '../../core/bench/progress.ts'
import { runBenchmark } from '../../core/bench/run.ts'
import { renderTable } from '../../core/bench/table.ts'
import type { CommandSpec, FlagValues } from '../args.ts'
import { spawnEngineSim } from '../spawn-sim.ts'
import { benchOptions, writeFileAtomic } from './bench.ts'

export const demoSpec: CommandSpec = {
  name: 'demo',
  summary: 'benchmark a simulated vLLM end to end (what `npm start` runs)',
  usage: 'infergate demo',
  flags: {},
}

export async function demo(_values: FlagValues): Promise<number> {
  const entry = process.argv[1]!
  const sim = await spawnEngineSim(entry, [
    ...['--ttft-ms', '60', '--itl-ms', '12', '--jitter', '0.1'],
    ...['--max-num-seqs', '16', '--batch-slowdown', '0.02'],
  ])
  try {
    process.stderr.write(`engine-sim (a simulated vLLM) is serving at ${sim.url}\n`)
    const options = benchOptions({
      url: sim.url,
      name: 'demo',
      concurrency: '1,4,16',
      duration: '5',
      warmup: '4',
      'input-tokens': '256',
      'output-tokens': '48',
      'ignore-eos': true,
      slo: 'ttft:200,tpot:20',
    })
    const report = await runBenchmark(options, createProgress('auto'))
    process.stdout.write(`\n${renderTable(report)}`)
    const dir = '.infergate'
    mkdirSync(dir, { recursive: true })
    const path = join(dir, 'demo-report.json')
    writeFileAtomic(path, `${JSON.stringify(report)}\n`)
    process.stdout.write(`\nThe full report (per-request samples included) is in ${path}.\n`)
    return 0
  } finally {
    await sim.stop()
  }
}
