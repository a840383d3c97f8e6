/**
 * Strategic merge patch, as kubectl sends it for built-in kinds (`kubectl apply`, `edit`,
 * `label`, `set image`, …). Maps merge and `null` deletes a key, like a merge patch; lists merge
 * by their merge key where the k8s.io/api types declare one (see schema.ts) and are replaced
 * otherwise. Directives:
 * - `$patch: replace | delete | merge` on a map, or as a list item (`{"$patch": "replace"}` replaces
 *   the whole list; `{"name": "x", "$patch": "delete"}` removes one item);
 * - `$setElementOrder/<list>`: the order of the merged list's items;
 * - `$deleteFromPrimitiveList/<list>`: values to remove from a list of primitives;
 * - `$retainKeys`: the only keys the patched map keeps (union types such as volume sources).
 */
import { errors } from '../errors.ts';
import { clone, deepEqual, isObject, type JsonObject } from './json-value.ts';
import { builtinListSchema, type ListSchema } from './schema.ts';

const SET_ELEMENT_ORDER = '$setElementOrder/';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList/';

export function applyStrategicMergePatch(document: unknown, patch: unknown, kind: string): unknown {
  if (!isObject(patch)) throw errors.badRequest('invalid strategic merge patch: the patch must be a JSON object');
  const schemaOf = (path: string[]) => builtinListSchema(kind, path);
  return mergeMap(isObject(document) ? document : {}, patch, [], schemaOf) ?? {};
}

type SchemaLookup = (path: string[]) => ListSchema | undefined;

/** Merges `patch` into a copy of `original`; undefined when the patch deletes the map. */
function mergeMap(original: JsonObject | undefined, patch: JsonObject, path: string[], schemaOf: SchemaLookup): JsonObject | undefined {
  switch (patch.$patch) {
    case 'delete':
      return undefined;
    case 'replace':
      return stripDirectives(patch) as JsonObject;
    case undefined:
    case 'merge':
      break;
    default:
      throw errors.badRequest(`Unknown patch type: ${String(patch.$patch)} in map: ${JSON.stringify(patch)}`);
  }

  const out: JsonObject = original ? clone(original) : {};
  if (patch.$retainKeys !== undefined) {
    if (!Array.isArray(patch.$retainKeys)) throw errors.badRequest('$retainKeys must be a list of field names');
    const keep = new Set(patch.$retainKeys as string[]);
    for (const key of Object.keys(out)) if (!keep.has(key)) delete out[key];
  }

  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
      const list = key.slice(DELETE_FROM_PRIMITIVE_LIST.length);
      if (Array.isArray(out[list]) && Array.isArray(value)) {
        out[list] = (out[list] as unknown[]).filter((item) => !value.some((v) => deepEqual(v, item)));
      }
    }
  }

  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$')) continue;
    const childPath = [...path, key];
    if (value === null) {
      delete out[key];
    } else if (isObject(value)) {
      const merged = mergeMap(isObject(out[key]) ? out[key] : undefined, value, childPath, schemaOf);
      if (merged === undefined) delete out[key];
      else out[key] = merged;
    } else if (Array.isArray(value)) {
      out[key] = mergeList(Array.isArray(out[key]) ? out[key] : [], value, childPath, schemaOf);
    } else {
      out[key] = value;
    }
  }

  for (const [key, order] of Object.entries(patch)) {
    if (!key.startsWith(SET_ELEMENT_ORDER)) continue;
    if (!Array.isArray(order)) throw errors.badRequest(`expected a []interface {}, but received a ${goTypeOf(order)}`);
    const list = key.slice(SET_ELEMENT_ORDER.length);
    if (Array.isArray(out[list])) out[list] = setElementOrder(out[list], order, schemaOf([...path, list]));
  }
  return out;
}

function mergeList(original: unknown[], patch: unknown[], path: string[], schemaOf: SchemaLookup): unknown[] {
  const schema = schemaOf(path);
  if (patch.some((item) => isObject(item) && item.$patch === 'replace')) {
    return patch.filter((item) => !(isObject(item) && item.$patch === 'replace')).map(stripDirectives);
  }
  if (!schema) return patch.map(stripDirectives);
  if (!schema.mergeKey) {
    // A set of primitives: add what is missing, keep what is there.
    const out = [...original];
    for (const item of patch) if (!out.some((o) => deepEqual(o, item))) out.push(item);
    return out;
  }

  const key = schema.mergeKey;
  const out = clone(original);
  for (const item of patch) {
    if (!isObject(item)) throw errors.badRequest(`invalid strategic merge patch: the list ${path.join('.')} is merged by "${key}", but an item is not a map: ${JSON.stringify(item)}`);
    if (!(key in item)) throw errors.badRequest(`map: ${JSON.stringify(item)} does not contain declared merge key: ${key}`);
    const at = out.findIndex((o) => isObject(o) && deepEqual(o[key], item[key]));
    if (item.$patch === 'delete') {
      if (at >= 0) out.splice(at, 1);
      continue;
    }
    const merged = mergeMap(at >= 0 ? (out[at] as JsonObject) : undefined, item, path, schemaOf);
    if (at >= 0) {
      if (merged === undefined) out.splice(at, 1);
      else out[at] = merged;
    } else if (merged !== undefined) {
      out.push(merged);
    }
  }
  return out;
}

/**
 * Orders a merged list as `$setElementOrder` says. Items the order does not mention (present on
 * the server only) keep their place relative to the items around them, as kubectl expects.
 */
function setElementOrder(list: unknown[], order: unknown[], schema: ListSchema | undefined): unknown[] {
  const identity = (item: unknown): unknown => (schema?.mergeKey && isObject(item) ? item[schema.mergeKey] : item);
  const rank = (item: unknown): number => order.findIndex((o) => deepEqual(identity(o), identity(item)));
  const ordered = list.filter((item) => rank(item) >= 0).sort((a, b) => rank(a) - rank(b));
  const out: unknown[] = [];
  let next = 0;
  for (const item of list) out.push(rank(item) >= 0 ? ordered[next++] : item);
  return out;
}

/** Go's name for the type a decoded JSON value has, as the real server's patch errors print it. */
function goTypeOf(value: unknown): string {
  if (value === null) return '<nil>';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int64' : 'float64';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'string') return 'string';
  return 'map[string]interface {}';
}

/** A value that replaces what is there must not carry patch directives into the object. */
function stripDirectives(value: unknown): unknown {
  if (Array.isArray(value)) return value.filter((v) => !(isObject(v) && Object.keys(v).every((k) => k.startsWith('$')))).map(stripDirectives);
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) if (!k.startsWith('$')) out[k] = stripDirectives(v);
  return out;
}
