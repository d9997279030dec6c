import { SIM_DEFAULTS, type SimOptions, type SlowPhase, startEngineSim } from '../../engine-sim/server.ts'
import { bool, type CommandSpec, type FlagValues, num, RunError, str, UsageError } from '../args.ts'

const d = SIM_DEFAULTS

export const engineSimSpec: CommandSpec = {
  name: 'engine-sim',
  summary: 'a simulated vLLM: OpenAI-compatible streaming API with the timings you choose',
  usage: 'infergate engine-sim [options]',
  flags: {
    port: {
      type: 'string',
      value: 'N',
      help: 'port to listen on (0 picks a free one)',
      default: String(d.port),
    },
    host: { type: 'string', value: 'ADDR', help: 'address to listen on', default: d.host },
    model: { type: 'string', value: 'NAME', help: 'model name served', default: d.model },
    'ttft-ms': { type: 'string', value: 'MS', help: 'time to first token', default: String(d.ttftMs) },
    'itl-ms': {
      type: 'string',
      value: 'MS',
      help: 'time between tokens (0: as fast as it can)',
      default: String(d.itlMs),
    },
    jitter: {
      type: 'string',
      value: 'F',
      help: 'relative spread of every delay (lognormal)',
      default: String(d.jitter),
    },
    'max-num-seqs': {
      type: 'string',
      value: 'N',
      help: 'requests run at once; the rest wait',
      default: String(d.maxNumSeqs),
    },
    'batch-slowdown': {
      type: 'string',
      value: 'F',
      help: 'ITL × (1 + F × (running − 1))',
      default: String(d.batchSlowdown),
    },
    'prefill-ms-per-1k-tokens': {
      type: 'string',
      value: 'MS',
      help: 'extra TTFT per 1000 prompt tokens',
      default: String(d.prefillMsPer1kTokens),
    },
    'fail-rate': {
      type: 'string',
      value: 'P',
      help: 'share of requests answered HTTP 500',
      default: String(d.failRate),
    },
    'disconnect-rate': {
      type: 'string',
      value: 'P',
      help: 'share of streams cut mid-way',
      default: String(d.disconnectRate),
    },
    'stall-ms': {
      type: 'string',
      value: 'MS',
      help: 'a pause inserted at a random token',
      default: String(d.stallMs),
    },
    'stall-rate': {
      type: 'string',
      value: 'P',
      help: 'share of requests that stall',
      default: String(d.stallRate),
    },
    'max-model-len': {
      type: 'string',
      value: 'N',
      help: 'context length (prompt + max_tokens)',
      default: String(d.maxModelLen),
    },
    'mean-output-tokens': {
      type: 'string',
      value: 'N',
      help: 'mean natural answer length without ignore_eos',
      default: String(d.meanOutputTokens),
    },
    seed: { type: 'string', value: 'N', help: 'seed of jitter, lengths and faults', default: String(d.seed) },
    'close-after-stream': {
      type: 'boolean',
      help: 'say Keep-Alive, yet close the connection after each stream',
    },
    'usage-in-last-chunk': {
      type: 'boolean',
      help: 'usage on the closing chunk, not a choices: [] one (llama.cpp)',
    },
    'slow-phase': {
      type: 'string',
      value: 'AFTER:FOR:PCT[:EVERY]',
      help: 'a slow node phase: every delay PCT% longer from AFTER s for FOR s (repeating every EVERY s)',
    },
    'phase-epoch': {
      type: 'string',
      value: 'MS',
      help: 'time zero of --slow-phase (Unix ms): sims given the same one slow down together',
      default: 'when the sim starts',
    },
  },
  examples: [
    'infergate engine-sim --port 8000 --ttft-ms 80 --itl-ms 12 --max-num-seqs 64 --batch-slowdown 0.01',
    'infergate engine-sim --port 0 --fail-rate 0.05 --disconnect-rate 0.02',
  ],
}

const P = { min: 0, max: 1 }
const MS = { min: 0 }

export function simOptions(v: FlagValues): Partial<SimOptions> {
  const o: Partial<SimOptions> = {
    port: num(v, 'port', { int: true, min: 0, max: 65535 }),
    host: str(v, 'host'),
    model: str(v, 'model'),
    ttftMs: num(v, 'ttft-ms', MS),
    itlMs: num(v, 'itl-ms', MS),
    jitter: num(v, 'jitter', { min: 0, max: 2 }),
    maxNumSeqs: num(v, 'max-num-seqs', { int: true, min: 1 }),
    batchSlowdown: num(v, 'batch-slowdown', { min: 0 }),
    prefillMsPer1kTokens: num(v, 'prefill-ms-per-1k-tokens', MS),
    failRate: num(v, 'fail-rate', P),
    disconnectRate: num(v, 'disconnect-rate', P),
    stallMs: num(v, 'stall-ms', MS),
    stallRate: num(v, 'stall-rate', P),
    maxModelLen: num(v, 'max-model-len', { int: true, min: 2 }),
    meanOutputTokens: num(v, 'mean-output-tokens', { min: 1 }),
    seed: num(v, 'seed', { int: true, min: 0 }),
    closeAfterStream: bool(v, 'close-after-stream') || undefined,
    usageInLastChunk: bool(v, 'usage-in-last-chunk') || undefined,
    slowPhase: slowPhaseOf(str(v, 'slow-phase')),
    epochMs: num(v, 'phase-epoch', { int: true, min: 0 }),
  }
  return Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined))
}

function slowPhaseOf(raw: string | undefined): SlowPhase | undefined {
  if (raw === undefined) return undefined
  const parts = raw.split(':')
  const [after, dur, by, every] = parts.map((x) => (x.trim() === '' ? Number.NaN : Number(x)))
  const ok =
    (parts.length === 3 || parts.length === 4) &&
    [after, dur, by].every((x) => Number.isFinite(x) && x! >= 0) &&
    (every === undefined || (Number.isFinite(every) && every > 0 && every >= after! + dur!))
  if (!ok) {
    throw new UsageError(
      `--slow-phase: expected AFTER:FOR:PCT[:EVERY] in seconds and percent (EVERY ≥ AFTER + FOR), e.g. 10:5:20 or 0:30:15:60, got ${JSON.stringify(raw)}`,
    )
  }
  return { after_s: after!, for_s: dur!, by_pct: by!, every_s: every ?? null }
}

export async function engineSim(values: FlagValues): Promise<number> {
  const o = { ...SIM_DEFAULTS, ...simOptions(values) }
  let sim: Awaited<ReturnType<typeof startEngineSim>>
  try {
    sim = await startEngineSim(o)
  } catch (e) {
    const err = e as { code?: string; message: string }
    const why =
      err.code === 'EADDRINUSE'
        ? 'the port is in use'
        : err.code === 'EACCES'
          ? 'permission denied'
          : err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND'
            ? 'no such address on this machine'
            : err.message
    throw new RunError(`cannot listen on ${o.host}:${o.port}: ${why}`)
  }
  // Tests and scripts read this line to learn the port.
  process.stdout.write(
    `engine-sim serving ${o.model} at ${sim.url} (ttft ${o.ttftMs} ms, itl ${o.itlMs} ms, jitter ${o.jitter}, max-num-seqs ${o.maxNumSeqs}${o.closeAfterStream ? ', closing every connection after its stream' : ''}${o.usageInLastChunk ? ', usage in the last chunk' : ''}${o.slowPhase ? `, ${o.slowPhase.by_pct}% slower from ${o.slowPhase.after_s} s for ${o.slowPhase.for_s} s${o.slowPhase.every_s ? ` every ${o.slowPhase.every_s} s` : ''}` : ''})\n`,
  )
  await new Promise<void>((resolve) => {
    const stop = () => resolve()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
  await sim.close()
  return 0
}
