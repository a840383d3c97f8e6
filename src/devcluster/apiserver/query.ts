/**
 * The parts of a list or watch request that pick objects: namespace, label selector and field
 * selector, compiled once into one predicate over stored entries.
 */
import { parseFieldSelector, parseLabelSelector, fieldValue, SelectorError } from '../../kube/index.ts';
import { errors } from './errors.ts';
import type { ResourceType } from './resources.ts';
import { indexTerms, type IndexTerm } from './label-index.ts';
import type { Entry } from './storage.ts';

export interface Filter {
  namespace?: string;
  /** True when the filter narrows by label or field, so remainingItemCount cannot be known. */
  selective: boolean;
  /** What the storage's label index can answer of the label selector (see Storage.list). */
  labelTerms: IndexTerm[];
  matches(entry: Entry): boolean;
}

export function compileFilter(t: ResourceType, namespace: string | undefined, labelSelector?: string | null, fieldSelector?: string | null): Filter {
  let labels: ReturnType<typeof parseLabelSelector> | undefined;
  let fields: ReturnType<typeof parseFieldSelector> | undefined;
  try {
    if (labelSelector) labels = parseLabelSelector(labelSelector);
    if (fieldSelector) fields = parseFieldSelector(fieldSelector);
  } catch (err) {
    if (err instanceof SelectorError) throw errors.badRequest(err.message);
    throw err;
  }
  if (fields) {
    const allowed = new Set(['metadata.name', 'metadata.namespace', ...(t.fieldLabels ?? [])]);
    for (const f of fields.fields()) {
      if (allowed.has(f)) continue;
      // Kinds with field labels of their own convert them in a function that words it this way;
      // the others go through the generic check.
      throw errors.badRequest(t.fieldLabels?.length ? `field label not supported: ${f}` : `${JSON.stringify(f)} is not a known field selector: only "metadata.name", "metadata.namespace"`);
    }
  }
  const labelMatch = labels && !labels.empty ? labels : undefined;
  const fieldMatch = fields && fields.requirements.length > 0 ? fields : undefined;
  return {
    namespace,
    selective: !!(labelMatch || fieldMatch),
    labelTerms: labelMatch ? indexTerms(labelMatch.requirements) : [],
    matches(entry: Entry): boolean {
      if (labelMatch && !labelMatch.matches(entry.labels as Record<string, string> | undefined)) return false;
      if (fieldMatch && !fieldMatch.matches((f) => storedFieldValue(entry, f))) return false;
      return true;
    },
  };
}

/** A field's value; the name and namespace come from the key, so that most field selectors parse nothing. */
function storedFieldValue(entry: Entry, field: string): string | undefined {
  if (field === 'metadata.name') return entry.name;
  if (field === 'metadata.namespace') return entry.namespace;
  return fieldValue(entry.obj, field);
}

/** The continue token: the list's snapshot version and the key after which the next page starts. */
export function encodeContinue(rv: number, lastKey: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start: `${lastKey}\u0000` })).toString('base64url');
}

export function decodeContinue(token: string): { rv: number; start: string } {
  const invalid = (why: string) => errors.badRequest(`invalid continue token: continue key is not valid: ${why}`);
  let v: any;
  try {
    v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch (err) {
    throw invalid((err as Error).message);
  }
  if (typeof v !== 'object' || v === null || v.v !== 'meta.k8s.io/v1') throw invalid('incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  // A version is a positive int64 (an etcd revision): 1e308 or 1.5 is refused, as Go's decoder refuses it.
  if (typeof v.rv !== 'number' || !Number.isSafeInteger(v.rv)) throw invalid(`cannot unmarshal number ${JSON.stringify(v.rv)} into continueToken.rv of type int64`);
  if (v.rv <= 0) throw invalid('incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  if (typeof v.start !== 'string') throw invalid('incorrect encoded start key');
  // As kube-apiserver: a start key that is not a clean path (`..`, `//`) could range outside the list.
  const key = v.start.startsWith('/') ? v.start : `/${v.start}`;
  if (key !== '/' && key.slice(1).split('/').some((seg: string) => seg === '' || seg === '.' || seg === '..')) throw invalid(v.start);
  return { rv: v.rv, start: v.start };
}
