/**
 * The devcluster's state directory belongs to one process at a time, and to its user only.
 *
 * The lock is a file `lock` holding the owner's pid, the start time of that process (so that a pid
 * reused by another program is not taken for the owner) and, once it serves, its URL. It is made
 * whole in a file of our own and linked into place, so that another process never reads it half
 * written and two processes can never both create it. A lock whose process is gone is taken over.
 *
 * Objects, credentials and the token are secrets: the directory is 0700 and every file in it 0600,
 * also when it was made by an older version or by hand with looser modes.
 */
import { chmodSync, linkSync, lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isRunning, parseIdentity, processIdentity, type ProcessIdentity } from './process-identity.ts';

export const LOCK_FILE = 'lock';

interface LockRecord extends ProcessIdentity {
  url?: string;
}

/** Another live process holds the state dir. */
export class StateDirLockedError extends Error {
  constructor(
    readonly stateDir: string,
    readonly pid: number,
    readonly url: string | undefined,
  ) {
    super(
      `the state dir ${stateDir} is in use by another kre devcluster (pid ${pid}${url ? `, serving ${url}` : ', still starting'}): ` +
        `stop it first, or pass another --state-dir`,
    );
    this.name = 'StateDirLockedError';
  }
}

function readLock(path: string): { text: string; rec?: LockRecord } | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  // Not an identity: not a lock this program wrote whole, so nobody owns it.
  return { text, rec: parseIdentity(text) as LockRecord | undefined };
}

/** Dirs locked by this process: a second devcluster in the same process is refused as well. */
const heldHere = new Set<string>();

export interface StateDirLock {
  /** Records the URL the owner serves, for the message a second process prints. */
  setUrl(url: string): void;
  release(): void;
}

/**
 * Takes the lock of `dir` (creating the directory, 0700, if it does not exist), before anything
 * else in it is read or written. Throws StateDirLockedError when a live process holds it.
 */
export function lockStateDir(stateDir: string): StateDirLock {
  const dir = resolve(stateDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, LOCK_FILE);
  const me: LockRecord = processIdentity();
  const mine = `${path}.${process.pid}`;
  const writeMine = (rec: LockRecord) => writeFileSync(mine, JSON.stringify(rec) + '\n', { mode: 0o600 });
  writeMine(me);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(mine, path);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 5) throw err;
      }
      const held = readLock(path);
      if (!held) continue;
      const owner = held.rec;
      if (owner && (owner.pid === process.pid ? heldHere.has(dir) : isRunning(owner))) throw new StateDirLockedError(dir, owner.pid, owner.url);
      // Stale: move it aside, and make sure what was moved is the stale lock read above and not
      // one another process has just taken; if it was, put it back and look again.
      const aside = `${path}.stale.${process.pid}`;
      try {
        renameSync(path, aside);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      if (readFileSync(aside, 'utf8') !== held.text) {
        try {
          linkSync(aside, path);
        } catch {
          // Someone holds it again; the loop finds out who.
        }
      }
      unlinkSync(aside);
    }
  } finally {
    unlinkSync(mine);
  }
  heldHere.add(dir);
  let released = false;
  return {
    setUrl(url: string) {
      if (released) return;
      writeMine({ ...me, url });
      renameSync(mine, path);
    },
    release() {
      if (released) return;
      released = true;
      heldHere.delete(dir);
      const held = readLock(path);
      if (held?.rec?.pid === process.pid) unlinkSync(path);
    },
  };
}

/** Makes `dir` 0700 and everything under it private: directories 0700, files 0600. */
export function securePermissions(dir: string): void {
  chmodSync(dir, 0o700);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) securePermissions(path);
    else if (entry.isFile() && (lstatSync(path).mode & 0o777) !== 0o600) chmodSync(path, 0o600);
  }
}
