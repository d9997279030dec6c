// The Action's main step: validate the config, announce the run, deploy the InferenceService (or
// find the existing one), benchmark it, keep the report as a file, post it, write the job
// summary, set the outputs, gate the PR. Mode ab measures two servers, the PR's base and its
// head, in one interleaved run (deploying both from their own infergate.yaml, or two already
// serving). The post step (post.ts) deletes what this created.
import { randomBytes } from 'node:crypto'
import * as core from '@actions/core'
import type { KubeConfig } from '@kubernetes/client-node'
import { runAbBenchmark } from '../core/bench/ab.ts'
import { thisHost } from '../core/bench/host.ts'
import { type BenchPlan, withGitOverrides } from '../core/bench/plan.ts'
import { createProgress } from '../core/bench/progress.ts'
import { type BenchTarget, runBenchmark } from '../core/bench/run.ts'
import { ciContextFromEnv, ciRunUrl, gitContextFromEnv } from '../core/ci-context.ts'
import { formatIssue } from '../core/config/load.ts'
import type { Mode } from '../core/config/rules.ts'
import type { Config } from '../core/config/schema.ts'
import { validateConfig } from '../core/config/validate.ts'
import { compareArms, isPairedReport } from '../core/detect/arms.ts'
import type { Comparison } from '../core/detect/comparison.ts'
import type { NoisePriors } from '../core/detect/noise-prior.ts'
import { writeFileAtomic } from '../core/files.ts'
import { oidcAudienceOf } from '../core/github-oidc.ts'
import { statusDescription } from '../core/render/markdown.ts'
import { type ArmName, parseReport, type Report } from '../core/report.ts'
import { ServiceClient } from '../core/service-client.ts'
import { fileAtCommit, repositoryPath, validateBaseConfig } from './base-config.ts'
import { deploys, type Inputs, readInputs } from './inputs.ts'
import {
  createService,
  DeployError,
  gpuOfService,
  isReady,
  readService,
  type Target,
  waitForPlacement,
  waitUntilReady,
} from './kserve/deploy.ts'
import { loadKubeConfig } from './kserve/kubeconfig.ts'
import {
  GPU_PRODUCT_LABEL,
  type InferenceService,
  inferenceService,
  runtimeArgs,
  serviceName,
  withArm,
  withGpuProduct,
  withSameNodeAs,
} from './kserve/manifest.ts'
import { type PullRequestBase, pullRequestBaseOfEvent, pullRequestOfComment } from './pull-request.ts'
import { type DeployedService, writeSummary } from './summary.ts'
import { type Deployment, rememberDeployment, tearDown } from './teardown.ts'
import { within } from './within.ts'

/** The config and its plan, with every issue as an annotation on its line; errors stop the run. */
function readConfig(path: string, mode: Mode): { config: Config; plan: BenchPlan } {
  const { config, plan, issues } = validateConfig(path, mode)
  for (const i of issues) {
    const props = {
      file: path,
      ...(i.line ? { startLine: i.line, startColumn: i.column ?? undefined } : {}),
    }
    const text = formatIssue(path, i)
    if (i.severity === 'error') core.error(text, props)
    else core.warning(text, props)
  }
  if (!config || !plan) throw new Error(`${path} is not valid: see the annotations`)
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

/** A server to benchmark: its URL, what this run deployed for it, the GPUs it was given. */
interface Served {
  /** The OpenAI-compatible base URL (…/openai/v1). */
  url: string
  deployment: (Deployment & { readyS: number }) | null
  gpu: { model: string | null; count: number | null } | null
}

/** Told of each create call as it starts, so a cancellation can wait for it and delete. */
type OnCreating = (kc: KubeConfig, d: Deployment, creation: Promise<void>) => void

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

const runIdOf = () => `${process.env.GITHUB_RUN_ID ?? 'local'}-${process.env.GITHUB_RUN_ATTEMPT ?? '1'}`

async function deploy(inputs: Inputs, config: Config, onCreating: OnCreating): Promise<Served> {
  const t = clusterTarget(inputs)
  const { kc, namespace } = t
  const runId = runIdOf()
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

/** How long the base's create waits to learn which GPU product the head landed on. */
const PLACEMENT_WAIT_MS = 30_000

/**
 * Mode ab: the PR's head and its base deployed at once, each from its own config, with one
 * nonce (`…-head`, `…-base`). Both on the same GPU model: the base takes the head's node
 * selector for nvidia.com/gpu.product when only the head's config sets one, else the product
 * the head's pod landed on; `same-node` puts the base's pod on the head's node. Both remembered
 * before either exists; one failing to come up ends the wait for the other.
 */
async function deployPair(
  inputs: Inputs,
  head: Config,
  base: Config,
  onCreating: OnCreating,
  cancelled: AbortSignal,
): Promise<Record<ArmName, Served>> {
  const t = clusterTarget(inputs)
  const { kc, namespace } = t
  const runId = runIdOf()
  const nonce = randomBytes(2).toString('hex')
  const names: Record<ArmName, string> = {
    candidate: serviceName(head.benchmark, runId, nonce, 'head'),
    baseline: serviceName(head.benchmark, runId, nonce, 'base'),
  }
  const ds: Record<ArmName, Deployment> = {
    candidate: { name: names.candidate, namespace },
    baseline: { name: names.baseline, namespace },
  }
  rememberDeployment(ds.candidate)
  rememberDeployment(ds.baseline)
  const headIsvc = withArm(inferenceService(head, { name: names.candidate, namespace, runId }), 'candidate')
  let baseIsvc = withArm(inferenceService(base, { name: names.baseline, namespace, runId }), 'baseline')
  if (inputs.sameNode) baseIsvc = withSameNodeAs(baseIsvc, names.candidate)
  const started: Partial<Record<ArmName, number>> = {}
  const create = (arm: ArmName, isvc: InferenceService, config: Config) => {
    core.info(
      `creating InferenceService ${namespace}/${names[arm]} (${arm === 'candidate' ? "the PR's head" : "the PR's base"}: ${runtimeArgs(config).join(' ')})`,
    )
    started[arm] = Date.now()
    const creation = createService(t, isvc)
    onCreating(kc, ds[arm], creation)
    return creation
  }
  const headCreated = create('candidate', headIsvc, head)
  // Awaited below, but a throw before that must not leave it an unhandled rejection.
  headCreated.catch(() => {})
  const headGpu = head.resources.node_selector[GPU_PRODUCT_LABEL]
  const baseGpu = base.resources.node_selector[GPU_PRODUCT_LABEL]
  if (baseGpu && headGpu && baseGpu !== headGpu) {
    core.warning(
      `the base's config asks for ${baseGpu} GPUs and the PR's for ${headGpu}: the two arms run on different GPU models`,
    )
  } else if (!baseGpu && headGpu) {
    baseIsvc = withGpuProduct(baseIsvc, headGpu)
  } else if (!baseGpu && !inputs.sameNode) {
    await headCreated
    const { product } = await waitForPlacement(t, names.candidate, PLACEMENT_WAIT_MS, cancelled)
    if (product) {
      core.info(`${names.candidate} landed on ${product} GPUs: ${names.baseline} is put on the same model`)
      baseIsvc = withGpuProduct(baseIsvc, product)
    } else {
      core.warning(
        `which GPU ${names.candidate} landed on is not known (not scheduled within ${PLACEMENT_WAIT_MS / 1000} s, or nodes unreadable): the base may land on another GPU model. Set resources.node_selector["${GPU_PRODUCT_LABEL}"] in infergate.yaml, or same-node: true`,
      )
    }
  }
  if (cancelled.aborted) throw new Error('cancelled before the base was deployed')
  const baseCreated = create('baseline', baseIsvc, base)
  await Promise.all([headCreated, baseCreated])
  const stop = new AbortController()
  const timeoutMs = inputs.readyTimeoutS * 1000
  const ready = async (arm: ArmName): Promise<Served> => {
    try {
      const { url } = await waitUntilReady(t, names[arm], { timeoutMs, signal: stop.signal })
      const readyS = (Date.now() - started[arm]!) / 1000
      core.info(`${names[arm]} (${arm}) is Ready at ${url} after ${readyS.toFixed(0)} s`)
      return { url: openAiUrl(url), deployment: { ...ds[arm], readyS }, gpu: null }
    } catch (e) {
      stop.abort(e)
      throw e
    }
  }
  const [candidate, baseline] = await core.group(
    `waiting for ${names.candidate} and ${names.baseline} to be Ready`,
    () => Promise.all([ready('candidate'), ready('baseline')]),
  )
  const [candidateGpu, baselineGpu] = await Promise.all([
    gpuOfService(t, names.candidate),
    gpuOfService(t, names.baseline),
  ])
  return { candidate: { ...candidate, gpu: candidateGpu }, baseline: { ...baseline, gpu: baselineGpu } }
}

/** A server already serving: by URL, or an InferenceService by name (which must be Ready). */
async function existing(inputs: Inputs, url: string | null, name: string | null): Promise<Served> {
  if (url) return { url: url.replace(/\/$/, ''), deployment: null, gpu: null }
  const t = clusterTarget(inputs)
  const isvc = await readService(t, name!)
  if (!isvc) throw new Error(`InferenceService ${t.namespace}/${name} not found`)
  if (!isReady(isvc)) throw new Error(`InferenceService ${t.namespace}/${name} is not Ready`)
  return { url: openAiUrl(isvc.status!.url!), deployment: null, gpu: await gpuOfService(t, name!) }
}

/** What report.environment.config records of a config and of what serves it. */
function servingConfig(config: Config, served: Served): Record<string, unknown> {
  return {
    ...(config.model.revision ? { model_revision: config.model.revision } : {}),
    ...(config.model.storage_uri ? { storage_uri: config.model.storage_uri } : {}),
    engine: { ...config.engine },
    ...(served.deployment
      ? {
          kserve: {
            inference_service: `${served.deployment.namespace}/${served.deployment.name}`,
            runtime: config.kserve.runtime ?? null,
            image: config.kserve.image ?? null,
            args: runtimeArgs(config),
            ready_s: Math.round(served.deployment.readyS * 10) / 10,
          },
        }
      : {}),
  }
}

/** The GPUs a server was given (its pod's nvidia.com/gpu limit), else the plan's. */
function gpuFor(planned: BenchPlan, served: Served): BenchPlan['gpu'] {
  return {
    ...planned.gpu,
    model: served.gpu?.model || planned.gpu.model,
    count: served.gpu?.count || planned.gpu.count,
  }
}

/** JSON with its keys sorted: two configs' workloads compared whatever their key order. */
function stableJson(v: unknown): string {
  return JSON.stringify(v, (_k, x) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  )
}

/**
 * The base's config read at the PR's base commit through GitHub's API (a shallow checkout has
 * no history) and validated; its path is the config input's unless baseline-config names one.
 */
async function readBaseConfig(
  inputs: Inputs,
  repository: string | null,
  base: PullRequestBase | null,
): Promise<{ config: Config; where: string }> {
  const path = repositoryPath(inputs.baselineConfig ?? inputs.config)
  if (!base?.sha)
    throw new Error(
      "mode ab deploys the PR's base from its own config, read at the base commit: run it on a pull_request event or a comment on a pull request (or give url and baseline-url)",
    )
  if (!repository) throw new Error('mode ab: GITHUB_REPOSITORY is not set; the base config cannot be read')
  if (!inputs.githubToken)
    throw new Error(`input github-token: needed to read the base branch's ${path} at ${base.sha}`)
  const text = await fileAtCommit(inputs.githubToken, repository, path, base.sha)
  const where = `${path}@${base.sha}`
  core.info(`read the base's config ${where}`)
  return { config: validateBaseConfig(text, where).config, where }
}

/**
 * Without a service-token, the job's GitHub OIDC token for the service's audience, asked anew
 * for every call: GitHub's tokens expire minutes after they are made.
 */
function oidcToken(audience: string): () => Promise<string> {
  return () => core.getIDToken(audience)
}

function serviceClient(inputs: Inputs, attempts = 5, timeoutMs = 60_000): ServiceClient | null {
  if (!inputs.serviceUrl) return null
  return new ServiceClient({
    url: inputs.serviceUrl,
    token: inputs.serviceToken ?? oidcToken(inputs.oidcAudience ?? oidcAudienceOf(inputs.serviceUrl)),
    timeoutMs,
    attempts,
    onRetry: (r) => core.info(`service: ${r.reason}; retrying in ${(r.delayMs / 1000).toFixed(1)} s`),
  })
}

/**
 * Mode ab with a service: the block noise of the project's earlier A/B runs of the benchmark,
 * the stop rule's learned prior (the service judges the report with the same). It only lets the
 * run stop sooner, so any failure is a warning and the weak default prior.
 */
async function noisePriorsFor(
  inputs: Inputs,
  repository: string | null,
  benchmark: string,
): Promise<NoisePriors | null> {
  // Worth a short wait, not the benchmark's time: two attempts.
  const client = serviceClient(inputs, 2, 20_000)
  if (!client) return null
  if (!repository) {
    core.info('A/B: no repository (GITHUB_REPOSITORY) to ask the service for a prior: the default prior')
    return null
  }
  try {
    const priors = await client.noisePriors(repository, benchmark)
    if (!priors) {
      core.info(
        `A/B: the regression service has no earlier A/B runs of ${benchmark} to learn the block noise from yet: the default prior`,
      )
      return null
    }
    const n = priors.run_ids.length
    core.info(
      `A/B: the block noise of ${n} earlier A/B run${n === 1 ? '' : 's'} is the prior (${priors.priors.length} series)`,
    )
    return priors
  } catch (e) {
    core.warning(
      `the regression service (${client.url}) did not give the noise priors: ${(e as Error).message}; the A/B run uses the weak default prior`,
    )
    return null
  }
}

export async function run(): Promise<void> {
  let announce: ((state: 'error') => Promise<void>) | null = null
  let cancelled = false
  const cancellation = new AbortController()
  // Once the service has the report, its verdict stands: a later failure must not overwrite it.
  let posted = false
  try {
    const inputs = readInputs()
    const deploying = deploys(inputs)
    const ab = inputs.mode === 'ab'
    const { config, plan: planned } = readConfig(inputs.config, deploying ? 'deploy' : 'existing')
    const fromComment = await pullRequestOfComment(inputs.githubToken)
    if (fromComment)
      core.info(`benchmarking pull request #${fromComment.git.pr_number} at ${fromComment.git.sha}`)
    const git = withGitOverrides(gitContextFromEnv(process.env), { ...planned.git, ...fromComment?.git })
    const prBase = fromComment?.base ?? pullRequestBaseOfEvent(process.env)
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

    // Mode ab deploying both: the base's own config, before anything is created.
    const base = ab && deploying ? await readBaseConfig(inputs, git.repository, prBase) : null
    if (base && stableJson(base.config.workload) !== stableJson(config.workload)) {
      core.warning(
        `the base's workload (${base.where}) differs from the PR's: both arms run the PR's workload`,
      )
    }

    // A cancelled job (the runner sends SIGINT, SIGTERM 7.5 s later, then SIGKILL) deletes what
    // it created now, since the post step may never come, and says error instead of pending.
    const created: { kc: KubeConfig; d: Deployment; creation: Promise<void> }[] = []
    const onCreating: OnCreating = (kc, d, creation) => {
      created.push({ kc, d, creation })
    }
    const onSignal = (signal: NodeJS.Signals) => {
      if (cancelled) return // the second signal of a cancellation already being handled
      cancelled = true
      cancellation.abort()
      const removing = inputs.keepDeployment ? [] : [...created]
      core.warning(
        `${signal}: the run was cancelled${removing.length ? `; deleting ${removing.map((c) => c.d.name).join(' and ')}` : ''}`,
      )
      const cleanup = (c: (typeof created)[number]) => async () => {
        // A create still in flight may land after a delete: wait for its answer first.
        await within(c.creation, 3_000, 'create').catch(() => {})
        await tearDown(c.kc, c.d, 4_000).catch((e: Error) =>
          core.warning(`could not delete ${c.d.name}: ${e.message}`),
        )
      }
      const said = announce ? within(announce('error'), 3_000, 'error status') : null
      Promise.allSettled([...removing.map((c) => cleanup(c)()), said]).then(() =>
        process.exit(signal === 'SIGINT' ? 130 : 143),
      )
    }
    process.on('SIGTERM', onSignal)
    process.on('SIGINT', onSignal)

    // Mode ab with a service: the learned prior, asked for before anything is deployed.
    const priors = ab ? await noisePriorsFor(inputs, git.repository, planned.name) : null

    let served: { candidate: Served; baseline: Served | null }
    if (base) {
      served = await deployPair(inputs, config, base.config, onCreating, cancellation.signal)
    } else if (ab) {
      const [candidate, baseline] = await Promise.all([
        existing(inputs, inputs.url, inputs.inferenceService),
        existing(inputs, inputs.baselineUrl, inputs.baselineInferenceService),
      ])
      served = { candidate, baseline }
    } else {
      served = {
        candidate: deploying
          ? await deploy(inputs, config, onCreating)
          : await existing(inputs, inputs.url, inputs.inferenceService),
        baseline: null,
      }
    }
    const { candidate, baseline } = served
    await Promise.all(
      [candidate, ...(baseline ? [baseline] : [])].map((s) => probeModels(s.url, inputs.apiKey)),
    )

    const plan: BenchPlan = {
      ...planned,
      gpu: gpuFor(planned, candidate),
      config: servingConfig(config, candidate),
    }
    const target = (s: Served, c: Config): BenchTarget => ({
      url: s.url,
      apiKey: inputs.apiKey,
      headers: {},
      model: c.model.name,
    })
    const context = { progress: createProgress('lines'), git, ci, ...thisHost() }
    let report: Report
    if (baseline) {
      const measured = await runAbBenchmark(
        plan,
        // Each arm asks for the model its own config serves.
        { baseline: target(baseline, base?.config ?? config), candidate: target(candidate, config) },
        {
          ...context,
          baselineGit: {
            sha: prBase?.sha ?? null,
            ref: prBase?.branch ? `refs/heads/${prBase.branch}` : null,
          },
          priors,
        },
      )
      report = withBaselineEnvironment(measured, {
        gpu: gpuFor(planned, baseline),
        config: base ? servingConfig(base.config, baseline) : plan.config,
      })
    } else {
      report = await runBenchmark(plan, target(candidate, config), context)
    }
    // The file first: whatever happens to the service, the measurement is kept.
    writeFileAtomic(inputs.reportPath, `${JSON.stringify(report)}\n`)
    core.setOutput('report-path', inputs.reportPath)

    let comparison: Comparison | null = null
    let comparisonUrl: string | null = null
    let baselineShas: Record<string, string | null> | undefined
    let notCompared: string | null = service ? null : 'No regression service configured (input service-url)'
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
    if (!comparison && isPairedReport(report)) {
      // An A/B run carries its own baseline: without the service's verdict it is judged here,
      // by the same code, so the gate still holds.
      comparison = compareArms({ id: null, report })
      core.info(`compared the two arms here: ${comparison.status}`)
    }
    const deployments: DeployedService[] = baseline
      ? (['baseline', 'candidate'] as const).flatMap((arm) => {
          const d = served[arm]?.deployment
          return d ? [{ ...d, arm }] : []
        })
      : candidate.deployment
        ? [candidate.deployment]
        : []
    await writeSummary({
      report,
      reportPath: inputs.reportPath,
      comparison,
      comparisonUrl,
      baselineShas,
      notCompared,
      deployments,
    })
    core.setOutput('status', comparison?.status ?? 'not_compared')
    core.setOutput('comparison-url', comparisonUrl ?? '')
    if (comparison?.status === 'regression') {
      const message = `${config.benchmark}: ${statusDescription(comparison)}`
      if (inputs.failOnRegression) core.setFailed(message)
      else core.warning(`${message} (fail-on-regression is off)`)
    }
    if (comparison?.status === 'inconclusive' && inputs.failOnInconclusive) {
      core.setFailed(`${config.benchmark}: ${statusDescription(comparison)}`)
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

/**
 * The baseline arm's own GPUs and serving config: core's A/B run describes both arms with the
 * candidate's plan, but the base was deployed from its own config, on its own pod.
 */
function withBaselineEnvironment(
  report: Report,
  own: { gpu: BenchPlan['gpu']; config: Record<string, unknown> },
): Report {
  const arms = report.arms?.map((a) =>
    a.name === 'baseline'
      ? {
          ...a,
          environment: {
            ...a.environment,
            gpu: { model: own.gpu.model, count: own.gpu.count },
            config: own.config,
          },
        }
      : a,
  )
  const b = arms?.find((a) => a.name === 'baseline')?.environment.gpu
  const c = report.environment.gpu
  if (b?.model && c.model && b.model !== c.model)
    core.warning(`the arms ran on different GPUs: the base on ${b.model}, the PR's head on ${c.model}`)
  return parseReport({ ...report, arms })
}

await run()
