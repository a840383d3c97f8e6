/** What every service's handlers are built from. */
import type { KubeClient } from '../kube/index.ts';
import type { Logger } from '../kube/index.ts';
import type { ManagerConfig } from './config.ts';
import type { ObjectFollower } from './follow.ts';

/** A rule of a Role, as RBAC writes it. */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

export interface ServiceDeps {
  kube: KubeClient;
  config: ManagerConfig;
  logger: Logger;
  runtimes: ObjectFollower;
  versions: ObjectFollower;
  /** What the operator needs in a runtime's namespace: the Role `Create` writes in per-namespace mode. */
  operatorRules: PolicyRule[];
  /** Aborted when the manager stops: streams end then instead of holding the drain. */
  stopping: AbortSignal;
}

/** The field manager of every server-side apply the manager makes. */
export const FIELD_MANAGER = 'kre-manager';

/** How long a call that waits on the operator may wait: its deadline, the configured limit, the manager's life. */
export function waitFor(deps: ServiceDeps, call: { signal: AbortSignal; deadline: number | undefined }) {
  return { call, maxMs: deps.config.waitTimeoutSeconds * 1000, stopping: deps.stopping };
}
