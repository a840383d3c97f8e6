/**
 * What the dashboard's tests and benchmark share: a `kre dev`-like setup in this process — a
 * devcluster, the operator, the monitor caching runtimes and runtime versions, the manager with
 * metrics.k8s.io as its metrics source, and the dashboard reading both — and Debian's chromium
 * driven by puppeteer-core, with a temporary profile removed when it stops.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import type { ResourceMetricsServiceServer } from '../gen/resourcemetrics/resourcemetrics.ts';
import { createLogger } from '../kube/index.ts';
import { parseManagerConfig } from '../manager/config.ts';
import { startResourceMetricsService } from '../manager/resource-metrics-service.ts';
import { startHarness, TOKEN as MANAGER_TOKEN, type Harness } from '../manager/testing.ts';
import { parseMonitorConfig, startMonitor, type Monitor } from '../monitor/index.ts';
import { loadBundle } from './bundle.ts';
import { parseDashboardConfig } from './config.ts';
import { startDashboard, type Dashboard } from './server.ts';

export const LOGIN_TOKEN = 'dashboard-login-token-0123456789';
const MONITOR_TOKEN = 'dashboard-test-monitor-token';

export interface DashboardSetup {
  harness: Harness;
  monitor: Monitor;
  dashboard: Dashboard;
  stop(): Promise<void>;
}

export async function startDashboardSetup(o: { nodes?: number; dashboard?: Record<string, unknown> } = {}): Promise<DashboardSetup> {
  const level = process.env.KRE_TEST_LOG ?? 'silent';
  const metricsLog = createLogger('manager', level);
  // The harness's cluster is made inside it: its metrics service is started on the harness's own client.
  let metricsClose: (() => Promise<void>) | undefined;
  const harness = await startHarnessWithMetrics((service) => (metricsClose = service), metricsLog);
  let monitor: Monitor | undefined;
  try {
    monitor = await startMonitor({
      config: parseMonitorConfig({ listen: '127.0.0.1:0', canaryIntervalSeconds: 0, verifyIntervalSeconds: 5, resources: ['kre.konstellation.io/v1alpha1/runtimes', 'kre.konstellation.io/v1alpha1/runtimeversions'] }),
      token: MONITOR_TOKEN,
      kubeConfig: harness.cluster.kubeConfig(),
      logger: createLogger('monitor', level),
    });
    const dashboard = await startDashboard({
      config: parseDashboardConfig({ listen: '127.0.0.1:0', monitor: { url: monitor.url, pollIntervalMs: 300 }, manager: { address: harness.manager.address }, graphLingerMs: 500, ...o.dashboard }),
      tokens: { login: LOGIN_TOKEN, monitor: MONITOR_TOKEN, manager: MANAGER_TOKEN },
      bundle: await loadBundle(),
      logger: createLogger('dashboard', level),
    });
    const m = monitor;
    return {
      harness,
      monitor: m,
      dashboard,
      async stop() {
        await dashboard.stop();
        await m.stop();
        await metricsClose?.();
        await harness.stop();
      },
    };
  } catch (err) {
    await monitor?.stop();
    await metricsClose?.();
    await harness.stop();
    throw err;
  }
}

/**
 * The manager harness with its resource metrics read from the devcluster's metrics.k8s.io (no
 * Prometheus in these tests). The service needs the cluster's client, which exists only inside the
 * harness, so the harness is started with a lazy handler set that forwards to it.
 */
async function startHarnessWithMetrics(keepClose: (close: () => Promise<void>) => void, logger: ReturnType<typeof createLogger>): Promise<Harness> {
  let handlers: Awaited<ReturnType<typeof startResourceMetricsService>>['handlers'] | undefined;
  const forward: ResourceMetricsServiceServer = {
    getVersion: (call, cb) => handlers!.getVersion(call, cb),
    watchVersion: (call) => handlers!.watchVersion(call),
  };
  const harness = await startHarness({ resourceMetrics: forward });
  try {
    const config = parseManagerConfig({ metrics: { source: 'metrics-api', pollIntervalSeconds: 1 } });
    const service = await startResourceMetricsService({ config: config.metrics, kube: harness.kube, logger });
    handlers = service.handlers;
    keepClose(() => service.close());
    return harness;
  } catch (err) {
    await harness.stop();
    throw err;
  }
}

export interface TestBrowser {
  browser: Browser;
  close(): Promise<void>;
}

/** Debian's chromium, headless, with a profile in a temporary directory removed on close. */
export async function launchChromium(): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'kre-chromium-'));
  let browser: Browser;
  try {
    browser = await puppeteer.launch({
      executablePath: process.env.KRE_CHROMIUM ?? '/usr/bin/chromium',
      headless: true,
      userDataDir: profile,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-extensions', '--password-store=basic'],
    });
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  return {
    browser,
    async close() {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}


/**
 * The little of the page's DOM that functions run in the browser (puppeteer's `waitForFunction`,
 * `evaluate`) use: Node code is typechecked without the DOM library, so they declare it themselves.
 */
export interface PageDocument {
  querySelector(selector: string): { textContent: string | null; dataset: Record<string, string | undefined> } | null;
  querySelectorAll(selector: string): { length: number };
  documentElement: { scrollWidth: number };
  activeElement: { matches(selector: string): boolean } | null;
}
