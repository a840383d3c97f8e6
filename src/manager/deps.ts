/** What every service's handlers are built from. */
import type { KubeClient } from '../kube/index.ts';
import type { Logger } from '../kube/logger.ts';
import type { ManagerConfig } from './config.ts';

export interface ServiceDeps {
  kube: KubeClient;
  config: ManagerConfig;
  logger: Logger;
}
