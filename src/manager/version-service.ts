/** VersionService: starts, stops, publishes and configures versions through `RuntimeVersion`s. */
import { status } from '@grpc/grpc-js';
import type { VersionServiceServer } from '../gen/version/version.ts';
import { ManagerError } from './errors.ts';
import { serverStream, unary } from './handlers.ts';
import type { ServiceDeps } from './deps.ts';

const unimplemented = async (): Promise<never> => {
  throw new ManagerError(status.UNIMPLEMENTED, 'not implemented yet');
};

export function versionServiceHandlers(deps: ServiceDeps): VersionServiceServer {
  return {
    start: unary('Start', unimplemented, deps.logger),
    stop: unary('Stop', unimplemented, deps.logger),
    publish: unary('Publish', unimplemented, deps.logger),
    unpublish: unary('Unpublish', unimplemented, deps.logger),
    updateConfig: unary('UpdateConfig', unimplemented, deps.logger),
    versionStatus: unary('VersionStatus', unimplemented, deps.logger),
    watchVersionStatus: serverStream('WatchVersionStatus', unimplemented, deps.logger),
  };
}
