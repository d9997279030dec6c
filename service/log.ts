// Structured logs: one JSON object per line (time, level, msg, fields), ready for any collector.
export type Level = 'info' | 'warn' | 'error'
export type Log = (level: Level, msg: string, fields?: Record<string, unknown>) => void

export const silent: Log = () => {}

export function jsonLog(write: (line: string) => void = (l) => process.stdout.write(l)): Log {
  return (level, msg, fields = {}) => {
    write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`)
  }
}
