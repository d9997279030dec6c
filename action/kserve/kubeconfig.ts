// Which cluster the Action talks to: the `kubeconfig` input (its content), else KUBECONFIG,
// ~/.kube/config, or the pod's service account. Never client-node's silent last resort,
// http://localhost:8080, which would turn a missing credential into a confusing refusal.
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { KubeConfig } from '@kubernetes/client-node'

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount/token'

export function loadKubeConfig(content: string | null, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kc = new KubeConfig()
  if (content) {
    try {
      kc.loadFromString(content)
    } catch (e) {
      throw new Error(`kubeconfig: not a kubeconfig file (${(e as Error).message.split('\n')[0]})`)
    }
  } else {
    const files = (env.KUBECONFIG ?? '').split(':').filter(Boolean)
    const home = join(env.HOME ?? homedir(), '.kube', 'config')
    const inCluster = Boolean(env.KUBERNETES_SERVICE_HOST) && existsSync(SERVICE_ACCOUNT)
    if (!files.some((f) => existsSync(f)) && !existsSync(home) && !inCluster) {
      throw new Error(
        `no Kubernetes credentials: set the kubeconfig input, KUBECONFIG (${files.join(':') || 'unset'}) or ${home}, or run in a pod with a service account`,
      )
    }
    kc.loadFromDefault()
  }
  const cluster = kc.getCurrentCluster()
  if (!cluster?.server) {
    throw new Error(
      `kubeconfig: the current context ${JSON.stringify(kc.getCurrentContext())} names no cluster with a server`,
    )
  }
  return kc
}
