/**
 * The one place where what went wrong becomes a gRPC status. Handlers throw `ManagerError`s (or let
 * errors from the kube client through); `toServiceError` turns any of them into the status the
 * caller sees, so that codes and wording stay the same across the three services.
 */
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { KubeApiError } from '../kube/index.ts';

/**
 * A failure the caller can act on.
 * - `code`: the gRPC status code the caller receives.
 * - `field`: for INVALID_ARGUMENT, the request field at fault as a path (`version.workflows[0].nodes[1].name`),
 *   also sent as the `kre-field` trailer so that a program can point at it without parsing the message.
 */
export class ManagerError extends Error {
  constructor(
    readonly code: status,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ManagerError';
  }
}

/** A request field that is missing or breaks a rule; the message starts with the field's path. */
export const invalidArgument = (field: string, problem: string): ManagerError => new ManagerError(status.INVALID_ARGUMENT, `${field}: ${problem}`, field);
export const notFound = (what: string): ManagerError => new ManagerError(status.NOT_FOUND, `${what} not found`);
export const alreadyExists = (what: string): ManagerError => new ManagerError(status.ALREADY_EXISTS, `${what} already exists`);
export const failedPrecondition = (message: string): ManagerError => new ManagerError(status.FAILED_PRECONDITION, message);
/** `what` names the dependency that is away: "the Kubernetes API server", "Prometheus at http://…". */
export const unavailable = (what: string, reason: string): ManagerError => new ManagerError(status.UNAVAILABLE, `${what} is unavailable: ${reason}`);
export const unauthenticated = (message: string): ManagerError => new ManagerError(status.UNAUTHENTICATED, message);
export const deadlineExceeded = (message: string): ManagerError => new ManagerError(status.DEADLINE_EXCEEDED, message);

/** Network failures that mean the API server could not be reached at all. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET']);

export function isUnreachable(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && UNREACHABLE.has(code)) return true;
  const msg = (err as Error | undefined)?.message ?? '';
  return /socket hang up|request timed out|timeout/i.test(msg) && !(err instanceof KubeApiError);
}

/** A gRPC status for any error a handler met. Unknown errors become INTERNAL without their details. */
export function toServiceError(err: unknown): Partial<ServiceError> & { code: status; details: string } {
  if (err instanceof ManagerError) {
    const metadata = new Metadata();
    if (err.field) metadata.set('kre-field', err.field);
    return { code: err.code, details: err.message, metadata };
  }
  if (err instanceof KubeApiError) {
    const what = `the Kubernetes API server answered ${err.code} ${err.reason}: ${err.message}`;
    switch (err.code) {
      case 404:
        return { code: status.NOT_FOUND, details: what };
      case 409:
        return { code: err.reason === 'AlreadyExists' ? status.ALREADY_EXISTS : status.ABORTED, details: what };
      case 400:
      case 422:
        return { code: status.INVALID_ARGUMENT, details: what };
      case 401:
      case 403:
        // The manager's own credentials are refused: not the caller's fault, and nothing it can fix.
        return { code: status.PERMISSION_DENIED, details: what };
      case 429:
      case 500:
      case 503:
      case 504:
        return { code: status.UNAVAILABLE, details: `the Kubernetes API server is unavailable: ${err.code} ${err.reason}: ${err.message}` };
      default:
        return { code: status.INTERNAL, details: what };
    }
  }
  if (isUnreachable(err)) return { code: status.UNAVAILABLE, details: `the Kubernetes API server is unavailable: ${(err as Error).message}` };
  return { code: status.INTERNAL, details: 'internal error' };
}
