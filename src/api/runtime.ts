/**
 * The `Runtime` custom resource: the infrastructure a runtime's versions share (MongoDB, NATS,
 * MinIO) and which version is published. One per namespace.
 */
import { z } from 'zod';
import type { KubeObject } from '../kube/index.ts';
import { condition, dnsSubdomain, hostName, imageReference, secretReference, storage, versionName } from './fields.ts';

export const GROUP = 'kre.konstellation.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

export const RUNTIMES = { group: GROUP, version: VERSION, plural: 'runtimes', kind: 'Runtime', namespaced: true } as const;

/** Keys of the MongoDB credentials Secret, whether referenced or generated. */
export const MONGO_SECRET_KEYS = ['username', 'password', 'sharedKey'] as const;
/** Keys of the MinIO credentials Secret, whether referenced or generated. */
export const MINIO_SECRET_KEYS = ['accessKey', 'secretKey'] as const;

export const RuntimeSpec = z.object({
  developmentMode: z.boolean().default(false).describe('one MongoDB replica instead of three'),
  publishedVersion: versionName
    .optional()
    .describe('the RuntimeVersion the active-entrypoint Service selects; none: no Service'),
  entrypoint: z
    .object({ host: hostName.optional().describe("the host name the published version's web port is served on") })
    .prefault({}),
  sharedStorageClass: dnsSubdomain.optional().describe('the StorageClass of every volume that names none'),
  mongo: z
    .object({
      image: imageReference.default('mongo:4.2.8'),
      replicas: z.number().int().min(1).max(7).optional().describe('default 3, or 1 in development mode'),
      dbName: z.string().min(1).max(38).regex(/^[a-zA-Z0-9_-]+$/).default('data').describe('the database versions write to'),
      persistentVolume: z.object({ enabled: z.boolean().default(true) }).prefault({}),
      storage: storage('5Gi'),
      credentialsSecret: secretReference
        .optional()
        .describe('a Secret with username, password and sharedKey; none: generated'),
    })
    .prefault({}),
  nats: z
    .object({
      image: imageReference.default('nats:2.10.22-alpine'),
      replicas: z.number().int().min(1).max(9).default(2),
      storage: storage('1Gi'),
    })
    .prefault({}),
  minio: z
    .object({
      image: imageReference.default('minio/minio:RELEASE.2020-06-03T22-13-49Z'),
      storage: storage('10Gi'),
      credentialsSecret: secretReference.optional().describe('a Secret with accessKey and secretKey; none: generated'),
    })
    .prefault({}),
});
export type RuntimeSpec = z.infer<typeof RuntimeSpec>;
/** A Runtime's spec as written: the fields with defaults may be left out. */
export type RuntimeSpecInput = z.input<typeof RuntimeSpec>;

export const RuntimePhase = z.enum(['Creating', 'Running', 'Degraded', 'Failed']);
export type RuntimePhase = z.infer<typeof RuntimePhase>;

export const RuntimeStatus = z.object({
  phase: RuntimePhase.optional(),
  ready: z.string().optional().describe('ready components out of all, e.g. 3/3'),
  observedGeneration: z.number().int().min(0).optional(),
  conditions: z.array(condition).optional(),
});
export type RuntimeStatus = z.infer<typeof RuntimeStatus>;

export interface Runtime extends KubeObject {
  apiVersion: typeof API_VERSION;
  kind: 'Runtime';
  spec: RuntimeSpec;
  status?: RuntimeStatus;
}

/**
 * A Runtime as written to and read from the API server, its spec not parsed yet: the spec as
 * written, the status as the CRD's schema let it through. Any `KubeObject` is assignable to it; a
 * `Runtime` is what `RuntimeSpec` makes of it.
 */
export interface RuntimeObject extends KubeObject {
  spec?: RuntimeSpecInput;
  status?: RuntimeStatus;
}

/** Condition types of a Runtime: one per component, plus why the operator would not act on it. */
export const RuntimeConditions = {
  mongo: 'MongoDBReady',
  nats: 'NATSReady',
  minio: 'MinIOReady',
  invalidSpec: 'InvalidSpec',
  ignored: 'Ignored',
  /** Whether `spec.publishedVersion` names a Running RuntimeVersion; present only when one is named. */
  published: 'Published',
} as const;
