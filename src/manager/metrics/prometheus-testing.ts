/**
 * A real Prometheus (Debian's `/usr/bin/prometheus`) for tests and benchmarks: a temporary config
 * and data directory, a free port on 127.0.0.1, ready when `/-/ready` answers; `stop()` ends the
 * process and removes the directory, `kill()` ends it at once (SIGKILL) as a crash would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from '../../../test/support/free-port.ts';
export { freePort } from '../../../test/support/free-port.ts';

export const PROMETHEUS_BIN = process.env.KRE_PROMETHEUS_BIN ?? '/usr/bin/prometheus';

export interface TestPrometheusOptions {
  /** `scrape_configs` as objects; written as YAML. */
  scrapeConfigs?: unknown[];
  /** Global scrape interval, e.g. `1s`. */
  scrapeInterval?: string;
  /** Files to write into the working directory first (token files, certificates), by name. */
  files?: Record<string, string>;
  /** Serve HTTPS with this certificate and key (Prometheus' `--web.config.file`). */
  tls?: { cert: string; key: string };
}

export interface TestPrometheus {
  url: string;
  port: number;
  /** The working directory: config, data, and `files`. */
  dir: string;
  process: ChildProcess;
  /** Ends Prometheus at once, as a crash; the directory stays until `stop()`. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

function ready(url: string, insecure: boolean): Promise<boolean> {
  return new Promise((resolve) => {
    const mod = url.startsWith('https:') ? https : http;
    const req = mod.get(`${url}/-/ready`, { rejectUnauthorized: !insecure, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
  });
}

export async function startTestPrometheus(o: TestPrometheusOptions = {}): Promise<TestPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'kre-prometheus-'));
  for (const [name, text] of Object.entries(o.files ?? {})) writeFileSync(join(dir, name), text, { mode: 0o600 });
  const config = { global: { scrape_interval: o.scrapeInterval ?? '1s', evaluation_interval: '15s' }, scrape_configs: o.scrapeConfigs ?? [] };
  writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
  const args = [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, '--log.level=warn', '--web.enable-admin-api'];
  if (o.tls) {
    writeFileSync(join(dir, 'web.crt'), o.tls.cert, { mode: 0o600 });
    writeFileSync(join(dir, 'web.key'), o.tls.key, { mode: 0o600 });
    writeFileSync(join(dir, 'web.yml'), stringify({ tls_server_config: { cert_file: join(dir, 'web.crt'), key_file: join(dir, 'web.key') } }));
    args.push(`--web.config.file=${join(dir, 'web.yml')}`);
  }
  let lastError = '';
  // A port picked free may be taken before Prometheus binds it: try a few.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const url = `${o.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
    const child = spawn(PROMETHEUS_BIN, [...args, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let alive = true;
    void exited.then(() => (alive = false));
    const deadline = Date.now() + 60_000;
    while (alive && Date.now() < deadline && !(await ready(url, true))) await new Promise((r) => setTimeout(r, 100));
    if (alive && Date.now() < deadline) {
      const stopWith = async (signal: NodeJS.Signals) => {
        if (alive) {
          child.kill(signal);
          await exited;
        }
      };
      return {
        url,
        port,
        dir,
        process: child,
        kill: () => stopWith('SIGKILL'),
        async stop() {
          await stopWith('SIGTERM');
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    if (alive) child.kill('SIGKILL');
    await exited;
    lastError = stderr;
    if (!/address already in use/.test(stderr)) break;
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`prometheus did not start: ${lastError.trim().split('\n').slice(-3).join(' | ')}`);
}

/** Prometheus' own count of requests to one of its HTTP handlers (e.g. `/api/v1/query_range`). */
export async function handlerRequests(prometheusUrl: string, handler: string): Promise<number> {
  const text = await new Promise<string>((resolve, reject) => {
    const mod = prometheusUrl.startsWith('https:') ? https : http;
    mod
      .get(`${prometheusUrl}/metrics`, { rejectUnauthorized: false }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('prometheus_http_requests_total{')) continue;
    if (!line.includes(`handler="${handler}"`)) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}
