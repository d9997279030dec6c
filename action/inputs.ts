// The Action's inputs, read and checked before anything else happens: each error names the
// input. Defaults live in action.yml; these checks hold whatever the workflow passes.
import * as core from '@actions/core'

export type ActionMode = 'deploy' | 'existing' | 'ab'

export interface Inputs {
  config: string
  mode: ActionMode
  kubeconfig: string | null
  namespace: string | null
  /** The server benchmarked (mode existing), or the A/B candidate (mode ab): by name or by URL. */
  inferenceService: string | null
  url: string | null
  /** Mode ab: the base's server, by name or by URL. */
  baselineInferenceService: string | null
  baselineUrl: string | null
  /** Mode ab, deploying both: the base's config path in the repository (default: config's). */
  baselineConfig: string | null
  /** Mode ab, deploying both: both pods on one node (pod affinity). */
  sameNode: boolean
  apiKey: string | null
  serviceUrl: string | null
  serviceToken: string | null
  /** The audience of the job's GitHub OIDC token, when no service-token is given. */
  oidcAudience: string | null
  githubToken: string | null
  failOnRegression: boolean
  failOnInconclusive: boolean
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

/** Whether this run creates InferenceServices: mode deploy, or mode ab without servers named. */
export function deploys(i: Pick<Inputs, 'mode' | 'url' | 'inferenceService'>): boolean {
  return i.mode === 'deploy' || (i.mode === 'ab' && !i.url && !i.inferenceService)
}

export function readInputs(): Inputs {
  const mode = core.getInput('mode') || 'deploy'
  if (mode !== 'deploy' && mode !== 'existing' && mode !== 'ab') {
    throw new Error(`input mode: expected deploy, existing or ab, got ${JSON.stringify(mode)}`)
  }
  const inputs: Inputs = {
    config: core.getInput('config') || 'infergate.yaml',
    mode,
    kubeconfig: optional('kubeconfig'),
    namespace: optional('namespace'),
    inferenceService: optional('inference-service'),
    url: optional('url'),
    baselineInferenceService: optional('baseline-inference-service'),
    baselineUrl: optional('baseline-url'),
    baselineConfig: optional('baseline-config'),
    sameNode: bool('same-node', false),
    apiKey: optional('api-key'),
    serviceUrl: optional('service-url'),
    serviceToken: optional('service-token'),
    oidcAudience: optional('oidc-audience'),
    githubToken: optional('github-token'),
    failOnRegression: bool('fail-on-regression', true),
    failOnInconclusive: bool('fail-on-inconclusive', false),
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
  const candidate = inputs.url || inputs.inferenceService
  const baseline = inputs.baselineUrl || inputs.baselineInferenceService
  if (inputs.url && inputs.inferenceService) {
    throw new Error('give inference-service or url, not both')
  }
  if (inputs.baselineUrl && inputs.baselineInferenceService) {
    throw new Error('give baseline-inference-service or baseline-url, not both')
  }
  if (mode === 'existing' && !candidate) {
    throw new Error('mode existing needs the inference-service input (its name) or the url input')
  }
  if (mode === 'deploy' && candidate) {
    throw new Error('inputs url and inference-service are for mode existing; mode deploy creates its own')
  }
  if (mode !== 'ab' && baseline) {
    throw new Error('inputs baseline-url and baseline-inference-service are for mode ab')
  }
  if (mode === 'ab' && Boolean(candidate) !== Boolean(baseline)) {
    throw new Error(
      candidate
        ? 'mode ab with servers already running needs the base too: baseline-url or baseline-inference-service (or name neither server, and both are deployed)'
        : 'mode ab with servers already running needs the PR head too: url or inference-service (or name neither server, and both are deployed)',
    )
  }
  const same = (a: string | null, b: string | null) =>
    a !== null && a.replace(/\/+$/, '') === b?.replace(/\/+$/, '')
  if (
    same(inputs.url, inputs.baselineUrl) ||
    same(inputs.inferenceService, inputs.baselineInferenceService)
  ) {
    throw new Error(
      'mode ab: the base and the PR head name the same server; an A/B run measures two (the base and the candidate)',
    )
  }
  const deploysBoth = mode === 'ab' && !candidate
  if (inputs.baselineConfig && !deploysBoth) {
    throw new Error(
      'input baseline-config: only for mode ab when it deploys both (no url, no inference-service)',
    )
  }
  if (inputs.sameNode && !deploysBoth) {
    throw new Error('input same-node: only for mode ab when it deploys both (no url, no inference-service)')
  }
  if (inputs.serviceUrl && !inputs.serviceToken && !process.env.ACTIONS_ID_TOKEN_REQUEST_URL) {
    throw new Error(
      'input service-token: required with service-url, unless the job may request a GitHub OIDC token (permissions: id-token: write) that the service accepts',
    )
  }
  if (inputs.oidcAudience && inputs.serviceToken) {
    throw new Error(
      'input oidc-audience: for OIDC, which is used when no service-token is given; give one of them',
    )
  }
  return inputs
}
