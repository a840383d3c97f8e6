/**
 * What server-side apply needs to know about an object's shape: which lists are keyed (and by
 * what), which are sets, which maps are atomic. Built-in kinds read schema.ts; custom resources
 * have atomic lists unless their CRD declares `x-kubernetes-list-type: map` (passed in as
 * `listMapKeys`) or `set`.
 */
import { errors } from '../errors.ts';
import { canonical, clone, deepEqual, isObject, type JsonObject } from './json-value.ts';
import { FieldSet, element, type FieldPath } from './fieldset.ts';
import { builtinAtomicMap, builtinListSchema, keyDefault, type ListSchema } from './schema.ts';

export interface StructureOptions {
  kind: string;
  isCustom: boolean;
  /**
   * For custom resources: the list type the CRD schema declares at a dotted field path
   * (`spec.items`): keys for `x-kubernetes-list-type: map`, `'set'` for a set. Absent = atomic.
   */
  listMapKeys?: (path: string) => string[] | 'set' | undefined;
}

export interface Structure {
  list(names: readonly string[]): ListSchema | undefined;
  atomicMap(names: readonly string[]): boolean;
}

export function structureFor(opts: StructureOptions): Structure {
  if (!opts.isCustom) {
    return { list: (names) => builtinListSchema(opts.kind, names), atomicMap: builtinAtomicMap };
  }
  return {
    list: (names) => {
      const declared = opts.listMapKeys?.(names.join('.'));
      if (declared === 'set') return { set: true };
      return declared ? { keys: declared, mergeKey: declared[0] } : undefined;
    },
    atomicMap: () => false,
  };
}

/** The `k:{...}` element of a keyed list item, or undefined when a key field is missing. */
export function itemElement(item: unknown, schema: ListSchema): string | undefined {
  if (!isObject(item) || !schema.keys) return undefined;
  const keys: JsonObject = {};
  for (const k of schema.keys) {
    const v = item[k] ?? keyDefault(k);
    if (v === undefined) return undefined;
    keys[k] = v;
  }
  return element.key(keys);
}

/** One tracked value: `value` is its canonical JSON, '' for a keyed list item (present or not). */
export interface Leaf {
  path: string[];
  value: string;
}

/**
 * Every field an object sets, as server-side apply counts them: scalars, atomic lists and maps,
 * set values, and keyed list items with their fields. Maps themselves are not members: owning
 * `metadata.labels.app` does not own the labels map. `strict` refuses keyed items that lack their
 * keys (an applied configuration must name them); objects already stored fall back to indexes.
 */
export function leavesOf(obj: unknown, structure: Structure, strict = false): Map<string, Leaf> {
  const out = new Map<string, Leaf>();
  const add = (path: string[], value: string) => out.set(path.join('\u0000'), { path, value });
  const walk = (value: unknown, path: string[], names: string[]) => {
    if (isObject(value)) {
      if (names.length > 0 && structure.atomicMap(names)) return add(path, canonical(value));
      for (const [k, v] of Object.entries(value)) walk(v, [...path, element.field(k)], [...names, k]);
      return;
    }
    if (!Array.isArray(value)) return add(path, canonical(value));
    const schema = structure.list(names);
    if (!schema) return add(path, canonical(value));
    value.forEach((item, i) => {
      if (schema.set) return add([...path, element.value(item)], canonical(item));
      let pe = itemElement(item, schema);
      if (pe === undefined) {
        if (strict) throw errors.badRequest(`${names.join('.')}: associative list with keys has an element that omits key field(s) ${JSON.stringify(schema.keys)}: ${JSON.stringify(item)}`);
        pe = element.index(i);
      }
      const itemPath = [...path, pe];
      if (out.has(itemPath.join('\u0000'))) throw errors.badRequest(`${names.join('.')}: duplicate entries for key ${pe.slice(2)}`);
      add(itemPath, '');
      if (isObject(item)) for (const [k, v] of Object.entries(item)) walk(v, [...itemPath, element.field(k)], [...names, k]);
    });
  };
  walk(obj, [], []);
  return out;
}

export function fieldSetOf(leaves: Map<string, Leaf>): FieldSet {
  return new FieldSet([...leaves.values()].map((l) => l.path));
}

export interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

export function compare(before: Map<string, Leaf>, after: Map<string, Leaf>): Comparison {
  const added = new FieldSet();
  const modified = new FieldSet();
  const removed = new FieldSet();
  for (const [key, leaf] of after) {
    const old = before.get(key);
    if (!old) added.add(leaf.path);
    else if (old.value !== leaf.value) modified.add(leaf.path);
  }
  for (const [key, leaf] of before) if (!after.has(key)) removed.add(leaf.path);
  return { added, modified, removed };
}

/** Merges an applied configuration into the live object: maps merge, keyed lists merge by key. */
export function mergeApplied(live: unknown, config: unknown, structure: Structure, names: string[] = []): unknown {
  if (isObject(config) && !(names.length > 0 && structure.atomicMap(names))) {
    const out: JsonObject = isObject(live) ? clone(live) : {};
    for (const [k, v] of Object.entries(config)) out[k] = mergeApplied(out[k], v, structure, [...names, k]);
    return out;
  }
  if (!Array.isArray(config)) return clone(config);
  const schema = structure.list(names);
  if (!schema) return clone(config);
  const out = Array.isArray(live) ? clone(live) : [];
  for (const item of config) {
    if (schema.set) {
      if (!out.some((o) => deepEqual(o, item))) out.push(clone(item));
      continue;
    }
    const pe = itemElement(item, schema);
    const at = pe === undefined ? -1 : out.findIndex((o) => itemElement(o, schema) === pe);
    if (at >= 0) out[at] = mergeApplied(out[at], item, structure, names);
    else out.push(clone(item));
  }
  return out;
}

/** The container and position a path leads to, or undefined when it is not in the object. */
function locate(obj: unknown, path: FieldPath, structure: Structure): { parent: unknown; at: string | number } | undefined {
  let node: unknown = obj;
  const names: string[] = [];
  for (let i = 0; i < path.length; i++) {
    const pe = path[i];
    let at: string | number;
    if (pe.startsWith('f:')) {
      if (!isObject(node)) return undefined;
      at = pe.slice(2);
      if (!Object.hasOwn(node, at)) return undefined;
      names.push(at);
    } else {
      if (!Array.isArray(node)) return undefined;
      const schema = structure.list(names) ?? {};
      const body = pe.slice(2);
      if (pe.startsWith('k:')) at = node.findIndex((item) => itemElement(item, schema) === pe);
      else if (pe.startsWith('v:')) at = node.findIndex((item) => canonical(item) === body);
      else at = Number(body);
      if (at < 0 || at >= node.length) return undefined;
    }
    if (i === path.length - 1) return { parent: node, at };
    node = (node as Record<string | number, unknown>)[at];
  }
  return undefined;
}

export function valueAt(obj: unknown, path: FieldPath, structure: Structure): unknown {
  const loc = locate(obj, path, structure);
  return loc ? (loc.parent as Record<string | number, unknown>)[loc.at] : undefined;
}

export function removeAt(obj: unknown, path: FieldPath, structure: Structure): void {
  const loc = locate(obj, path, structure);
  if (!loc) return;
  if (Array.isArray(loc.parent)) loc.parent.splice(loc.at as number, 1);
  else delete (loc.parent as JsonObject)[loc.at as string];
}
