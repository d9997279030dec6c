// Which cluster the Action talks to: the `kubeconfig` input (its content), else KUBECONFIG,
// ~/.kube/config, or the pod's service account. Never client-node's silent last resort,
// http://localhost:8080, which would turn a missing credential into a confusing refusal.
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { KubeConfig } from '@kubernetes/client-node'

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount/token'

/** Reads one kubeconfig file, saying which one failed and why. */
function fromFile(path: string): KubeConfig {
  const kc = new KubeConfig()
  try {
    kc.loadFromFile(path)
  } catch (e) {
    throw new Error(`${path}: not a kubeconfig file (${(e as Error).message.split('\n')[0]})`)
  }
  return kc
}

export function loadKubeConfig(content: string | null, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  let kc = new KubeConfig()
  if (content) {
    try {
      kc.loadFromString(content)
    } catch (e) {
      throw new Error(`kubeconfig: not a kubeconfig file (${(e as Error).message.split('\n')[0]})`)
    }
  } else {
    // KUBECONFIG's files that exist, merged as kubectl merges them (the first one's context wins).
    const listed = (env.KUBECONFIG ?? '').split(':').filter(Boolean)
    const files = listed.filter((f) => existsSync(f))
    const home = join(env.HOME ?? homedir(), '.kube', 'config')
    if (files.length) {
      kc = fromFile(files[0]!)
      for (const f of files.slice(1)) kc.mergeConfig(fromFile(f), true)
    } else if (existsSync(home)) {
      kc = fromFile(home)
    } else if (env.KUBERNETES_SERVICE_HOST && existsSync(SERVICE_ACCOUNT)) {
      kc.loadFromCluster()
    } else {
      throw new Error(
        `no Kubernetes credentials: set the kubeconfig input, KUBECONFIG (${listed.join(':') || 'unset'}) or ${home}, or run in a pod with a service account`,
      )
    }
  }
  const cluster = kc.getCurrentCluster()
  if (!cluster?.server) {
    throw new Error(
      `kubeconfig: the current context ${JSON.stringify(kc.getCurrentContext())} names no cluster with a server`,
    )
  }
  return kc
}
