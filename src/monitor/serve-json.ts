/**
 * Writing lists of cached objects: each object's bytes were serialized when it arrived (entry.ts),
 * so an answer is copies of them between a head and a tail, sent in chunks of 1 MiB as the
 * connection drains (a slow reader holds one chunk, not the whole list), with its length known
 * beforehand.
 */
import type http from 'node:http';
import type { KubeObject } from '../kube/index.ts';
import { SOURCE_ANNOTATION } from './entry.ts';
import type { CachedObject } from './store.ts';

const CHUNK = 1 << 20;
const COMMA = 0x2c;

/**
 * Chunks whose writes have completed, for the next large answer to copy into: fresh memory costs
 * a page fault per 4 KiB at its first touch, several times the copy itself. A response with
 * backpressure has one or two chunks in the socket at a time, so a few serve several answers at
 * once; at most `CHUNK_POOL` are kept.
 */
const CHUNK_POOL = 4;
const freeChunks: Buffer[] = [];
const takeChunk = (): Buffer => freeChunks.pop() ?? Buffer.allocUnsafeSlow(CHUNK);
const giveBack = (chunk: Buffer): void => {
  if (freeChunks.length < CHUNK_POOL) freeChunks.push(chunk);
};

/** The object as served: a shallow copy that says where it comes from. */
export function withSource({ object, source }: CachedObject): KubeObject {
  return { ...object, metadata: { ...object.metadata, annotations: { ...object.metadata.annotations, [SOURCE_ANNOTATION]: source } } };
}

/** One object as served, parsed (for what renders it otherwise, such as Tables). */
export function servedObject(c: CachedObject): KubeObject {
  return c.entry ? c.entry.servedObject(c.source) : withSource(c);
}

/** One object's served JSON. */
export function servedBytes(c: CachedObject): Buffer {
  return c.entry ? c.entry.served(c.source) : Buffer.from(JSON.stringify(withSource(c)));
}

/** Items ready to write: entries stay as they are, others are serialized now. */
type Piece = CachedObject | Buffer;

function pieceLength(p: Piece): number {
  return Buffer.isBuffer(p) ? p.length : p.entry!.servedLength(p.source);
}

/** Where a whole answer is made and who hears of it before it is sent (answer-cache.ts). */
export interface WholeAnswer {
  /** Memory for an answer of `length` bytes; the answer is made at its start. */
  room(length: number): Buffer;
  made(body: Buffer, room: Buffer): void;
}

/**
 * Sends `head` + the items joined by commas + `tail` (head and tail are JSON text around the
 * items' array) with the given status and headers, honouring backpressure. An answer of at most
 * one chunk is made whole (in `whole.room` when given, then told to `whole.made`) and sent with
 * one write. A larger one goes out chunk by chunk.
 */
export async function sendJsonList(res: http.ServerResponse, code: number, headers: Record<string, string>, head: string, items: readonly CachedObject[], tail: string, whole?: WholeAnswer): Promise<void> {
  const pieces: Piece[] = items.map((c) => (c.entry ? c : servedBytes(c)));
  const headBytes = Buffer.from(head);
  const tailBytes = Buffer.from(tail);
  let total = headBytes.length + tailBytes.length + Math.max(0, pieces.length - 1);
  for (const p of pieces) total += pieceLength(p);
  if (total <= CHUNK) {
    const room = whole ? whole.room(total) : Buffer.allocUnsafe(total);
    const body = room.length === total ? room : room.subarray(0, total);
    let at = headBytes.copy(body, 0);
    for (let i = 0; i < pieces.length; i++) {
      if (i > 0) body[at++] = COMMA;
      const p = pieces[i];
      at = Buffer.isBuffer(p) ? at + p.copy(body, at) : p.entry!.copyServed(p.source, body, at);
    }
    tailBytes.copy(body, at);
    whole?.made(body, room);
    return sendBody(res, code, headers, body);
  }
  res.writeHead(code, { ...headers, 'Content-Type': 'application/json', 'Content-Length': String(total) });
  let chunk = takeChunk();
  let at = 0;
  const flush = async () => {
    if (at === 0) return;
    const sent = chunk;
    // Once written (not on an error: the socket may still hold it) the chunk can be filled again.
    const full = res.write(at === sent.length ? sent : sent.subarray(0, at), (err) => err || giveBack(sent));
    chunk = takeChunk();
    at = 0;
    if (!full && !res.destroyed) await drained(res);
  };
  const put = async (b: Buffer) => {
    if (at + b.length > chunk.length) await flush();
    if (b.length > chunk.length) {
      if (!res.write(b) && !res.destroyed) await drained(res);
      return;
    }
    at += b.copy(chunk, at);
  };
  await put(headBytes);
  for (let i = 0; i < pieces.length; i++) {
    if (res.destroyed) return giveBack(chunk);
    const p = pieces[i];
    const n = pieceLength(p) + (i > 0 ? 1 : 0);
    if (at + n > chunk.length) await flush();
    if (Buffer.isBuffer(p) || n > chunk.length) {
      if (i > 0) await put(Buffer.from([COMMA]));
      await put(Buffer.isBuffer(p) ? p : servedBytes(p));
      continue;
    }
    if (i > 0) chunk[at++] = COMMA;
    at = p.entry!.copyServed(p.source, chunk, at);
  }
  await put(tailBytes);
  await flush();
  // The chunk taken after the last write holds nothing.
  giveBack(chunk);
  res.end();
}

/**
 * Answers smaller than this go out as they are even to a client that accepts gzip: below a few
 * packets, compressing saves the client less than it costs.
 */
export const GZIP_MIN_BYTES = 8 * 1024;

/** Whether an `Accept-Encoding` header accepts gzip: named (or `*`) with a non-zero weight. */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  let star = false;
  for (const part of header.split(',')) {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => /^\s*q\s*=\s*([\d.]+)\s*$/.exec(p)).find(Boolean);
    const accepted = !q || Number(q[1]) > 0;
    if (coding.trim() === 'gzip' || coding.trim() === 'x-gzip') return accepted;
    if (coding.trim() === '*') star = accepted;
  }
  return star;
}

/** A whole JSON answer in one write: the headers and the body leave in one segment when they fit. */
export function sendBody(res: http.ServerResponse, code: number, headers: Record<string, string>, body: Buffer): void {
  res.writeHead(code, { ...headers, 'Content-Type': 'application/json', 'Content-Length': String(body.length) });
  res.end(body);
}

function drained(res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
