// The Action's post step: runs after the job's steps whatever their outcome (success, failure,
// cancellation) and deletes the InferenceService the main step created, unless keep-deployment.
import * as core from '@actions/core'
import { bool } from './inputs.ts'
import { loadKubeConfig } from './kserve/kubeconfig.ts'
import { rememberedDeployment, tearDown } from './teardown.ts'

export async function post(): Promise<void> {
  try {
    const d = rememberedDeployment()
    if (!d) return core.info('nothing was deployed')
    if (bool('keep-deployment', false)) {
      return core.info(`keep-deployment: InferenceService ${d.namespace}/${d.name} is left running`)
    }
    await tearDown(loadKubeConfig(core.getInput('kubeconfig') || null), d)
  } catch (error) {
    core.setFailed(
      `could not delete the deployment: ${error instanceof Error ? error.message : String(error)}`,
    )
  }
}

await post()
