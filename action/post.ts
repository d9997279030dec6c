// The Action's post step: runs after the job's steps whatever their outcome (success, failure,
// cancellation) and deletes the InferenceServices the main step created (one, or an A/B run's
// two), unless keep-deployment.
import * as core from '@actions/core'
import { bool } from './inputs.ts'
import { loadKubeConfig } from './kserve/kubeconfig.ts'
import { rememberedDeployments, tearDownAll } from './teardown.ts'

export async function post(): Promise<void> {
  try {
    const ds = rememberedDeployments()
    if (!ds.length) return core.info('nothing was deployed')
    if (bool('keep-deployment', false)) {
      for (const d of ds)
        core.info(`keep-deployment: InferenceService ${d.namespace}/${d.name} is left running`)
      return
    }
    await tearDownAll(loadKubeConfig(core.getInput('kubeconfig') || null), ds)
  } catch (error) {
    core.setFailed(
      `could not delete the deployment: ${error instanceof Error ? error.message : String(error)}`,
    )
  }
}

await post()
