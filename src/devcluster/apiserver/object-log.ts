/**
 * The append-only log of the devcluster's objects (`<state>/data/objects.log`): one JSON record per
 * line, `{"rv","c","k","o"}` for a stored object, `{"rv","c","k","d":1}` for a deletion,
 * `{"rv","meta":true}` for the revision a compacted log starts at.
 *
 * It is read back as a stream, a chunk at a time, so that its size is bounded only by the disk,
 * never by the longest string the runtime can make. While the server runs, the log is compacted
 * when it has grown several times larger than the live objects it holds: a snapshot is written
 * beside it, synced, and renamed over it, so that a kill at any moment leaves either the old log
 * or the new one.
 *
 * Recovery: a record cut short at the very end (a write interrupted by a kill, never acknowledged)
 * is cut off; one missing only its newline is kept. A damaged line anywhere else is skipped and reported (line number and why), the
 * damaged file is kept beside the log as `objects.log.damaged-<time>`, and the log is rewritten
 * from what was valid, so that the next start is clean and nothing is dropped without a word.
 */
import { appendFileSync, chmodSync, closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, readSync, renameSync, statSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../kube/index.ts';

export interface LogRecord {
  rv: number;
  c?: string;
  k?: string;
  o?: any;
  d?: 1;
  meta?: true;
}

export interface ObjectLogOptions {
  dir: string;
  log?: Logger;
  /** No compaction below this size of the log (default 64 MiB). */
  compactMinBytes?: number;
  /** Compact when the log is this many times larger than its live records (default 4). */
  compactRatio?: number;
  /** How much of the log is read at a time on load (default 1 MiB). */
  readChunkBytes?: number;
  /** A line longer than this is damage, not a record (default 64 MiB; an object is at most a few MiB). */
  maxLineBytes?: number;
}

export interface DamagedLine {
  line: number;
  reason: string;
}

const FILE = 'objects.log';

/** Why a parsed line is not a record, or undefined when it is one. */
function invalidRecord(rec: any): string | undefined {
  if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) return 'not a JSON object';
  if (!Number.isSafeInteger(rec.rv) || rec.rv < 0) return 'no valid "rv"';
  if (rec.meta) return undefined;
  if (typeof rec.c !== 'string' || typeof rec.k !== 'string') return 'no "c" (collection) or "k" (key)';
  if (rec.d) return undefined;
  if (typeof rec.o !== 'object' || rec.o === null || typeof rec.o.metadata !== 'object' || rec.o.metadata === null) return 'no "o" object with metadata';
  return undefined;
}

/** Parses one line into a record, or says why it is not one. */
function parseRecord(text: string): { rec?: LogRecord; reason?: string } {
  let rec: any;
  try {
    rec = JSON.parse(text);
  } catch (err) {
    return { reason: `invalid JSON: ${(err as Error).message}` };
  }
  const why = invalidRecord(rec);
  return why ? { reason: why } : { rec };
}

export class ObjectLog {
  readonly path: string;
  private fd: number | undefined;
  private size = 0;
  private compactionCount = 0;
  private readonly listeners: Array<() => void> = [];
  private readonly minBytes: number;
  private readonly ratio: number;
  /** Set when the log on disk must be rewritten from what was loaded (it held damaged lines). */
  private mustRewrite = false;

  /** Opens the log in `dir`, replaying every valid record into `apply` first. */
  constructor(
    private readonly o: ObjectLogOptions,
    apply: (rec: LogRecord) => void,
  ) {
    this.minBytes = o.compactMinBytes ?? 64 * 1024 * 1024;
    this.ratio = o.compactRatio ?? 4;
    mkdirSync(o.dir, { recursive: true, mode: 0o700 });
    this.path = join(o.dir, FILE);
    const damaged = existsSync(this.path) ? this.replay(apply) : [];
    if (damaged.length > 0) {
      const copy = `${this.path}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      copyFileSync(this.path, copy);
      chmodSync(copy, 0o600);
      o.log?.error(
        { file: this.path, copy, skipped: damaged.slice(0, 50), skippedCount: damaged.length },
        `skipped ${damaged.length} damaged line(s) of the object log (first: line ${damaged[0].line}, ${damaged[0].reason}); the objects they held are lost; the damaged file is kept at ${copy}`,
      );
      this.mustRewrite = true;
    }
    this.fd = openSync(this.path, 'a', 0o600);
    this.size = statSync(this.path).size;
  }

  get bytes(): number {
    return this.size;
  }

  get compactions(): number {
    return this.compactionCount;
  }

  onCompaction(fn: () => void): void {
    this.listeners.push(fn);
  }

  append(line: string): void {
    if (this.fd === undefined) return;
    const text = line + '\n';
    writeSync(this.fd, text);
    this.size += Buffer.byteLength(text);
  }

  /** Whether a log of this size holding `liveBytes` of live records is due for compaction. */
  due(liveBytes: number): boolean {
    return this.mustRewrite || (this.size > this.minBytes && this.size > this.ratio * liveBytes);
  }

  /**
   * Replaces the log with `lines` (the live records): written to a file beside it, synced,
   * renamed over it and the directory synced, then appended to as before.
   */
  compact(lines: Iterable<string>): void {
    const tmp = `${this.path}.compacting`;
    const out = openSync(tmp, 'w', 0o600);
    let written = 0;
    try {
      let batch = '';
      for (const line of lines) {
        batch += line + '\n';
        if (batch.length >= 1 << 20) {
          written += writeSync(out, batch);
          batch = '';
        }
      }
      if (batch) written += writeSync(out, batch);
      fsyncSync(out);
    } finally {
      closeSync(out);
    }
    if (this.fd !== undefined) closeSync(this.fd);
    renameSync(tmp, this.path);
    const dirFd = openSync(this.o.dir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
    this.fd = openSync(this.path, 'a', 0o600);
    this.size = statSync(this.path).size;
    this.mustRewrite = false;
    this.compactionCount++;
    this.o.log?.info({ file: this.path, bytes: this.size, written }, 'compacted the object log');
    for (const fn of this.listeners) fn();
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /**
   * Reads the log a chunk at a time and applies each valid record; returns the damaged lines. A
   * last line without its newline is a write cut short by a kill: it is cut off the file.
   */
  private replay(apply: (rec: LogRecord) => void): DamagedLine[] {
    const chunkBytes = this.o.readChunkBytes ?? 1 << 20;
    const maxLine = this.o.maxLineBytes ?? 64 * 1024 * 1024;
    const damaged: DamagedLine[] = [];
    const fd = openSync(this.path, 'r');
    const buf = Buffer.allocUnsafe(chunkBytes);
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    /** The current line grew past maxLine: skip to its end. */
    let overlong = false;
    let lineNo = 0;
    let pos = 0;
    /** Where the line being read starts: the end of the last complete line. */
    let lineStart = 0;
    const take = (bytes: Buffer) => {
      lineNo++;
      if (overlong) {
        damaged.push({ line: lineNo, reason: `longer than ${maxLine} bytes` });
        return;
      }
      if (bytes.length === 0) return;
      const text = bytes.toString('utf8');
      const { rec, reason } = parseRecord(text);
      if (rec) return apply(rec);
      // Two records run together (a torn write with another appended after it): keep the whole
      // one at the end.
      const glued = text.lastIndexOf('{"rv":');
      const tail = glued > 0 ? parseRecord(text.slice(glued)).rec : undefined;
      damaged.push({ line: lineNo, reason: tail ? `${reason}; the record at its end was kept` : reason! });
      if (tail) apply(tail);
    };
    try {
      for (;;) {
        const n = readSync(fd, buf, 0, chunkBytes, pos);
        if (n === 0) break;
        const chunk = buf.subarray(0, n);
        let from = 0;
        for (let nl = chunk.indexOf(10, from); nl !== -1; nl = chunk.indexOf(10, from)) {
          const piece = chunk.subarray(from, nl);
          take(pendingBytes > 0 ? Buffer.concat([...pending, piece]) : piece);
          pending = [];
          pendingBytes = 0;
          overlong = false;
          from = nl + 1;
          lineStart = pos + from;
        }
        if (from < n && !overlong) {
          pending.push(Buffer.from(chunk.subarray(from)));
          pendingBytes += n - from;
          if (pendingBytes > maxLine) {
            overlong = true;
            pending = [];
            pendingBytes = 0;
          }
        }
        pos += n;
      }
    } finally {
      closeSync(fd);
    }
    if (pos > lineStart) {
      // The last line has no newline: the write was interrupted. Whole but for its newline, the
      // record is kept; else it is cut off (its write never returned, so it was never acknowledged).
      const tail = overlong ? undefined : parseRecord(Buffer.concat(pending).toString('utf8')).rec;
      if (tail) {
        apply(tail);
        appendFileSync(this.path, '\n');
      } else {
        this.o.log?.warn({ file: this.path, line: lineNo + 1, bytes: pos - lineStart }, 'cut off a record left incomplete at the end of the object log by an interrupted write (it was never acknowledged)');
        truncateSync(this.path, lineStart);
      }
    }
    return damaged;
  }
}
