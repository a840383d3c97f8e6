/**
 * API servers for the benchmarks, each in its own process so that its CPU and memory are its own:
 * `kre devcluster --nodes 0` as a child, and raw HTTP(S) calls to a server (no client library,
 * so what is timed is the server and the wire, not a client's parsing).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { gunzipSync } from 'node:zlib';

const ROOT = new URL('..', import.meta.url).pathname;

/** Where to reach a server: its URL, bearer token and (for HTTPS) CA. */
export interface Endpoint {
  url: string;
  token: string;
  ca?: string;
}

export interface ChildDevCluster extends Endpoint {
  child: ChildProcess;
  kubeconfigPath: string;
  dir: string;
  ca: string;
}

export async function startChildDevCluster(): Promise<ChildDevCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'kre-bench-devcluster-'));
  const child = spawn(process.execPath, [join(ROOT, 'bin/kre.js'), 'devcluster', '--state-dir', dir, '--nodes', '0', '--listen', '127.0.0.1:0'], {
    cwd: ROOT,
    env: { ...process.env, KRE_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const ready = await new Promise<{ url: string; kubeconfig: string }>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.includes('"msg":"ready"')) resolve(JSON.parse(line));
    });
    child.once('exit', (code) => reject(new Error(`kre devcluster exited with ${code}`)));
  });
  const kubeconfig = readFileSync(ready.kubeconfig, 'utf8');
  const token = /token: (\S+)/.exec(kubeconfig)![1];
  const ca = Buffer.from(/certificate-authority-data: (\S+)/.exec(kubeconfig)![1], 'base64').toString();
  return { child, url: ready.url, token, ca, dir, kubeconfigPath: ready.kubeconfig };
}

export async function stopChildDevCluster(s: ChildDevCluster): Promise<void> {
  const exited = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGKILL');
  await exited;
  rmSync(s.dir, { recursive: true, force: true });
}

export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

/** CPU seconds (user + system) a process has used, from /proc. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  // After the command: state is field 3, utime 14, stime 15 (1-based in proc(5)).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * A one-shot call that parses the answer (for setting up, not for timing): JSON when it is an
 * object, else the text; `T` says which the caller expects.
 */
export function call<T = unknown>(s: Endpoint, method: string, path: string, body?: unknown): Promise<T> {
  const url = new URL(path, s.url);
  const get = url.protocol === 'https:' ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = get(url, { method, ca: s.ca, headers: { Authorization: `Bearer ${s.token}`, 'Content-Type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        try {
          resolve(text.startsWith('{') ? JSON.parse(text) : text);
        } catch (err) {
          reject(err);
        }
      });
    });
    req.on('error', reject);
    if (body) req.write(JSON.stringify(body));
    req.end();
  });
}

/**
 * GETs over one kept-alive connection that do not parse the answer: `get` resolves at its last
 * byte with the time taken and the size; `body` keeps the bytes (for timing a parse separately).
 */
export class RawClient {
  private readonly agent: http.Agent;
  private readonly request: typeof http.request;

  constructor(private readonly s: Endpoint) {
    const tls = s.url.startsWith('https:');
    this.agent = tls ? new https.Agent({ keepAlive: true, maxSockets: 1, ca: s.ca }) : new http.Agent({ keepAlive: true, maxSockets: 1 });
    this.request = (tls ? https.request : http.request) as typeof http.request;
  }

  /**
   * GET `path`: the time to its last byte and the bytes on the wire; with `keep`, the body
   * (unpacked when the server gzipped it). `gzip` asks for gzip as client-go does.
   */
  get(path: string, opts: { keep?: boolean; accept?: string; gzip?: boolean } = {}): Promise<{ ms: number; bytes: number; status: number; gzipped: boolean; body?: Buffer }> {
    const url = new URL(path, this.s.url);
    const started = performance.now();
    const headers = { Authorization: `Bearer ${this.s.token}`, Accept: opts.accept ?? 'application/json', ...(opts.gzip ? { 'Accept-Encoding': 'gzip' } : {}) };
    return new Promise((resolve, reject) => {
      const req = this.request(url, { agent: this.agent, headers }, (res) => {
        let bytes = 0;
        const chunks: Buffer[] = [];
        const gzipped = res.headers['content-encoding'] === 'gzip';
        res.on('data', (c: Buffer) => {
          bytes += c.length;
          if (opts.keep) chunks.push(c);
        });
        res.on('end', () => {
          const ms = performance.now() - started;
          const body = opts.keep ? (gzipped ? gunzipSync(Buffer.concat(chunks)) : Buffer.concat(chunks)) : undefined;
          resolve({ ms, bytes, status: res.statusCode ?? 0, gzipped, body });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
