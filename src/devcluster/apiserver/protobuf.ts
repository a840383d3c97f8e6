/**
 * Protobuf request bodies, turned into the JSON the rest of the API server works with.
 *
 * kubectl 1.32 and later send `kubectl create namespace|configmap|secret|deployment|…` bodies as
 * `application/vnd.kubernetes.protobuf`; earlier versions send JSON. The body is the `k8s\0` magic,
 * then a `runtime.Unknown` {1: TypeMeta{1: apiVersion, 2: kind}, 2: raw object, 3: contentEncoding,
 * 4: contentType}; the raw object is the kind's generated.proto message. Decoding follows the
 * schema tables in protobuf-schema.ts and reproduces what Go's encoding/json would print for the
 * same struct, so a body decodes to exactly the object kubectl 1.31 would have sent as JSON.
 */

import { ApiError, errors } from './errors.ts';
import { KINDS, MESSAGES, type FieldSpec, type FieldType } from './protobuf-schema.ts';
import { WireError, WireType, readFields, readPackedVarints, toSignedNumber, type WireField } from './protobuf-wire.ts';

export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';

const MAGIC = Buffer.from('k8s\0', 'latin1');

/**
 * Where the body being decoded starts in its ArrayBuffer: sub-buffers share it, so a field's byte
 * offset in the body is its byteOffset minus this. Only used to point error messages at a byte.
 */
let bodyStart = 0;

/** A malformed body, with the JSON path of the field where it broke. */
class DecodeError extends Error {}

/**
 * Decodes a `k8s\0`-enveloped runtime.Unknown body into the object's JSON form (apiVersion, kind,
 * metadata, spec, data, …). Throws ApiError 415 for a kind it does not know, and ApiError 400 naming
 * what is wrong for a malformed body.
 */
export function decodeProtobufObject(body: Buffer): Record<string, any> {
  if (body.length < MAGIC.length || !body.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw errors.badRequest('protobuf body does not start with the "k8s\\x00" magic of a Kubernetes protobuf envelope');
  }
  bodyStart = body.byteOffset;
  try {
    const envelope = readEnvelope(body.subarray(MAGIC.length));
    const message = KINDS[`${envelope.apiVersion}/${envelope.kind}`];
    if (!message) throw unsupportedKind(envelope.apiVersion, envelope.kind);
    const object = decodeMessage(envelope.raw, message, '');
    return { apiVersion: envelope.apiVersion, kind: envelope.kind, ...object };
  } catch (e) {
    if (e instanceof WireError || e instanceof DecodeError) throw errors.badRequest(`malformed protobuf body: ${e.message}`);
    throw e;
  }
}

function unsupportedKind(apiVersion: string, kind: string): ApiError {
  const known = Object.keys(KINDS).join(', ');
  return new ApiError(
    415,
    'UnsupportedMediaType',
    `${PROTOBUF_CONTENT_TYPE} bodies are accepted only for the kinds kubectl create makes (${known}); send ${kind} (${apiVersion || 'no apiVersion'}) as application/json`,
  );
}

interface Envelope {
  apiVersion: string;
  kind: string;
  raw: Buffer;
}

function readEnvelope(buf: Buffer): Envelope {
  let apiVersion = '';
  let kind = '';
  let raw: Buffer | undefined;
  let encoding = '';
  for (const f of readFields(buf, at(buf))) {
    if (f.number === 1) {
      const typeMeta = bytesOf(f, 'typeMeta');
      for (const t of readFields(typeMeta, at(typeMeta))) {
        if (t.number === 1) apiVersion = bytesOf(t, 'typeMeta.apiVersion').toString('utf8');
        if (t.number === 2) kind = bytesOf(t, 'typeMeta.kind').toString('utf8');
      }
    } else if (f.number === 2) raw = bytesOf(f, 'raw');
    else if (f.number === 3) encoding = bytesOf(f, 'contentEncoding').toString('utf8');
  }
  if (!kind) throw new DecodeError('the envelope names no kind (runtime.Unknown typeMeta.kind is empty)');
  if (encoding) {
    throw new ApiError(415, 'UnsupportedMediaType', `protobuf bodies with contentEncoding ${JSON.stringify(encoding)} are not supported`);
  }
  if (!raw) throw new DecodeError(`the envelope for ${kind} carries no object (runtime.Unknown raw is missing)`);
  return { apiVersion, kind, raw };
}

function bytesOf(f: WireField, path: string): Buffer {
  if (f.wireType !== WireType.bytes || !f.bytes) throw new DecodeError(`${path}: expected length-delimited data, found wire type ${f.wireType}`);
  return f.bytes;
}

function intOf(f: WireField, path: string): bigint {
  if (f.wireType !== WireType.varint || f.int === undefined) throw new DecodeError(`${path}: expected a varint, found wire type ${f.wireType}`);
  return f.int;
}

function at(buf: Buffer): number {
  return buf.byteOffset - bodyStart;
}

function join(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

/** Decodes one message by its schema into the object Go's encoding/json would print for it. */
function decodeMessage(buf: Buffer, name: string, path: string): Record<string, any> {
  const spec = MESSAGES.get(name);
  if (!spec) throw new DecodeError(`${path}: no schema for message ${name}`);
  const values = new Map<FieldSpec, any>();
  for (const f of readFields(buf, at(buf))) {
    const field = spec.fields.get(f.number);
    if (!field) continue; // a field this server does not know: Go keeps it aside, JSON never shows it
    const fieldPath = join(path, field.json);
    if (field.type.kind === 'list') {
      const list: any[] = values.get(field) ?? [];
      list.push(...decodeListItems(f, field.type.item, `${fieldPath}[${list.length}]`));
      values.set(field, list);
    } else if (field.type.kind === 'map') {
      const map: Record<string, any> = values.get(field) ?? {};
      const [key, value] = decodeMapEntry(f, field.type.value, fieldPath);
      // defineProperty, not assignment: a key named __proto__ must stay a key, as JSON.parse keeps it.
      Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
      values.set(field, map);
    } else {
      // A repeated occurrence of a singular field: the last one wins, as protobuf specifies.
      values.set(field, decodeValue(f, field.type, fieldPath));
    }
  }
  const out: Record<string, any> = {};
  for (const field of spec.order) {
    if (!values.has(field)) {
      if (field.nullWhenAbsent) out[field.json] = null;
      continue;
    }
    const value = values.get(field);
    if (!field.keep && isZeroScalar(field.type, value)) continue;
    if (field.inline) Object.assign(out, value);
    else out[field.json] = value;
  }
  return out;
}

function isZeroScalar(type: FieldType, value: any): boolean {
  return type.kind === 'scalar' && (value === '' || value === 0 || value === false);
}

function decodeListItems(f: WireField, item: FieldType, path: string): any[] {
  // Numbers may come packed (one length-delimited run) or one per field occurrence.
  if (item.kind === 'scalar' && (item.scalar === 'int32' || item.scalar === 'int64' || item.scalar === 'bool') && f.wireType === WireType.bytes) {
    return readPackedVarints(bytesOf(f, path)).map((v) => (item.scalar === 'bool' ? v !== 0n : toSignedNumber(v)));
  }
  return [decodeValue(f, item, path)];
}

function decodeMapEntry(f: WireField, valueType: FieldType, path: string): [string, any] {
  const entry = bytesOf(f, path);
  let key = '';
  let value: any;
  let valueField: WireField | undefined;
  for (const e of readFields(entry, at(entry))) {
    if (e.number === 1) key = bytesOf(e, `${path} key`).toString('utf8');
    else if (e.number === 2) valueField = e;
  }
  const entryPath = `${path}[${JSON.stringify(key)}]`;
  if (valueField) value = decodeValue(valueField, valueType, entryPath);
  else value = zeroValue(valueType, entryPath);
  return [key, value];
}

/** The value of a map entry whose value field gogo left out because it was empty. */
function zeroValue(type: FieldType, path: string): any {
  if (type.kind === 'scalar') return type.scalar === 'string' || type.scalar === 'bytes' ? '' : type.scalar === 'bool' ? false : 0;
  if (type.kind === 'message') return decodeValue({ number: 2, wireType: WireType.bytes, bytes: Buffer.alloc(0) }, type, path);
  return null;
}

function decodeValue(f: WireField, type: FieldType, path: string): any {
  if (type.kind === 'scalar') {
    switch (type.scalar) {
      case 'string':
        return bytesOf(f, path).toString('utf8');
      case 'bytes':
        return bytesOf(f, path).toString('base64'); // Go's encoding/json prints []byte as base64
      case 'bool':
        return intOf(f, path) !== 0n;
      case 'int32':
      case 'int64':
        return toSignedNumber(intOf(f, path));
    }
  }
  if (type.kind !== 'message') throw new DecodeError(`${path}: nested lists and maps do not occur in Kubernetes messages`);
  const bytes = bytesOf(f, path);
  switch (type.message) {
    case 'Time':
      return decodeTime(bytes, path, 0);
    case 'MicroTime':
      return decodeTime(bytes, path, 6);
    case 'IntOrString':
      return decodeIntOrString(bytes, path);
    case 'Quantity':
      return decodeQuantity(bytes, path);
    case 'FieldsV1':
      return decodeFieldsV1(bytes, path);
    default:
      return decodeMessage(bytes, type.message, path);
  }
}

/**
 * meta/v1 Time {1: seconds, 2: nanos} → RFC 3339 in UTC; the zero time is `null`, as Go prints it
 * (`creationTimestamp: null` in every object kubectl sends). Time keeps whole seconds in JSON,
 * MicroTime six fractional digits.
 */
function decodeTime(buf: Buffer, path: string, fractionDigits: number): string | null {
  let seconds = 0;
  let nanos = 0;
  for (const f of readFields(buf, at(buf))) {
    if (f.number === 1) seconds = toSignedNumber(intOf(f, `${path}.seconds`));
    else if (f.number === 2) nanos = toSignedNumber(intOf(f, `${path}.nanos`));
  }
  if (seconds === 0 && nanos === 0) return null;
  const date = new Date(seconds * 1000);
  if (Number.isNaN(date.getTime())) throw new DecodeError(`${path}: time ${seconds}s is out of range`);
  const whole = date.toISOString().slice(0, 19);
  if (fractionDigits === 0) return `${whole}Z`;
  return `${whole}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z`;
}

/** util/intstr IntOrString {1: type (0 int, 1 string), 2: intVal, 3: strVal}. */
function decodeIntOrString(buf: Buffer, path: string): number | string {
  let type = 0;
  let intVal = 0;
  let strVal = '';
  for (const f of readFields(buf, at(buf))) {
    if (f.number === 1) type = toSignedNumber(intOf(f, `${path}.type`));
    else if (f.number === 2) intVal = toSignedNumber(intOf(f, `${path}.intVal`));
    else if (f.number === 3) strVal = bytesOf(f, `${path}.strVal`).toString('utf8');
  }
  return type === 1 ? strVal : intVal;
}

/** api/resource Quantity {1: string}: the JSON form is the string itself ("500m", "1Gi"). */
function decodeQuantity(buf: Buffer, path: string): string {
  let text = '';
  for (const f of readFields(buf, at(buf))) if (f.number === 1) text = bytesOf(f, `${path}.string`).toString('utf8');
  return text;
}

/** meta/v1 FieldsV1 {1: raw}: the raw bytes are the JSON of the managed-fields set. */
function decodeFieldsV1(buf: Buffer, path: string): any {
  let raw: Buffer = Buffer.alloc(0);
  for (const f of readFields(buf, at(buf))) if (f.number === 1) raw = bytesOf(f, `${path}.raw`);
  if (raw.length === 0) return {};
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (_) {
    throw new DecodeError(`${path}: raw is not JSON`);
  }
}
