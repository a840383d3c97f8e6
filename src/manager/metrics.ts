/**
 * The manager's own metrics: calls by method and status code, and how long unary calls took. One
 * interceptor sees every call, the resource metrics handlers' included. Method labels are the
 * served methods only, so a client cannot grow the label set.
 */
import { ServerInterceptingCall, status, type ServerInterceptor } from '@grpc/grpc-js';
import { Counter, Histogram, type Registry } from 'prom-client';

const CODE_NAMES = Object.fromEntries(Object.entries(status).filter(([, v]) => typeof v === 'number').map(([k, v]) => [v as number, k]));

export function metricsInterceptor(registry: Registry, servedMethods: Set<string>): ServerInterceptor {
  const calls = new Counter({ name: 'kre_manager_grpc_calls_total', help: 'gRPC calls answered, by method and status code', labelNames: ['method', 'code'], registers: [registry] });
  const seconds = new Histogram({
    name: 'kre_manager_grpc_call_duration_seconds',
    help: 'Time from a call to its status, by method (streams: how long they stayed open)',
    labelNames: ['method'],
    buckets: [0.005, 0.02, 0.1, 0.5, 2, 10, 60, 300],
    registers: [registry],
  });
  return (method, call) => {
    const name = servedMethods.has(method.path) ? method.path : 'other';
    const started = process.hrtime.bigint();
    return new ServerInterceptingCall(call, {
      sendStatus: (st, next) => {
        calls.inc({ method: name, code: CODE_NAMES[st.code] ?? String(st.code) });
        seconds.observe({ method: name }, Number(process.hrtime.bigint() - started) / 1e9);
        next(st);
      },
    });
  };
}
