// What the report contract may hold, stated as the limits of the database that stores it: every
// value a schema accepts must be stored by the service (Postgres or PGlite) and read back
// unchanged. Postgres text and jsonb refuse NUL and unpaired surrogates, integer columns are 32
// bits, timestamptz has a range, a btree index entry holds ~2.7 kB, and deep JSON exhausts the
// parser's stack. Anything beyond is a 400 naming the field, never a 500 or a silent change.
import { z } from 'zod'

export const INT32_MAX = 2 ** 31 - 1

/**
 * A value as an error message shows it: short, and never by stringifying whatever was sent
 * (JSON.stringify recurses, and a 5,000-level object overflows the stack).
 */
export function shown(v: unknown): string {
  if (Array.isArray(v)) return 'an array'
  if (v !== null && typeof v === 'object') return 'an object'
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)
  return String(v)
}

/** Why a string cannot be stored as Postgres text, or null when it can. */
export function unstorable(s: string): string | null {
  if (s.includes('\0')) return 'contains a NUL character (\\u0000), which Postgres text cannot hold'
  if (!s.isWellFormed()) return 'contains an unpaired UTF-16 surrogate (not valid Unicode)'
  return null
}

/**
 * Text from elsewhere (a server's error message, a host name) made storable before it reaches a
 * report: NUL removed, cut to `max` characters, and a surrogate pair the cut split replaced.
 */
export function storable(s: string, max: number): string {
  return s.replaceAll('\0', '').slice(0, max).toWellFormed()
}

/** A string of at most `max` characters that Postgres can store. */
export function text(max: number) {
  return z
    .string()
    .max(max, `expected at most ${max} characters`)
    .check((ctx) => {
      const why = unstorable(ctx.value)
      if (why) ctx.issues.push({ code: 'custom', input: ctx.value, message: why })
    })
}

/**
 * A record whose keys are storable text of at most `keyMax` characters. JSON.parse makes
 * `__proto__` an own key, but zod's record leaves it out of its output, so it would be accepted
 * and silently lost: it is refused on the input.
 */
export function storedRecord<V extends z.ZodType>(keyMax: number, value: V) {
  return z
    .unknown()
    .check((ctx) => {
      const v = ctx.value
      if (v !== null && typeof v === 'object' && Object.hasOwn(v, '__proto__')) {
        ctx.issues.push({
          code: 'custom',
          input: v,
          path: ['__proto__'],
          message: 'the key __proto__ is not kept by JavaScript objects',
        })
      }
    })
    .pipe(z.record(text(keyMax), value))
}

export const JSON_MAX_DEPTH = 32
const JSON_MAX_STRING = 65_536

/**
 * Free-form JSON (a serving configuration): nested at most JSON_MAX_DEPTH levels, every key and
 * string storable, every number finite (JSON.parse turns 1e999 into Infinity, which would come
 * back as null). Walked with an explicit stack: a 5,000-level object must not overflow ours.
 */
export function jsonValue<T extends z.ZodType>(schema: T) {
  return schema.check((ctx) => {
    const stack: { value: unknown; path: PropertyKey[] }[] = [{ value: ctx.value, path: [] }]
    const fail = (path: PropertyKey[], input: unknown, message: string) => {
      ctx.issues.push({ code: 'custom', input, path, message })
    }
    while (stack.length) {
      const { value, path } = stack.pop()!
      if (typeof value === 'string') {
        const why =
          value.length > JSON_MAX_STRING ? `longer than ${JSON_MAX_STRING} characters` : unstorable(value)
        if (why) return fail(path, value, why)
      } else if (typeof value === 'number') {
        if (!Number.isFinite(value)) return fail(path, value, 'expected a finite number')
      } else if (value !== null && typeof value === 'object') {
        if (path.length >= JSON_MAX_DEPTH) {
          return fail(path, '…', `nested deeper than ${JSON_MAX_DEPTH} levels`)
        }
        const entries = Array.isArray(value) ? value.entries() : Object.entries(value)
        for (const [k, v] of entries) {
          if (typeof k === 'string') {
            const why = k.length > 1000 ? 'a key longer than 1000 characters' : unstorable(k)
            if (why) return fail(path, k, `key ${JSON.stringify(k.slice(0, 40))}: ${why}`)
          }
          stack.push({ value: v, path: [...path, k] })
        }
      } else if (value !== null && typeof value !== 'boolean') {
        return fail(path, String(value), `expected JSON, got a ${typeof value}`)
      }
    }
  })
}

// Reports are made now; the bounds keep every instant inside what Postgres's timestamptz and
// JavaScript's Date both hold, in any offset.
const EARLIEST = Date.UTC(1970, 0, 1)
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59, 999)

/**
 * An ISO 8601 instant with an offset, kept as UTC with milliseconds (how the service reads it
 * back from timestamptz): "2026-01-01T02:00:00+02:00" is "2026-01-01T00:00:00.000Z".
 */
export const timestamp = z.iso
  .datetime({ offset: true })
  .check((ctx) => {
    const t = Date.parse(ctx.value)
    if (!(t >= EARLIEST && t <= LATEST)) {
      ctx.issues.push({
        code: 'custom',
        input: ctx.value,
        message: 'expected an instant from 1970-01-01 to 9999-12-31 (UTC)',
      })
    }
  })
  .transform((s) => new Date(s).toISOString())
