// The paired, sequential A/B detector (issue 11). An A/B run measures the baseline and the
// candidate servers interleaved in blocks: one trial of each per block, on the same hardware at
// the same time. Whatever moves both arms together (a slow node phase, thermal state, noisy
// neighbours: a few % per block, sometimes a step) cancels in the block's ratio, so the test
// works on d_j = log(candidate_j / baseline_j) and needs no history of the base branch.
//
// After each block k ≥ minBlocks the detector looks, and may decide: regression, improvement,
// unchanged, or continue; at the block budget K the undecided are inconclusive.
//
// - Per series (scenario × metric): a t-test of mean d = 0 whose variance is pooled with a prior
//   (σ0 with ν0 pseudo-degrees of freedom), because 2 or 3 blocks say almost nothing about their
//   own spread. The prior's variance adds each trial's own sampling variance (seLog², from its
//   samples), so a noisy statistic such as a p99 of a few hundred requests is judged cautiously
//   from the first block, before its blocks could show how much it scatters.
// - Many looks: Bonferroni over them. Each look spends α_k = alpha / (K − minBlocks + 1). The
//   chance of any false alarm at any look is at most Σ α_k = alpha by the union bound, whatever
//   the correlation between looks (they share blocks), however the run stops. Holm at α_k over
//   the gated series at each look (weighted: a series' `weight` is its share of each step)
//   keeps the family-wise rate over the metrics as well.
// - Unchanged is shown, not assumed: the interval d̄ ± t_{1−α_k}·se inside ± the minimum effect
//   (two one-sided tests at α_k; no multiplicity correction: "all unchanged" is an
//   intersection-union claim, false as soon as one of its series' tests is).
// - A learned prior: the noise of a block's ratio measured in the project's earlier A/B runs of
//   the same benchmark (core/detect/noise-prior.ts), in place of σ0 and ν0 when a series has one.
//   Its degrees of freedom (capped at learnedDfCap) bring the t quantile near the z the oracle
//   that knows the noise uses, which is where the power of few blocks is. It is dropped, for the
//   weak default, when this run's own blocks scatter more than it allows (an F test at
//   priorConflictAlpha): a noisier node today than in the runs it was learned on is never
//   judged with yesterday's quiet.
// - The exact sign-flip permutation p of the d_j is reported, never used: it assumes nothing
//   about their distribution but cannot reach a small alpha on few blocks (3 blocks: p ≥ 0.25,
//   10 blocks: p ≥ 0.002), which is why the t-test with the prior decides.
import { weightedHolm } from './holm.ts'
import { incompleteBeta, studentTSf } from './student-t.ts'

/** One trial's value of a metric, and the sampling SE of its log from within the trial. */
export interface TrialValue {
  /** Trial-level value (a median, a p99, a throughput), > 0. */
  value: number
  /** SE of log(value) from the trial's own samples (quantileSeLog); 0 when unknown. */
  seLog: number
}

/** One block: a trial of each arm, either missing when it produced no value. */
export interface PairedBlock {
  baseline: TrialValue | null
  candidate: TrialValue | null
}

/** The noise of a block's log ratio as earlier runs measured it: a variance and its weight. */
export interface NoisePrior {
  /** σ of a block's log ratio (total: trial noise and the trials' sampling noise). */
  sdLog: number
  /** Its degrees of freedom: Σ (blocks − 1) over the runs it pools. */
  df: number
}

/** One scenario × metric, its blocks in the order they ran. */
export interface PairedSeries {
  blocks: readonly PairedBlock[]
  /** The block noise of earlier runs of this series; the weak default prior when absent. */
  prior?: NoisePrior | null
  direction: 'lower_is_better' | 'higher_is_better'
  /** Gated series decide the run (and stop it); the others are reported. */
  gated: boolean
  minEffectPct: number
  /** Its share of alpha among the gated series (weighted Holm); default 1. */
  weight?: number
}

export interface PairedSettings {
  /** Family-wise false-alarm rate over every look and every gated series. */
  alpha: number
  /** The block budget K. */
  maxBlocks: number
  /** No look before this many blocks (and a series needs this many usable ones). */
  minBlocks: number
  /** σ of a block's log ratio assumed before any data, in %. */
  priorNoisePct: number
  /** The weight of that prior, in pseudo-degrees of freedom. */
  priorDf: number
  /**
   * The most weight a learned prior gets, in degrees of freedom (it has Σ (blocks − 1) over
   * its runs): past this the t quantile at the per-look alpha hardly moves, and the blocks of
   * the run being judged keep a share of the estimate.
   */
  learnedDfCap: number
  /** A learned prior is set aside when this run's blocks scatter more than it allows at this level (F test). */
  priorConflictAlpha: number
}

/**
 * σ0 = 2%: the noise of a block's log ratio beyond the trials' own sampling noise (which seLog
 * adds): two trials of identical servers at the same time differ by ~1% each, ~1.4% in their
 * ratio; 2% errs cautious. ν0 = 4: worth 5 blocks, enough to decide a large change on 2 blocks
 * (+20%: at block 2 or 3), outweighed by the data after a few more. K = 10, minBlocks = 2.
 * Measured by scripts/bench-detector.ts (docs/performance.md): false alarms stay under 1% even
 * when the trial noise is 3× what the prior assumes. A smaller σ0 (1.5%) or a stronger prior
 * (ν0 = 6 or 10) calls a +5% change sooner, but passes 1% false alarms at 3× the noise: the
 * prior is a guess about hardware nobody has measured yet, so it is kept weak.
 */
export const DEFAULT_PAIRED_SETTINGS: PairedSettings = {
  alpha: 0.01,
  maxBlocks: 10,
  minBlocks: 2,
  priorNoisePct: 2,
  priorDf: 4,
  learnedDfCap: 30,
  priorConflictAlpha: 0.01,
}

/**
 * The minimum effect suggested for medians and throughput in paired mode: 2%, not history mode's
 * 3%. A true +3% change reads below 3% half the time, so a 3% floor would cap the power at +3%
 * near 50% whatever the noise. At 1,000 requests a trial the significance bar binds first anyway
 * (a change called within 10 blocks reads ≥ ~3.5%), so the floor costs little there; it matters
 * with quieter metrics or more blocks. The price: "unchanged" within ±2% takes more blocks.
 */
export const DEFAULT_PAIRED_MIN_EFFECT_PCT = 2

export type PairedVerdict =
  | 'regression'
  | 'improvement'
  | 'unchanged'
  | 'inconclusive'
  | 'insufficient_data'
  | 'continue'

/** One series' outcome. The figures are those of the look that decided it, or of the last look. */
export interface PairedResult {
  verdict: PairedVerdict
  /** The block count of the look that decided (regression, improvement, unchanged); else null. */
  decidedAtBlock: number | null
  /** (exp(d̄) − 1) × 100: the geometric mean ratio candidate / baseline, in %. */
  deltaPct: number | null
  /** d̄ ± t_{1−α_k, ν}·se in %: the interval "unchanged" needs inside ± the minimum effect. */
  ciPct: [number, number] | null
  /** Two-sided t-test p of mean d = 0 (raw). */
  p: number | null
  /** Holm over the gated series at the look, × the number of looks: called when < alpha. Gated only. */
  pAdjusted: number | null
  /** Exact sign-flip permutation p of the d_j (n ≤ 16), for information. */
  pSignflip: number | null
  /** (exp(s) − 1) × 100: the posterior σ of a block's log ratio. */
  noisePct: number | null
  /** Smallest |delta_pct| callable with these blocks: max(min effect, exp(t·se) − 1), t at Holm's first step. */
  mdePct: number | null
  /** Blocks estimated (with the current s) to bring the interval inside ± min effect; null when reached. */
  needed: number | null
  /** Usable blocks (both arms with a value). */
  blocks: number
  /** learned: the noise of earlier runs weighed in; default: the weak prior (none, or it conflicted). */
  prior: 'learned' | 'default'
}

export interface PairedDecision {
  series: PairedResult[]
  /** The stop rule: any gated regression, every gated series with data decided, or the budget. */
  stop: boolean
  stopped: 'decided' | 'budget' | null
  /** Blocks looked at (the budget caps them). */
  blocks: number
}

/** The fit of one series on its first k blocks. */
interface Fit {
  n: number
  d: number[]
  mean: number
  s: number
  df: number
  se: number
  p: number
  prior: 'learned' | 'default'
}

const logPct = (pct: number) => Math.log(1 + pct / 100)
const toPct = (logRatio: number) => (Math.exp(logRatio) - 1) * 100

const quantiles = new Map<string, number>()
/**
 * t with P(T > t) = tail, for ν degrees of freedom: bisection on the upper tail itself (kept to
 * full relative precision down to tiny tails; the bracket grows for small ν), cached: the looks
 * ask for few distinct (tail, ν).
 */
export function tUpper(tail: number, df: number): number {
  const key = `${tail}:${df}`
  const hit = quantiles.get(key)
  if (hit !== undefined) return hit
  if (!(tail > 0 && tail < 1 && df > 0)) throw new RangeError(`tUpper(${tail}, ${df})`)
  let lo = -1
  let hi = 1
  while (studentTSf(hi, df) > tail) hi *= 2
  while (studentTSf(lo, df) < tail) lo *= 2
  for (let i = 0; i < 200 && hi - lo > 1e-13 * Math.max(1, Math.abs(hi)); i++) {
    const mid = (lo + hi) / 2
    if (studentTSf(mid, df) > tail) lo = mid
    else hi = mid
  }
  const t = (lo + hi) / 2
  if (quantiles.size > 10_000) quantiles.clear()
  quantiles.set(key, t)
  return t
}

const usable = (v: TrialValue | null): v is TrialValue =>
  v !== null && Number.isFinite(v.value) && v.value > 0 && Number.isFinite(v.seLog) && v.seLog >= 0

/** P(F > f) for Fisher's F with (d1, d2) degrees of freedom. */
export function fSf(f: number, d1: number, d2: number): number {
  if (!(f > 0)) return 1
  return incompleteBeta(d2 / (d2 + d1 * f), d2 / 2, d1 / 2)
}

function fitBlocks(
  blocks: readonly PairedBlock[],
  k: number,
  s: PairedSettings,
  learned?: NoisePrior | null,
): Fit | null {
  const d: number[] = []
  let within = 0
  for (let j = 0; j < Math.min(k, blocks.length); j++) {
    const { baseline: b, candidate: c } = blocks[j]!
    if (!usable(b) || !usable(c)) continue
    d.push(Math.log(c.value / b.value))
    within += c.seLog ** 2 + b.seLog ** 2
  }
  const n = d.length
  if (n === 0) return null
  const mean = d.reduce((a, x) => a + x, 0) / n
  const ss = d.reduce((a, x) => a + (x - mean) ** 2, 0)
  // The weak prior: σ0 for the trial-to-trial noise, plus the trials' own sampling variance.
  let priorVar = logPct(s.priorNoisePct) ** 2 + within / n
  let priorDf = s.priorDf
  let prior: Fit['prior'] = 'default'
  if (learned && learned.df > 0 && learned.sdLog > 0) {
    // A learned variance already holds the sampling noise of trials like these; never less than
    // this run's own, should its trials be smaller.
    const learnedVar = Math.max(learned.sdLog ** 2, within / n)
    const conflict = n >= 2 && fSf(ss / (n - 1) / learnedVar, n - 1, learned.df) < s.priorConflictAlpha
    if (!conflict) {
      priorVar = learnedVar
      priorDf = Math.min(learned.df, s.learnedDfCap)
      prior = 'learned'
    }
  }
  const df = priorDf + n - 1
  const sd = Math.sqrt((priorDf * priorVar + ss) / df)
  const se = sd / Math.sqrt(n)
  const p = se > 0 ? Math.min(1, 2 * studentTSf(Math.abs(mean) / se, df)) : mean === 0 ? 1 : 0
  return { n, d, mean, s: sd, df, se, p, prior }
}

/**
 * Exact two-sided sign-flip permutation p of mean d = 0: the share of the 2^n sign patterns
 * with |Σ ±d_j| ≥ |Σ d_j| (ties count, with a relative tolerance of 1e-9 against rounding).
 * Null for n = 0 or n > 16.
 */
export function signFlipP(d: readonly number[]): number | null {
  const n = d.length
  if (n === 0 || n > 16) return null
  const observed = Math.abs(d.reduce((a, x) => a + x, 0))
  const scale = d.reduce((a, x) => a + Math.abs(x), 0)
  const bar = observed - 1e-9 * scale
  // Gray code: one sign changes per step, so the sum updates in O(1).
  let sum = d.reduce((a, x) => a + x, 0)
  const signs = new Array<number>(n).fill(1)
  let hits = Math.abs(sum) >= bar ? 1 : 0
  const total = 2 ** n
  for (let i = 1; i < total; i++) {
    const bit = 31 - Math.clz32(i & -i)
    signs[bit] = -signs[bit]!
    sum += 2 * signs[bit]! * d[bit]!
    if (Math.abs(sum) >= bar) hits++
  }
  return hits / total
}

/**
 * Sampling SE of log(q-quantile) of one trial, from its sorted samples (q as a fraction, e.g.
 * 0.99): the order statistics at ranks nq ∓ √(nq(1−q)) span ± one SE of the quantile (the
 * binomial count below it), so SE(log x_q) ≈ (log x_(hi) − log x_(lo)) / 2. Ranks are 1-based,
 * interpolated, clamped to the sample. 0 (unknown) with fewer than 2 samples or a value ≤ 0.
 */
export function quantileSeLog(sortedSamples: ArrayLike<number>, q: number): number {
  if (!(q > 0 && q < 1)) throw new RangeError(`quantileSeLog: q must be a fraction in (0, 1), got ${q}`)
  const n = sortedSamples.length
  if (n < 2) return 0
  const spread = Math.sqrt(n * q * (1 - q))
  const at = (rank: number) => {
    const h = Math.min(n - 1, Math.max(0, rank - 1))
    const lo = Math.floor(h)
    const hi = Math.min(lo + 1, n - 1)
    return sortedSamples[lo]! + (h - lo) * (sortedSamples[hi]! - sortedSamples[lo]!)
  }
  const lo = at(n * q - spread)
  const hi = at(n * q + spread)
  if (!(lo > 0 && hi > 0)) return 0
  return (Math.log(hi) - Math.log(lo)) / 2
}

function validate(s: PairedSettings): void {
  const ok =
    s.alpha > 0 &&
    s.alpha < 1 &&
    Number.isInteger(s.minBlocks) &&
    Number.isInteger(s.maxBlocks) &&
    s.minBlocks >= 1 &&
    s.maxBlocks >= s.minBlocks &&
    s.priorNoisePct >= 0 &&
    s.priorDf >= 0 &&
    s.learnedDfCap > 0 &&
    s.priorConflictAlpha >= 0 &&
    s.priorConflictAlpha < 1 &&
    s.priorDf + s.minBlocks - 1 > 0
  if (!ok) throw new RangeError(`invalid paired settings: ${JSON.stringify(s)}`)
}

interface Look {
  k: number
  fit: Fit
  pAdjusted: number | null
  /** The series' share of α_k at Holm's first step (1/m with equal weights; 1 when not gated). */
  share: number
}

/**
 * Every look from block minBlocks to the last block run (at most K), replayed from the blocks:
 * the function is pure, and the same blocks always give the same verdicts. `final`: the run ends
 * now (time out, interrupted): the undecided become inconclusive (or insufficient_data); `stop`
 * and `stopped` still say only what the stop rule says (the caller knows why it ended).
 */
export function decidePaired(
  series: readonly PairedSeries[],
  settings: PairedSettings = DEFAULT_PAIRED_SETTINGS,
  options: { final?: boolean } = {},
): PairedDecision {
  validate(settings)
  const K = settings.maxBlocks
  const looks = K - settings.minBlocks + 1
  const alphaK = settings.alpha / looks
  const run = Math.min(K, Math.max(0, ...series.map((x) => x.blocks.length)))

  const decided: ((Look & { verdict: PairedVerdict }) | undefined)[] = series.map(() => undefined)
  const last: (Look | undefined)[] = series.map(() => undefined)
  for (let k = settings.minBlocks; k <= run; k++) {
    const fits = series.map((x) => fitBlocks(x.blocks, k, settings, x.prior))
    const tested = (i: number) => (fits[i]?.n ?? 0) >= settings.minBlocks
    const family = series.flatMap((x, i) => (x.gated && tested(i) ? [i] : []))
    const weights = family.map((i) => series[i]!.weight ?? 1)
    const adjusted = weightedHolm(
      family.map((i) => fits[i]!.p),
      weights,
    )
    const pAdj = new Map(family.map((i, r) => [i, Math.min(1, adjusted[r]! * looks)]))
    const totalWeight = weights.reduce((a, b) => a + b, 0)
    series.forEach((x, i) => {
      const f = fits[i]
      if (!f || !tested(i)) return
      // The first Holm step's share of α_k for this series: 1/m with equal weights.
      const share = x.gated ? (x.weight ?? 1) / Math.max(totalWeight, x.weight ?? 1) : 1
      const look: Look = { k, fit: f, pAdjusted: pAdj.get(i) ?? null, share }
      last[i] = look
      if (decided[i]) return
      const effect = Math.abs(toPct(f.mean)) >= x.minEffectPct
      const significant = x.gated ? look.pAdjusted! < settings.alpha : f.p < alphaK
      const worse = x.direction === 'lower_is_better' ? f.mean > 0 : f.mean < 0
      const bound = logPct(x.minEffectPct)
      const half = tUpper(alphaK, f.df) * f.se
      let verdict: PairedVerdict | null = null
      if (significant && effect) verdict = worse ? 'regression' : 'improvement'
      else if (Math.abs(f.mean) + half < bound) verdict = 'unchanged'
      if (verdict) decided[i] = { ...look, verdict }
    })
  }

  const gatedWithData = series.flatMap((x, i) =>
    x.gated && fitBlocks(x.blocks, run, settings, x.prior) !== null ? [i] : [],
  )
  const anyRegression = gatedWithData.some((i) => decided[i]?.verdict === 'regression')
  const allDecided = gatedWithData.length > 0 && gatedWithData.every((i) => decided[i] !== undefined)
  const enough = run >= settings.minBlocks
  let stopped: PairedDecision['stopped'] = null
  if (enough && (anyRegression || allDecided)) stopped = 'decided'
  else if (run >= K) stopped = 'budget'
  const finished = stopped !== null || options.final === true

  const results = series.map((x, i): PairedResult => {
    const look = decided[i] ?? last[i]
    const f = look?.fit ?? fitBlocks(x.blocks, run, settings, x.prior)
    let verdict: PairedVerdict = decided[i]?.verdict ?? 'continue'
    if (!decided[i] && finished)
      verdict = (f?.n ?? 0) >= settings.minBlocks ? 'inconclusive' : 'insufficient_data'
    if (!f) return { ...empty, verdict }
    const bound = logPct(x.minEffectPct)
    const half = tUpper(alphaK, f.df) * f.se
    const share = look?.share ?? 1
    const mde = Math.max(x.minEffectPct, toPct(tUpper((alphaK * share) / 2, f.df) * f.se))
    return {
      verdict,
      decidedAtBlock: decided[i]?.k ?? null,
      deltaPct: toPct(f.mean),
      ciPct: [toPct(f.mean - half), toPct(f.mean + half)],
      p: f.p,
      pAdjusted: look?.pAdjusted ?? null,
      pSignflip: signFlipP(f.d),
      noisePct: toPct(f.s),
      mdePct: mde,
      needed:
        half < bound || verdict === 'regression' || verdict === 'improvement'
          ? null
          : blocksNeeded(f, bound, alphaK),
      blocks: f.n,
      prior: f.prior,
    }
  })
  return { series: results, stop: stopped !== null, stopped, blocks: run }
}

/** The stop rule alone, for the load generator after each block. */
export function shouldStop(
  series: readonly PairedSeries[],
  settings: PairedSettings = DEFAULT_PAIRED_SETTINGS,
): boolean {
  return decidePaired(series, settings).stop
}

const empty: Omit<PairedResult, 'verdict' | 'prior'> & { prior: 'default' } = {
  decidedAtBlock: null,
  deltaPct: null,
  ciPct: null,
  p: null,
  pAdjusted: null,
  pSignflip: null,
  noisePct: null,
  mdePct: null,
  needed: null,
  blocks: 0,
  prior: 'default',
}

/**
 * The smallest n' with t_{1−α_k, ν0+n'−1} · s / √n' ≤ bound (ν0 the prior's, weak or learned), with the current s (the half-width
 * shrinks with n' both through √n' and the t quantile); null when out of reach.
 */
function blocksNeeded(f: Fit, bound: number, alphaK: number): number | null {
  if (!(bound > 0)) return null
  const priorDf = f.df - f.n + 1
  const half = (n: number) => (tUpper(alphaK, priorDf + n - 1) * f.s) / Math.sqrt(n)
  let hi = f.n + 1
  while (half(hi) > bound) {
    hi *= 2
    if (hi > 1e6) return null
  }
  let lo = f.n
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1
    if (half(mid) > bound) lo = mid
    else hi = mid
  }
  return hi
}
