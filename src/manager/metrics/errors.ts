/**
 * What can go wrong when serving a version's metrics, in the words a caller needs: its request was
 * wrong (and which field), the source of the numbers is away (and which, and why), or it asked for
 * more than the manager keeps for it, or the manager's own configuration is wrong (`internal`: a
 * query template Prometheus rejects). The gRPC service maps `kind` to a status code in one place.
 */
export type MetricsErrorKind = 'invalid-argument' | 'unavailable' | 'resource-exhausted' | 'internal';

export class MetricsError extends Error {
  constructor(
    readonly kind: MetricsErrorKind,
    message: string,
    /** The request field at fault, for `invalid-argument`. */
    readonly field?: string,
  ) {
    super(message);
  }
}

export function invalidArgument(field: string, problem: string): MetricsError {
  return new MetricsError('invalid-argument', `${field}: ${problem}`, field);
}

export function unavailable(message: string): MetricsError {
  return new MetricsError('unavailable', message);
}
