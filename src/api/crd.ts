/**
 * The CustomResourceDefinitions, derived from the zod schemas the operator parses with: zod's JSON
 * Schema output, reduced to the structural subset of OpenAPI v3 that the API server accepts.
 */
import { z } from 'zod';
import type { CustomResourceDefinition } from '../kube/index.ts';
import { GROUP, RUNTIMES, RuntimeSpec, RuntimeStatus, VERSION } from './runtime.ts';
import { RUNTIME_VERSIONS, RuntimeVersionSpec, RuntimeVersionStatus } from './runtime-version.ts';

type JsonSchema = Record<string, unknown>;

/** zod spells "any safe integer" with these bounds; for the API server they are noise. */
const SAFE_INTEGER_BOUNDS = new Set([Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]);

/**
 * A zod schema as a structural OpenAPI v3 schema. Validation is what the user sends (`io: input`),
 * so fields with defaults are optional and carry their `default`, which the server fills in.
 */
export function toStructuralSchema(schema: z.ZodType): JsonSchema {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'throw', target: 'openapi-3.0' }) as JsonSchema;
  return structural(json);
}

function structural(node: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    switch (key) {
      case '$schema':
      case 'propertyNames': // maps are keyed by strings anyway; OpenAPI v3 has no propertyNames
        continue;
      case 'additionalProperties':
        // A closed object is zod's view; the API server prunes unknown fields instead.
        if (value === false) continue;
        out[key] = typeof value === 'object' ? structural(value as JsonSchema) : value;
        continue;
      case 'minimum':
      case 'maximum':
        if (SAFE_INTEGER_BOUNDS.has(value as number)) continue;
        out[key] = value;
        continue;
      case 'properties':
        out[key] = Object.fromEntries(Object.entries(value as Record<string, JsonSchema>).map(([k, v]) => [k, structural(v)]));
        continue;
      case 'items':
        out[key] = structural(value as JsonSchema);
        continue;
      default:
        if (typeof value === 'object' && value !== null && !Array.isArray(value) && key !== 'default') {
          throw new Error(`schema keyword ${key} has no structural form`);
        }
        out[key] = value;
    }
  }
  return out;
}

interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  description?: string;
  priority?: number;
}

function customResourceDefinition(
  names: { plural: string; kind: string; singular: string; shortNames: string[] },
  spec: z.ZodType,
  status: z.ZodType,
  columns: PrinterColumn[],
  description: string,
): CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${names.plural}.${GROUP}`, labels: { 'app.kubernetes.io/part-of': 'kre' } },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: { ...names, listKind: `${names.kind}List`, categories: ['kre'] },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: columns,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description,
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: toStructuralSchema(spec),
                status: toStructuralSchema(status),
              },
            },
          },
        },
      ],
    },
  };
}

export function runtimeCRD(): CustomResourceDefinition {
  return customResourceDefinition(
    { plural: RUNTIMES.plural, kind: RUNTIMES.kind, singular: 'runtime', shortNames: ['krt'] },
    RuntimeSpec,
    RuntimeStatus,
    [
      { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
      { name: 'Ready', type: 'string', jsonPath: '.status.ready', description: 'ready components out of all' },
      { name: 'Published', type: 'string', jsonPath: '.spec.publishedVersion' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
    "A KRE runtime: the MongoDB, NATS and MinIO its versions share, and which version is published. One per namespace.",
  );
}

export function runtimeVersionCRD(): CustomResourceDefinition {
  return customResourceDefinition(
    { plural: RUNTIME_VERSIONS.plural, kind: RUNTIME_VERSIONS.kind, singular: 'runtimeversion', shortNames: ['krv'] },
    RuntimeVersionSpec,
    RuntimeVersionStatus,
    [
      { name: 'State', type: 'string', jsonPath: '.spec.state' },
      { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
      { name: 'Ready', type: 'string', jsonPath: '.status.ready', description: 'ready workloads out of all' },
      { name: 'Published', type: 'boolean', jsonPath: '.status.published' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
    "A version of a KRE runtime's model: its entrypoint, configuration and workflows, started or stopped.",
  );
}

/** Both CRDs, in the order they are installed. */
export function customResourceDefinitions(): CustomResourceDefinition[] {
  return [runtimeCRD(), runtimeVersionCRD()];
}
