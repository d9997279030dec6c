// Files that a reader may open while they are written (a report another step uploads, a CI
// artifact): shared by the CLI and the Action, which both write reports.
import { renameSync, writeFileSync } from 'node:fs'

/** Writes through a temporary file and a rename, so a reader never sees half a report. */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, text)
  renameSync(tmp, path)
}
