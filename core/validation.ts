import type { z } from 'zod'

/** A path like `scenarios[0].trials[1].samples.ttft_ms[17]`, so errors name the exact field. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`
    else out += out ? `.${String(key)}` : String(key)
  }
  return out || '(root)'
}

export interface FieldIssue {
  path: string
  message: string
}

export function issuesOf(error: z.ZodError): FieldIssue[] {
  return error.issues.map((i) => ({ path: formatPath(i.path), message: i.message }))
}

export class ValidationError extends Error {
  readonly issues: FieldIssue[]
  constructor(what: string, issues: FieldIssue[]) {
    const shown = issues
      .slice(0, 5)
      .map((i) => `${i.path}: ${i.message}`)
      .join('; ')
    const more = issues.length > 5 ? ` (and ${issues.length - 5} more)` : ''
    super(`invalid ${what}: ${shown}${more}`)
    this.name = 'ValidationError'
    this.issues = issues
  }
}

export function parseWith<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value)
  if (!result.success) throw new ValidationError(what, issuesOf(result.error))
  return result.data
}
