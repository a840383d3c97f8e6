import { pino, type Logger } from 'pino';

/**
 * The JSON logger every part uses: one line per event, with the part's name, so that the logs of
 * `kre dev` (all parts in one process) can be told apart. `KRE_LOG_LEVEL` sets the level.
 */
export function createLogger(part: string, level = process.env.KRE_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { part }, timestamp: pino.stdTimeFunctions.isoTime, serializers: { err: serializeError } });
}

/** The longest message or stack an error puts in a log line. */
export const MAX_ERROR_TEXT = 1024;

const bounded = (s: string, max = MAX_ERROR_TEXT): string => (s.length > max ? `${s.slice(0, max)}… (${s.length - max} more characters)` : s);

/**
 * An error as one bounded log field. An API server's refusal is its message, reason and code —
 * not its Status (which repeats the message in its causes) and not a stack, which says nothing
 * about the server's answer; any other error keeps a bounded stack, because it is a bug to find.
 */
export function serializeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: bounded(String(err)) };
  const api = err as Error & { code?: unknown; reason?: unknown; status?: unknown };
  if (typeof api.reason === 'string' && typeof api.code === 'number') {
    return { type: err.name, message: bounded(err.message), reason: api.reason, code: api.code };
  }
  const out: Record<string, unknown> = { type: err.name, message: bounded(err.message) };
  if (typeof api.code === 'string' || typeof api.code === 'number') out.code = api.code;
  if (err.stack) out.stack = bounded(err.stack, 2 * MAX_ERROR_TEXT);
  if (err.cause !== undefined) out.cause = err.cause instanceof Error ? bounded(err.cause.message) : bounded(String(err.cause));
  return out;
}

export type { Logger };
