// What a database error means for the request that met it. A database that is away (refusing
// connections, shutting down, a pool with no connection to give in time) is the service's
// temporary state: 503 with Retry-After, and the process stays up. Postgres refusing a value is
// a request the schema should have refused: 400, never 500.
import { ApiError } from '../http.ts'

// SQLSTATE classes and codes (Postgres docs, "PostgreSQL Error Codes"): 08 connection exception,
// 57P01–57P03 admin/crash shutdown and cannot connect now, 53300 too many connections.
const UNAVAILABLE_CODES = new Set(['57P01', '57P02', '57P03', '53300', '53400'])
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EAI_AGAIN',
])
// pg's own words when it has no connection to use (its pool's timeout, a socket that ended).
const UNAVAILABLE_MESSAGES =
  /timeout exceeded when trying to connect|Connection terminated|connection.*(ended|closed|terminated)|Client has encountered a connection error|the database system is (starting up|shutting down)/i

export function isUnavailable(e: unknown): boolean {
  const err = e as { code?: unknown; message?: unknown; errors?: unknown[] }
  if (Array.isArray(err?.errors) && err.errors.some(isUnavailable)) return true
  const code = typeof err?.code === 'string' ? err.code : ''
  if (code.startsWith('08') || UNAVAILABLE_CODES.has(code) || NETWORK_CODES.has(code)) return true
  return typeof err?.message === 'string' && UNAVAILABLE_MESSAGES.test(err.message)
}

// 22: data exception (a value out of range, an invalid character); 54: a program limit (a
// statement too complex, a row too big for an index).
const refusesValue = (code: string) => code.startsWith('22') || code.startsWith('54')

/** The ApiError a database error answers as, or null for a bug (500). */
export function databaseApiError(e: unknown): ApiError | null {
  if (isUnavailable(e)) {
    return new ApiError(503, 'database_unavailable', 'the database is unavailable; retry later', null, {
      'retry-after': '5',
    })
  }
  const code = (e as { code?: unknown })?.code
  if (typeof code === 'string' && refusesValue(code)) {
    return new ApiError(400, 'unstorable_value', `the database refused a value: ${(e as Error).message}`)
  }
  return null
}
