// Runs engine-sim as its own process (as a real server would be), and learns its URL from
// the line it prints. Used by the demo and the tests.
import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'

export interface SimProcess {
  url: string
  child: ChildProcess
  stop(): Promise<void>
}

export function spawnEngineSim(
  entry: string,
  args: string[],
  timeoutMs = 20_000,
  /** Node's own flags, before the entry (the bin's, when measuring it as users run it). */
  nodeFlags: string[] = [],
): Promise<SimProcess> {
  const child = spawn(process.execPath, [...nodeFlags, entry, 'engine-sim', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString()
  })
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve()
      child.once('exit', () => resolve())
      child.kill('SIGTERM')
    })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop()
      reject(new Error(`engine-sim did not start within ${timeoutMs} ms: ${stderr}`))
    }, timeoutMs)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`engine-sim exited with ${code}: ${stderr.trim()}`))
    })
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = line.match(/ at (http:\/\/\S+)/)
      if (m) {
        clearTimeout(timer)
        child.removeAllListeners('exit')
        resolve({ url: m[1]!, child, stop })
      }
    })
  })
}
