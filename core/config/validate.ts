// An infergate.yaml checked whole before anything touches a cluster: the file (YAML, schema,
// known-bad combinations) and then its benchmark plan, whose refusals become issues on the
// key's line like any other. `infergate validate` prints them; the Action annotates them.
import { type BenchPlan, PlanError, planScenarios } from '../bench/plan.ts'
import { type LoadedConfig, type LocatedIssue, loadConfig } from './load.ts'
import { configKeyOf, planFromConfig } from './plan.ts'
import type { Mode } from './rules.ts'

export interface ValidatedConfig extends LoadedConfig {
  /** Null when there are errors (as config is). */
  plan: BenchPlan | null
  /** The plan's scenario names, in run order. */
  scenarios: string[]
}

export function validateConfig(path: string, mode: Mode = 'deploy'): ValidatedConfig {
  const loaded = loadConfig(path, mode)
  if (!loaded.config) return { ...loaded, plan: null, scenarios: [] }
  try {
    const plan = planFromConfig(loaded.config)
    return { ...loaded, plan, scenarios: planScenarios(plan).map((s) => s.name) }
  } catch (e) {
    if (!(e instanceof PlanError)) throw e
    const key = [...(configKeyOf(loaded.config, e.field) ?? [])]
    const issue: LocatedIssue = { severity: 'error', path: key, message: e.detail, ...loaded.locate(key) }
    return { ...loaded, config: null, issues: [...loaded.issues, issue], plan: null, scenarios: [] }
  }
}
