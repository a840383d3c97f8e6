/**
 * The client of the manager's gRPC API, as a library: connections, runtimes, versions, their
 * metrics, and `.krt` version packages. The `kre runtime|version|krt` commands are built on it.
 */
export { ClientError, Connection, InputError, clientError, type ConnectionOptions, type TlsOptions } from './connection.ts';
export { createRuntime, generateCredentials, readCredentialsFile, runtimeNamespace, runtimeStatus, waitForRuntime, RuntimeCredentials, type CreateRuntimeResult, type WaitOptions } from './runtime.ts';
export { parseAssignments, startVersion, undeclaredKeys, updateConfig, versionAction, versionStatus, watchVersionStatus, WAITING_CALL_MS, type VersionAction } from './version.ts';
export { defaultStep, parseStep, parseTime, versionMetrics, watchVersionMetrics, type MetricsPoint, type MetricsRange } from './metrics.ts';
export { KrtError, KrtManifest, MANIFEST_FILE, parseManifest, nodeId, type KrtProblem } from './krt/manifest.ts';
export { DEFAULT_LIMITS, KRT_SUFFIX, packKrt, readKrt, readKrtDir, readKrtFile, type KrtLimits, type KrtPackage } from './krt/package.ts';
export { versionId, versionMessage, type ConfigValue } from './krt/version.ts';
