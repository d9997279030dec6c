// What a run deployed, remembered in the step's state the moment its name is known (before the
// create call), so the post step — or a cancellation — can always delete it.
import * as core from '@actions/core'
import type { KubeConfig } from '@kubernetes/client-node'
import { deleteService } from './kserve/deploy.ts'
import { within } from './within.ts'

export interface Deployment {
  name: string
  namespace: string
}

const STATE = 'deployment'

export function rememberDeployment(d: Deployment): void {
  core.saveState(STATE, JSON.stringify(d))
}

export function rememberedDeployment(): Deployment | null {
  const raw = core.getState(STATE)
  return raw ? (JSON.parse(raw) as Deployment) : null
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
