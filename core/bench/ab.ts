// An A/B benchmark: the PR's base (baseline) and head (candidate) measured in one run, in blocks
// of one trial of each, never both loaded at once. Whatever the node does meanwhile (a slow phase,
// a neighbour, the thermal state) moves both trials of a block alike and cancels in their ratio,
// so the verdict needs no history and is not fooled by drift (docs/detection.md, paired mode).
// After each block the paired sequential test (core/detect/arms.ts) says whether to go on.
import { decideArms } from '../detect/arms.ts'
import type { NoisePriors } from '../detect/noise-prior.ts'
import { DEFAULT_PAIRED_SETTINGS } from '../detect/paired.ts'
import type { ArmName, Paired, Report, Scenario, Trial } from '../report.ts'
import { parseReport, REPORT_SCHEMA } from '../report.ts'
import { Rng } from '../rng.ts'
import { Interrupted } from './errors.ts'
import { type BenchPlan, planScenarios } from './plan.ts'
import { stopOf } from './run.ts'
import {
  type BenchContext,
  type BenchTarget,
  environmentOf,
  openServer,
  runInputs,
  ScenarioSession,
  type Server,
} from './session.ts'

export interface AbTargets {
  baseline: BenchTarget
  candidate: BenchTarget
}

export interface AbContext extends BenchContext {
  /** The commit the baseline's server runs (the PR's base), for the report; the candidate's is context.git. */
  baselineGit?: { sha: string | null; ref: string | null }
  /** The block noise of the project's earlier A/B runs, for the stop rule (the service judges with the same). */
  priors?: NoisePriors | null
}

const ARMS: readonly ArmName[] = ['baseline', 'candidate']
const other = (a: ArmName): ArmName => (a === 'baseline' ? 'candidate' : 'baseline')

/**
 * Which arm runs first in each block. Counterbalanced: B C | C B | B C …, so neither arm is
 * always second (on connections the other just warmed, in a node the other just heated).
 */
export function blockOrder(plan: BenchPlan, block: number, rng: Rng): [ArmName, ArmName] {
  const first: ArmName =
    plan.sequential.order === 'random'
      ? rng.next() < 0.5
        ? 'baseline'
        : 'candidate'
      : block % 2 === 0
        ? 'baseline'
        : 'candidate'
  return [first, other(first)]
}

export async function runAbBenchmark(
  plan: BenchPlan,
  targets: AbTargets,
  context: AbContext,
): Promise<Report> {
  const { progress, signal } = context
  // One seed for both arms: a block sends its two trials the same prompts (each server sees each
  // prompt once, so no prefix cache remembers it) and the same arrival times.
  const { dataset, seed } = runInputs(plan, context)
  const servers = {} as Record<ArmName, Server>
  for (const arm of ARMS) {
    servers[arm] = await openServer(plan, targets[arm], seed, dataset, progress, `${arm}: `)
  }
  const planned = planScenarios(plan)
  const minBlocks = Math.max(plan.trials, DEFAULT_PAIRED_SETTINGS.minBlocks)
  const maxBlocks = plan.sequential.maxTrials
  const rng = new Rng(seed ^ 0x5eed)
  const trials = planned.map(() => [] as Trial[])
  const sessions = planned.map(() => ({}) as Partial<Record<ArmName, ScenarioSession>>)
  let nextIndex = 0
  let warmupIndex = -1
  const warmStart: (number | undefined)[] = planned.map(() => undefined)
  let stopped: Paired['stopped'] = 'budget'
  const began = performance.now()
  let lastBlockS = 0
  const report = (): Report => assemble(plan, servers, context, planned, trials, stopped)

  try {
    for (let block = 0; block < maxBlocks; block++) {
      if (signal?.aborted) break
      const blockStart = performance.now()
      const order = blockOrder(plan, block, rng)
      for (let s = 0; s < planned.length && !signal?.aborted; s++) {
        const scenario = planned[s]!
        const base = nextIndex
        let used = 0
        for (const arm of order) {
          if (signal?.aborted) break
          let session = sessions[s]![arm]
          if (!session) {
            session = new ScenarioSession(plan, servers[arm], scenario, progress, signal)
            sessions[s]![arm] = session
            // Both arms warm up on the same prompts, numbered below zero apart from the measured.
            warmStart[s] ??= warmupIndex
            let at = warmStart[s]!
            await session.warm(seed, () => at--, `${scenario.name} ${arm}`)
            warmupIndex = Math.min(warmupIndex, at)
          }
          const index = 2 * block + (arm === order[0] ? 0 : 1)
          const label = `${scenario.name} block ${block + 1}/${maxBlocks} ${arm}`
          // The same arrival seed for both arms of a block, another for every block.
          const run = await session.trial(index, label, base, seed + block)
          used = Math.max(used, run.used)
          if (run.trial) trials[s]!.push({ ...run.trial, arm, block })
        }
        nextIndex += used
      }
      if (signal?.aborted) break
      lastBlockS = (performance.now() - blockStart) / 1000
      const done = block + 1
      if (done >= minBlocks) {
        const decision = decideArms(
          { ...report(), paired: pairedOf(plan, 'budget') },
          {
            final: false,
            priors: context.priors ?? null,
          },
        )
        if (decision.stop && decision.stopped === 'decided') {
          stopped = 'decided'
          progress.info(`A/B: a verdict after ${done} blocks; stopping`)
          break
        }
      }
      const budget = plan.sequential.timeBudgetS
      if (budget !== null && done < maxBlocks && (performance.now() - began) / 1000 + lastBlockS > budget) {
        stopped = 'time'
        progress.info(
          `A/B: another block would end past the time budget (${budget} s); stopping after ${done}`,
        )
        break
      }
    }
  } finally {
    for (const byArm of sessions) for (const s of Object.values(byArm)) await s?.close()
  }
  const interrupted = signal?.aborted === true
  if (interrupted) stopped = 'interrupted'
  if (trials.every((t) => t.length === 0)) {
    throw new Interrupted('interrupted before any request completed: no report')
  }
  // Never write a report the service would reject.
  return parseReport({ ...report(), ...(interrupted ? { interrupted: true } : {}) })
}

function pairedOf(plan: BenchPlan, stopped: Paired['stopped']): Paired {
  return {
    order: plan.sequential.order,
    max_blocks: plan.sequential.maxTrials,
    time_budget_s: plan.sequential.timeBudgetS,
    stopped,
  }
}

function assemble(
  plan: BenchPlan,
  servers: Record<ArmName, Server>,
  context: AbContext,
  planned: ReturnType<typeof planScenarios>,
  trials: Trial[][],
  stopped: Paired['stopped'],
): Report {
  const environment = environmentOf(plan, servers.candidate, context)
  const scenarios: Scenario[] = planned.flatMap((sc, i) =>
    trials[i]!.length ? [{ name: sc.name, load: sc.load, stop: stopOf(plan), trials: trials[i]! }] : [],
  )
  return {
    schema: REPORT_SCHEMA,
    benchmark: plan.name,
    created_at: new Date().toISOString(),
    git: { ...context.git },
    ci: context.ci,
    // The candidate's, as for a one-server run of the PR; arms holds both.
    environment,
    workload: servers.candidate.workload.describe(),
    slo: plan.slo,
    gpu_hourly_cost_usd: plan.gpu.hourlyCostUsd,
    arms: [
      {
        name: 'baseline',
        environment: environmentOf(plan, servers.baseline, context),
        git: context.baselineGit ?? { sha: null, ref: null },
      },
      { name: 'candidate', environment, git: { sha: context.git.sha, ref: context.git.ref } },
    ],
    paired: pairedOf(plan, stopped),
    scenarios,
  }
}
