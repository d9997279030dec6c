// Seeded randomness. Benchmarks must be reproducible from --seed alone, so nothing here
// touches Math.random.

/** sfc32: small, fast, passes PractRand; 32-bit state words keep it exact in JS numbers. */
export class Rng {
  private a: number
  private b: number
  private c: number
  private d: number
  private spareNormal: number | undefined

  constructor(seed: number, stream = 0) {
    this.a = 0x9e3779b9
    this.b = seed >>> 0
    this.c = Math.floor(seed / 2 ** 32) >>> 0
    this.d = (stream ^ 0x5bd1e995) >>> 0
    for (let i = 0; i < 15; i++) this.nextU32()
  }

  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0
    this.d = (this.d + 1) | 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) | 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.c = (this.c + t) | 0
    return t >>> 0
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n)
  }

  normal(): number {
    if (this.spareNormal !== undefined) {
      const s = this.spareNormal
      this.spareNormal = undefined
      return s
    }
    // Box-Muller; 1 - next() keeps the log argument in (0, 1].
    const u = 1 - this.next()
    const v = this.next()
    const r = Math.sqrt(-2 * Math.log(u))
    this.spareNormal = r * Math.sin(2 * Math.PI * v)
    return r * Math.cos(2 * Math.PI * v)
  }

  exponential(rate: number): number {
    return -Math.log(1 - this.next()) / rate
  }

  /** Gamma(shape, scale) by Marsaglia and Tsang; shape < 1 boosted by U^(1/shape). */
  gamma(shape: number, scale: number): number {
    if (shape < 1) return this.gamma(shape + 1, scale) * (1 - this.next()) ** (1 / shape)
    const d = shape - 1 / 3
    const c = 1 / Math.sqrt(9 * d)
    for (;;) {
      let x: number
      let v: number
      do {
        x = this.normal()
        v = 1 + c * x
      } while (v <= 0)
      v = v * v * v
      const u = 1 - this.next()
      if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v * scale
    }
  }

  /** Multiplicative noise with mean 1 and relative spread sigma (lognormal). */
  jitter(sigma: number): number {
    if (sigma <= 0) return 1
    return Math.exp(sigma * this.normal() - (sigma * sigma) / 2)
  }
}
