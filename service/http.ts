// Errors as the API returns them: {"error": {"code", "message", "details"}} with the status.
import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { FieldIssue } from '../core/validation.ts'

export class ApiError extends Error {
  readonly status: ContentfulStatusCode
  readonly code: string
  readonly details: unknown
  constructor(status: ContentfulStatusCode, code: string, message: string, details: unknown = null) {
    super(message)
    this.status = status
    this.code = code
    this.details = details
  }
}

export function errorResponse(c: Context, e: ApiError) {
  return c.json({ error: { code: e.code, message: e.message, details: e.details } }, e.status)
}

export const invalid = (what: string, issues: FieldIssue[]) =>
  new ApiError(
    400,
    `invalid_${what}`,
    `invalid ${what}: ${issues
      .slice(0, 3)
      .map((i) => `${i.path}: ${i.message}`)
      .join('; ')}`,
    { issues },
  )

/** The request body as JSON, or a 400 that says why not. */
export async function jsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text()
  try {
    return JSON.parse(text)
  } catch (e) {
    throw new ApiError(400, 'invalid_json', `the body is not JSON: ${(e as Error).message}`)
  }
}
