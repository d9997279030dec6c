// What a run deployed, remembered in the step's state the moment each name is known (before the
// create call), so the post step — or a cancellation — can always delete it. One deployment is
// saved as one object, as it always was; an A/B run's two as a list.
import * as core from '@actions/core'
import type { KubeConfig } from '@kubernetes/client-node'
import { deleteService } from './kserve/deploy.ts'
import { within } from './within.ts'

export interface Deployment {
  name: string
  namespace: string
}

const STATE = 'deployment'
const remembered: Deployment[] = []

/** Adds it to what this run created (saving the whole list again: the last save wins). */
export function rememberDeployment(d: Deployment): void {
  if (!remembered.some((r) => r.name === d.name && r.namespace === d.namespace)) remembered.push(d)
  core.saveState(STATE, JSON.stringify(remembered.length === 1 ? remembered[0] : remembered))
}

/** What the main step remembered: none, one (an object) or several (a list). */
export function rememberedDeployments(): Deployment[] {
  const raw = core.getState(STATE)
  if (!raw) return []
  const saved = JSON.parse(raw) as Deployment | Deployment[]
  return Array.isArray(saved) ? saved : [saved]
}

/** Deletes it; a deployment already gone is fine. Bounded: a cancelled job has little time. */
export async function tearDown(kc: KubeConfig, d: Deployment, timeoutMs = 30_000): Promise<void> {
  const deleted = await within(
    deleteService({ kc, namespace: d.namespace }, d.name),
    timeoutMs,
    `DELETE ${d.namespace}/${d.name}`,
  )
  core.info(
    deleted
      ? `deleted InferenceService ${d.namespace}/${d.name}`
      : `InferenceService ${d.namespace}/${d.name} was already gone`,
  )
}

/** Deletes them all at once; throws after trying each, naming those that could not be deleted. */
export async function tearDownAll(kc: KubeConfig, ds: Deployment[], timeoutMs = 30_000): Promise<void> {
  const results = await Promise.allSettled(ds.map((d) => tearDown(kc, d, timeoutMs)))
  const failed = results.flatMap((r, i) =>
    r.status === 'rejected' ? [`${ds[i]!.namespace}/${ds[i]!.name}: ${(r.reason as Error).message}`] : [],
  )
  if (failed.length) throw new Error(failed.join('; '))
}
