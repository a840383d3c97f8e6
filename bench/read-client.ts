/**
 * The read benchmarks' client, in a process of its own: a client in the benchmark's process would
 * share its event loop with the servers that run there (the monitor, the Node floor) and not with
 * those in other processes, and so charge its own work to the first only. Every server is timed
 * the same way here: a request from this process, the time to its last byte measured in it.
 *
 * `startReadClient()` forks it; `get` times one GET, `paged` a LIST followed through its pages.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { RawClient, type Endpoint } from './servers.ts';

interface Request {
  id: number;
  endpoint: Endpoint;
  path: string;
  gzip?: boolean;
  paged?: boolean;
}

export interface ReadTiming {
  ms: number;
  bytes: number;
  status: number;
  gzipped: boolean;
  /** Objects read, for a paged LIST. */
  items?: number;
}

type Reply = ({ id: number } & ReadTiming) | { id: number; error: string };

export interface ReadClient {
  get(endpoint: Endpoint, path: string, gzip?: boolean): Promise<ReadTiming>;
  /** A full LIST of pods in pages of 500, following `continue`. */
  paged(endpoint: Endpoint): Promise<ReadTiming>;
  close(): Promise<void>;
}

export async function startReadClient(): Promise<ReadClient> {
  const child: ChildProcess = fork(new URL(import.meta.url).pathname, ['--serve'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting = new Map<number, { resolve(t: ReadTiming): void; reject(e: Error): void }>();
  let next = 0;
  child.on('message', (m: Reply | 'ready') => {
    if (m === 'ready') return;
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if ('error' in m) w?.reject(new Error(m.error));
    else w?.resolve(m);
  });
  child.on('exit', (code) => {
    for (const w of waiting.values()) w.reject(new Error(`the read client exited (${code})`));
    waiting.clear();
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('error', reject);
  });
  const ask = (r: Omit<Request, 'id'>) =>
    new Promise<ReadTiming>((resolve, reject) => {
      const id = ++next;
      waiting.set(id, { resolve, reject });
      child.send({ ...r, id });
    });
  return {
    get: (endpoint, path, gzip) => ask({ endpoint, path, gzip }),
    paged: (endpoint) => ask({ endpoint, path: '', paged: true }),
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function pagedList(raw: RawClient): Promise<ReadTiming> {
  const started = performance.now();
  let token = '';
  let items = 0;
  let bytes = 0;
  do {
    const page = await raw.get(`/api/v1/pods?limit=500${token ? `&continue=${encodeURIComponent(token)}` : ''}`, { keep: true });
    if (page.status !== 200) return { ms: performance.now() - started, bytes, status: page.status, gzipped: false, items };
    const list = JSON.parse(page.body!.toString()) as { metadata: { continue?: string }; items: unknown[] };
    items += list.items.length;
    bytes += page.bytes;
    token = list.metadata.continue ?? '';
  } while (token);
  return { ms: performance.now() - started, bytes, status: 200, gzipped: false, items };
}

function serve(): void {
  const clients = new Map<string, RawClient>();
  const clientOf = (e: Endpoint) => {
    let c = clients.get(e.url);
    if (!c) clients.set(e.url, (c = new RawClient(e)));
    return c;
  };
  process.on('message', (r: Request) => {
    const raw = clientOf(r.endpoint);
    const timed = r.paged ? pagedList(raw) : raw.get(r.path, { gzip: r.gzip });
    timed.then(
      (t) => process.send!({ id: r.id, ms: t.ms, bytes: t.bytes, status: t.status, gzipped: t.gzipped, ...('items' in t ? { items: t.items } : {}) }),
      (err: Error) => process.send!({ id: r.id, error: err.message }),
    );
  });
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
  process.send!('ready');
}

if (process.argv.includes('--serve')) serve();
