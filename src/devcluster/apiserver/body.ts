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

/** Decodes a create or update body: JSON, YAML, or (for `kubectl create`) Kubernetes protobuf. */
export function decodeObject(body: Buffer, contentType: string | undefined): any {
  const type = mediaType(contentType);
  if (type === PROTOBUF_CONTENT_TYPE) return decodeProtobufObject(body);
  if (type === '' || type === 'application/json' || type === '*/*') return parseJson(body);
  if (type === 'application/yaml') return parseYaml(body);
  throw errors.unsupportedMediaType(type);
}

export function parseJson(body: Buffer): any {
  if (body.length === 0) throw errors.badRequest('the request body is empty: expected a JSON object');
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw errors.badRequest(`couldn't get version/kind; json parse error: ${(err as Error).message}`);
  }
}

export function parseYaml(body: Buffer): any {
  try {
    return YAML.parse(body.toString('utf8'));
  } catch (err) {
    throw errors.badRequest(`error decoding YAML: ${(err as Error).message}`);
  }
}
