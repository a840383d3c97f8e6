/**
 * SIGINT and SIGTERM, caught from the moment the command starts: a signal that arrives while a
 * part is still starting is kept, and the part stops cleanly as soon as it is up. A second signal
 * while stopping ends the process at once, as users expect from a second Ctrl-C.
 *
 * Every part stops within 2 s of the signal: a drain still running then (requests in flight to a
 * slow server, a busy loop) is cut short with status 1 and a line saying so, so a supervisor never
 * has to follow up with SIGKILL.
 *
 * Started by npm (`npx kre …`), the process doing the work is a grandchild: npm → `sh -c kre …`
 * → node. npm passes a signal on to the shell, but the shell dies without passing it to node,
 * which would be left running. So under npm the parent is watched: when it goes away (the process
 * is re-parented), that is taken as SIGTERM.
 */
let received: NodeJS.Signals | undefined;
const waiters: Array<(sig: NodeJS.Signals) => void> = [];
let installed = false;

/** How long a part may take to stop after the first signal. */
export const STOP_DEADLINE_MS = 1800;
const PARENT_POLL_MS = 100;

/** How the process ends when a stop cannot wait for the drain; `cli/main.ts` gives it. */
export type ForcedExit = (reason: { secondSignal: NodeJS.Signals } | { drainTooLong: NodeJS.Signals }) => void;

export function catchSignals(forcedExit: ForcedExit = () => process.exit(1)): void {
  if (installed) return;
  installed = true;
  const on = (sig: NodeJS.Signals) => {
    if (received) return forcedExit({ secondSignal: sig });
    received = sig;
    setTimeout(() => forcedExit({ drainTooLong: sig }), STOP_DEADLINE_MS).unref();
    for (const w of waiters.splice(0)) w(sig);
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  const parent = process.ppid;
  if (process.env.npm_command && parent > 1) {
    const watch = setInterval(() => {
      if (process.ppid === parent) return;
      clearInterval(watch);
      if (!received) on('SIGTERM');
    }, PARENT_POLL_MS);
    watch.unref();
  }
}

/** Resolves on the first SIGINT or SIGTERM (at once if one came already). */
export function untilSignal(): Promise<NodeJS.Signals> {
  catchSignals();
  if (received) return Promise.resolve(received);
  return new Promise((resolve) => waiters.push(resolve));
}
