/**
 * JSON patch (RFC 6902), as `application/json-patch+json` bodies from client-node arrive. Errors
 * follow kube-apiserver: a body that is not a list of operations is a 400, an operation that
 * cannot be applied (missing path, failed `test`) is a 422 Invalid naming the operation and path.
 */
import { ApiError, errors } from '../errors.ts';
import { clone, deepEqual, isObject } from './json-value.ts';

interface Operation {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

/** The most operations one patch may carry, as kube-apiserver limits them. */
const MAX_OPERATIONS = 10000;

export function applyJsonPatch(document: unknown, patch: unknown): unknown {
  const ops = decode(patch);
  // Operations apply to a copy one after another; a failure leaves the caller's object untouched.
  let doc = clone(document);
  for (const op of ops) doc = applyOperation(doc, op);
  return doc;
}

function decode(patch: unknown): Operation[] {
  if (!Array.isArray(patch)) {
    throw errors.badRequest(`json: cannot unmarshal ${describeType(patch)} into Go value of type jsonpatch.Patch`);
  }
  if (patch.length > MAX_OPERATIONS) {
    throw new ApiError(413, 'RequestEntityTooLarge', `Request entity too large: The allowed maximum operations in a JSON patch is ${MAX_OPERATIONS}, got ${patch.length}`);
  }
  return patch.map((op, i) => {
    if (!isObject(op)) throw errors.badRequest(`json: cannot unmarshal ${describeType(op)} into Go value of type jsonpatch.Operation (operation ${i})`);
    if (typeof op.path !== 'string') throw invalid(`operation ${i} (${String(op.op)}) is missing a "path"`);
    return op as unknown as Operation;
  });
}

function describeType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  return typeof v === 'object' ? 'object' : typeof v;
}

function invalid(message: string): ApiError {
  return new ApiError(422, 'Invalid', message);
}

/** Splits a JSON pointer (RFC 6901) into unescaped tokens; '' is the whole document. */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw invalid(`invalid JSON pointer ${JSON.stringify(pointer)}: it must start with "/"`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function applyOperation(doc: unknown, op: Operation): unknown {
  switch (op.op) {
    case 'add':
      requireValue(op);
      return add(doc, op.path, clone(op.value), op);
    case 'remove':
      return remove(doc, op.path, op).doc;
    case 'replace': {
      requireValue(op);
      get(doc, op.path, `replace operation does not apply: doc is missing key: ${op.path}`);
      return set(doc, op.path, clone(op.value));
    }
    case 'move': {
      const from = requireFrom(op);
      if (op.path.startsWith(`${from}/`)) throw invalid(`move operation does not apply: cannot move ${from} into its own child ${op.path}`);
      const taken = remove(doc, from, op, `move operation does not apply: doc is missing from path: ${from}`);
      return add(taken.doc, op.path, taken.value, op);
    }
    case 'copy': {
      const from = requireFrom(op);
      const value = get(doc, from, `copy operation does not apply: doc is missing from path: ${from}`);
      return add(doc, op.path, clone(value), op);
    }
    case 'test': {
      const actual = get(doc, op.path, `testing value ${op.path} failed: test failed`);
      if (!deepEqual(actual, op.value ?? null)) throw invalid(`testing value ${op.path} failed: test failed`);
      return doc;
    }
    default:
      throw invalid(`Unexpected kind: ${String(op.op)}`);
  }
}

function requireValue(op: Operation): void {
  if (!('value' in op)) throw invalid(`${op.op} operation ${op.path}: missing "value"`);
}

function requireFrom(op: Operation): string {
  if (typeof op.from !== 'string') throw invalid(`${op.op} operation ${op.path}: missing "from"`);
  return op.from;
}

/** The container that holds the last token of `pointer`, and that token. */
function parentOf(doc: unknown, pointer: string, missing: string): { parent: unknown; token: string } {
  const tokens = parsePointer(pointer);
  const token = tokens.pop()!;
  let parent = doc;
  for (const t of tokens) parent = child(parent, t, missing);
  return { parent, token };
}

function child(container: unknown, token: string, missing: string): unknown {
  if (Array.isArray(container)) {
    const i = arrayIndex(token, container.length - 1, missing);
    return container[i];
  }
  if (isObject(container) && Object.hasOwn(container, token)) return container[token];
  throw invalid(missing);
}

function arrayIndex(token: string, max: number, missing: string): number {
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw invalid(`${missing}: invalid array index ${JSON.stringify(token)}`);
  const i = Number(token);
  if (i > max) throw invalid(`${missing}: index ${i} out of bounds`);
  return i;
}

function get(doc: unknown, pointer: string, missing: string): unknown {
  let v = doc;
  for (const t of parsePointer(pointer)) v = child(v, t, missing);
  return v;
}

function set(doc: unknown, pointer: string, value: unknown): unknown {
  if (pointer === '') return value;
  const { parent, token } = parentOf(doc, pointer, `doc is missing path: ${pointer}`);
  if (Array.isArray(parent)) parent[arrayIndex(token, parent.length - 1, `doc is missing path: ${pointer}`)] = value;
  else (parent as Record<string, unknown>)[token] = value;
  return doc;
}

function add(doc: unknown, pointer: string, value: unknown, op: Operation): unknown {
  if (pointer === '') return value;
  const missing = `${op.op} operation does not apply: doc is missing path: ${JSON.stringify(pointer)}: missing value`;
  const { parent, token } = parentOf(doc, pointer, missing);
  if (Array.isArray(parent)) {
    // `-` appends; otherwise the index may be one past the end (insert at the end).
    const i = token === '-' ? parent.length : arrayIndex(token, parent.length, missing);
    parent.splice(i, 0, value);
  } else if (isObject(parent)) {
    parent[token] = value;
  } else {
    throw invalid(missing);
  }
  return doc;
}

function remove(doc: unknown, pointer: string, op: Operation, missingMessage?: string): { doc: unknown; value: unknown } {
  const missing = missingMessage ?? `${op.op} operation does not apply: doc is missing path: ${JSON.stringify(pointer)}: missing value`;
  if (pointer === '') throw invalid(`${op.op} operation does not apply: cannot remove the whole document`);
  const { parent, token } = parentOf(doc, pointer, missing);
  if (Array.isArray(parent)) {
    const i = arrayIndex(token, parent.length - 1, missing);
    return { doc, value: parent.splice(i, 1)[0] };
  }
  if (isObject(parent) && Object.hasOwn(parent, token)) {
    const value = parent[token];
    delete parent[token];
    return { doc, value };
  }
  throw invalid(missing);
}
