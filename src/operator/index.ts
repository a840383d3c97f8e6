/** The operator: Runtime and RuntimeVersion reconciled into the workloads of a KRE runtime. */
export { startOperator, LEASE_NAME, type Operator, type OperatorOptions } from './operator.ts';
export { installCustomResourceDefinitions } from './install.ts';
export { RuntimeReconciler, activeRuntime } from './runtime-reconciler.ts';
export { RuntimeVersionReconciler } from './version-reconciler.ts';
export { FIELD_MANAGER } from './children.ts';
export * from './runtime-objects.ts';
export * from './version-objects.ts';
export { loadOperatorConfig, type OperatorConfig } from './config.ts';
export { renderDeployManifests, operatorRules } from './deploy.ts';
