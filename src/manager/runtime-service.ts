/** RuntimeService: creates runtimes and reports when they are ready. */
import { status } from '@grpc/grpc-js';
import type { RuntimeServiceServer } from '../gen/runtime/runtime.ts';
import { ManagerError } from './errors.ts';
import { serverStream, unary } from './handlers.ts';
import type { ServiceDeps } from './deps.ts';

const unimplemented = async (): Promise<never> => {
  throw new ManagerError(status.UNIMPLEMENTED, 'not implemented yet');
};

export function runtimeServiceHandlers(deps: ServiceDeps): RuntimeServiceServer {
  return {
    create: unary('Create', unimplemented, deps.logger),
    runtimeStatus: unary('RuntimeStatus', unimplemented, deps.logger),
    watchRuntimeStatus: serverStream('WatchRuntimeStatus', unimplemented, deps.logger),
  };
}
