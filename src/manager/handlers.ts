/**
 * Adapters from the manager's handler shape — an async function of the request and a `CallContext`
 * — to grpc-js's callbacks. Every error goes through `toServiceError`, and nothing a client sends
 * can make a handler's failure escape as an unhandled rejection.
 */
import type { handleServerStreamingCall, handleUnaryCall, ServerUnaryCall, ServerWritableStream } from '@grpc/grpc-js';
import type { Logger } from '../kube/index.ts';
import { toServiceError } from './errors.ts';

export interface CallContext {
  /** Aborted when the client cancels or goes away, or the call's deadline passes. */
  signal: AbortSignal;
  /** Epoch ms of the call's deadline; undefined when the caller set none. */
  deadline: number | undefined;
}

function contextOf(call: ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>): { ctx: CallContext; done(): void } {
  const abort = new AbortController();
  const d = call.getDeadline();
  const deadline = d instanceof Date ? d.getTime() : Number.isFinite(d) ? Number(d) : undefined;
  const onCancel = () => abort.abort(new Error('the call was cancelled'));
  call.on('cancelled', onCancel);
  let timer: NodeJS.Timeout | undefined;
  if (deadline !== undefined) timer = setTimeout(() => abort.abort(new Error('the call deadline passed')), Math.max(0, deadline - Date.now()));
  return {
    ctx: { signal: abort.signal, deadline },
    done: () => {
      clearTimeout(timer);
      call.removeListener('cancelled', onCancel);
    },
  };
}

function logFailure(log: Logger | undefined, method: string, err: unknown, code: number): void {
  // INTERNAL means a fault of the manager: log the error itself. Others are the caller's outcome.
  if (code === 13) log?.error({ method, err }, 'call failed');
  else log?.debug({ method, code, msg: (err as Error)?.message }, 'call answered an error');
}

export function unary<Req, Res>(method: string, fn: (req: Req, ctx: CallContext) => Promise<Res>, log?: Logger): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const { ctx, done } = contextOf(call as ServerUnaryCall<unknown, unknown>);
    Promise.resolve()
      .then(() => fn(call.request, ctx))
      .then(
        (res) => callback(null, res),
        (err: unknown) => {
          const e = toServiceError(err);
          logFailure(log, method, err, e.code);
          callback(e);
        },
      )
      .finally(done)
      .catch(() => undefined);
  };
}

/**
 * A server stream: `fn` sends with `send` until it returns (the stream ends OK) or throws (the
 * stream ends with that error's status). `send` resolves once the message is handed to the
 * transport, waiting while the client's window is full, so a slow client slows its own producer.
 */
export function serverStream<Req, Res>(
  method: string,
  fn: (req: Req, send: (msg: Res) => Promise<void>, ctx: CallContext) => Promise<void>,
  log?: Logger,
): handleServerStreamingCall<Req, Res> {
  return (call) => {
    const { ctx, done } = contextOf(call as ServerWritableStream<unknown, unknown>);
    const send = (msg: Res): Promise<void> =>
      new Promise((resolve) => {
        if (ctx.signal.aborted || call.destroyed) return resolve();
        if (call.write(msg)) return resolve();
        const onDrain = () => {
          ctx.signal.removeEventListener('abort', onDrain);
          call.removeListener('drain', onDrain);
          resolve();
        };
        call.once('drain', onDrain);
        ctx.signal.addEventListener('abort', onDrain, { once: true });
      });
    Promise.resolve()
      .then(() => fn(call.request, send, ctx))
      .then(
        () => {
          if (!ctx.signal.aborted) call.end();
        },
        (err: unknown) => {
          const e = toServiceError(err);
          logFailure(log, method, err, e.code);
          if (!ctx.signal.aborted) call.emit('error', e);
        },
      )
      .finally(done)
      .catch(() => undefined);
  };
}
