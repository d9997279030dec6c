// One process per embedded database folder. PGlite is a single-process Postgres: two processes
// on one folder each believe they own it, both acknowledge writes, and half of them are lost.
// The lock is a file created exclusively (written aside, then linked in place); it names its
// holder by pid and the pid's start time, so a lock left by a crash (or whose pid now belongs to
// another process) is taken over at the next start without anyone cleaning up by hand.
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'

interface Holder {
  pid: number
  /** The pid's start time in clock ticks since boot (Linux /proc), to tell a reused pid. */
  start: string | null
  host: string
  since: string
}

export class DataDirLocked extends Error {}

/** A process's start time from /proc/<pid>/stat (field 22), or null where there is no /proc. */
function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) is in parentheses and may hold spaces: count after its end.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null
  } catch {
    return null
  }
}

function alive(h: Holder): boolean {
  if (h.host !== hostname()) return true // another machine's process: not ours to judge
  try {
    process.kill(h.pid, 0)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  const now = startTime(h.pid)
  return h.start === null || now === null || now === h.start
}

function readHolder(path: string): Holder | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Holder
  } catch {
    return null // unreadable or half-written: treated as a stale lock
  }
}

/** Takes the folder's lock or throws DataDirLocked naming its holder; returns the release. */
export function lockDataDir(dir: string): () => void {
  const path = join(dir, 'infergate.lock')
  const me: Holder = {
    pid: process.pid,
    start: startTime(process.pid),
    host: hostname(),
    since: new Date().toISOString(),
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      // Written aside, then linked in place: the lock appears whole or not at all (a link fails
      // when the name exists), so no other process ever reads a half-written one as stale.
      const mine = `${path}.${process.pid}`
      writeFileSync(mine, `${JSON.stringify(me)}\n`)
      try {
        linkSync(mine, path)
      } finally {
        unlinkSync(mine)
      }
      let held = true
      const release = () => {
        if (!held) return
        held = false
        process.off('exit', release)
        if (readHolder(path)?.pid === me.pid) unlinkSync(path)
      }
      process.on('exit', release)
      return release
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
    }
    const holder = readHolder(path)
    if (holder && alive(holder)) {
      throw new DataDirLocked(
        `${dir} is in use by another infergate process (pid ${holder.pid} on ${holder.host}, since ${holder.since}): stop it first, or give this one another data directory`,
      )
    }
    // Stale: moved aside atomically, so of two starting processes only one takes it over. What
    // was moved is checked: if another process took the stale lock over meanwhile and this one
    // moved its fresh lock, that lock goes back (a link fails rather than overwrite a third).
    const aside = `${path}.stale-${process.pid}`
    try {
      renameSync(path, aside)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
      continue
    }
    const moved = readHolder(aside)
    if (
      moved &&
      holder &&
      (moved.pid !== holder.pid || moved.start !== holder.start || moved.since !== holder.since)
    ) {
      try {
        linkSync(aside, path)
      } catch {}
    }
    unlinkSync(aside)
  }
  throw new DataDirLocked(`${dir}: could not take the lock ${path}`)
}
