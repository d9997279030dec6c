// The Action's main step: validate the config, announce the run, deploy the InferenceService (or
// find the existing one), benchmark it, keep the report as a file, post it, write the job
// summary, set the outputs, gate the PR. The post step (post.ts) deletes what this created.
import { randomBytes } from 'node:crypto'
import * as core from '@actions/core'
import type { KubeConfig } from '@kubernetes/client-node'
import { thisHost } from '../core/bench/host.ts'
import { type BenchPlan, withGitOverrides } from '../core/bench/plan.ts'
import { createProgress } from '../core/bench/progress.ts'
import { runBenchmark } from '../core/bench/run.ts'
import { ciContextFromEnv, ciRunUrl, gitContextFromEnv } from '../core/ci-context.ts'
import { formatIssue } from '../core/config/load.ts'
import type { Config } from '../core/config/schema.ts'
import { validateConfig } from '../core/config/validate.ts'
import type { Comparison } from '../core/detect/comparison.ts'
import { writeFileAtomic } from '../core/files.ts'
import { statusDescription } from '../core/render/markdown.ts'
import { ServiceClient } from '../core/service-client.ts'
import { type Inputs, readInputs } from './inputs.ts'
import {
  createService,
  DeployError,
  gpuOfService,
  isReady,
  readService,
  type Target,
  waitUntilReady,
} from './kserve/deploy.ts'
import { loadKubeConfig } from './kserve/kubeconfig.ts'
import { inferenceService, runtimeArgs, serviceName } from './kserve/manifest.ts'
import { pullRequestOfComment } from './pull-request.ts'
import { writeSummary } from './summary.ts'
import { type Deployment, rememberDeployment, tearDown } from './teardown.ts'
import { within } from './within.ts'

/** The config and its plan, with every issue as an annotation on its line; errors stop the run. */
function readConfig(inputs: Inputs): { config: Config; plan: BenchPlan } {
  const { config, plan, issues } = validateConfig(inputs.config, inputs.mode)
  for (const i of issues) {
    const props = {
      file: inputs.config,
      ...(i.line ? { startLine: i.line, startColumn: i.column ?? undefined } : {}),
    }
    const text = formatIssue(inputs.config, i)
    if (i.severity === 'error') core.error(text, props)
    else core.warning(text, props)
  }
  if (!config || !plan) throw new Error(`${inputs.config} is not valid: see the annotations`)
  return { config, plan }
}

/** The model server answers its OpenAI API (a route may lag behind Ready): retried for a minute. */
async function probeModels(baseUrl: string, apiKey: string | null, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs
  let last = ''
  for (;;) {
    try {
      const res = await fetch(`${baseUrl}/models`, {
        headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
        signal: AbortSignal.timeout(10_000),
      })
      if (res.ok) return
      last = `HTTP ${res.status}`
    } catch (e) {
      last = (e as Error & { cause?: { code?: string } }).cause?.code ?? (e as Error).message
    }
    if (Date.now() > until)
      throw new Error(`GET ${baseUrl}/models did not answer within ${timeoutMs / 1000} s (${last})`)
    await new Promise((r) => setTimeout(r, 2000))
  }
}

interface Target0 {
  /** The OpenAI-compatible base URL (…/openai/v1). */
  url: string
  deployment: (Deployment & { readyS: number }) | null
  gpu: { model: string | null; count: number | null } | null
}

/** The cluster and namespace the inputs name (the kubeconfig context's namespace by default). */
function clusterTarget(inputs: Inputs): Target {
  const kc = loadKubeConfig(inputs.kubeconfig)
  return {
    kc,
    namespace: inputs.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default',
  }
}

/** KServe's Hugging Face runtime serves the OpenAI API under /openai/v1 of the service's URL. */
const openAiUrl = (statusUrl: string) => `${statusUrl.replace(/\/$/, '')}/openai/v1`

async function deploy(
  inputs: Inputs,
  config: Config,
  onCreating: (kc: KubeConfig, d: Deployment, creation: Promise<void>) => void,
): Promise<Target0> {
  const t = clusterTarget(inputs)
  const { kc, namespace } = t
  const runId = `${process.env.GITHUB_RUN_ID ?? 'local'}-${process.env.GITHUB_RUN_ATTEMPT ?? '1'}`
  const name = serviceName(config.benchmark, runId, randomBytes(2).toString('hex'))
  const d = { name, namespace }
  // Remembered before it exists: a create that times out may still have happened.
  rememberDeployment(d)
  core.info(`creating InferenceService ${namespace}/${name} (${runtimeArgs(config).join(' ')})`)
  const started = Date.now()
  const creation = createService(t, inferenceService(config, { name, namespace, runId }))
  onCreating(kc, d, creation)
  await creation
  const { url } = await core.group(`waiting for ${name} to be Ready`, () =>
    waitUntilReady(t, name, { timeoutMs: inputs.readyTimeoutS * 1000 }),
  )
  const readyS = (Date.now() - started) / 1000
  core.info(`${name} is Ready at ${url} after ${readyS.toFixed(0)} s`)
  return { url: openAiUrl(url), deployment: { ...d, readyS }, gpu: await gpuOfService(t, name) }
}

async function existing(inputs: Inputs): Promise<Target0> {
  if (inputs.url) return { url: inputs.url.replace(/\/$/, ''), deployment: null, gpu: null }
  const t = clusterTarget(inputs)
  const name = inputs.inferenceService!
  const isvc = await readService(t, name)
  if (!isvc) throw new Error(`InferenceService ${t.namespace}/${name} not found`)
  if (!isReady(isvc)) throw new Error(`InferenceService ${t.namespace}/${name} is not Ready`)
  return { url: openAiUrl(isvc.status!.url!), deployment: null, gpu: await gpuOfService(t, name) }
}

function serviceClient(inputs: Inputs, attempts = 5): ServiceClient | null {
  if (!inputs.serviceUrl || !inputs.serviceToken) return null
  return new ServiceClient({
    url: inputs.serviceUrl,
    token: inputs.serviceToken,
    timeoutMs: 60_000,
    attempts,
    onRetry: (r) => core.info(`service: ${r.reason}; retrying in ${(r.delayMs / 1000).toFixed(1)} s`),
  })
}

export async function run(): Promise<void> {
  let announce: ((state: 'error') => Promise<void>) | null = null
  let cancelled = false
  // Once the service has the report, its verdict stands: a later failure must not overwrite it.
  let posted = false
  try {
    const inputs = readInputs()
    const { config, plan: planned } = readConfig(inputs)
    const fromComment = await pullRequestOfComment(inputs.githubToken)
    if (fromComment) core.info(`benchmarking pull request #${fromComment.pr_number} at ${fromComment.sha}`)
    const git = withGitOverrides(gitContextFromEnv(process.env), { ...planned.git, ...fromComment })
    const ci = ciContextFromEnv(process.env)
    const service = serviceClient(inputs)
    const runUrl = ciRunUrl(ci, git.repository)
    if (service && git.sha) {
      // A status is worth a short wait, not the benchmark's time: two attempts.
      const quick = serviceClient(inputs, 2)!
      const say = async (state: 'pending' | 'error') => {
        try {
          await quick.postStatus({
            benchmark: config.benchmark,
            sha: git.sha!,
            state,
            ...(runUrl ? { target_url: runUrl } : {}),
          })
        } catch (e) {
          core.warning(`the regression service did not take the ${state} status: ${(e as Error).message}`)
        }
      }
      await say('pending')
      announce = say
    }

    // A cancelled job (the runner sends SIGINT, SIGTERM 7.5 s later, then SIGKILL) deletes what
    // it created now, since the post step may never come, and says error instead of pending.
    let created: { kc: KubeConfig; d: Deployment; creation: Promise<void> } | null = null
    const onSignal = (signal: NodeJS.Signals) => {
      if (cancelled) return // the second signal of a cancellation already being handled
      cancelled = true
      const c = created as typeof created
      const removing = c && !inputs.keepDeployment
      core.warning(`${signal}: the run was cancelled${removing ? `; deleting ${c.d.name}` : ''}`)
      const cleanup = async () => {
        if (removing) {
          // A create still in flight may land after a delete: wait for its answer first.
          await within(c.creation, 3_000, 'create').catch(() => {})
          await tearDown(c.kc, c.d, 4_000).catch((e: Error) =>
            core.warning(`could not delete ${c.d.name}: ${e.message}`),
          )
        }
      }
      const said = announce ? within(announce('error'), 3_000, 'error status') : null
      Promise.allSettled([cleanup(), said]).then(() => process.exit(signal === 'SIGINT' ? 130 : 143))
    }
    process.on('SIGTERM', onSignal)
    process.on('SIGINT', onSignal)

    const target =
      inputs.mode === 'deploy'
        ? await deploy(inputs, config, (kc, d, creation) => {
            created = { kc, d, creation }
          })
        : await existing(inputs)
    await probeModels(target.url, inputs.apiKey)

    const plan: BenchPlan = {
      ...planned,
      gpu: {
        ...planned.gpu,
        model: target.gpu?.model || planned.gpu.model,
        // What the serving pod was given (its nvidia.com/gpu limit), else the config's count.
        count: target.gpu?.count || planned.gpu.count,
      },
      config: {
        ...(config.model.revision ? { model_revision: config.model.revision } : {}),
        ...(config.model.storage_uri ? { storage_uri: config.model.storage_uri } : {}),
        engine: { ...config.engine },
        ...(target.deployment
          ? {
              kserve: {
                inference_service: `${target.deployment.namespace}/${target.deployment.name}`,
                runtime: config.kserve.runtime ?? null,
                image: config.kserve.image ?? null,
                args: runtimeArgs(config),
                ready_s: Math.round(target.deployment.readyS * 10) / 10,
              },
            }
          : {}),
      },
    }
    const report = await runBenchmark(
      plan,
      { url: target.url, apiKey: inputs.apiKey, headers: {}, model: config.model.name },
      { progress: createProgress('lines'), git, ci, ...thisHost() },
    )
    // The file first: whatever happens to the service, the measurement is kept.
    writeFileAtomic(inputs.reportPath, `${JSON.stringify(report)}\n`)
    core.setOutput('report-path', inputs.reportPath)

    let comparison: Comparison | null = null
    let comparisonUrl: string | null = null
    let baselineShas: Record<string, string | null> | undefined
    let notCompared: string | null = service
      ? null
      : 'No regression service configured (inputs service-url and service-token)'
    if (service) {
      try {
        const run = await service.postReport(report)
        posted = true
        comparison = run.comparison
        baselineShas = run.baselineShas
        comparisonUrl = `${service.url}/api/v1/runs/${run.id}/comparison`
        core.info(`posted run ${run.id}${run.duplicate ? ' (already stored)' : ''}: ${comparison.status}`)
      } catch (e) {
        notCompared = `The regression service did not take the report: ${(e as Error).message}`
        core.warning(notCompared)
      }
    } else {
      core.warning(notCompared!)
    }
    await writeSummary({
      report,
      reportPath: inputs.reportPath,
      comparison,
      comparisonUrl,
      baselineShas,
      notCompared,
      deployment: target.deployment,
    })
    core.setOutput('status', comparison?.status ?? 'not_compared')
    core.setOutput('comparison-url', comparisonUrl ?? '')
    if (comparison?.status === 'regression') {
      const message = `${config.benchmark}: ${statusDescription(comparison)}`
      if (inputs.failOnRegression) core.setFailed(message)
      else core.warning(`${message} (fail-on-regression is off)`)
    }
  } catch (error) {
    core.setOutput('status', 'error')
    core.setFailed(error instanceof Error ? error.message : String(error))
    if (error instanceof DeployError && error.diagnosis.logTail) {
      core.startGroup(`the last lines of ${error.diagnosis.pod ?? 'the container'}'s log`)
      core.info(error.diagnosis.logTail)
      core.endGroup()
    }
    if (announce && !cancelled && !posted) await announce('error')
  }
}

await run()
