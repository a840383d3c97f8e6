/**
 * SIGINT and SIGTERM, caught from the moment the command starts: a signal that arrives while a
 * part is still starting is kept, and the part stops cleanly as soon as it is up. A second signal
 * while stopping ends the process at once, as users expect from a second Ctrl-C.
 */
let received: NodeJS.Signals | undefined;
const waiters: Array<(sig: NodeJS.Signals) => void> = [];
let installed = false;

export function catchSignals(): void {
  if (installed) return;
  installed = true;
  const on = (sig: NodeJS.Signals) => {
    if (received) process.exit(sig === 'SIGINT' ? 130 : 143);
    received = sig;
    for (const w of waiters.splice(0)) w(sig);
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
}

/** Resolves on the first SIGINT or SIGTERM (at once if one came already). */
export function untilSignal(): Promise<NodeJS.Signals> {
  catchSignals();
  if (received) return Promise.resolve(received);
  return new Promise((resolve) => waiters.push(resolve));
}
