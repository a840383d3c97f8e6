/**
 * The custom resources: their types, the zod schemas that parse them, the CRDs derived from those
 * schemas, and the rules a schema cannot express. The contract between the manager and the operator.
 */
export * from './fields.ts';
export * from './runtime.ts';
export * from './runtime-version.ts';
export { toStructuralSchema, runtimeCRD, runtimeVersionCRD, customResourceDefinitions } from './crd.ts';
export { checkRuntime, checkRuntimeVersion, schemaProblems, workflowChain, MAX_LABEL_VALUE, RUNTIME_LABEL, type SpecProblem } from './rules.ts';
