/**
 * How every part runs under `kre <part>`: it starts piece by piece, registering how to stop each
 * piece as it comes up; it logs one `"msg":"ready"` line with what it serves; SIGINT or SIGTERM
 * stops the pieces in reverse order and the command returns. A failure while starting stops what
 * had started and is thrown on, so that `cli/main.ts` alone decides the exit status (2 for a
 * `ConfigError` or `UsageError`, 1 otherwise).
 *
 * Loaded only when a part's command runs: it brings in the kube core.
 */
import { createLogger, KubeClient, listening, loadKubeConfig, type Logger } from '../kube/index.ts';
import { untilSignal } from './signals.ts';

export interface PartRun {
  log: Logger;
  /** Stops `stop` when the part stops (or fails to start), after everything registered later. */
  defer(stop: () => unknown): void;
}

export async function runPart(name: string, start: (run: PartRun) => Promise<Record<string, unknown>>, log: Logger = createLogger(name)): Promise<void> {
  const stops: Array<() => unknown> = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  };
  let ready: Record<string, unknown>;
  try {
    ready = await start({ log, defer: (stop) => void stops.push(stop) });
  } catch (err) {
    await stopAll();
    throw err;
  }
  log.info(ready, 'ready');
  const signal = await untilSignal();
  log.info({ signal }, 'stopping');
  await stopAll();
  log.info('stopped');
}

/**
 * The kube client of a part, from `--kubeconfig` or kubectl's chain, and which source it came
 * from; a missing or broken kubeconfig is a ConfigError (exit status 2).
 */
export function kubeClient(kubeconfig: string | undefined, part: string): { client: KubeClient; source: string } {
  const { kc, source } = loadKubeConfig({ kubeconfig });
  return { client: new KubeClient(kc, { userAgent: `kre-${part}` }), source };
}

export { listening };
