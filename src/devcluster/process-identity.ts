/**
 * Who owns a file left on disk (the state dir's lock, a tmpfs directory of cgroup files): a pid and
 * that process's start time, so that a pid reused by another program after the owner died is not
 * taken for the owner.
 */
import { readFileSync } from 'node:fs';

export interface ProcessIdentity {
  pid: number;
  /** The process's start time in clock ticks since boot (/proc/<pid>/stat), where /proc tells. */
  started?: number;
}

/** The start time of a process, from /proc; undefined where /proc cannot tell. */
function startTimeOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[19]);
  } catch {
    return undefined;
  }
}

/** This process. */
export function processIdentity(): ProcessIdentity {
  return identityOf(process.pid);
}

/** Another process, such as a child just started. */
export function identityOf(pid: number): ProcessIdentity {
  return { pid, started: startTimeOf(pid) };
}

/** Whether the process is still running (also as another user's; a reused pid is not). */
export function isRunning(owner: ProcessIdentity): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (owner.started === undefined) return true;
  const started = startTimeOf(owner.pid);
  return started === undefined || started === owner.started;
}

/** Reads an identity written as JSON, or undefined when the text is not one. */
export function parseIdentity(text: string): ProcessIdentity | undefined {
  try {
    const v = JSON.parse(text);
    if (Number.isSafeInteger(v?.pid) && v.pid > 0 && (v.started === undefined || typeof v.started === 'number')) return v;
  } catch {
    // Not an identity.
  }
  return undefined;
}
