// infergate upload: a report made anywhere (a laptop, another CI system) posted to the regression
// service, without curl. Reports made outside GitHub Actions carry no git identity, so what the
// report leaves null is read from the local checkout; the service's verdict is printed and is the
// exit code, as with infergate compare.
import { fillGitContext, readCheckout } from '../../core/git-context.ts'
import { githubOidcToken, oidcAudienceOf } from '../../core/github-oidc.ts'
import { GitContext } from '../../core/report.ts'
import { type PostedRun, ServiceClient, ServiceError } from '../../core/service-client.ts'
import { formatPath } from '../../core/validation.ts'
import { type CommandSpec, type FlagValues, num, str, UsageError } from '../args.ts'
import { gitFlagValues } from '../git-flags.ts'
import { readReport, renderComparison } from './compare.ts'

export const uploadSpec: CommandSpec = {
  name: 'upload',
  summary: 'post a report to the regression service and print its verdict',
  usage: 'infergate upload FILE --service URL [--token TOKEN | --oidc-audience AUD] [options]',
  positionals: [{ name: 'FILE', help: 'the report (what infergate bench --out writes)' }],
  flags: {
    service: {
      type: 'string',
      value: 'URL',
      help: 'the regression service, e.g. https://infergate.example.com [$INFERGATE_SERVICE_URL]',
    },
    token: {
      type: 'string',
      value: 'TOKEN',
      help: "the project's token (POST /api/v1/projects); the variable keeps it out of process lists [$INFERGATE_TOKEN]",
    },
    'oidc-audience': {
      type: 'string',
      value: 'AUD',
      help: "without a token, in a GitHub Actions job with id-token: write: the job's OIDC token for this audience (the service's INFERGATE_OIDC_AUDIENCE) [$INFERGATE_OIDC_AUDIENCE]",
      default: "--service's origin",
    },
    'git-repository': {
      type: 'string',
      value: 'OWNER/REPO',
      help: "set the report's repository",
      default: "the report's, else the origin remote's",
    },
    'git-sha': {
      type: 'string',
      value: 'SHA',
      help: "set the report's commit",
      default: "the report's, else HEAD",
    },
    'git-branch': {
      type: 'string',
      value: 'NAME',
      help: "set the report's branch",
      default: "the report's, else the checked-out branch",
    },
    'git-base-branch': {
      type: 'string',
      value: 'NAME',
      help: "set the report's base branch (pull requests)",
    },
    'git-pr': { type: 'string', value: 'N', help: "set the report's pull request number" },
    timeout: { type: 'string', value: 'S', help: 'time limit of each attempt, in seconds', default: '30' },
  },
  examples: [
    'INFERGATE_TOKEN=igt_… infergate upload report.json --service https://infergate.example.com',
    'infergate upload pr.json --service http://127.0.0.1:8080 --git-branch fast-kv --git-base-branch main --git-pr 42',
  ],
}

export const uploadExitCodes: [number, string][] = [
  [0, 'stored, and no gated metric regressed (no baseline yet, or too few baseline runs, included)'],
  [1, 'stored, and a gated metric regressed'],
  [
    2,
    'bad input: a flag, a report that cannot be read or does not validate, no repository known, or the service refused the report (4xx: token, repository, size)',
  ],
  [
    3,
    'the service could not be reached or kept failing (after its retries); posting the same report again is safe',
  ],
]

/** How baselines are named, as in the PR comment: the commit, else the start of the run id. */
const baselineNames = (run: PostedRun) =>
  run.comparison.baseline_run_ids.map((id) => run.baselineShas?.[id]?.slice(0, 7) ?? id.slice(0, 8))

export async function upload(
  values: FlagValues,
  positionals: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const [file, ...extra] = positionals
  if (file === undefined) throw new UsageError('give the report file: infergate upload FILE --service URL')
  if (extra.length)
    throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}: one report per upload`)
  const url = str(values, 'service') ?? (env.INFERGATE_SERVICE_URL || undefined)
  if (!url)
    throw new UsageError("--service is required (or $INFERGATE_SERVICE_URL): the regression service's URL")
  const given = str(values, 'token') ?? (env.INFERGATE_TOKEN || undefined)
  const audience = str(values, 'oidc-audience') ?? (env.INFERGATE_OIDC_AUDIENCE || oidcAudienceOf(url))
  const token = given ?? githubOidcToken(env, audience)
  if (!token) {
    throw new UsageError(
      "--token is required (or $INFERGATE_TOKEN): the project's token from POST /api/v1/projects; in a GitHub Actions job with permissions: id-token: write, the job's OIDC token is used instead (docs/oidc.md)",
    )
  }
  // Node's timers hold at most 2^31 − 1 ms.
  const timeoutS = num(values, 'timeout', { min: 0, exclusiveMin: true, max: 2_147_483 }) ?? 30
  const flags = gitFlagValues(values)
  let service: ServiceClient
  try {
    service = new ServiceClient({
      url,
      token,
      timeoutMs: timeoutS * 1000,
      onRetry: (r) =>
        process.stderr.write(
          `infergate upload: ${r.reason}; retrying in ${(r.delayMs / 1000).toFixed(1)} s\n`,
        ),
    })
  } catch (e) {
    if (e instanceof ServiceError) throw new UsageError(`--service: ${e.message}`)
    throw e
  }
  const report = readReport(file, file)

  const checkout = await readCheckout(process.cwd())
  const { git, filled } = fillGitContext(report.git, flags, checkout)
  const checked = GitContext.safeParse(git)
  if (!checked.success) {
    const issue = checked.error.issues[0]!
    throw new UsageError(`git.${formatPath(issue.path)}: ${issue.message}`)
  }
  if (filled.length) {
    const said = filled.map((k) => `git.${k} ${k === 'sha' ? git.sha!.slice(0, 12) : git[k]}`)
    process.stderr.write(`infergate upload: from the checkout: ${said.join(', ')}\n`)
    if (filled.includes('sha') && checkout?.dirty) {
      process.stderr.write(
        'infergate upload: warning: the checkout has uncommitted changes: the commit may not be what was measured\n',
      )
    }
  }
  if (git.repository === null) {
    throw new UsageError(
      'git.repository: the report has none and no origin remote gives it: add --git-repository OWNER/REPO',
    )
  }

  let run: PostedRun
  try {
    run = await service.postReport({ ...report, git })
  } catch (e) {
    if (!(e instanceof ServiceError)) throw e
    // The service answered and said no: the report, the token or the flags must change.
    if (e.status !== null && e.status >= 400 && e.status < 500) {
      throw new UsageError(`the service refused the report: ${e.message}`)
    }
    process.stderr.write(`infergate upload: error: ${e.message}\n`)
    return 3
  }
  const c = run.comparison
  const lines = [
    `run ${run.id}${run.duplicate ? ' (already stored: the same report was posted before)' : ''}`,
    renderComparison(c).trimEnd(),
  ]
  if (c.baseline_run_ids.length) lines.push(`baselines: ${baselineNames(run).join(', ')}`)
  lines.push(`comparison: ${service.url}/api/v1/runs/${run.id}/comparison`)
  process.stdout.write(`${lines.join('\n')}\n`)
  return c.status === 'regression' ? 1 : 0
}
