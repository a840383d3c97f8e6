/**
 * The nodes' tmpfs directories (`/dev/shm/kre-<random>`) say who owns them: a file `owner` with
 * the pid and start time of the process that made them. A process killed with -9 cannot remove
 * its directory, so every new one first removes those whose owner is gone. A directory without an
 * owner file (made by an older version, or being made right now) is left alone: nobody can tell
 * whether its owner still runs.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRunning, parseIdentity, processIdentity } from '../process-identity.ts';

export const TMPFS_PREFIX = 'kre-';
export const OWNER_FILE = 'owner';

/** Removes the `kre-*` directories under `shm` whose owner has died; returns their paths. */
export function removeStaleTmpfsDirs(shm: string): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(shm).filter((n) => n.startsWith(TMPFS_PREFIX));
  } catch {
    return removed;
  }
  for (const name of names) {
    const dir = join(shm, name);
    let owner;
    try {
      owner = parseIdentity(readFileSync(join(dir, OWNER_FILE), 'utf8'));
    } catch {
      continue; // no owner recorded, or another user's directory
    }
    if (!owner || isRunning(owner)) continue;
    try {
      rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    } catch {
      // Another user's, or removed by another process at the same moment.
    }
  }
  return removed;
}

/** Makes `shm/kre-<random>` owned by this process, after removing the stale ones. */
export function makeTmpfsDir(shm: string): string {
  removeStaleTmpfsDirs(shm);
  const dir = mkdtempSync(join(shm, TMPFS_PREFIX));
  writeFileSync(join(dir, OWNER_FILE), JSON.stringify(processIdentity()) + '\n', { mode: 0o600 });
  return dir;
}
