/**
 * The `RuntimeVersion` custom resource: one version of a runtime's model — its entrypoint, its
 * configuration and its workflows of nodes joined by NATS subjects — started or stopped.
 */
import { z } from 'zod';
import type { KubeObject } from '../kube/index.ts';
import { condition, configKey, dnsLabel, fileKey, imageReference, secretReference } from './fields.ts';
import { API_VERSION, GROUP, VERSION } from './runtime.ts';

export const RUNTIME_VERSIONS = { group: GROUP, version: VERSION, plural: 'runtimeversions', kind: 'RuntimeVersion', namespaced: true } as const;

/** A node's id ends up in its Deployment's name and labels, so it follows the DNS label rule. */
const nodeId = dnsLabel.max(24);

export const WorkflowNode = z.object({
  id: nodeId,
  name: dnsLabel.max(30),
  image: imageReference,
  src: z.string().min(1).max(1024).describe('the handler, relative to the version files'),
  replicas: z.number().int().min(1).max(100).default(1),
});
export type WorkflowNode = z.infer<typeof WorkflowNode>;

export const WorkflowEdge = z.object({
  /** The NATS subject between the two nodes. */
  id: z.string().min(1).max(128).regex(/^[a-zA-Z0-9_-]+$/),
  fromNode: nodeId,
  toNode: nodeId,
});
export type WorkflowEdge = z.infer<typeof WorkflowEdge>;

export const Workflow = z.object({
  id: z.string().min(1).max(128).regex(/^[a-zA-Z0-9_-]+$/),
  name: z.string().min(1).max(63).regex(/^[a-zA-Z0-9]([-_a-zA-Z0-9]*[a-zA-Z0-9])?$/),
  /** The entrypoint method that feeds this workflow. */
  entrypoint: z.string().min(1).max(63).regex(/^[a-zA-Z0-9]([-_a-zA-Z0-9]*[a-zA-Z0-9])?$/),
  nodes: z.array(WorkflowNode).min(1).max(100),
  edges: z.array(WorkflowEdge).max(100).default([]),
});
export type Workflow = z.infer<typeof Workflow>;

export const VersionState = z.enum(['Started', 'Stopped']);
export type VersionState = z.infer<typeof VersionState>;

export const RuntimeVersionSpec = z.object({
  versionId: z.string().min(1).max(128),
  entrypoint: z.object({
    image: imageReference,
    protoFile: z.string().min(1).max(1024).describe("the entrypoint's .proto file, relative to the version files"),
  }),
  config: z.array(z.object({ key: configKey, value: z.string().max(65536) })).max(256).default([]),
  configFiles: z.array(z.object({ key: fileKey, value: z.string().max(262144) })).max(64).default([]),
  workflows: z.array(Workflow).min(1).max(32),
  state: VersionState.default('Started'),
  /** The seed's per-version `mongo_uri`: it holds a password, so only a Secret reference is in the spec. */
  mongoUriSecret: secretReference
    .optional()
    .describe("a Secret whose `uri` key is the version's KRT_MONGO_URI; none: the runtime's own MongoDB"),
  mongoDbName: z
    .string()
    .min(1)
    .max(38)
    .regex(/^[a-zA-Z0-9_-]+$/)
    .optional()
    .describe("the version's KRT_MONGO_DB_NAME; none: the runtime's spec.mongo.dbName"),
});
export type RuntimeVersionSpec = z.infer<typeof RuntimeVersionSpec>;
/** A RuntimeVersion's spec as written: the fields with defaults may be left out. */
export type RuntimeVersionSpecInput = z.input<typeof RuntimeVersionSpec>;

export const VersionPhase = z.enum(['Starting', 'Running', 'Degraded', 'Stopping', 'Stopped', 'Failed', 'Waiting']);
export type VersionPhase = z.infer<typeof VersionPhase>;

export const NodeStatus = z.object({
  workflow: z.string(),
  id: z.string(),
  name: z.string(),
  deployment: z.string(),
  replicas: z.number().int().min(0),
  readyReplicas: z.number().int().min(0),
  ready: z.boolean(),
});
export type NodeStatus = z.infer<typeof NodeStatus>;

export const RuntimeVersionStatus = z.object({
  phase: VersionPhase.optional(),
  ready: z.string().optional().describe('ready workloads (nodes and entrypoint) out of all, e.g. 4/4'),
  published: z.boolean().optional(),
  observedGeneration: z.number().int().min(0).optional(),
  entrypointReady: z.boolean().optional(),
  nodes: z.array(NodeStatus).optional(),
  conditions: z.array(condition).optional(),
});
export type RuntimeVersionStatus = z.infer<typeof RuntimeVersionStatus>;

export interface RuntimeVersion extends KubeObject {
  apiVersion: typeof API_VERSION;
  kind: 'RuntimeVersion';
  spec: RuntimeVersionSpec;
  status?: RuntimeVersionStatus;
}

/**
 * A RuntimeVersion as written to and read from the API server, its spec not parsed yet: the spec
 * as written, the status as the CRD's schema let it through. Any `KubeObject` is assignable to it;
 * a `RuntimeVersion` is what `RuntimeVersionSpec` makes of it.
 */
export interface RuntimeVersionObject extends KubeObject {
  spec?: RuntimeVersionSpecInput;
  status?: RuntimeVersionStatus;
}

export const RuntimeVersionConditions = {
  ready: 'Ready',
  invalidSpec: 'InvalidSpec',
  /** Whether the namespace's Runtime (MongoDB, NATS, MinIO) is Running; a version waits for it to start. */
  runtimeReady: 'RuntimeReady',
} as const;
