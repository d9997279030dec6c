// One scratch folder for the whole run (reports, datasets, event files), removed at the end.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'infergate-tests-'))
  process.env.INFERGATE_TEST_TMP = dir
  return () => rmSync(dir, { recursive: true, force: true })
}
