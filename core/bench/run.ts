// A whole benchmark: preflight the server, then every scenario × trial, then the report. What to
// run (the plan), where (the target) and what surrounds the run (the context: progress, git, CI,
// the host) come in apart: nothing here reads the environment, and a plan can meet two targets.

import type { Report, Scenario, Trial } from '../report.ts'
import { parseReport, REPORT_SCHEMA } from '../report.ts'
import { Interrupted } from './errors.ts'
import { type BenchPlan, planScenarios } from './plan.ts'
import {
  type BenchContext,
  type BenchTarget,
  environmentOf,
  openServer,
  runInputs,
  ScenarioSession,
} from './session.ts'

export { type BenchContext, type BenchTarget, warmupFor } from './session.ts'

export async function runBenchmark(
  plan: BenchPlan,
  target: BenchTarget,
  context: BenchContext,
): Promise<Report> {
  const { progress, signal } = context
  const { dataset, seed } = runInputs(plan, context)
  const server = await openServer(plan, target, seed, dataset, progress)
  const scenarios: Scenario[] = []
  // Every trial gets fresh prompts (a running index), so prefix caching never sees a repeat.
  let nextIndex = 0
  let warmupIndex = -1
  let interrupted = signal?.aborted === true
  for (const scenario of planScenarios(plan)) {
    if (interrupted) break
    const { name } = scenario
    const session = new ScenarioSession(plan, server, scenario, progress, signal)
    const trials: Trial[] = []
    try {
      await session.warm(seed, () => warmupIndex--)
      for (let t = 0; t < plan.trials && !signal?.aborted; t++) {
        const label = plan.trials > 1 ? `${name} trial ${t + 1}/${plan.trials}` : name
        const run = await session.trial(t, label, nextIndex, seed + t)
        nextIndex += run.used
        if (run.trial) trials.push(run.trial)
        if (run.cut) break
      }
    } finally {
      await session.close()
    }
    if (trials.length) scenarios.push({ name, load: scenario.load, stop: stopOf(plan), trials })
    interrupted = signal?.aborted === true
  }
  if (interrupted && scenarios.length === 0) {
    throw new Interrupted('interrupted before any request completed: no report')
  }

  const report: Report = {
    schema: REPORT_SCHEMA,
    benchmark: plan.name,
    created_at: new Date().toISOString(),
    git: { ...context.git },
    ci: context.ci,
    environment: environmentOf(plan, server, context),
    workload: server.workload.describe(),
    slo: plan.slo,
    gpu_hourly_cost_usd: plan.gpu.hourlyCostUsd,
    ...(interrupted ? { interrupted: true } : {}),
    scenarios,
  }
  // Never write a report the service would reject.
  return parseReport(report)
}

/** A scenario's stop, as the report states it. */
export function stopOf(plan: BenchPlan): Scenario['stop'] {
  return { requests: plan.stop.requests, duration_s: plan.stop.durationS, timeout_s: plan.stop.timeoutS }
}
