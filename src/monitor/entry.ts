/**
 * A cached object as the monitor keeps it: its JSON as served, serialized once when it arrives, and
 * the few fields the indexes and the aggregation rules read. The parsed object is not kept (it
 * costs two to three times its JSON in heap); the rare reader that needs it (field selectors,
 * service discovery, kube-state series) parses it again.
 *
 * The served JSON carries the annotation `kre.konstellation.io/monitor-source`, whose value
 * (`verified` or `streamed`) depends on the view the object is read from; the bytes leave that
 * value out and remember where it goes, so one entry serves every view.
 *
 * Entries are immutable: a new version of an object is a new entry, so a list being written keeps
 * the versions it started with, and views holding the same version share one entry.
 */
import { randomBytes } from 'node:crypto';
import { keyOf, type KubeObject } from '../kube/index.ts';
import type { Source } from './store.ts';

export const SOURCE_ANNOTATION = 'kre.konstellation.io/monitor-source';

/** Stands in for the source annotation's value while serializing; unique to this process. */
const MARKER = `kre-source-${randomBytes(12).toString('hex')}`;
const MARKER_BYTES = Buffer.from(MARKER);
const SOURCES: Record<Source, Buffer> = { verified: Buffer.from('verified'), streamed: Buffer.from('streamed') };

export class Entry {
  /**
   * Served JSON without the source annotation's value, which goes at `sourceAt`: its UTF-8 bytes,
   * one per character (latin1), so that it is one flat string in the heap. A Buffer per object
   * would cost about 190 bytes more each, as much as a tenth of a small object's JSON.
   */
  private readonly text: string;
  readonly sourceAt: number;
  readonly key: string;
  readonly namespace: string | undefined;
  readonly labels: Readonly<Record<string, string>> | undefined;
  readonly resourceVersion: string | undefined;
  /** spec.nodeName, for pods by node without parsing. */
  readonly nodeName: string | undefined;
  /** Whether the object had annotations of its own (so that `object()` gives back exactly it). */
  private readonly ownAnnotations: boolean;

  constructor(object: KubeObject) {
    const m = object.metadata;
    this.key = keyOf(m.namespace, m.name ?? '');
    this.namespace = m.namespace;
    this.labels = m.labels && Object.keys(m.labels).length > 0 ? m.labels : undefined;
    this.resourceVersion = m.resourceVersion;
    const nodeName = (object as { spec?: { nodeName?: unknown } }).spec?.nodeName;
    this.nodeName = typeof nodeName === 'string' ? nodeName : undefined;
    this.ownAnnotations = m.annotations !== undefined;
    const served = { ...object, metadata: { ...m, annotations: { ...m.annotations, [SOURCE_ANNOTATION]: MARKER } } };
    const text = Buffer.from(JSON.stringify(served));
    const at = text.indexOf(MARKER_BYTES);
    const bytes = Buffer.allocUnsafe(text.length - MARKER_BYTES.length);
    text.copy(bytes, 0, 0, at);
    text.copy(bytes, at, at + MARKER_BYTES.length);
    // Decoded in one piece: a concatenation would be a string of parts until first written.
    this.text = bytes.toString('latin1');
    this.sourceAt = at;
  }

  /** Length of the served JSON from the given source. */
  servedLength(source: Source): number {
    return this.text.length + SOURCES[source].length;
  }

  /** Copies the served JSON into `into` at `offset`; returns the offset after it. */
  copyServed(source: Source, into: Buffer, offset: number): number {
    let at = offset + into.write(this.text, offset, this.sourceAt, 'latin1');
    at += SOURCES[source].copy(into, at);
    return at + into.write(this.text.slice(this.sourceAt), at, 'latin1');
  }

  served(source: Source): Buffer {
    const out = Buffer.allocUnsafe(this.servedLength(source));
    this.copyServed(source, out, 0);
    return out;
  }

  /** The object as it arrived, parsed again from the bytes. */
  object(): KubeObject {
    const o = JSON.parse(this.served('verified').toString()) as KubeObject;
    const a = o.metadata.annotations!;
    delete a[SOURCE_ANNOTATION];
    if (!this.ownAnnotations) delete o.metadata.annotations;
    return o;
  }

  /** The object as served from `source`, parsed. */
  servedObject(source: Source): KubeObject {
    return JSON.parse(this.served(source).toString()) as KubeObject;
  }
}

/** Entries made for parsed objects, so that the stream's cache and the store's views share one. */
const entries = new WeakMap<KubeObject, Entry>();

/** The entry of a parsed object, made once per object (entries are immutable, objects are not changed once received). */
export function entryOf(object: KubeObject): Entry {
  let e = entries.get(object);
  if (!e) entries.set(object, (e = new Entry(object)));
  return e;
}
