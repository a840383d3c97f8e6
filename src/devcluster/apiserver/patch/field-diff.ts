/**
 * The field bookkeeping of an ordinary write (create, update, patch), done without building every
 * leaf of both objects: a create renders its one entry's FieldsV1 straight from the object, an
 * update walks the old and new objects side by side and descends only where they differ, and the
 * managers' FieldsV1 trees are changed along the changed paths only.
 *
 * Each function here gives exactly what the general form gives: `leavesOf` + `compare` for the
 * changes, `FieldSet` arithmetic + `toFieldsV1` for the trees.
 */
import { errors } from '../errors.ts';
import { canonical, isObject, sameTree, type JsonObject } from './json-value.ts';
import { compareElements, element, type FieldPath } from './fieldset.ts';
import { itemElement, type Structure } from './structure.ts';
import type { ListSchema } from './schema.ts';

type Shape = { kind: 'map' } | { kind: 'leaf' } | { kind: 'set' } | { kind: 'keyed'; schema: ListSchema };

const MAP: Shape = { kind: 'map' };
const LEAF: Shape = { kind: 'leaf' };
const SET: Shape = { kind: 'set' };

/** How `leavesOf` treats a value at `names`: a map to descend, one leaf, a set or a keyed list. */
function shapeOf(value: unknown, names: readonly string[], structure: Structure): Shape {
  if (isObject(value)) return names.length > 0 && structure.atomicMap(names) ? LEAF : MAP;
  if (!Array.isArray(value)) return LEAF;
  const schema = structure.list(names);
  if (!schema) return LEAF;
  return schema.set ? SET : { kind: 'keyed', schema };
}

/**
 * The items of a keyed list with their path elements, refusing duplicates as `leavesOf` does: as
 * each item is reached, so that the first duplicate in document order is the one named.
 */
function* itemsOf(list: unknown[], schema: ListSchema, names: readonly string[]): Generator<[string, unknown]> {
  const seen = new Set<string>();
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    const pe = itemElement(item, schema) ?? element.index(i);
    if (seen.has(pe)) throw errors.badRequest(`${names.join('.')}: duplicate entries for key ${pe.slice(2)}`);
    seen.add(pe);
    yield [pe, item];
  }
}

// ---------------------------------------------------------------------------------------------
// Create: one walk from the object to FieldsV1

/**
 * The FieldsV1 tree of every field `value` sets (as `toFieldsV1` renders the set of its leaves),
 * or undefined when it sets none.
 */
export function fieldsV1Of(value: unknown, structure: Structure): JsonObject | undefined {
  return render(value, [], structure);
}

function render(value: unknown, names: string[], structure: Structure): JsonObject | undefined {
  const shape = shapeOf(value, names, structure);
  switch (shape.kind) {
    case 'leaf':
      return {};
    case 'map': {
      const children: Array<[string, JsonObject]> = [];
      for (const [k, v] of Object.entries(value as JsonObject)) {
        names.push(k);
        const child = render(v, names, structure);
        names.pop();
        if (child) children.push([element.field(k), child]);
      }
      return node(children, false);
    }
    case 'set': {
      const children = new Map<string, JsonObject>();
      for (const item of value as unknown[]) children.set(element.value(item), {});
      return node([...children], false);
    }
    case 'keyed': {
      const children: Array<[string, JsonObject]> = [];
      for (const [pe, item] of itemsOf(value as unknown[], shape.schema, names)) {
        const fields: Array<[string, JsonObject]> = [];
        if (isObject(item)) {
          for (const [k, v] of Object.entries(item)) {
            names.push(k);
            const child = render(v, names, structure);
            names.pop();
            if (child) fields.push([element.field(k), child]);
          }
        }
        children.push([pe, node(fields, true)!]);
      }
      return node(children, false);
    }
  }
}

/** A FieldsV1 node: `.` first when it is a member with members below, then its children in order. */
function node(children: Array<[string, JsonObject]>, member: boolean): JsonObject | undefined {
  if (children.length === 0) return member ? {} : undefined;
  children.sort((a, b) => compareElements(a[0], b[0]));
  const out: JsonObject = member ? { '.': {} } : {};
  for (const [k, v] of children) out[k] = v;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Update: the changes between two objects

export interface Changes {
  /** Added or modified: the fields the writer now owns. */
  written: string[][];
  removed: string[][];
}

/** What `compare(leavesOf(before), leavesOf(after))` finds, descending only where the two differ. */
export function diffFields(before: unknown, after: unknown, structure: Structure): Changes {
  const changes: Changes = { written: [], removed: [] };
  diff(before, after, [], [], structure, changes);
  return changes;
}

function diff(a: unknown, b: unknown, path: string[], names: string[], structure: Structure, out: Changes): void {
  if (sameTree(a, b)) return;
  const sa = shapeOf(a, names, structure);
  const sb = shapeOf(b, names, structure);
  if (sa.kind !== sb.kind) {
    // A value that changed its shape: compare its leaves one by one.
    const collect = (v: unknown) => {
      const found = new Map<string, { path: string[]; value: string }>();
      leaves(v, path, names, structure, (p, value) => found.set(p.join('\u0000'), { path: p, value }));
      return found;
    };
    const before = collect(a);
    const after = collect(b);
    for (const [key, leaf] of after) if (before.get(key)?.value !== leaf.value) out.written.push(leaf.path);
    for (const [key, leaf] of before) if (!after.has(key)) out.removed.push(leaf.path);
    return;
  }
  switch (sb.kind) {
    case 'leaf':
      if (canonical(a) !== canonical(b)) out.written.push(path);
      return;
    case 'map':
      diffEntries(a as JsonObject, b as JsonObject, path, names, structure, out);
      return;
    case 'set': {
      const was = new Set((a as unknown[]).map((item) => element.value(item)));
      const now = new Set((b as unknown[]).map((item) => element.value(item)));
      for (const pe of now) if (!was.has(pe)) out.written.push([...path, pe]);
      for (const pe of was) if (!now.has(pe)) out.removed.push([...path, pe]);
      return;
    }
    case 'keyed': {
      const was = new Map(itemsOf(a as unknown[], sb.schema, names));
      const now = new Set<string>();
      for (const [pe, item] of itemsOf(b as unknown[], sb.schema, names)) {
        now.add(pe);
        const itemPath = [...path, pe];
        if (!was.has(pe)) {
          out.written.push(itemPath);
          itemLeaves(item, itemPath, names, structure, (p) => out.written.push(p));
          continue;
        }
        const old = was.get(pe);
        if (sameTree(old, item)) continue;
        diffEntries(isObject(old) ? old : {}, isObject(item) ? item : {}, itemPath, names, structure, out);
      }
      for (const [pe, item] of was) {
        if (now.has(pe)) continue;
        const itemPath = [...path, pe];
        out.removed.push(itemPath);
        itemLeaves(item, itemPath, names, structure, (p) => out.removed.push(p));
      }
    }
  }
}

/** The fields of two maps (or two items of a keyed list), key by key. */
function diffEntries(a: JsonObject, b: JsonObject, path: string[], names: string[], structure: Structure, out: Changes): void {
  for (const k of Object.keys(b)) {
    const childPath = [...path, element.field(k)];
    names.push(k);
    if (Object.hasOwn(a, k)) diff(a[k], b[k], childPath, names, structure, out);
    else leaves(b[k], childPath, names, structure, (p) => out.written.push(p));
    names.pop();
  }
  for (const k of Object.keys(a)) {
    if (Object.hasOwn(b, k)) continue;
    names.push(k);
    leaves(a[k], [...path, element.field(k)], names, structure, (p) => out.removed.push(p));
    names.pop();
  }
}

/** Every leaf of a value, as `leavesOf` walks it (non-strict). */
function leaves(value: unknown, path: string[], names: string[], structure: Structure, emit: (path: string[], value: string) => void): void {
  const shape = shapeOf(value, names, structure);
  switch (shape.kind) {
    case 'leaf':
      return emit(path, canonical(value));
    case 'map':
      for (const [k, v] of Object.entries(value as JsonObject)) {
        names.push(k);
        leaves(v, [...path, element.field(k)], names, structure, emit);
        names.pop();
      }
      return;
    case 'set': {
      const seen = new Set<string>();
      for (const item of value as unknown[]) {
        const pe = element.value(item);
        if (!seen.has(pe)) emit([...path, pe], canonical(item));
        seen.add(pe);
      }
      return;
    }
    case 'keyed':
      for (const [pe, item] of itemsOf(value as unknown[], shape.schema, names)) {
        emit([...path, pe], '');
        itemLeaves(item, [...path, pe], names, structure, emit);
      }
  }
}

function itemLeaves(item: unknown, itemPath: string[], names: string[], structure: Structure, emit: (path: string[], value: string) => void): void {
  if (!isObject(item)) return;
  for (const [k, v] of Object.entries(item)) {
    names.push(k);
    leaves(v, [...itemPath, element.field(k)], names, structure, emit);
    names.pop();
  }
}

// ---------------------------------------------------------------------------------------------
// FieldsV1 trees changed in place of FieldSet arithmetic

/**
 * The tree with `path` no longer a member (as `FieldSet.delete` then `toFieldsV1`): copied along
 * the path only; the same tree when `path` was not a member.
 */
export function withoutMember(tree: JsonObject, path: FieldPath, i = 0): JsonObject {
  const pe = path[i];
  if (!Object.hasOwn(tree, pe)) return tree;
  const child = tree[pe];
  const leaf = !isObject(child) || isEmptyObject(child);
  let next: JsonObject | undefined;
  if (i === path.length - 1) {
    if (leaf) next = undefined;
    else if (Object.hasOwn(child as JsonObject, '.')) next = withoutKey(child as JsonObject, '.');
    else return tree;
  } else {
    if (leaf) return tree;
    next = withoutMember(child as JsonObject, path, i + 1);
    if (next === child) return tree;
    const keys = Object.keys(next);
    // A member whose members below are all gone is a leaf again; a non-member with none is gone.
    if (keys.length === 0) next = undefined;
    else if (keys.length === 1 && keys[0] === '.') next = {};
  }
  return next === undefined ? withoutKey(tree, pe) : { ...tree, [pe]: next };
}

/** The tree with `path` a member (as `FieldSet.add` then `toFieldsV1`): copied along the path only. */
export function withMember(tree: JsonObject, path: FieldPath, i = 0): JsonObject {
  const pe = path[i];
  const last = i === path.length - 1;
  if (!Object.hasOwn(tree, pe)) {
    return withKey(tree, pe, last ? {} : withMember({}, path, i + 1));
  }
  const child = isObject(tree[pe]) ? (tree[pe] as JsonObject) : {};
  const leaf = isEmptyObject(child);
  let next: JsonObject;
  if (last) {
    if (leaf || Object.hasOwn(child, '.')) return tree;
    next = { '.': {}, ...child };
  } else {
    next = withMember(child, path, i + 1);
    if (next === child) return tree;
    // A leaf member that gains members below keeps its own membership as `.`.
    if (leaf) next = { '.': {}, ...next };
  }
  return { ...tree, [pe]: next };
}

function isEmptyObject(o: JsonObject): boolean {
  for (const _ in o) return false;
  return true;
}

function withoutKey(o: JsonObject, key: string): JsonObject {
  const out: JsonObject = {};
  for (const k of Object.keys(o)) if (k !== key) out[k] = o[k];
  return out;
}

/** `o` with a new key at its place in FieldsV1 order. */
function withKey(o: JsonObject, key: string, value: JsonObject): JsonObject {
  const out: JsonObject = {};
  let placed = false;
  for (const k of Object.keys(o)) {
    if (!placed && compareElements(key, k) < 0) {
      out[key] = value;
      placed = true;
    }
    out[k] = o[k];
  }
  if (!placed) out[key] = value;
  return out;
}
