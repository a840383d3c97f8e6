/**
 * Server-Sent Events to browsers, each stream bounded: a browser that does not read what it is sent
 * (a background tab, a slow link) holds at most `maxBufferBytes` of the server's memory; past that
 * its stream is closed, EventSource reconnects, and it starts again from a whole state.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

const KEEPALIVE_MS = 15_000;

export interface EventStreamsOptions {
  maxBufferBytes: number;
  /** Called when a stream is closed for being too far behind, with what it had waiting. */
  onSlowClient(waiting: number): void;
}

export type SendEvent = (event: string, data: unknown) => void;

export class EventStreams {
  private readonly open = new Set<ServerResponse>();

  constructor(private readonly o: EventStreamsOptions) {}

  size(): number {
    return this.open.size;
  }

  /** Answers `req` with an event stream; `onClose` runs once when it ends, however it ends. */
  start(req: IncomingMessage, res: ServerResponse, onClose: () => void): SendEvent {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    res.write('retry: 2000\n\n');
    this.open.add(res);
    const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
    const done = () => {
      if (!this.open.delete(res)) return;
      clearInterval(keepalive);
      onClose();
    };
    req.on('close', done);
    res.on('close', done);
    return (event, data) => {
      if (res.destroyed) return;
      if (res.writableLength > this.o.maxBufferBytes) {
        this.o.onSlowClient(res.writableLength);
        res.destroy();
        return;
      }
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
  }

  /** Ends every stream (the server is stopping). */
  closeAll(): void {
    for (const res of this.open) res.destroy();
  }
}
