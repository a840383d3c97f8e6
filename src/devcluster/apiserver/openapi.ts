/**
 * The OpenAPI v3 documents the API server publishes about itself, built from the registry.
 *
 * What clients read from them:
 * - `kubectl apply|create|replace` look for the `patch` operation of the object's
 *   group/version/kind (`x-kubernetes-group-version-kind`) and its `fieldValidation` query
 *   parameter, to leave validation to the server. Without it kubectl falls back to
 *   `/openapi/v2` and client-side validation, and fails with "failed to download openapi" when
 *   that is missing.
 * - kubectl 1.27 and 1.28 also fetch `/openapi/v2` on every `apply` and stop at a 404 ("the
 *   server could not find the requested resource", observed); an empty v2 document is enough for
 *   them (see `openapiV2Document`). Later versions only try it as a fallback.
 * - client-side `kubectl apply` computes a strategic merge patch from the v3 schema only when the
 *   patch operation lists `application/strategic-merge-patch+json`. The schemas of built-in kinds
 *   served here are loose (no properties, no merge keys), so that content type is not listed:
 *   kubectl then uses the merge keys compiled into it, as it does for a 404 on `/openapi/v2`.
 *   Custom resources never take strategic merge patches.
 * - `kubectl explain` reads `components.schemas`: custom resources get their CRD's schema.
 */
import { createHash } from 'node:crypto';
import { apiVersionOf, type ResourceRegistry, type ResourceType } from './resources.ts';

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const ref = (name: string): { $ref: string } => ({ $ref: `#/components/schemas/${name}` });

/** The media type of `/openapi/v2`; Go's mime parser rejects the `@` of the type clients ask for. */
export const OPENAPI_V2_CONTENT_TYPE = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

/**
 * `/openapi/v2`, answered with OPENAPI_V2_CONTENT_TYPE: an empty protobuf `openapi_v2.Document`
 * (zero bytes). Clients only read it as protobuf; kubectl 1.27 and 1.28 need it to exist, and
 * find no kinds in it, so they rely on the v3 documents and their compiled-in types.
 */
export function openapiV2Document(): Uint8Array {
  return new Uint8Array(0);
}

/** `/openapi/v3`: one entry per served group/version, its URL carrying a hash of its content. */
export function openapiV3Index(reg: ResourceRegistry): { paths: Record<string, { serverRelativeURL: string }> } {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const [group, versions] of reg.groups()) {
    for (const version of versions) {
      const key = group === '' ? `api/${version}` : `apis/${group}/${version}`;
      const doc = openapiV3Document(reg, group, version)!;
      paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${documentHash(doc)}` };
    }
  }
  return { paths };
}

/**
 * The hash in the index URLs: clients cache documents by URL (kubectl on disk), so it must change
 * whenever the document does. SHA-512 in upper-case hex, as the real server writes it.
 */
export function documentHash(doc: object): string {
  return createHash('sha512').update(JSON.stringify(doc)).digest('hex').toUpperCase();
}

/** `/openapi/v3/api/v1` or `/openapi/v3/apis/<group>/<version>`; undefined when nothing is served there. */
export function openapiV3Document(reg: ResourceRegistry, group: string, version: string): object | undefined {
  const types = reg.inGroupVersion(group, version);
  if (types.length === 0) return undefined;
  const paths: Record<string, object> = {};
  const schemas: Record<string, object> = { ...metaSchemas() };
  for (const t of [...types].sort((a, b) => (a.plural < b.plural ? -1 : a.plural > b.plural ? 1 : 0))) {
    Object.assign(paths, kindPaths(t));
    schemas[schemaName(t)] = t.crd ? customResourceSchema(t) : looseSchema(gvk(t), `${t.kind} of ${apiVersionOf(t)}.`);
    schemas[schemaName(t, `${t.kind}List`)] = listSchema(t);
    if (t.scale) schemas[SCALE_SCHEMA] = looseSchema(SCALE_GVK, 'Scale represents a scaling request for a resource.');
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'unversioned' },
    paths,
    components: { schemas },
  };
}

interface GVK {
  group: string;
  version: string;
  kind: string;
}

const gvk = (t: ResourceType, kind = t.kind): GVK => ({ group: t.group, version: t.version, kind });
const SCALE_GVK: GVK = { group: 'autoscaling', version: 'v1', kind: 'Scale' };
const SCALE_SCHEMA = 'io.k8s.api.autoscaling.v1.Scale';

/**
 * Schema names as the real server writes them: Go package paths for built-in kinds
 * (`io.k8s.api.core.v1.Pod`, `io.k8s.api.rbac.v1.Role`), the reversed group for custom ones
 * (`com.example.v1.Widget`).
 */
export function schemaName(t: Pick<ResourceType, 'group' | 'version' | 'kind' | 'crd'>, kind = t.kind): string {
  if (t.crd) return `${t.group.split('.').reverse().join('.')}.${t.version}.${kind}`;
  if (t.group === 'apiextensions.k8s.io') return `io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.${t.version}.${kind}`;
  const pkg = t.group === '' ? 'core' : t.group.split('.')[0];
  return `io.k8s.api.${pkg}.${t.version}.${kind}`;
}

// ---------------------------------------------------------------------------------------------
// Paths

/** The paths of one kind: collection, item, and the status and scale subresources. */
function kindPaths(t: ResourceType): Record<string, object> {
  const base = t.group === '' ? `/api/${t.version}` : `/apis/${t.group}/${t.version}`;
  const scope = t.namespaced ? `${base}/namespaces/{namespace}/${t.plural}` : `${base}/${t.plural}`;
  const scopeParams = t.namespaced ? [pathParam('namespace', 'object name and auth scope, such as for teams and projects')] : [];
  const nameParams = [pathParam('name', `name of the ${t.kind}`), ...scopeParams];
  const self = schemaName(t);
  const list = schemaName(t, `${t.kind}List`);
  const ns = t.namespaced ? 'Namespaced' : '';
  const id = (verb: string, suffix = ''): string => `${verb}${operationGroup(t)}${ns}${t.kind}${suffix}`;
  const kindGVK = gvk(t);

  const paths: Record<string, object> = {
    [scope]: {
      get: operation(id('list'), 'list', kindGVK, list, [...LIST_PARAMS]),
      post: operation(id('create'), 'post', kindGVK, self, [...WRITE_PARAMS], self),
      delete: operation(id('deleteCollection'), 'deletecollection', kindGVK, `${META}.Status`, [...LIST_PARAMS]),
      parameters: scopeParams,
    },
    [`${scope}/{name}`]: {
      get: operation(id('read'), 'get', kindGVK, self, []),
      put: operation(id('replace'), 'put', kindGVK, self, [...WRITE_PARAMS], self),
      patch: patchOperation(id('patch'), kindGVK, self, !t.crd),
      delete: operation(id('delete'), 'delete', kindGVK, `${META}.Status`, [queryParam('gracePeriodSeconds', 'integer'), queryParam('propagationPolicy', 'string'), queryParam('dryRun', 'string')]),
      parameters: nameParams,
    },
  };
  if (t.status) {
    paths[`${scope}/{name}/status`] = {
      get: operation(id('read', 'Status'), 'get', kindGVK, self, []),
      put: operation(id('replace', 'Status'), 'put', kindGVK, self, [...WRITE_PARAMS], self),
      patch: patchOperation(id('patch', 'Status'), kindGVK, self, !t.crd),
      parameters: nameParams,
    };
  }
  if (t.scale) {
    paths[`${scope}/{name}/scale`] = {
      get: operation(id('read', 'Scale'), 'get', SCALE_GVK, SCALE_SCHEMA, []),
      put: operation(id('replace', 'Scale'), 'put', SCALE_GVK, SCALE_SCHEMA, [...WRITE_PARAMS], SCALE_SCHEMA),
      patch: patchOperation(id('patch', 'Scale'), SCALE_GVK, SCALE_SCHEMA, !t.crd),
      parameters: nameParams,
    };
  }
  if (t.namespaced) {
    paths[`${base}/${t.plural}`] = {
      get: operation(`list${operationGroup(t)}${t.kind}ForAllNamespaces`, 'list', kindGVK, list, [...LIST_PARAMS]),
    };
  }
  return paths;
}

/** `Core`, `Apps`, `RbacAuthorization`, `KreKonstellationIo`, then the version: as in operation ids. */
function operationGroup(t: ResourceType): string {
  const group = t.group === '' ? 'core' : t.group.replace(/\.k8s\.io$/, '');
  const camel = group
    .split(/[.-]/)
    .map((s) => s.charAt(0).toUpperCase() + s.slice(1))
    .join('');
  return camel + t.version.charAt(0).toUpperCase() + t.version.slice(1);
}

function pathParam(name: string, description: string): object {
  return { name, in: 'path', description, required: true, schema: { type: 'string', uniqueItems: true } };
}

function queryParam(name: string, type: string, description = ''): object {
  return { name, in: 'query', description, schema: { type, uniqueItems: true } };
}

const FIELD_VALIDATION = queryParam(
  'fieldValidation',
  'string',
  'fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore - Warn (the default) - Strict.',
);
const WRITE_PARAMS = [queryParam('dryRun', 'string'), queryParam('fieldManager', 'string'), FIELD_VALIDATION];
const LIST_PARAMS = ['labelSelector', 'fieldSelector', 'limit', 'continue', 'resourceVersion', 'resourceVersionMatch', 'timeoutSeconds', 'watch', 'allowWatchBookmarks', 'sendInitialEvents'].map((n) =>
  queryParam(n, ['limit', 'timeoutSeconds'].includes(n) ? 'integer' : ['watch', 'allowWatchBookmarks', 'sendInitialEvents'].includes(n) ? 'boolean' : 'string'),
);

function operation(operationId: string, action: string, kind: GVK, responseSchema: string, parameters: object[], bodySchema?: string): object {
  const op: Record<string, unknown> = {
    operationId,
    parameters,
    responses: { '200': { description: 'OK', content: { 'application/json': { schema: ref(responseSchema) } } } },
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': kind,
  };
  if (bodySchema) op.requestBody = { content: { '*/*': { schema: ref(bodySchema) } }, required: true };
  return op;
}

/** Content types a patch accepts; strategic merge only where kubectl can compute it correctly (see top). */
export function patchContentTypes(strategicMerge: boolean): string[] {
  const types = ['application/apply-patch+yaml', 'application/json-patch+json', 'application/merge-patch+json'];
  if (strategicMerge) types.push('application/strategic-merge-patch+json');
  return types;
}

/**
 * Whether built-in kinds advertise strategic merge patch. They would need real schemas with merge
 * keys for kubectl to build such a patch from this document; with the loose schemas served here
 * kubectl would print "error calculating patch from openapi v3 spec" on every apply.
 */
const BUILTIN_STRATEGIC_MERGE = false;

function patchOperation(operationId: string, kind: GVK, schema: string, builtin: boolean): object {
  const content = Object.fromEntries(patchContentTypes(builtin && BUILTIN_STRATEGIC_MERGE).map((type) => [type, { schema: ref(`${META}.Patch`) }]));
  return {
    operationId,
    parameters: [...WRITE_PARAMS, queryParam('force', 'boolean', 'Force is going to "force" Apply requests.')],
    requestBody: { content, required: true },
    responses: { '200': { description: 'OK', content: { 'application/json': { schema: ref(schema) } } } },
    'x-kubernetes-action': 'patch',
    'x-kubernetes-group-version-kind': kind,
  };
}

// ---------------------------------------------------------------------------------------------
// Schemas

const API_VERSION_PROP = {
  type: 'string',
  description:
    'APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources',
};
const KIND_PROP = {
  type: 'string',
  description:
    'Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds',
};
const METADATA_PROP = {
  allOf: [ref(`${META}.ObjectMeta`)],
  default: {},
  description: "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
};

/** Any object of the kind is accepted: the schema only names the kind for clients. */
function looseSchema(kind: GVK, description: string): object {
  return {
    description,
    type: 'object',
    properties: { apiVersion: API_VERSION_PROP, kind: KIND_PROP, metadata: METADATA_PROP },
    'x-kubernetes-preserve-unknown-fields': true,
    'x-kubernetes-group-version-kind': [kind],
  };
}

/** The CRD version's openAPIV3Schema, with the apiVersion, kind and metadata every object has. */
function customResourceSchema(t: ResourceType): object {
  const versions: any[] = t.crd?.spec?.versions ?? [];
  const schema = structuredClone(versions.find((v) => v.name === t.version)?.schema?.openAPIV3Schema ?? t.crd?.spec?.validation?.openAPIV3Schema ?? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true });
  schema.type ??= 'object';
  schema.properties = { apiVersion: API_VERSION_PROP, kind: KIND_PROP, metadata: METADATA_PROP, ...withoutMeta(schema.properties) };
  schema['x-kubernetes-group-version-kind'] = [gvk(t)];
  return schema;
}

/** A CRD may not redefine apiVersion, kind and metadata; keep its other top-level properties. */
function withoutMeta(props: Record<string, unknown> | undefined): Record<string, unknown> {
  const { apiVersion: _a, kind: _k, metadata: _m, ...rest } = props ?? {};
  return rest;
}

function listSchema(t: ResourceType): object {
  return {
    description: `${t.kind}List is a list of ${t.kind}.`,
    type: 'object',
    required: ['items'],
    properties: {
      apiVersion: API_VERSION_PROP,
      items: { type: 'array', description: `List of ${t.plural}.`, items: { allOf: [ref(schemaName(t))], default: {} } },
      kind: KIND_PROP,
      metadata: { allOf: [ref(`${META}.ListMeta`)], default: {}, description: 'Standard list metadata.' },
    },
    'x-kubernetes-group-version-kind': [gvk(t, `${t.kind}List`)],
  };
}

const str = (description: string): object => ({ type: 'string', description, default: '' });
const time = (description: string): object => ({ type: 'string', format: 'date-time', description });
const stringMap = (description: string): object => ({ type: 'object', description, additionalProperties: { type: 'string', default: '' } });

/** The apimachinery types every document refers to, with the fields `kubectl explain` shows. */
function metaSchemas(): Record<string, object> {
  return {
    [`${META}.ObjectMeta`]: {
      description: 'ObjectMeta is metadata that all persisted resources must have, which includes all objects users must create.',
      type: 'object',
      properties: {
        annotations: stringMap('Annotations is an unstructured key value map stored with a resource that may be set by external tools to store and retrieve arbitrary metadata.'),
        creationTimestamp: time('CreationTimestamp is a timestamp representing the server time when this object was created.'),
        deletionGracePeriodSeconds: { type: 'integer', format: 'int64', description: 'Number of seconds allowed for this object to gracefully terminate before it will be removed from the system.' },
        deletionTimestamp: time('DeletionTimestamp is RFC 3339 date and time at which this resource will be deleted.'),
        finalizers: { type: 'array', description: 'Must be empty before the object is deleted from the registry.', items: { type: 'string', default: '' }, 'x-kubernetes-list-type': 'set' },
        generateName: str('GenerateName is an optional prefix, used by the server, to generate a unique name ONLY IF the Name field has not been provided.'),
        generation: { type: 'integer', format: 'int64', description: 'A sequence number representing a specific generation of the desired state.' },
        labels: stringMap('Map of string keys and values that can be used to organize and categorize (scope and select) objects.'),
        managedFields: { type: 'array', description: 'ManagedFields maps workflow-id and version to the set of fields that are managed by that workflow.', items: { allOf: [ref(`${META}.ManagedFieldsEntry`)], default: {} } },
        name: str('Name must be unique within a namespace.'),
        namespace: str('Namespace defines the space within which each name must be unique.'),
        ownerReferences: {
          type: 'array',
          description: 'List of objects depended by this object.',
          items: { allOf: [ref(`${META}.OwnerReference`)], default: {} },
          'x-kubernetes-list-map-keys': ['uid'],
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-patch-merge-key': 'uid',
          'x-kubernetes-patch-strategy': 'merge',
        },
        resourceVersion: str('An opaque value that represents the internal version of this object.'),
        selfLink: str('Deprecated: selfLink is a legacy read-only field that is no longer populated by the system.'),
        uid: str('UID is the unique in time and space value for this object.'),
      },
    },
    [`${META}.OwnerReference`]: {
      description: 'OwnerReference contains enough information to let you identify an owning object.',
      type: 'object',
      required: ['apiVersion', 'kind', 'name', 'uid'],
      properties: {
        apiVersion: str('API version of the referent.'),
        blockOwnerDeletion: { type: 'boolean', description: 'If true, AND if the owner has the "foregroundDeletion" finalizer, then the owner cannot be deleted from the key-value store until this reference is removed.' },
        controller: { type: 'boolean', description: 'If true, this reference points to the managing controller.' },
        kind: str('Kind of the referent.'),
        name: str('Name of the referent.'),
        uid: str('UID of the referent.'),
      },
      'x-kubernetes-map-type': 'atomic',
    },
    [`${META}.ManagedFieldsEntry`]: {
      description: 'ManagedFieldsEntry is a workflow-id, a FieldSet and the group version of the resource that the fieldset applies to.',
      type: 'object',
      properties: {
        apiVersion: str('APIVersion defines the version of this resource that this field set applies to.'),
        fieldsType: str('FieldsType is the discriminator for the different fields format and version.'),
        fieldsV1: { type: 'object', description: 'FieldsV1 holds the first JSON version format as described in the "FieldsV1" type.' },
        manager: str('Manager is an identifier of the workflow managing these fields.'),
        operation: str('Operation is the type of operation which lead to this ManagedFieldsEntry being created.'),
        subresource: str('Subresource is the name of the subresource used to update that object.'),
        time: time('Time is the timestamp of when the ManagedFields entry was added.'),
      },
    },
    [`${META}.ListMeta`]: {
      description: 'ListMeta describes metadata that synthetic resources must have, including lists and various status objects.',
      type: 'object',
      properties: {
        continue: str('continue may be set if the user set a limit on the number of items returned.'),
        remainingItemCount: { type: 'integer', format: 'int64', description: 'remainingItemCount is the number of subsequent items in the list which are not included in this list response.' },
        resourceVersion: str("String that identifies the server's internal version of this object."),
      },
    },
    [`${META}.Status`]: {
      description: 'Status is a return value for calls that don\'t return other objects.',
      type: 'object',
      'x-kubernetes-preserve-unknown-fields': true,
      'x-kubernetes-group-version-kind': [{ group: '', kind: 'Status', version: 'v1' }],
    },
    [`${META}.Patch`]: {
      description: 'Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.',
      type: 'object',
    },
  };
}
