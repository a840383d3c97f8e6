/**
 * `metadata.managedFields`: who owns which fields. Each entry is one manager writing with one
 * operation (Apply or Update) through one subresource; its fields are a FieldSet.
 */
import { isObject, type JsonObject } from './json-value.ts';
import { FieldSet } from './fieldset.ts';

export type Operation = 'Apply' | 'Update';

export interface ManagerEntry {
  manager: string;
  operation: Operation;
  apiVersion: string;
  time?: string;
  subresource?: string;
  fields: FieldSet;
}

export function readManagedFields(obj: unknown): ManagerEntry[] {
  const entries = isObject(obj) && isObject(obj.metadata) ? obj.metadata.managedFields : undefined;
  if (!Array.isArray(entries)) return [];
  return entries.filter(isObject).map((e) => ({
    manager: String(e.manager ?? ''),
    operation: e.operation === 'Apply' ? 'Apply' : 'Update',
    apiVersion: String(e.apiVersion ?? ''),
    ...(typeof e.time === 'string' ? { time: e.time } : {}),
    ...(typeof e.subresource === 'string' && e.subresource ? { subresource: e.subresource } : {}),
    fields: FieldSet.fromFieldsV1(e.fieldsV1),
  }));
}

/** Entries in the order a real server writes them: by operation, time, manager, version, subresource. */
export function writeManagedFields(entries: ManagerEntry[]): JsonObject[] {
  const sorted = entries.filter((e) => e.fields.size > 0).sort(compareEntries);
  return sorted.map((e) => ({
    manager: e.manager,
    operation: e.operation,
    apiVersion: e.apiVersion,
    ...(e.time ? { time: e.time } : {}),
    fieldsType: 'FieldsV1',
    fieldsV1: e.fields.toFieldsV1(),
    ...(e.subresource ? { subresource: e.subresource } : {}),
  }));
}

type EntryOrder = Pick<ManagerEntry, 'manager' | 'operation' | 'apiVersion' | 'time' | 'subresource'>;

export function compareEntries(p: EntryOrder, q: EntryOrder): number {
  return cmp(p.operation, q.operation) || cmp(p.time ?? '', q.time ?? '') || cmp(p.manager, q.manager) || cmp(p.apiVersion, q.apiVersion) || cmp(p.subresource ?? '', q.subresource ?? '');
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function sameOwner(e: Pick<ManagerEntry, 'manager' | 'operation' | 'subresource'>, o: Pick<ManagerEntry, 'manager' | 'operation' | 'subresource'>): boolean {
  return e.manager === o.manager && e.operation === o.operation && (e.subresource ?? '') === (o.subresource ?? '');
}

/** A manager as conflict messages name it: `"kubectl" using apps/v1 at 2024-01-01T00:00:00Z` for updaters. */
export function describeManager(e: ManagerEntry): string {
  let name = JSON.stringify(e.manager);
  if (e.subresource) name += ` with subresource ${JSON.stringify(e.subresource)}`;
  if (e.operation === 'Update') return e.time ? `${name} using ${e.apiVersion} at ${e.time}` : `${name} using ${e.apiVersion}`;
  return name;
}

/** Metadata the server owns; a real server never records them in managedFields. */
const SERVER_METADATA = ['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields', 'selfLink', 'deletionTimestamp', 'deletionGracePeriodSeconds'];

/**
 * The part of an object a write through `subresource` may own: `status` for /status; everything
 * else (without the server-set metadata) for the main resource. A view that shares its values
 * with `obj`: read it, never change it.
 */
export function trackedPart(obj: unknown, subresource: string | undefined): JsonObject {
  if (!isObject(obj)) return {};
  if (subresource === 'status') return obj.status === undefined ? {} : { status: obj.status };
  const { apiVersion: _a, kind: _k, status: _s, ...out } = obj;
  if (isObject(out.metadata)) {
    const metadata = { ...out.metadata };
    for (const f of SERVER_METADATA) delete metadata[f];
    if (Object.keys(metadata).length === 0) delete out.metadata;
    else out.metadata = metadata;
  }
  return out;
}

/** The manager name a real server records: ?fieldManager, else the user agent up to its first '/'. */
export function managerName(fieldManager: string | undefined, userAgent: string | undefined): string {
  if (fieldManager) return fieldManager;
  return (userAgent ?? '').split('/')[0].slice(0, 128);
}
