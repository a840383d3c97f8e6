/**
 * Lists larger than one chunk, over a real socket: every answer whole and exact while several are
 * sent at once, one of them to a reader that pauses and another to one that goes away, so that a
 * chunk is never filled again while a socket still holds it.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../kube/index.ts';
import { SOURCE_ANNOTATION } from './entry.ts';
import { sendJsonList } from './serve-json.ts';
import type { CachedObject } from './store.ts';

/** `n` pods of about 1.2 KiB (3,000 make 3.5 MiB), each answer's items marked with the answer's own tag. */
function items(tag: string, n: number): CachedObject[] {
  return Array.from({ length: n }, (_, i) => ({
    source: 'streamed',
    object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: `${tag}-${i}`, namespace: 'ns', labels: { tag } }, spec: { padding: 'x'.repeat(1100) } } as KubeObject,
  }));
}

let server: http.Server;
let base: string;

before(async () => {
  server = http.createServer((req, res) => {
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    void sendJsonList(res, 200, {}, '{"kind":"PodList","items":[', items(q.get('tag') ?? 'none', Number(q.get('n') ?? 3000)), ']}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** The answer of `n` pods for `tag`, read whole; `pauseMs` stops reading after the first bytes for that long. */
function get(tag: string, pauseMs = 0, n = 3000): Promise<{ length: number; declared: number; body: { items: KubeObject[] } }> {
  return new Promise((resolve, reject) => {
    http
      .get(`${base}/?tag=${tag}&n=${n}`, (res) => {
        const chunks: Buffer[] = [];
        let paused = false;
        res.on('data', (c: Buffer) => {
          chunks.push(c);
          if (pauseMs > 0 && !paused) {
            paused = true;
            res.pause();
            setTimeout(() => res.resume(), pauseMs);
          }
        });
        res.on('end', () => {
          const bytes = Buffer.concat(chunks);
          resolve({ length: bytes.length, declared: Number(res.headers['content-length']), body: JSON.parse(bytes.toString()) as { items: KubeObject[] } });
        });
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

function assertWhole(tag: string, answer: Awaited<ReturnType<typeof get>>, n = 3000): void {
  assert.equal(answer.length, answer.declared, `${tag}: as many bytes as Content-Length says`);
  assert.equal(answer.body.items.length, n);
  answer.body.items.forEach((p, i) => {
    assert.equal(p.metadata.name, `${tag}-${i}`);
    assert.equal(p.metadata.annotations?.[SOURCE_ANNOTATION], 'streamed');
  });
}

describe('a list larger than a chunk', () => {
  it('arrives whole and exact, one answer after another and several at once, past a reader that pauses and one that leaves', async () => {
    assertWhole('first', await get('first'));
    assertWhole('second', await get('second'));

    // A client that reads the first bytes and leaves: the chunks it held go back only once written.
    await new Promise<void>((resolve, reject) => {
      const req = http.get(`${base}/?tag=gone`, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? resolve() : reject(err)));
    });

    // The paused reader's answer is larger than the kernel buffers between the two ends, so that
    // its writes wait in the socket while the others are made.
    const [slow, a, b] = await Promise.all([get('slow', 300, 24_000), get('a'), get('b')]);
    assertWhole('slow', slow, 24_000);
    assertWhole('a', a);
    assertWhole('b', b);
    assertWhole('after', await get('after'));
  });
});
