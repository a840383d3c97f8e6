import type { IncomingMessage } from 'node:http';
import YAML from 'yaml';
import { errors } from './errors.ts';
import { decodeProtobufObject, PROTOBUF_CONTENT_TYPE } from './protobuf.ts';

/** A real server refuses bodies over 3 MiB; so does the devcluster. */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

/**
 * Reads a request body up to `limit` bytes. A larger body is read to its end and discarded before
 * the 413 is sent, so the client, still writing, reads the answer instead of a reset connection.
 */
export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > DISCARD_LIMIT) {
      req.destroy();
      break;
    }
    if (size <= limit) chunks.push(chunk as Buffer);
  }
  if (size > limit) throw errors.tooLarge(limit);
  return Buffer.concat(chunks);
}

/** Past this, a body is not even read: the connection is dropped. */
const DISCARD_LIMIT = 64 * 1024 * 1024;

export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

/** Decodes a create or update body of a `kind`: JSON, YAML, or (for `kubectl create`) Kubernetes protobuf. */
export function decodeObject(body: Buffer, contentType: string | undefined, kind?: string): any {
  const type = mediaType(contentType);
  if (type === PROTOBUF_CONTENT_TYPE) return decodeProtobufObject(body);
  if (type === '' || type === 'application/json' || type === '*/*') return parseJson(body, kind);
  if (type === 'application/yaml') return parseYaml(body, kind);
  throw errors.unsupportedMediaType(type);
}

/**
 * How deep a body may nest objects and lists. A real server stops at 10,000 (Go's JSON decoder);
 * Node's JSON.stringify, which stores every object, overflows its stack below 4,500, so the
 * devcluster stops earlier, with the same message, before anything is parsed or stored. Real
 * objects nest a few dozen levels.
 */
export const MAX_DEPTH = 1000;

export function parseJson(body: Buffer, kind?: string): any {
  if (body.length === 0) throw errors.badRequest('the request body is empty: expected a JSON object');
  const text = body.toString('utf8');
  const tooDeep = jsonDepthProblem(text);
  if (tooDeep) throw depthError(tooDeep, text, kind);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw errors.badRequest(`couldn't get version/kind; json parse error: ${(err as Error).message}`);
  }
}

export function parseYaml(body: Buffer, kind?: string): any {
  let value: unknown;
  try {
    value = YAML.parse(body.toString('utf8'));
  } catch (err) {
    throw errors.badRequest(`error decoding YAML: ${(err as Error).message}`);
  }
  const tooDeep = valueDepthProblem(value);
  if (tooDeep) throw depthError(tooDeep, body.toString('utf8'), kind);
  return value;
}

function depthError(bracket: string, text: string, kind: string | undefined): Error {
  const problem = `json parse error: invalid character '${bracket}' exceeded max depth (${text.slice(0, 30)} ...)`;
  return errors.badRequest(kind ? `the object provided is unrecognized (must be of type ${kind}): couldn't get version/kind; ${problem}` : `couldn't get version/kind; ${problem}`);
}

/** The bracket that opens a level past MAX_DEPTH in JSON text, or undefined; one pass, no recursion. */
function jsonDepthProblem(text: string): string | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_DEPTH) return text[i];
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return undefined;
}

/** The same for a decoded value (YAML), walked with an explicit stack. */
function valueDepthProblem(value: unknown): string | undefined {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > MAX_DEPTH) return Array.isArray(v) ? '[' : '{';
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return undefined;
}
