// Errors as the API returns them: {"error": {"code", "message", "details"}} with the status, and
// the request body read within its limit.
import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { FieldIssue } from '../core/validation.ts'

export class ApiError extends Error {
  readonly status: ContentfulStatusCode
  readonly code: string
  readonly details: unknown
  readonly headers: Record<string, string>
  constructor(
    status: ContentfulStatusCode,
    code: string,
    message: string,
    details: unknown = null,
    headers: Record<string, string> = {},
  ) {
    super(message)
    this.status = status
    this.code = code
    this.details = details
    this.headers = headers
  }
}

export function errorResponse(c: Context, e: ApiError) {
  return c.json({ error: { code: e.code, message: e.message, details: e.details } }, e.status, e.headers)
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

/**
 * The request body as text, read only up to the configured limit: a declared length over it is
 * refused before a byte is read, a chunked body is cut off at the limit. Routes call this after
 * authentication, so an unauthenticated sender never gets its body read.
 */
export async function bodyText(c: Context, limit: number): Promise<string> {
  const tooLarge = () => new ApiError(413, 'body_too_large', `bodies are limited to ${limit} bytes`)
  const declared = c.req.header('content-length')
  if (declared !== undefined && Number(declared) > limit) throw tooLarge()
  const body = c.req.raw.body
  if (!body) return ''
  const reader = body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > limit) {
      await reader.cancel().catch(() => {})
      throw tooLarge()
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks, size).toString('utf8')
}

/** The request body as JSON, or a 400 that says why not. */
export async function jsonBody<E extends { Variables: { config: { bodyLimitBytes: number } } }>(
  c: Context<E>,
): Promise<unknown> {
  const text = await bodyText(c, c.get('config').bodyLimitBytes)
  try {
    return JSON.parse(text)
  } catch (e) {
    throw new ApiError(400, 'invalid_json', `the body is not JSON: ${(e as Error).message}`)
  }
}
