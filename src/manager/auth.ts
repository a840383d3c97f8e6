/**
 * Bearer-token authentication for every RPC but the health and reflection services, which stay
 * open like `/livez`: a load balancer or `grpcurl list` needs no secret. The token is compared in
 * constant time and never logged.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Metadata, ServerInterceptingCall, status, type ServerInterceptor } from '@grpc/grpc-js';

const OPEN_PREFIXES = ['/grpc.health.v1.Health/', '/grpc.reflection.v1.ServerReflection/', '/grpc.reflection.v1alpha.ServerReflection/'];

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Whether `authorization` metadata carries `Bearer <token>`; comparing digests keeps the time independent of the token. */
export function bearerMatches(metadata: Metadata, token: string): boolean {
  const values = metadata.get('authorization');
  if (values.length !== 1 || typeof values[0] !== 'string') return false;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(values[0]);
  return m !== null && timingSafeEqual(digest(m[1]), digest(token));
}

export function authInterceptor(token: string): ServerInterceptor {
  return (method, call) => {
    if (OPEN_PREFIXES.some((p) => method.path.startsWith(p))) return new ServerInterceptingCall(call);
    return new ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (metadata, mdNext) => {
            if (bearerMatches(metadata, token)) return mdNext(metadata);
            const hasAny = metadata.get('authorization').length > 0;
            call.sendStatus({
              code: status.UNAUTHENTICATED,
              details: hasAny ? 'the bearer token is not valid' : 'missing "authorization: Bearer <token>" metadata',
              metadata: new Metadata(),
            });
          },
        });
      },
    });
  };
}
