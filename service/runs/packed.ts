// Per-request samples as stored: each value in Postgres's binary form (float8send / int4send:
// IEEE-754 float64 or int32, big-endian), one after another, in a bytea. A null sample is NaN
// (reports never hold NaN: the schema refuses it). DataView reads and writes big-endian.

export function packF64(xs: readonly (number | null)[]): Buffer {
  const out = Buffer.allocUnsafe(xs.length * 8)
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength)
  for (let i = 0; i < xs.length; i++) view.setFloat64(i * 8, xs[i] ?? Number.NaN)
  return out
}

export function packI32(xs: readonly number[]): Buffer {
  const out = Buffer.allocUnsafe(xs.length * 4)
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength)
  for (let i = 0; i < xs.length; i++) view.setInt32(i * 4, xs[i]!)
  return out
}

const viewOf = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength)

export function unpackF64(b: Uint8Array): number[] {
  const view = viewOf(b)
  const out = new Array<number>(b.byteLength / 8)
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(i * 8)
  return out
}

export function unpackNullableF64(b: Uint8Array): (number | null)[] {
  const view = viewOf(b)
  const out = new Array<number | null>(b.byteLength / 8)
  for (let i = 0; i < out.length; i++) {
    const x = view.getFloat64(i * 8)
    out[i] = Number.isNaN(x) ? null : x
  }
  return out
}

export function unpackI32(b: Uint8Array): number[] {
  const view = viewOf(b)
  const out = new Array<number>(b.byteLength / 4)
  for (let i = 0; i < out.length; i++) out[i] = view.getInt32(i * 4)
  return out
}
