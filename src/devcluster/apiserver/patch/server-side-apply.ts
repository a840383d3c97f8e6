/**
 * Server-side apply and the field ownership every write records, as kube-apiserver's field
 * manager does it:
 * - Apply: the configuration is merged into the live object; the applier then owns exactly the
 *   fields it applied. Fields it applied last time and not now are removed unless someone else
 *   still owns them. Changing a value another manager owns is a conflict (409) unless forced,
 *   in which case that manager loses the field. Applying the same value shares ownership.
 * - Update (create, update, patch): the manager takes the fields whose values it added or changed;
 *   other managers lose them. Removed fields leave every manager's set.
 */
import YAML from 'yaml';
import { ApiError, cause, errors } from '../errors.ts';
import { clone, deepEqual, isObject, type JsonObject } from './json-value.ts';
import { FieldSet, pathString } from './fieldset.ts';
import { compareEntries, describeManager, readManagedFields, sameOwner, trackedPart, writeManagedFields, type ManagerEntry, type Operation } from './managed-fields.ts';
import { diffFields, fieldsV1Of, withMember, withoutMember, type Changes } from './field-diff.ts';
import { fieldSetOf, leavesOf, mergeApplied, removeAt, structureFor, valueAt, type Structure, type StructureOptions } from './structure.ts';

export interface WriteOptions extends Partial<Pick<StructureOptions, 'listMapKeys'>> {
  manager: string;
  kind: string;
  /** The version the manager wrote with, as recorded in its entry (`apps/v1`). */
  apiVersion: string;
  /** RFC 3339, recorded as the entry's `time`. */
  now: string;
  subresource?: string;
  isCustom?: boolean;
}

export interface ApplyOptions extends WriteOptions {
  force: boolean;
  isCustom: boolean;
}

export function serverSideApply(current: unknown, applied: unknown, opts: ApplyOptions): { object: JsonObject } {
  if (!opts.manager) {
    throw errors.invalid('PatchOptions', 'meta.k8s.io', '', [cause.required('fieldManager', 'is required for apply patch')]);
  }
  const config = parseConfiguration(applied, opts);
  const structure = structureFor(opts);
  const live: JsonObject = isObject(current) ? withoutManagedFields(current) : {};

  const configPart = trackedPart(config, opts.subresource);
  const applierFields = fieldSetOf(leavesOf(configPart, structure, true));
  const entries = readManagedFields(current);
  const owner = { manager: opts.manager, operation: 'Apply' as const, subresource: opts.subresource };
  const previous = entries.find((e) => sameOwner(e, owner));
  const others = entries.filter((e) => !sameOwner(e, owner));

  // The configuration only writes where this request may write: /status writes status only.
  let merged: JsonObject;
  if (opts.subresource === 'status') {
    merged = clone(live);
    if (config.status !== undefined) merged.status = mergeApplied(live.status, config.status, structure, ['status']);
  } else {
    const { status: _ignored, ...rest } = config;
    merged = mergeApplied(live, rest, structure) as JsonObject;
  }

  const applier: ManagerEntry = { ...owner, apiVersion: opts.apiVersion, fields: applierFields, ...(previous?.time ? { time: previous.time } : {}) };
  prune(merged, previous?.fields ?? new FieldSet(), [applier, ...others], structure);

  const changes = compareTracked(live, merged, opts.subresource, structure);
  const conflicts = others
    .map((e) => ({ entry: e, fields: e.fields.intersection(changes.written) }))
    .filter((c) => c.fields.size > 0);
  if (conflicts.length > 0 && !opts.force) throw conflictError(conflicts);
  for (const c of conflicts) c.entry.fields = c.entry.fields.difference(c.fields);
  for (const e of others) e.fields = e.fields.difference(changes.removed);

  const changed = changes.written.size + changes.removed.size > 0 || !previous || !previous.fields.equals(applierFields);
  if (changed) applier.time = opts.now;
  merged.metadata = { ...(isObject(merged.metadata) ? merged.metadata : {}) };
  const managedFields = writeManagedFields([applier, ...others]);
  if (managedFields.length > 0) (merged.metadata as JsonObject).managedFields = managedFields;
  return { object: merged };
}

export function trackUpdate(old: unknown, next: JsonObject, opts: WriteOptions): void {
  const structure = structureFor({ kind: opts.kind, isCustom: opts.isCustom ?? false, listMapKeys: opts.listMapKeys });
  if (!isObject(next.metadata)) next.metadata = {};
  const metadata = next.metadata as JsonObject;
  if (!isObject(old)) {
    // A create: the writer owns every field, so its one entry is rendered straight from the object.
    const fieldsV1 = fieldsV1Of(trackedPart(next, opts.subresource), structure);
    if (fieldsV1) metadata.managedFields = [entryObject({ manager: opts.manager, operation: 'Update', apiVersion: opts.apiVersion, time: opts.now, fieldsV1, subresource: opts.subresource })];
    else delete metadata.managedFields;
    return;
  }
  const changes = diffFields(trackedPart(old, opts.subresource), trackedPart(next, opts.subresource), structure);
  const oldManaged = isObject(old.metadata) ? old.metadata.managedFields : undefined;
  if (changes.written.length + changes.removed.length === 0) {
    // A write that changes nothing leaves ownership (and its timestamps) as it was.
    if (oldManaged === undefined) delete metadata.managedFields;
    else metadata.managedFields = clone(oldManaged);
    return;
  }
  const managedFields = updateEntries(oldManaged, changes, opts) ?? updateFieldSets(old, changes, opts);
  if (managedFields.length > 0) metadata.managedFields = managedFields;
  else delete metadata.managedFields;
}

interface StoredEntry {
  manager: string;
  operation: Operation;
  apiVersion: string;
  time?: string;
  fieldsV1: JsonObject;
  subresource?: string;
}

/** An entry as `writeManagedFields` writes it, keys in the same order. */
function entryObject(e: StoredEntry): JsonObject {
  return {
    manager: e.manager,
    operation: e.operation,
    apiVersion: e.apiVersion,
    ...(e.time ? { time: e.time } : {}),
    fieldsType: 'FieldsV1',
    fieldsV1: e.fieldsV1,
    ...(e.subresource ? { subresource: e.subresource } : {}),
  };
}

const ENTRY_KEYS = ['manager', 'operation', 'apiVersion', 'time', 'fieldsType', 'fieldsV1', 'subresource'];

/** The entry when it is exactly as `writeManagedFields` writes one, which every stored entry is. */
function storedEntry(e: unknown): StoredEntry | undefined {
  if (!isObject(e)) return undefined;
  let at = 0;
  for (const k of Object.keys(e)) {
    while (at < ENTRY_KEYS.length && ENTRY_KEYS[at] !== k) {
      if (ENTRY_KEYS[at] !== 'time' && ENTRY_KEYS[at] !== 'subresource') return undefined;
      at++;
    }
    if (at++ === ENTRY_KEYS.length) return undefined;
  }
  if (at < ENTRY_KEYS.length - 1) return undefined;
  const { manager, operation, apiVersion, time, fieldsType, fieldsV1, subresource } = e;
  if (typeof manager !== 'string' || (operation !== 'Apply' && operation !== 'Update') || typeof apiVersion !== 'string' || fieldsType !== 'FieldsV1') return undefined;
  if ((time !== undefined && (typeof time !== 'string' || !time)) || (subresource !== undefined && (typeof subresource !== 'string' || !subresource))) return undefined;
  if (!isObject(fieldsV1) || Object.keys(fieldsV1).length === 0) return undefined;
  return { manager, operation, apiVersion, ...(time ? { time } : {}), fieldsV1, ...(subresource ? { subresource } : {}) };
}

/**
 * The managedFields after an Update that wrote and removed `changes`, changing each entry's
 * FieldsV1 along those paths only; entries it does not touch are kept as they are. Undefined when
 * the stored entries are not in the form this server writes (then the general form is used).
 */
function updateEntries(oldManaged: unknown, changes: Changes, opts: WriteOptions): JsonObject[] | undefined {
  const raw = Array.isArray(oldManaged) ? oldManaged : [];
  if (changes.written.some((p) => p.length === 0) || changes.removed.some((p) => p.length === 0)) return undefined;
  const entries: Array<{ stored: StoredEntry; raw?: unknown }> = [];
  for (const r of raw) {
    const stored = storedEntry(r);
    if (!stored) return undefined;
    entries.push({ stored, raw: r });
  }
  const owner = { manager: opts.manager, operation: 'Update' as const, subresource: opts.subresource };
  for (const e of entries) {
    let fields = e.stored.fieldsV1;
    if (!sameOwner(e.stored, owner)) for (const p of changes.written) fields = withoutMember(fields, p);
    for (const p of changes.removed) fields = withoutMember(fields, p);
    if (fields !== e.stored.fieldsV1) {
      e.stored = { ...e.stored, fieldsV1: fields };
      e.raw = undefined;
    }
  }
  let entry = entries.find((e) => sameOwner(e.stored, owner));
  if (!entry) entries.push((entry = { stored: { ...owner, apiVersion: opts.apiVersion, fieldsV1: {} } }));
  let fields = entry.stored.fieldsV1;
  for (const p of changes.written) fields = withMember(fields, p);
  entry.stored = { ...entry.stored, apiVersion: opts.apiVersion, time: opts.now, fieldsV1: fields };
  entry.raw = undefined;
  const kept = entries.filter((e) => Object.keys(e.stored.fieldsV1).length > 0);
  kept.sort((p, q) => compareEntries(p.stored, q.stored));
  return kept.map((e) => (e.raw ?? entryObject(e.stored)) as JsonObject);
}

/** The same, through FieldSets: for managedFields in any other form. */
function updateFieldSets(old: JsonObject, changes: Changes, opts: WriteOptions): JsonObject[] {
  const entries = readManagedFields(old);
  const owner = { manager: opts.manager, operation: 'Update' as const, subresource: opts.subresource };
  const written = new FieldSet(changes.written);
  const removed = new FieldSet(changes.removed);
  for (const e of entries) {
    if (!sameOwner(e, owner)) e.fields = e.fields.difference(written);
    e.fields = e.fields.difference(removed);
  }
  let entry = entries.find((e) => sameOwner(e, owner));
  if (!entry) entries.push((entry = { ...owner, apiVersion: opts.apiVersion, fields: new FieldSet() }));
  entry.fields = entry.fields.union(written);
  entry.apiVersion = opts.apiVersion;
  entry.time = opts.now;
  return writeManagedFields(entries);
}

function parseConfiguration(applied: unknown, opts: ApplyOptions): JsonObject {
  let config = applied;
  if (typeof applied === 'string' || applied instanceof Uint8Array) {
    try {
      config = YAML.parse(typeof applied === 'string' ? applied : new TextDecoder().decode(applied));
    } catch (err) {
      throw errors.badRequest(`error decoding YAML: ${(err as Error).message}`);
    }
  }
  if (!isObject(config)) throw errors.badRequest('the applied configuration must be an object');
  if (typeof config.apiVersion !== 'string' || !config.apiVersion) throw errors.badRequest('invalid object: apiVersion must be set in the applied configuration');
  if (typeof config.kind !== 'string' || !config.kind) throw errors.badRequest(`Object 'Kind' is missing in the applied configuration`);
  if (!isObject(config.metadata) || typeof config.metadata.name !== 'string' || !config.metadata.name) {
    throw errors.badRequest('metadata.name must be set in the applied configuration');
  }
  if (config.kind !== opts.kind || config.apiVersion !== opts.apiVersion) {
    throw errors.badRequest(`the applied configuration is a ${config.apiVersion}, Kind=${config.kind}, but the request is for ${opts.apiVersion}, Kind=${opts.kind}`);
  }
  return stripNulls(config) as JsonObject;
}

/** `null` in an applied configuration means "not set": it neither writes nor claims the field. */
function stripNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripNulls);
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  for (const [k, child] of Object.entries(v)) if (child !== null) out[k] = stripNulls(child);
  return out;
}

function withoutManagedFields(obj: JsonObject): JsonObject {
  const out = clone(obj);
  if (isObject(out.metadata)) delete out.metadata.managedFields;
  return out;
}

function compareTracked(before: unknown, after: unknown, subresource: string | undefined, structure: Structure): { written: FieldSet; removed: FieldSet } {
  const changes = diffFields(trackedPart(before, subresource), trackedPart(after, subresource), structure);
  return { written: new FieldSet(changes.written), removed: new FieldSet(changes.removed) };
}

/**
 * Removes what the applier applied last time and no longer applies, unless some manager still
 * owns it (or something below it). Maps left empty by the removal go too when nobody owns
 * anything in them, so dropping the last label does not leave `labels: {}` behind.
 */
function prune(obj: JsonObject, lastApplied: FieldSet, owners: ManagerEntry[], structure: Structure): void {
  const owned = (path: string[]) => owners.some((e) => e.fields.covers(path));
  // A keyed item's key fields are its identity: they go with the item, never on their own.
  const stale = lastApplied.paths().filter((p) => !owned(p) && !isKeyField(p));
  // Shallowest first: a removed item takes its fields along, found by its keys while still whole.
  stale.sort((a, b) => a.length - b.length);
  for (const path of stale) {
    removeAt(obj, path, structure);
    for (let depth = path.length - 1; depth > 0; depth--) {
      const parent = path.slice(0, depth);
      if (!parent[parent.length - 1].startsWith('f:') || owned(parent)) break;
      const value = valueAt(obj, parent, structure);
      if (!(deepEqual(value, {}) || deepEqual(value, []))) break;
      removeAt(obj, parent, structure);
    }
  }
}

function isKeyField(path: string[]): boolean {
  const [item, field] = path.slice(-2);
  if (path.length < 2 || !item.startsWith('k:') || !field.startsWith('f:')) return false;
  return Object.hasOwn(JSON.parse(item.slice(2)) as object, field.slice(2));
}

function conflictError(conflicts: { entry: ManagerEntry; fields: FieldSet }[]): ApiError {
  const all = conflicts.flatMap((c) => c.fields.paths().map((p) => ({ manager: describeManager(c.entry), field: pathString(p) })));
  all.sort((a, b) => (a.manager === b.manager ? a.field.localeCompare(b.field) : a.manager.localeCompare(b.manager)));
  let message: string;
  if (all.length === 1) {
    message = `Apply failed with 1 conflict: conflict with ${all[0].manager}: ${all[0].field}`;
  } else {
    const lines: string[] = [];
    for (const manager of [...new Set(all.map((c) => c.manager))]) {
      lines.push(`conflicts with ${manager}:`);
      for (const c of all.filter((x) => x.manager === manager)) lines.push(`- ${c.field}`);
    }
    message = `Apply failed with ${all.length} conflicts: ${lines.join('\n')}`;
  }
  return new ApiError(409, 'Conflict', message, {
    causes: all.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with ${c.manager}`, field: c.field })),
  });
}
