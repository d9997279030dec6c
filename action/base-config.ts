// Mode ab deploys the PR's base too, from the base's own infergate.yaml. actions/checkout's
// default clone is shallow (the PR's merge commit only), so the file is read at the base's
// commit through GitHub's REST API ("Get repository content", base64), with github-token.
import { posix } from 'node:path'
import * as core from '@actions/core'
import { type BenchPlan, PlanError } from '../core/bench/plan.ts'
import { formatIssue, type LocatedIssue, parseConfig } from '../core/config/load.ts'
import { configKeyOf, planFromConfig } from '../core/config/plan.ts'
import type { Config } from '../core/config/schema.ts'
import { octokit } from './pull-request.ts'

/**
 * A path in the checkout as a path in the repository: `./bench/infergate.yaml` is
 * `bench/infergate.yaml`; an absolute path must lie in the workspace.
 */
export function repositoryPath(input: string, workspace = process.env.GITHUB_WORKSPACE): string {
  let p = input.replace(/\\/g, '/')
  if (posix.isAbsolute(p)) {
    const root = workspace?.replace(/\\/g, '/').replace(/\/+$/, '')
    if (!root || !p.startsWith(`${root}/`))
      throw new Error(
        `input baseline-config: ${input} is not a path in the repository; give the base's config path in the repository`,
      )
    p = p.slice(root.length + 1)
  }
  p = posix.normalize(p).replace(/^(\.\/)+/, '')
  if (p === '.' || p === '..' || p.startsWith('../') || p.endsWith('/'))
    throw new Error(
      `input baseline-config: ${input} is not a file in the repository; give the base's config path in the repository`,
    )
  return p
}

const statusOf = (e: unknown) => (e as { status?: number }).status

/** The text of `path` at commit `sha`, from GET /repos/{owner}/{repo}/contents/{path}?ref={sha}. */
export async function fileAtCommit(
  token: string,
  repository: string,
  path: string,
  sha: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const [owner = '', repo = ''] = repository.split('/')
  let data: Awaited<ReturnType<ReturnType<typeof octokit>['rest']['repos']['getContent']>>['data']
  try {
    ;({ data } = await octokit(token, env).rest.repos.getContent({ owner, repo, path, ref: sha }))
  } catch (e) {
    if (statusOf(e) === 404)
      throw new Error(
        `the base branch has no ${path} at ${sha}: A/B needs one; use mode deploy for the first PR that adds it`,
      )
    throw new Error(`could not read ${path} at ${sha} from GitHub: ${(e as Error).message}`)
  }
  if (Array.isArray(data)) throw new Error(`${path} at ${sha} is a directory, not the base's config file`)
  if (data.type !== 'file' || !('content' in data))
    throw new Error(`${path} at ${sha} is a ${data.type}, not the base's config file`)
  if (data.encoding !== 'base64')
    throw new Error(
      `${path} at ${sha}: GitHub sent its content as ${JSON.stringify(data.encoding)}, not base64 (a file over 1 MB?)`,
    )
  return Buffer.from(data.content, 'base64').toString('utf8')
}

/**
 * The base's config checked as `infergate validate` checks the PR's (deploy mode, then its
 * plan). Its errors are plain errors naming `where` (path@sha): the file is not in the PR's
 * diff, so an annotation on its line would point at the wrong file.
 */
export function validateBaseConfig(text: string, where: string): { config: Config; plan: BenchPlan } {
  const loaded = parseConfig(text, 'deploy')
  let { config } = loaded
  let plan: BenchPlan | null = null
  const issues: LocatedIssue[] = [...loaded.issues]
  if (config) {
    try {
      plan = planFromConfig(config)
    } catch (e) {
      if (!(e instanceof PlanError)) throw e
      const key = [...(configKeyOf(config, e.field) ?? [])]
      issues.push({ severity: 'error', path: key, message: e.detail, ...loaded.locate(key) })
      config = null
    }
  }
  for (const i of issues) {
    if (i.severity === 'error') core.error(formatIssue(where, i))
    else core.info(formatIssue(where, i))
  }
  if (!config || !plan) throw new Error(`${where} (the base's config) is not valid: see the errors above`)
  return { config, plan }
}
