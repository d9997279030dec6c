// The --git-* flags that set a report's git fields by hand (other CI systems, local runs): one
// reading of them, so every command that takes them accepts and refuses the same things.
import { GitContext } from '../core/report.ts'
import { type FlagSpec, type FlagValues, num, str, UsageError } from './args.ts'

/** The flags themselves, for the commands that write a report (bench, import). */
export const GIT_FLAGS: Record<string, FlagSpec> = {
  'git-repository': { type: 'string', value: 'OWNER/REPO', help: 'override $GITHUB_REPOSITORY' },
  'git-sha': { type: 'string', value: 'SHA', help: 'override the commit sha' },
  'git-branch': { type: 'string', value: 'NAME', help: 'override the branch' },
  'git-base-branch': { type: 'string', value: 'NAME', help: 'override the base branch (pull requests)' },
  'git-pr': { type: 'string', value: 'N', help: 'override the pull request number' },
}

/** What served the model, for per-GPU throughput and cost: bench and import say it alike. */
export const HARDWARE_FLAGS: Record<string, FlagSpec> = {
  gpus: { type: 'string', value: 'N', help: 'GPUs serving the model (per-GPU throughput, cost)' },
  'gpu-model': { type: 'string', value: 'NAME', help: 'GPU model, e.g. NVIDIA-H100-80GB-HBM3' },
  'gpu-hourly-cost': {
    type: 'string',
    value: 'USD',
    help: 'cost of one GPU-hour, for cost per 1M output tokens',
  },
}

/** The git fields the flags give; a flag not given leaves its field out. */
export function gitFlagValues(v: FlagValues): Partial<GitContext> {
  const repository = str(v, 'git-repository')
  if (repository !== undefined && !/^[^/\s]+\/[^/\s]+$/.test(repository)) {
    throw new UsageError(`--git-repository: expected owner/repo, got ${JSON.stringify(repository)}`)
  }
  for (const flag of ['git-sha', 'git-branch', 'git-base-branch']) {
    if (str(v, flag) === '') throw new UsageError(`--${flag}: must not be empty`)
  }
  const out: Partial<GitContext> = {
    repository,
    sha: str(v, 'git-sha'),
    branch: str(v, 'git-branch'),
    base_branch: str(v, 'git-base-branch'),
    pr_number: num(v, 'git-pr', { min: 1, int: true }),
  }
  // The report's own limits, checked now rather than by the final parse after the whole run.
  for (const [flag, key] of [
    ['git-repository', 'repository'],
    ['git-sha', 'sha'],
    ['git-branch', 'branch'],
    ['git-base-branch', 'base_branch'],
    ['git-pr', 'pr_number'],
  ] as const) {
    if (out[key] === undefined) continue
    const checked = GitContext.shape[key].safeParse(out[key])
    if (!checked.success) throw new UsageError(`--${flag}: ${checked.error.issues[0]?.message}`)
  }
  return Object.fromEntries(Object.entries(out).filter(([, x]) => x !== undefined))
}
