/**
 * The pod workload the API server benchmarks run, against any server (the devcluster or a real
 * kube-apiserver): pods like data/real-apiserver/pod.json (~2 KB) spread over NAMESPACES
 * namespaces, with a `shard` label that picks 1% of them (0.1% within a namespace), created with
 * IN_FLIGHT requests at a time over HTTPS with keep-alive. Also the client, medians and tables.
 */
import { spawn } from 'node:child_process';
import { Agent, request, type RequestOptions } from 'node:https';
import { fileURLToPath } from 'node:url';

export const NAMESPACES = 10;
export const IN_FLIGHT = 32;

/** Where a server is and how to reach it. */
export interface ServerAddress {
  url: string;
  token: string;
  caCert: string;
}

export interface Client {
  /** A request whose answer is read into text (for checks; decoding it costs the client). */
  req(method: string, path: string, body?: string, contentType?: string): Promise<{ status: number; text: string; ms: number }>;
  /** A GET whose answer is only counted, not kept: time to its last byte. */
  drain(path: string): Promise<{ status: number; bytes: number; ms: number }>;
  close(): void;
}

export function clientFor(server: ServerAddress, maxSockets = IN_FLIGHT + 8): Client {
  const agent = new Agent({ keepAlive: true, maxSockets, ca: server.caCert });
  const base = new URL(server.url);
  const options = (method: string, path: string, headers: Record<string, string | number>): RequestOptions => ({
    host: base.hostname,
    port: base.port,
    path,
    method,
    agent,
    headers: { Authorization: `Bearer ${server.token}`, Accept: 'application/json', ...headers },
  });
  return {
    req(method, path, body, contentType = 'application/json') {
      const opts = options(method, path, body ? { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) } : {});
      return new Promise((resolve, reject) => {
        const t0 = performance.now();
        const r = request(opts, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - t0 }));
          res.on('error', reject);
        });
        r.on('error', reject);
        if (body) r.write(body);
        r.end();
      });
    },
    drain(path) {
      return new Promise((resolve, reject) => {
        const t0 = performance.now();
        const r = request(options('GET', path, {}), (res) => {
          let bytes = 0;
          res.on('data', (c: Buffer) => (bytes += c.length));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, ms: performance.now() - t0 }));
          res.on('error', reject);
        });
        r.on('error', reject);
        r.end();
      });
    },
    close: () => agent.destroy(),
  };
}

/** The shard label spreads evenly over the namespaces: `shard=s7` picks 1%, and 0.1% within a namespace. */
export function podBody(i: number): string {
  const name = `model-${i}`;
  const labels = { app: 'model', 'version-name': 'v1', shard: `s${Math.floor(i / NAMESPACES) % 100}` };
  const lastApplied = JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { annotations: {}, labels, name, namespace: `bench-${i % NAMESPACES}` },
    spec: { containers: [{ image: 'registry.example/model:1', name: 'main', ports: [{ containerPort: 9000 }], resources: { limits: { cpu: '1', memory: '256Mi' }, requests: { cpu: '250m', memory: '128Mi' } } }] },
  });
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels, annotations: { 'kubectl.kubernetes.io/last-applied-configuration': lastApplied + '\n' } },
    spec: {
      // Named, since a real server without the ServiceAccount admission plugin refuses a token volume otherwise.
      serviceAccountName: 'default',
      volumes: [
        {
          name: 'kube-api-access-jckjq',
          projected: {
            sources: [
              { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
              { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
              { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
            ],
            defaultMode: 420,
          },
        },
      ],
      containers: [
        {
          name: 'main',
          image: 'registry.example/model:1',
          ports: [{ containerPort: 9000, protocol: 'TCP' }],
          resources: { limits: { cpu: '1', memory: '256Mi' }, requests: { cpu: '250m', memory: '128Mi' } },
          volumeMounts: [{ name: 'kube-api-access-jckjq', readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }],
        },
      ],
    },
  });
}

export async function createNamespaces(c: Client): Promise<void> {
  for (let n = 0; n < NAMESPACES; n++) {
    const r = await c.req('POST', '/api/v1/namespaces', JSON.stringify({ metadata: { name: `bench-${n}` } }));
    if (r.status !== 201) throw new Error(`create namespace: ${r.status} ${r.text}`);
  }
}

/** Creates `count` pods with IN_FLIGHT requests at a time; returns pods/s. */
export async function createPods(c: Client, count: number): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const r = await c.req('POST', `/api/v1/namespaces/bench-${i % NAMESPACES}/pods`, podBody(i));
      if (r.status !== 201) throw new Error(`create pod ${i}: ${r.status} ${r.text.slice(0, 300)}`);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return count / ((performance.now() - t0) / 1000);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export const fmt = (n: number, digits = 1) => (n >= 100 ? n.toFixed(0) : n.toFixed(digits));

/** Prints a markdown table; the first row is the header, the first column left-aligned. */
export function table(rows: string[][]): void {
  const w = rows[0].map(() => 0);
  for (const r of rows) r.forEach((c, i) => (w[i] = Math.max(w[i], c.length)));
  for (const [k, r] of rows.entries()) {
    console.log(`| ${r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join(' | ')} |`);
    if (k === 0) console.log(`|${w.map((x, i) => (i === 0 ? '-'.repeat(x + 2) : '-'.repeat(x + 1) + ':')).join('|')}|`);
  }
}

/**
 * Runs the benchmark module at `moduleUrl` again in a child process with --expose-gc and `env`
 * set, which measures a heap there (a process that runs only the server) and prints one line
 * `{"heap": …}`; resolves to that value, or undefined (saying why) when the child fails.
 */
export function heapInChild<T>(moduleUrl: string, env: Record<string, string>): Promise<T | undefined> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(moduleUrl)], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('{"heap"'));
      if (code !== 0 || !line) {
        console.error(`heap measurement failed (status ${code}): ${out.slice(-500)}`);
        resolve(undefined);
      } else resolve(JSON.parse(line).heap);
    });
  });
}
