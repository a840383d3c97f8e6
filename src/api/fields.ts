/**
 * Field schemas shared by the custom resources. Each is a zod schema the code parses with and,
 * through `toStructuralSchema`, the OpenAPI rule the API server enforces, so the two cannot drift.
 * Patterns are written in the subset of regular expressions that both JavaScript and Go's RE2 read
 * (no lookarounds, no backreferences), since the API server evaluates them in Go.
 */
import { z } from 'zod';

/** A DNS-1123 label: names of Services, workflow nodes, anything that ends up in a pod's name. */
export const dnsLabel = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);

/** A DNS-1123 subdomain: names of Secrets and StorageClasses. */
export const dnsSubdomain = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/);

/** The name rule of a version in a `.krt` file; the version's objects are named after it. */
export const versionName = z
  .string()
  .min(2)
  .max(19)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);

/** The prefix of the settings the operator gives every workload (`KRT_NODE_ID`, `KRT_NATS_OUTPUT`, …). */
export const RESERVED_CONFIG_PREFIX = 'KRT_';

/**
 * `^[A-Z0-9]([_A-Z0-9]*[A-Z0-9])?$` without the names starting with `KRT_`, spelled without a
 * lookahead (which RE2 lacks): by whether the name starts with K, KR or KRT and what follows.
 */
const CONFIG_KEY_PATTERN = new RegExp(
  '^(' +
    [
      '[A-JL-Z0-9]([_A-Z0-9]*[A-Z0-9])?', // not K…
      'K[A-Z0-9]?', // K, K?
      'K[_A-QS-Z0-9][_A-Z0-9]*[A-Z0-9]', // K then not R
      'KR([_A-SU-Z0-9][_A-Z0-9]*)?[A-Z0-9]', // KR?, or KR then not T
      'KRT([A-Z0-9]([_A-Z0-9]*[A-Z0-9])?)?', // KRT, or KRT then not _
    ].join('|') +
    ')$',
);

/**
 * A configuration variable's name, as `.krt` files write them (`MODEL_PATH`). Names starting with
 * `KRT_` are the operator's own settings, which a version's configuration must never override.
 */
export const configKey = z
  .string()
  .min(1)
  .max(253)
  .regex(CONFIG_KEY_PATTERN, {
    error: (issue) => {
      const key = String(issue.input);
      return key.startsWith(RESERVED_CONFIG_PREFIX)
        ? `${key} is set by the operator: names starting with ${RESERVED_CONFIG_PREFIX} are reserved`
        : `${key} is not a configuration name: upper case letters, digits and '_', starting and ending with a letter or digit`;
    },
  });

/** A ConfigMap key (file names of configuration files). */
export const fileKey = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[-._a-zA-Z0-9]+$/);

/**
 * A resource quantity as Kubernetes writes one (`10Gi`, `500M`, `1e3`). Written as a string only:
 * an integer would be accepted by the server but renders differently on the way back.
 */
export const quantity = z
  .string()
  .regex(/^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/)
  .describe('a resource quantity such as 10Gi');

/**
 * A container image reference: `[registry[:port]/]path[:tag][@sha256:digest]`, the path in lower
 * case as the distribution spec requires.
 */
export const imageReference = z
  .string()
  .min(1)
  .max(512)
  .regex(
    /^([a-zA-Z0-9]([-a-zA-Z0-9.]*[a-zA-Z0-9])?(:[0-9]+)?\/)?[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/,
  )
  .describe('a container image reference such as registry.example.com/team/image:1.0');

/** A host name for an Ingress rule. */
export const hostName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/);

/** A reference to a Secret in the custom resource's namespace. */
export const secretReference = z.object({ name: dnsSubdomain.describe('the Secret in the same namespace') });

/** Storage for a component's volumes. */
export const storage = (defaultSize: string) =>
  z
    .object({
      size: quantity.default(defaultSize),
      storageClass: dnsSubdomain.optional().describe('the StorageClass; default: spec.sharedStorageClass, else the cluster default'),
    })
    .prefault({});

/** A status condition, with the fields of `metav1.Condition`. */
export const condition = z.object({
  type: z.string().min(1).max(316),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string().max(1024).optional(),
  message: z.string().max(32768).optional(),
  lastTransitionTime: z.string().optional().meta({ format: 'date-time' }),
  observedGeneration: z.number().int().min(0).optional(),
});
export type Condition = z.infer<typeof condition>;
