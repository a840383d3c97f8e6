import { pino, type Logger } from 'pino';

/**
 * The JSON logger every part uses: one line per event, with the part's name, so that the logs of
 * `kre dev` (all parts in one process) can be told apart. `KRE_LOG_LEVEL` sets the level.
 */
export function createLogger(part: string, level = process.env.KRE_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { part }, timestamp: pino.stdTimeFunctions.isoTime });
}

export type { Logger };
