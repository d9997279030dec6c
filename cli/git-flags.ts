// The --git-* flags that set a report's git fields by hand (other CI systems, local runs): one
// reading of them, so every command that takes them accepts and refuses the same things.
import type { GitContext } from '../core/report.ts'
import { type FlagValues, num, str, UsageError } from './args.ts'

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
  return Object.fromEntries(Object.entries(out).filter(([, x]) => x !== undefined))
}
