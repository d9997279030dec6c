// The Action's inputs, read and checked before anything else happens: each error names the
// input. Defaults live in action.yml; these checks hold whatever the workflow passes.
import * as core from '@actions/core'

export interface Inputs {
  config: string
  mode: 'deploy' | 'existing'
  kubeconfig: string | null
  namespace: string | null
  inferenceService: string | null
  url: string | null
  apiKey: string | null
  serviceUrl: string | null
  serviceToken: string | null
  githubToken: string | null
  failOnRegression: boolean
  keepDeployment: boolean
  readyTimeoutS: number
  reportPath: string
}

const optional = (name: string) => core.getInput(name) || null

/** A yes/no input, read the same way by the main and the post step. */
export function bool(name: string, fallback: boolean): boolean {
  const raw = core.getInput(name)
  if (raw === '') return fallback
  if (/^(true|yes|1)$/i.test(raw)) return true
  if (/^(false|no|0)$/i.test(raw)) return false
  throw new Error(`input ${name}: expected true or false, got ${JSON.stringify(raw)}`)
}

export function readInputs(): Inputs {
  const mode = core.getInput('mode') || 'deploy'
  if (mode !== 'deploy' && mode !== 'existing') {
    throw new Error(`input mode: expected deploy or existing, got ${JSON.stringify(mode)}`)
  }
  const inputs: Inputs = {
    config: core.getInput('config') || 'infergate.yaml',
    mode,
    kubeconfig: optional('kubeconfig'),
    namespace: optional('namespace'),
    inferenceService: optional('inference-service'),
    url: optional('url'),
    apiKey: optional('api-key'),
    serviceUrl: optional('service-url'),
    serviceToken: optional('service-token'),
    githubToken: optional('github-token'),
    failOnRegression: bool('fail-on-regression', true),
    keepDeployment: bool('keep-deployment', false),
    readyTimeoutS: Number(core.getInput('ready-timeout') || '1200'),
    reportPath: core.getInput('report-path') || 'infergate-report.json',
  }
  for (const secret of [inputs.kubeconfig, inputs.apiKey, inputs.serviceToken, inputs.githubToken])
    if (secret) core.setSecret(secret)
  if (!Number.isFinite(inputs.readyTimeoutS) || inputs.readyTimeoutS <= 0) {
    throw new Error(
      `input ready-timeout: expected seconds (> 0), got ${JSON.stringify(core.getInput('ready-timeout'))}`,
    )
  }
  if (mode === 'existing' && !inputs.url && !inputs.inferenceService) {
    throw new Error('mode existing needs the inference-service input (its name) or the url input')
  }
  if (mode === 'existing' && inputs.url && inputs.inferenceService) {
    throw new Error('give inference-service or url, not both')
  }
  if (mode === 'deploy' && (inputs.url || inputs.inferenceService)) {
    throw new Error('inputs url and inference-service are for mode existing; mode deploy creates its own')
  }
  if (inputs.serviceUrl && !inputs.serviceToken) {
    throw new Error(
      'input service-token: required with service-url (the project token from POST /api/v1/projects)',
    )
  }
  return inputs
}
