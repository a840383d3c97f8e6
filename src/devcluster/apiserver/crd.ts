/**
 * CustomResourceDefinitions as the apiextensions server treats them: the defaults it fills into a
 * CRD's spec, the checks that make a create or update a 422, the status it writes when it
 * establishes the CRD (what `kubectl wait --for condition=established` waits for), and the kinds
 * the CRD adds to the registry. Pure functions: storage and the HTTP layer decide when to call them.
 */
import type { StatusCause } from './errors.ts';
import { ALL_VERBS, type ResourceType, type ScaleSubresource } from './resources.ts';
import { isDNS1035Label, isDNS1123Subdomain } from '../../kube/index.ts';
import { badValue, validateValue, type Schema } from './crd-schema.ts';

type Crd = Record<string, any>;

const SCOPES = ['Cluster', 'Namespaced'];
const SCHEMA_TYPES = ['array', 'boolean', 'integer', 'number', 'object', 'string'];
const LIST_TYPES = ['atomic', 'map', 'set'];
const CONVERSION_STRATEGIES = ['None', 'Webhook'];
const PRINTER_COLUMN_TYPES = ['boolean', 'date', 'integer', 'number', 'string'];
const PRINTER_COLUMN_FORMATS = ['byte', 'date', 'date-time', 'double', 'float', 'int32', 'int64', 'password'];

function isObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ---------------------------------------------------------------------------------------------
// Causes, worded as apimachinery's field errors.

const invalid = (field: string, value: unknown, detail: string): StatusCause => ({
  reason: 'FieldValueInvalid',
  message: `Invalid value: ${badValue(value)}: ${detail}`,
  field,
});
const required = (field: string, detail = ''): StatusCause => ({
  reason: 'FieldValueRequired',
  message: detail ? `Required value: ${detail}` : 'Required value',
  field,
});
const forbidden = (field: string, detail: string): StatusCause => ({ reason: 'FieldValueForbidden', message: `Forbidden: ${detail}`, field });
const notSupported = (field: string, value: unknown, supported: string[]): StatusCause => ({
  reason: 'FieldValueNotSupported',
  message: `Unsupported value: ${badValue(value)}: supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}`,
  field,
});

// ---------------------------------------------------------------------------------------------
// Defaults

/** spec.names in the order the server writes them (the Go struct's field order). */
function orderedNames(names: Record<string, any>): Record<string, any> {
  const out: Record<string, any> = {};
  for (const k of ['plural', 'singular', 'shortNames', 'kind', 'listKind', 'categories']) if (names[k] !== undefined) out[k] = names[k];
  for (const [k, v] of Object.entries(names)) if (!(k in out)) out[k] = v;
  return out;
}

/**
 * A copy of the CRD with the defaults a real server fills on decode: `names.singular` (lowercase
 * kind), `names.listKind` (`<Kind>List`), `conversion.strategy: None`, and port 443 for a
 * conversion webhook's service.
 */
export function defaultCrd(crd: Crd): Crd {
  const out = structuredClone(crd);
  if (!isObject(out.spec)) return out;
  const spec = out.spec;
  const names = isObject(spec.names) ? spec.names : {};
  if (!names.singular && typeof names.kind === 'string') names.singular = names.kind.toLowerCase();
  if (!names.listKind && typeof names.kind === 'string' && names.kind) names.listKind = `${names.kind}List`;
  if (isObject(spec.names)) spec.names = orderedNames(names);
  if (!isObject(spec.conversion)) spec.conversion = { strategy: 'None' };
  const service = spec.conversion.webhook?.clientConfig?.service;
  if (isObject(service) && service.port === undefined) service.port = 443;
  return out;
}

/** The version objects are stored in: the one with `storage: true`. */
export function storageVersionOf(crd: Crd): string | undefined {
  return (crd.spec?.versions ?? []).find((v: any) => v?.storage === true)?.name;
}

// ---------------------------------------------------------------------------------------------
// Validation

/** The causes of the 422 a real server answers to creating or updating this CRD (empty: valid). */
export function validateCrd(input: Crd): StatusCause[] {
  const crd = defaultCrd(input);
  const spec = isObject(crd.spec) ? crd.spec : {};
  const out: StatusCause[] = [];
  out.push(...validateCrdName(crd, spec));
  out.push(...validateGroup(spec.group));
  if (!spec.scope) out.push(required('spec.scope'));
  else if (!SCOPES.includes(spec.scope)) out.push(notSupported('spec.scope', spec.scope, SCOPES));
  out.push(...validateNames(isObject(spec.names) ? spec.names : {}));
  out.push(...validateVersions(Array.isArray(spec.versions) ? spec.versions : []));
  out.push(...validateConversion(spec.conversion));
  if (spec.preserveUnknownFields === true) {
    out.push(invalid('spec.preserveUnknownFields', true, 'cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead'));
  }
  return out;
}

function validateCrdName(crd: Crd, spec: Crd): StatusCause[] {
  const name = crd.metadata?.name;
  if (!name) return [required('metadata.name', 'name or generateName is required')];
  const out = isDNS1123Subdomain(name).map((m) => invalid('metadata.name', name, m));
  if (name !== `${spec.names?.plural}.${spec.group}`) out.push(invalid('metadata.name', name, 'must be spec.names.plural+"."+spec.group'));
  return out;
}

function validateGroup(group: unknown): StatusCause[] {
  if (typeof group !== 'string' || group === '') return [required('spec.group')];
  const out = isDNS1123Subdomain(group).map((m) => invalid('spec.group', group, m));
  if (!group.includes('.')) out.push(invalid('spec.group', group, 'should be a domain with at least one dot'));
  return out;
}

function validateNames(names: Record<string, any>): StatusCause[] {
  const out: StatusCause[] = [];
  for (const k of ['plural', 'singular', 'kind', 'listKind']) if (!names[k]) out.push(required(`spec.names.${k}`));
  const label = (field: string, value: unknown, prefix = '') => {
    if (typeof value !== 'string' || value === '') return;
    const checked = prefix ? value.toLowerCase() : value;
    const errs = isDNS1035Label(checked);
    if (errs.length > 0) out.push(invalid(field, value, prefix + errs.join(',')));
  };
  label('spec.names.plural', names.plural);
  label('spec.names.singular', names.singular);
  label('spec.names.kind', names.kind, 'may have mixed case, but should otherwise match: ');
  label('spec.names.listKind', names.listKind, 'may have mixed case, but should otherwise match: ');
  (Array.isArray(names.shortNames) ? names.shortNames : []).forEach((s: unknown, i: number) => label(`spec.names.shortNames[${i}]`, s));
  (Array.isArray(names.categories) ? names.categories : []).forEach((c: unknown, i: number) => label(`spec.names.categories[${i}]`, c));
  if (names.kind && names.kind === names.listKind) out.push(invalid('spec.names.listKind', names.listKind, 'kind and listKind may not be the same'));
  return out;
}

function validateVersions(versions: any[]): StatusCause[] {
  const out: StatusCause[] = [];
  const seen = new Set<string>();
  let unique = true;
  versions.forEach((v, i) => {
    const at = `spec.versions[${i}]`;
    const name = typeof v?.name === 'string' ? v.name : '';
    if (seen.has(name)) unique = false;
    seen.add(name);
    const errs = isDNS1035Label(name);
    if (errs.length > 0) out.push(invalid(`${at}.name`, name, errs.join(',')));
    const schema = v?.schema?.openAPIV3Schema;
    if (!isObject(schema)) out.push(required(`${at}.schema.openAPIV3Schema`, 'schemas are required'));
    else out.push(...validateSchema(schema, `${at}.schema.openAPIV3Schema`, 'root'));
    if (isObject(v?.subresources?.scale)) out.push(...validateScale(v.subresources.scale, `${at}.subresources.scale`));
    (Array.isArray(v?.additionalPrinterColumns) ? v.additionalPrinterColumns : []).forEach((c: any, j: number) =>
      out.push(...validatePrinterColumn(c, `${at}.additionalPrinterColumns[${j}]`)),
    );
  });
  if (!unique) out.push(invalid('spec.versions', versions, 'must contain unique version names'));
  if (versions.filter((v) => v?.storage === true).length !== 1) {
    out.push(invalid('spec.versions', versions, 'must have exactly one version marked as storage version'));
  }
  return out;
}

function validateConversion(conversion: any): StatusCause[] {
  const strategy = conversion?.strategy;
  if (!strategy) return [required('spec.conversion.strategy')];
  if (!CONVERSION_STRATEGIES.includes(strategy)) return [notSupported('spec.conversion.strategy', strategy, CONVERSION_STRATEGIES)];
  if (strategy === 'Webhook' && !isObject(conversion.webhook)) return [required('spec.conversion.webhook', 'required when strategy is set to Webhook')];
  if (strategy === 'None' && conversion.webhook !== undefined) {
    return [forbidden('spec.conversion.webhook', 'should not be set when strategy is not set to Webhook')];
  }
  return [];
}

function validateScale(scale: Record<string, any>, at: string): StatusCause[] {
  const out: StatusCause[] = [];
  const under = (field: string, prefixes: string[], words: string) => {
    const value = scale[field];
    if (typeof value === 'string' && value !== '' && !prefixes.some((p) => value.startsWith(p))) {
      out.push(invalid(`${at}.${field}`, value, words));
    }
  };
  if (!scale.specReplicasPath) out.push(required(`${at}.specReplicasPath`));
  under('specReplicasPath', ['.spec.'], 'should be a json path under .spec');
  if (!scale.statusReplicasPath) out.push(required(`${at}.statusReplicasPath`));
  under('statusReplicasPath', ['.status.'], 'should be a json path under .status');
  under('labelSelectorPath', ['.spec.', '.status.'], 'should be a json path under either .spec or .status');
  return out;
}

function validatePrinterColumn(c: any, at: string): StatusCause[] {
  const out: StatusCause[] = [];
  const types = `must be one of ${PRINTER_COLUMN_TYPES.join(',')}`;
  if (!c?.name) out.push(required(`${at}.name`));
  if (!c?.type) out.push(required(`${at}.type`, types));
  else if (!PRINTER_COLUMN_TYPES.includes(c.type)) out.push(invalid(`${at}.type`, c.type, types));
  if (c?.format && !PRINTER_COLUMN_FORMATS.includes(c.format)) {
    out.push(invalid(`${at}.format`, c.format, `must be one of ${PRINTER_COLUMN_FORMATS.join(',')}`));
  }
  if (!c?.jsonPath) out.push(required(`${at}.jsonPath`));
  return out;
}

type Level = 'root' | 'items' | 'field';

const EMPTY_TYPE: Record<Level, string> = {
  root: 'must not be empty at the root',
  items: 'must not be empty for specified array items',
  field: 'must not be empty for specified object fields',
};

/**
 * A structural schema: every node typed (unless int-or-string or preserve-unknown-fields),
 * object at the root, arrays with items, no `uniqueItems`, properties and additionalProperties
 * not both, metadata restricted to name and generateName, defaults that validate.
 */
function validateSchema(s: Schema, at: string, level: Level): StatusCause[] {
  const out: StatusCause[] = [];
  const intOrString = s['x-kubernetes-int-or-string'] === true;
  const preserve = s['x-kubernetes-preserve-unknown-fields'];
  const embedded = s['x-kubernetes-embedded-resource'] === true;
  const type = typeof s.type === 'string' ? s.type : '';

  if (type !== '' && !SCHEMA_TYPES.includes(type)) out.push(notSupported(`${at}.type`, type, SCHEMA_TYPES));
  if (embedded && type !== 'object') {
    const words = 'must be object if x-kubernetes-embedded-resource is true';
    out.push(type === '' ? required(`${at}.type`, words) : invalid(`${at}.type`, type, words));
  } else if (type === '' && !intOrString && preserve !== true) {
    out.push(required(`${at}.type`, EMPTY_TYPE[level]));
  }
  if (level === 'root' && type !== '' && type !== 'object') out.push(invalid(`${at}.type`, type, 'must be object at the root'));
  if (type === 'array' && s.items === undefined) out.push(required(`${at}.items`, 'must be specified'));
  if (preserve === false) out.push(invalid(`${at}.x-kubernetes-preserve-unknown-fields`, false, 'must be true or undefined'));
  if (intOrString && preserve === true) {
    out.push(invalid(`${at}.x-kubernetes-preserve-unknown-fields`, true, 'must be false if x-kubernetes-int-or-string is true'));
  }
  if (s.uniqueItems === true) out.push(forbidden(`${at}.uniqueItems`, 'uniqueItems cannot be set to true since the runtime complexity becomes quadratic'));
  if (typeof s.pattern === 'string') {
    const error = patternError(s.pattern);
    if (error) out.push(invalid(`${at}.pattern`, s.pattern, `must be a valid regular expression, but isn't: ${error}`));
  }
  out.push(...validateListType(s, at, type));

  const hasProperties = isObject(s.properties) && Object.keys(s.properties).length > 0;
  if (s.additionalProperties !== undefined) {
    if (hasProperties && s.additionalProperties !== true) {
      out.push(forbidden(`${at}.additionalProperties`, 'additionalProperties and properties are mutual exclusive'));
    }
    if (level === 'root') out.push(forbidden(`${at}.additionalProperties`, 'must not be used at the root'));
    if (embedded) out.push(forbidden(`${at}.additionalProperties`, 'must not be used if x-kubernetes-embedded-resource is set'));
  }
  if (level === 'root' && isObject(s.properties?.metadata)) out.push(...validateRootMetadata(s.properties.metadata, `${at}.properties[metadata]`));
  if (s.default !== undefined) out.push(...validateDefault(s, at));

  if (isObject(s.properties)) {
    for (const [k, ps] of Object.entries(s.properties)) {
      if (isObject(ps)) out.push(...validateSchema(ps, `${at}.properties[${k}]`, 'field'));
    }
  }
  if (isObject(s.items)) out.push(...validateSchema(s.items, `${at}.items`, 'items'));
  if (isObject(s.additionalProperties)) out.push(...validateSchema(s.additionalProperties, `${at}.additionalProperties`, 'field'));
  return out;
}

/** Why a pattern does not compile, in either of JavaScript's regular expression modes. */
function patternError(pattern: string): string | undefined {
  for (const flags of ['u', '']) {
    try {
      new RegExp(pattern, flags);
      return undefined;
    } catch (e) {
      if (flags === '') return (e as Error).message;
    }
  }
  return undefined;
}

function validateListType(s: Schema, at: string, type: string): StatusCause[] {
  const out: StatusCause[] = [];
  const listType = s['x-kubernetes-list-type'];
  const keys = s['x-kubernetes-list-map-keys'];
  if (listType !== undefined) {
    if (!LIST_TYPES.includes(listType)) out.push(notSupported(`${at}.x-kubernetes-list-type`, listType, LIST_TYPES));
    if (type !== 'array') out.push(invalid(`${at}.type`, type, 'must be array if x-kubernetes-list-type is specified'));
  }
  if (listType === 'map') {
    if (!Array.isArray(keys) || keys.length === 0) {
      out.push(required(`${at}.x-kubernetes-list-map-keys`, 'must not be empty if x-kubernetes-list-type is map'));
    }
    if (isObject(s.items) && s.items.type !== 'object') {
      out.push(invalid(`${at}.items.type`, s.items.type ?? '', 'must be object for an array of list-type map'));
    }
  } else if (Array.isArray(keys) && keys.length > 0) {
    out.push(forbidden(`${at}.x-kubernetes-list-map-keys`, 'must be empty if x-kubernetes-list-type is not map'));
  }
  return out;
}

/** A schema may constrain metadata.name and metadata.generateName, and nothing else of metadata. */
function validateRootMetadata(m: Schema, at: string): StatusCause[] {
  const out: StatusCause[] = [];
  if (m.type !== undefined && m.type !== 'object') out.push(invalid(`${at}.type`, m.type, 'must be object'));
  const props = Object.keys(isObject(m.properties) ? m.properties : {});
  const extra = Object.keys(m).filter((k) => !['type', 'properties', 'description'].includes(k));
  if (props.some((p) => p !== 'name' && p !== 'generateName') || extra.length > 0) {
    out.push(forbidden(at, 'must not specify anything other than name and generateName, but metadata is implicitly specified'));
  }
  return out;
}

/** A default must be valid against its own schema node, as the server checks it. */
function validateDefault(s: Schema, at: string): StatusCause[] {
  const found: StatusCause[] = [];
  validateValue(s, s.default, '', found);
  return found.map((c) => ({ ...c, field: c.field ? `${at}.default.${c.field}` : `${at}.default` }));
}

// ---------------------------------------------------------------------------------------------
// Establishing

/**
 * The CRD as a real server stores it once established: spec defaults, `acceptedNames` from the
 * names, conditions NamesAccepted and Established True, the storage version in `storedVersions`.
 * A condition that was already True keeps its lastTransitionTime; stored versions accumulate, as
 * objects written in an earlier storage version may still exist.
 */
export function establishCrd(crd: Crd, now: string): Crd {
  const out = defaultCrd(crd);
  const names = orderedNames(isObject(out.spec?.names) ? out.spec.names : {});
  const previous: any[] = Array.isArray(out.status?.conditions) ? out.status.conditions : [];
  const condition = (type: string, reason: string, message: string) => {
    const before = previous.find((c) => c?.type === type);
    const since = before?.status === 'True' && before.lastTransitionTime ? before.lastTransitionTime : now;
    return { type, status: 'True', lastTransitionTime: since, reason, message };
  };
  const others = previous.filter((c) => c?.type !== 'NamesAccepted' && c?.type !== 'Established');
  const stored: string[] = Array.isArray(out.status?.storedVersions) ? [...out.status.storedVersions] : [];
  const storage = storageVersionOf(out);
  if (storage && !stored.includes(storage)) stored.push(storage);
  out.status = {
    conditions: [
      condition('NamesAccepted', 'NoConflicts', 'no conflicts found'),
      condition('Established', 'InitialNamesAccepted', 'the initial names have been accepted'),
      ...others,
    ],
    acceptedNames: names,
    storedVersions: stored,
  };
  return out;
}

// ---------------------------------------------------------------------------------------------
// Serving

function scaleOf(scale: unknown): ScaleSubresource | undefined {
  if (!isObject(scale)) return undefined;
  return {
    specReplicasPath: scale.specReplicasPath,
    statusReplicasPath: scale.statusReplicasPath,
    ...(scale.labelSelectorPath ? { labelSelectorPath: scale.labelSelectorPath } : {}),
  };
}

/**
 * One served kind per served version. Names come from `status.acceptedNames` once the CRD is
 * established (what a real server serves), else from the defaulted spec.
 */
export function crdResourceTypes(crd: Crd): ResourceType[] {
  const defaulted = defaultCrd(crd);
  const spec = defaulted.spec ?? {};
  const names = isObject(defaulted.status?.acceptedNames) && defaulted.status.acceptedNames.plural ? defaulted.status.acceptedNames : (spec.names ?? {});
  const versions: any[] = Array.isArray(spec.versions) ? spec.versions : [];
  return versions
    .filter((v) => v?.served === true)
    .map((v) => {
      const scale = scaleOf(v.subresources?.scale);
      const t: ResourceType = {
        group: spec.group,
        version: v.name,
        plural: names.plural,
        singular: names.singular,
        kind: names.kind,
        namespaced: spec.scope === 'Namespaced',
        verbs: [...ALL_VERBS],
        status: !!v.subresources?.status,
        generation: true,
        crd,
      };
      if (Array.isArray(names.shortNames) && names.shortNames.length > 0) t.shortNames = [...names.shortNames];
      if (Array.isArray(names.categories) && names.categories.length > 0) t.categories = [...names.categories];
      if (scale) t.scale = scale;
      return t;
    });
}
