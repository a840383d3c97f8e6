/**
 * Custom resources checked against their CRD's structural `openAPIV3Schema`, the way the
 * apiextensions server does it on every write: prune unknown fields, fill defaults, then validate.
 * Messages are worded as kube-openapi and apimachinery's field errors word them, because users
 * (and tests written against a real cluster) read them verbatim.
 *
 * Not implemented: `x-kubernetes-validations` (CEL rules) are ignored, and `allOf`/`anyOf`/`oneOf`/
 * `not` value validations are not evaluated (structural schemas only allow them as extra
 * constraints; the common CRD generators rarely emit them).
 */
import { isDNS1123Subdomain } from '../../kube/index.ts';
import { isIPv4, isIPv6 } from 'node:net';
import type { StatusCause } from './errors.ts';
import type { ResourceType } from './resources.ts';

export type Schema = Record<string, any>;

/** The fields `metav1.ObjectMeta` knows: anything else under `metadata` is dropped on decode. */
export const OBJECT_META_FIELDS = [
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
];

/** The `openAPIV3Schema` of one version of a CRD. */
export function versionSchema(crd: Record<string, any> | undefined, version: string): Schema | undefined {
  const v = (crd?.spec?.versions ?? []).find((x: any) => x?.name === version);
  return v?.schema?.openAPIV3Schema;
}

function schemaOf(t: ResourceType): Schema | undefined {
  return versionSchema(t.crd, t.version);
}

// ---------------------------------------------------------------------------------------------
// Values printed as Go prints them in field errors (`%v` for scalars, `%q` for strings, `%#v` for
// maps and slices), so a cause reads exactly as a real server's.

/** Go's `%#v` of a value decoded from JSON into `interface{}`. */
export function goSyntax(v: unknown): string {
  if (v === null || v === undefined) return 'interface {}(nil)';
  if (Array.isArray(v)) return `[]interface {}{${v.map(goSyntax).join(', ')}}`;
  if (typeof v === 'object') {
    const entries = Object.keys(v as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${goSyntax((v as Record<string, unknown>)[k])}`);
    return `map[string]interface {}{${entries.join(', ')}}`;
  }
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/** The bad value as `field.Error` prints it after "Invalid value: ". */
export function badValue(v: unknown): string {
  if (v === null || v === undefined) return '"null"';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return goSyntax(v);
}

const causes = {
  invalid: (field: string, value: unknown, detail: string): StatusCause => ({
    reason: 'FieldValueInvalid',
    message: `Invalid value: ${badValue(value)}: ${detail}`,
    field,
  }),
  typeInvalid: (field: string, value: unknown, detail: string): StatusCause => ({
    reason: 'FieldValueTypeInvalid',
    message: `Invalid value: ${badValue(value)}: ${detail}`,
    field,
  }),
  required: (field: string, detail = ''): StatusCause => ({
    reason: 'FieldValueRequired',
    message: detail ? `Required value: ${detail}` : 'Required value',
    field,
  }),
  notSupported: (field: string, value: unknown, supported: string[]): StatusCause => ({
    reason: 'FieldValueNotSupported',
    message: `Unsupported value: ${badValue(value)}: supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}`,
    field,
  }),
  tooLong: (field: string, max: number): StatusCause => ({
    reason: 'FieldValueTooLong',
    message: `Too long: may not be more than ${max} ${max === 1 ? 'byte' : 'bytes'}`,
    field,
  }),
  tooMany: (field: string, actual: number, max: number): StatusCause => ({
    reason: 'FieldValueTooMany',
    message: `Too many: ${actual}: must have at most ${max} ${max === 1 ? 'item' : 'items'}`,
    field,
  }),
  duplicate: (field: string, value: unknown): StatusCause => ({
    reason: 'FieldValueDuplicate',
    message: `Duplicate value: ${badValue(value)}`,
    field,
  }),
};

function validateObjectName(obj: any): StatusCause[] {
  const meta = obj?.metadata ?? {};
  if (typeof meta.name !== 'string' || meta.name === '') {
    return meta.generateName ? [] : [causes.required('metadata.name', 'name or generateName is required')];
  }
  return isDNS1123Subdomain(meta.name).map((m) => causes.invalid('metadata.name', meta.name, m));
}

// ---------------------------------------------------------------------------------------------
// Formats: the string formats apiextensions validates (kube-openapi's strfmt registry). A format
// it does not know is accepted, as a real server accepts it; `int32`, `int64`, `float` and
// `double` only describe numbers and are not range-checked by a real server either.

function isDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  return d <= new Date(Date.UTC(y, m, 0)).getUTCDate();
}

const DURATION_GO = /^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$/;
const DURATION_WORDS =
  /^(\s*\d+\s*(ns|us|µs|ms|s|sec|secs|second|seconds|m|min|mins|minute|minutes|h|hr|hrs|hour|hours|d|day|days|w|wk|wks|week|weeks))+\s*$/;

const FORMATS: Record<string, (s: string) => boolean> = {
  'date-time': (s) => {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(:(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$/.exec(s);
    return !!m && isDate(+m[1], +m[2], +m[3]) && +m[4] < 24 && +m[5] < 60 && (m[7] === undefined || +m[7] < 60);
  },
  date: (s) => {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
    return !!m && isDate(+m[1], +m[2], +m[3]);
  },
  duration: (s) => s === '0' || DURATION_GO.test(s) || DURATION_WORDS.test(s),
  byte: (s) => /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s),
  email: (s) => /^[^\s@<>]+@[^\s@<>]+$/.test(s) || /^[^<>]*<[^\s@<>]+@[^\s@<>]+>$/.test(s),
  hostname: (s) =>
    s.length <= 255 && /^([a-zA-Z0-9\p{S}\p{L}](([a-zA-Z0-9\-\p{S}\p{L}]{0,61}[a-zA-Z0-9\p{S}\p{L}])?)\.?)+$/u.test(s),
  ipv4: (s) => isIPv4(s),
  ipv6: (s) => isIPv6(s),
  cidr: (s) => {
    const [ip, bits, ...rest] = s.split('/');
    if (rest.length > 0 || bits === undefined || !/^\d+$/.test(bits)) return false;
    return (isIPv4(ip) && +bits <= 32) || (isIPv6(ip) && +bits <= 128);
  },
  mac: (s) =>
    /^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$/.test(s) ||
    /^([0-9A-Fa-f]{2}[:-]){19}[0-9A-Fa-f]{2}$/.test(s) ||
    /^([0-9A-Fa-f]{2}[:-]){7}[0-9A-Fa-f]{2}$/.test(s) ||
    /^([0-9A-Fa-f]{4}\.){2}[0-9A-Fa-f]{4}$/.test(s),
  uri: (s) => {
    if (s.startsWith('/')) return true;
    try {
      return new URL(s).protocol.length > 1;
    } catch {
      return false;
    }
  },
  uuid: (s) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$|^[0-9a-f]{32}$/i.test(s),
  uuid3: (s) => /^[0-9a-f]{8}-[0-9a-f]{4}-3[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s),
  uuid4: (s) => /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i.test(s),
  uuid5: (s) => /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i.test(s),
  bsonobjectid: (s) => /^[0-9a-fA-F]{24}$/.test(s),
  hexcolor: (s) => /^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/.test(s),
  rgbcolor: (s) => /^rgb\(\s*\d{1,3}\s*,\s*\d{1,3}\s*,\s*\d{1,3}\s*\)$/.test(s),
  ssn: (s) => /^\d{3}[- ]?\d{2}[- ]?\d{4}$/.test(s),
  password: () => true,
};
FORMATS.datetime = FORMATS['date-time'];

export const SUPPORTED_FORMATS = Object.keys(FORMATS);

// ---------------------------------------------------------------------------------------------
// Validation

function jsonType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v === 'object' ? 'object' : typeof v;
}

/** The types a schema node accepts; int-or-string is served as `integer,string`, as kube-openapi does. */
function declaredTypes(s: Schema): string[] {
  if (s['x-kubernetes-int-or-string']) return ['integer', 'string'];
  return typeof s.type === 'string' && s.type !== '' ? [s.type] : [];
}

function isObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function child(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** kube-openapi names a field `<path> in body`; the field error's path drops the leading dot. */
function inBody(path: string): string {
  return path === '' ? 'in body' : `${path} in body`;
}

const regexCache = new Map<string, RegExp | null>();

/** Patterns are RE2 in a real server; JavaScript reads the common subset the same way. */
function compiled(pattern: string): RegExp | null {
  if (!regexCache.has(pattern)) regexCache.set(pattern, tryRegExp(pattern, 'u') ?? tryRegExp(pattern, ''));
  return regexCache.get(pattern)!;
}

function tryRegExp(pattern: string, flags: string): RegExp | null {
  try {
    return new RegExp(pattern, flags);
  } catch {
    return null;
  }
}

function jsonEqual(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

/** JSON with sorted keys: two values are equal exactly when these strings are. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isObject(v)) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

function enumValues(e: unknown[]): string[] {
  return e.map((x) => (typeof x === 'string' ? x : JSON.stringify(x)));
}

/**
 * One value against one schema node. The order of checks follows kube-openapi's validator chain
 * (type, string, format, number, array, enum, object); as there, the checks after a failed type
 * check still run when they apply to the value's actual kind.
 */
export function validateValue(s: Schema | undefined, v: unknown, path: string, out: StatusCause[]): void {
  if (!s) return;
  const types = declaredTypes(s);
  if (v === null || v === undefined) {
    if (types.length > 0 && !s.nullable) {
      out.push(causes.typeInvalid(path, 'null', `${inBody(path)} must be of type ${types.join(',')}: "null"`));
    }
    if (Array.isArray(s.enum) && !s.nullable && !s.enum.some((e: unknown) => e === null)) {
      out.push(causes.notSupported(path, null, enumValues(s.enum)));
    }
    return;
  }

  const actual = jsonType(v);
  if (types.length > 0 && !types.includes(actual) && !(actual === 'integer' && types.includes('number'))) {
    out.push(causes.typeInvalid(path, actual, `${inBody(path)} must be of type ${types.join(',')}: "${actual}"`));
  }

  if (typeof v === 'string') validateString(s, v, path, out);
  if (typeof v === 'number') validateNumber(s, v, path, out);
  if (Array.isArray(v)) validateArray(s, v, path, out);
  if (Array.isArray(s.enum) && !s.enum.some((e: unknown) => jsonEqual(e, v))) {
    out.push(causes.notSupported(path, v, enumValues(s.enum)));
  }
  if (isObject(v)) validateObject(s, v, path, out);
}

function validateString(s: Schema, v: string, path: string, out: StatusCause[]): void {
  const length = [...v].length;
  if (typeof s.maxLength === 'number' && length > s.maxLength) out.push(causes.tooLong(path, s.maxLength));
  if (typeof s.minLength === 'number' && length < s.minLength) {
    out.push(causes.invalid(path, v, `${inBody(path)} should be at least ${s.minLength} chars long`));
  }
  if (typeof s.pattern === 'string') {
    const re = compiled(s.pattern);
    if (re && !re.test(v)) out.push(causes.invalid(path, v, `${inBody(path)} should match '${s.pattern}'`));
  }
  const check = typeof s.format === 'string' ? FORMATS[s.format] : undefined;
  if (check && !check(v)) out.push(causes.typeInvalid(path, v, `${inBody(path)} must be of type ${s.format}: ${JSON.stringify(v)}`));
}

function validateNumber(s: Schema, v: number, path: string, out: StatusCause[]): void {
  if (typeof s.multipleOf === 'number' && s.multipleOf > 0) {
    const q = v / s.multipleOf;
    if (Math.abs(q - Math.round(q)) > 1e-9) out.push(causes.invalid(path, v, `${inBody(path)} should be a multiple of ${s.multipleOf}`));
  }
  if (typeof s.maximum === 'number') {
    if (s.exclusiveMaximum === true ? v >= s.maximum : v > s.maximum) {
      const words = s.exclusiveMaximum === true ? 'less than' : 'less than or equal to';
      out.push(causes.invalid(path, v, `${inBody(path)} should be ${words} ${s.maximum}`));
    }
  }
  if (typeof s.minimum === 'number') {
    if (s.exclusiveMinimum === true ? v <= s.minimum : v < s.minimum) {
      const words = s.exclusiveMinimum === true ? 'greater than' : 'greater than or equal to';
      out.push(causes.invalid(path, v, `${inBody(path)} should be ${words} ${s.minimum}`));
    }
  }
}

function validateArray(s: Schema, v: unknown[], path: string, out: StatusCause[]): void {
  if (isObject(s.items)) v.forEach((item, i) => validateValue(s.items, item, `${path}[${i}]`, out));
  if (typeof s.maxItems === 'number' && v.length > s.maxItems) out.push(causes.tooMany(path, v.length, s.maxItems));
  if (typeof s.minItems === 'number' && v.length < s.minItems) {
    out.push(causes.invalid(path, v.length, `${inBody(path)} should have at least ${s.minItems} items`));
  }
  if (s.uniqueItems === true && new Set(v.map(canonical)).size !== v.length) {
    out.push(causes.invalid(path, '', `${inBody(path)} shouldn't contain duplicates`));
  }
}

function validateObject(s: Schema, v: Record<string, any>, path: string, out: StatusCause[]): void {
  const count = Object.keys(v).length;
  if (typeof s.maxProperties === 'number' && count > s.maxProperties) out.push(causes.tooMany(path, count, s.maxProperties));
  if (typeof s.minProperties === 'number' && count < s.minProperties) {
    out.push(causes.invalid(path, count, `${inBody(path)} should have at least ${s.minProperties} properties`));
  }
  const props: Record<string, Schema> = isObject(s.properties) ? s.properties : {};
  if (isObject(s.additionalProperties)) {
    for (const [k, value] of Object.entries(v)) {
      if (!(k in props)) validateValue(s.additionalProperties, value, child(path, k), out);
    }
  }
  for (const [k, ps] of Object.entries(props)) {
    if (k in v) validateValue(ps, v[k], child(path, k), out);
  }
  for (const k of Array.isArray(s.required) ? s.required : []) {
    if (!(k in v)) out.push(causes.required(child(path, k)));
  }
}

/**
 * `x-kubernetes-list-type: set|map` uniqueness, checked by apiextensions after the schema: only
 * the second appearance of a value (or of a map key) is reported.
 */
export function validateListTypes(s: Schema | undefined, v: unknown, path: string, out: StatusCause[]): void {
  if (!s) return;
  if (Array.isArray(v)) {
    const listType = s['x-kubernetes-list-type'];
    if (listType === 'set') {
      for (const i of secondAppearances(v.map(canonical))) out.push(causes.duplicate(`${path}[${i}]`, v[i]));
    } else if (listType === 'map') {
      validateListMap(s, v, path, out);
    }
    if (isObject(s.items)) v.forEach((item, i) => validateListTypes(s.items, item, `${path}[${i}]`, out));
  } else if (isObject(v)) {
    const props: Record<string, Schema> = isObject(s.properties) ? s.properties : {};
    for (const [k, value] of Object.entries(v)) {
      if (isObject(s.additionalProperties)) validateListTypes(s.additionalProperties, value, `${path}[${k}]`, out);
      if (k in props) validateListTypes(props[k], value, child(path, k), out);
    }
  }
}

function secondAppearances(keys: string[]): number[] {
  const seen = new Map<string, number>();
  const out: number[] = [];
  keys.forEach((k, i) => {
    const times = seen.get(k) ?? 0;
    if (times === 1) out.push(i);
    seen.set(k, times + 1);
  });
  return out;
}

function validateListMap(s: Schema, v: unknown[], path: string, out: StatusCause[]): void {
  const bad = v.findIndex((x) => x !== null && !isObject(x));
  if (bad >= 0) {
    out.push(causes.invalid(`${path}[${bad}]`, v[bad], 'must be an object for an array of list-type map'));
    return;
  }
  const keyFields: string[] = Array.isArray(s['x-kubernetes-list-map-keys']) ? s['x-kubernetes-list-map-keys'] : [];
  // An item's key: the values of its key fields that are set (an unset key is a value of its own).
  const keys = v.map((x) => {
    const key: Record<string, unknown> = {};
    for (const f of keyFields) if (isObject(x) && f in x) key[f] = x[f];
    return key;
  });
  for (const i of secondAppearances(keys.map(canonical))) out.push(causes.duplicate(`${path}[${i}]`, keys[i]));
}

/**
 * The causes a real server gives for a custom resource: its name, its schema, then list-type
 * uniqueness. Call after `pruneCustomResource` and `defaultCustomResource`, as the server does.
 */
export function validateCustomResource(t: ResourceType, obj: any): StatusCause[] {
  const out = validateObjectName(obj);
  const schema = schemaOf(t);
  if (!schema) return out;
  validateValue(schema, obj, '', out);
  validateListTypes(schema, obj, '', out);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Defaulting

/**
 * Fills `default` values for absent fields (and for nulls of non-nullable fields), recursing into
 * properties, array items and additionalProperties, including into the defaults just filled.
 * Nulls of non-nullable fields without a default are dropped first, as the server does.
 */
export function defaultValue(s: Schema | undefined, v: unknown): void {
  if (!s) return;
  if (isObject(v)) {
    const props: Record<string, Schema> = isObject(s.properties) ? s.properties : {};
    for (const [k, ps] of Object.entries(props)) {
      if (v[k] === null && !ps.nullable && ps.default === undefined) delete v[k];
      if (ps.default !== undefined && (!(k in v) || (v[k] === null && !ps.nullable))) v[k] = structuredClone(ps.default);
    }
    for (const k of Object.keys(v)) {
      if (k in props) defaultValue(props[k], v[k]);
      else if (isObject(s.additionalProperties)) {
        const as = s.additionalProperties;
        if (v[k] === null && !as.nullable && as.default !== undefined) v[k] = structuredClone(as.default);
        defaultValue(as, v[k]);
      }
    }
  } else if (Array.isArray(v) && isObject(s.items)) {
    v.forEach((item, i) => {
      if (item === null && !s.items.nullable && s.items.default !== undefined) v[i] = structuredClone(s.items.default);
      defaultValue(s.items, v[i]);
    });
  }
}

export function defaultCustomResource(t: ResourceType, obj: any): void {
  defaultValue(schemaOf(t), obj);
}

// ---------------------------------------------------------------------------------------------
// Pruning

/**
 * Removes what the schema does not specify and returns the removed fields' paths
 * (`spec.unknownField`, `spec.items[0].extra`, `metadata.bogus`): the HTTP layer answers
 * `fieldValidation=Strict` with a 400 naming them, `Warn` with Warning headers.
 */
export function pruneCustomResource(t: ResourceType, obj: any): string[] {
  const pruned: string[] = [];
  pruneValue(schemaOf(t), obj, '', pruned, true);
  return pruned;
}

/** One value against one schema node; `isRoot` keeps the root's apiVersion, kind and metadata. */
export function pruneValue(s: Schema | undefined, v: unknown, path: string, pruned: string[], isRoot = false): void {
  const isResource = isRoot || s?.['x-kubernetes-embedded-resource'] === true;
  if (s?.['x-kubernetes-preserve-unknown-fields'] === true) {
    keepUnknown(s, v, path, isResource, pruned);
  } else if (isObject(v)) {
    pruneObject(s, v, path, isResource, pruned);
  } else if (Array.isArray(v)) {
    v.forEach((item, i) => pruneValue(isObject(s?.items) ? s.items : undefined, item, `${path}[${i}]`, pruned));
  }
}

/** Under preserve-unknown-fields unknown keys stay, but the fields the schema specifies are pruned inside. */
function keepUnknown(s: Schema, v: unknown, path: string, isResource: boolean, pruned: string[]): void {
  if (isObject(v)) {
    const props: Record<string, Schema> = isObject(s.properties) ? s.properties : {};
    for (const [k, value] of Object.entries(v)) {
      if (isResource && isResourceField(k, value, child(path, k), pruned)) continue;
      if (k in props) pruneValue(props[k], value, child(path, k), pruned);
      else if (isObject(s.additionalProperties)) pruneValue(s.additionalProperties, value, child(path, k), pruned);
    }
  } else if (Array.isArray(v) && isObject(s.items)) {
    v.forEach((item, i) => pruneValue(s.items, item, `${path}[${i}]`, pruned));
  }
}

function pruneObject(s: Schema | undefined, v: Record<string, any>, path: string, isResource: boolean, pruned: string[]): void {
  const props: Record<string, Schema> = isObject(s?.properties) ? s.properties : {};
  for (const [k, value] of Object.entries(v)) {
    const at = child(path, k);
    if (isResource && isResourceField(k, value, at, pruned)) continue;
    if (k in props) pruneValue(props[k], value, at, pruned);
    else if (s?.additionalProperties === true) pruneValue(undefined, value, at, pruned);
    else if (isObject(s?.additionalProperties)) pruneValue(s.additionalProperties, value, at, pruned);
    else {
      delete v[k];
      pruned.push(at);
    }
  }
}

/**
 * apiVersion, kind and metadata of a resource (the root, or an embedded resource) are never
 * pruned by the schema; metadata is cut down to what ObjectMeta knows instead.
 */
function isResourceField(k: string, value: unknown, at: string, pruned: string[]): boolean {
  if (k === 'apiVersion' || k === 'kind') return true;
  if (k !== 'metadata') return false;
  if (isObject(value)) {
    for (const mk of Object.keys(value)) {
      if (!OBJECT_META_FIELDS.includes(mk)) {
        delete value[mk];
        pruned.push(`${at}.${mk}`);
      }
    }
  }
  return true;
}
