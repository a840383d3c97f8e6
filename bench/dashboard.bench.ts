/**
 * The dashboard in Debian's chromium against a `kre dev`-like setup in this process (devcluster,
 * operator, monitor, manager on metrics.k8s.io, dashboard), one runtime and one running version:
 *
 * - time to first meaningful paint: navigation to the runtime list drawn, median over repeats,
 *   against a baseline in the same browser: a static page from a plain Node server holding the
 *   same list already in its HTML (no script) — the ratio is what the page's script, its two
 *   requests and the event stream cost;
 * - bytes transferred on a first load (cache disabled), against the same responses uncompressed;
 * - delay from a point reaching a client of the manager's WatchVersion to the page drawing it:
 *   the bench holds its own WatchVersion on the same version (the manager shares one poller, so
 *   both get each point at the same moment) and the page records when it drew each point.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Metadata } from '@grpc/grpc-js';
import type { Response } from '../src/gen/resourcemetrics/resourcemetrics.ts';
import { eventually } from '../src/devcluster/testing.ts';
import { launchChromium, LOGIN_TOKEN, startDashboardSetup } from '../src/dashboard/testing.ts';
import { call, credentialsMessage, TOKEN as MANAGER_TOKEN, versionMessage, versionRequest } from '../src/manager/testing.ts';

const NS = 'bench-dash';
const REPEATS = Number(process.env.KRE_BENCH_REPEATS ?? '9');
const POINTS = 10;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export async function run(): Promise<void> {
  const setup = await startDashboardSetup();
  const chromium = await launchChromium();
  const baseline = createServer((_req, res) =>
    res.writeHead(200, { 'Content-Type': 'text/html' }).end(`<!doctype html><title>static</title><main><section data-runtime="${NS}"><h2>demo</h2><ul><li>v1 Running</li></ul></section></main>`),
  );
  await new Promise<void>((resolve) => baseline.listen(0, '127.0.0.1', resolve));
  const baselineUrl = `http://127.0.0.1:${(baseline.address() as AddressInfo).port}/`;
  try {
    const { harness } = setup;
    await call(harness.runtime, 'create', { runtime: { name: 'demo', namespace: NS, ...credentialsMessage() } });
    await call(harness.version, 'start', versionRequest(versionMessage(NS, 'v1')));
    const page = await chromium.browser.newPage();
    await page.setViewport({ width: 1280, height: 800 });
    await page.goto(setup.dashboard.url);
    await page.waitForSelector('#token');
    await page.type('#token', LOGIN_TOKEN);
    await page.keyboard.press('Enter');
    await page.waitForSelector(`[data-version="v1"][data-phase="Running"]`, { timeout: 120_000 });

    // First meaningful paint, logged in, cache disabled: every load is a first load.
    const cdp = await page.createCDPSession();
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    const paint = async (url: string, selector: string) => {
      const t0 = performance.now();
      await page.goto(url, { waitUntil: 'domcontentloaded' });
      await page.waitForSelector(selector);
      return performance.now() - t0;
    };
    const dash: number[] = [];
    const base: number[] = [];
    for (let i = 0; i < REPEATS; i++) {
      base.push(await paint(baselineUrl, `[data-runtime="${NS}"]`));
      dash.push(await paint(setup.dashboard.url, `[data-runtime="${NS}"]`));
    }
    console.log(`first meaningful paint (navigation → runtime list drawn), median of ${REPEATS}: dashboard ${median(dash).toFixed(0)} ms, static baseline ${median(base).toFixed(0)} ms, ratio ${(median(dash) / median(base)).toFixed(1)}`);

    // Bytes of one first load: what went over the wire, and the same bodies uncompressed.
    let wire = 0;
    const bodies = new Map<string, number>();
    cdp.on('Network.loadingFinished', (e: { encodedDataLength: number }) => (wire += e.encodedDataLength));
    cdp.on('Network.dataReceived', (e: { requestId: string; dataLength: number }) => bodies.set(e.requestId, (bodies.get(e.requestId) ?? 0) + e.dataLength));
    await paint(setup.dashboard.url, `[data-runtime="${NS}"]`);
    await new Promise((r) => setTimeout(r, 500));
    const raw = [...bodies.values()].reduce((a, b) => a + b, 0);
    console.log(`first load: ${(wire / 1024).toFixed(1)} KiB transferred (headers included, event stream until drawn), ${(raw / 1024).toFixed(1)} KiB uncompressed, ratio ${(wire / raw).toFixed(2)}`);

    // Delay from the manager's stream to the page's canvas.
    const arrived = new Map<number, number>();
    const md = new Metadata();
    md.set('authorization', `Bearer ${MANAGER_TOKEN}`);
    const stream = harness.metrics.watchVersion({ versionName: 'v1', namespace: NS, fromDate: '', toDate: '', step: 1 }, md);
    stream.on('data', (m: Response) => {
      const at = Date.now();
      for (const p of m.versionResourceMetrics) arrived.set(Date.parse(p.date), at);
    });
    stream.on('error', () => {});
    await page.click('[data-version="v1"] button.graphs');
    const delays = await eventually(async () => {
      const drawn = new Map<number, number>(await page.evaluate(() => [...(window as unknown as { kreDrawn: { drawnAt: Map<number, number> } }).kreDrawn.drawnAt.entries()]));
      const d = [...arrived].filter(([t]) => drawn.has(t)).map(([t, at]) => drawn.get(t)! - at);
      return d.length >= POINTS && d;
    }, 120_000, `${POINTS} points both streamed and drawn`);
    stream.cancel();
    console.log(`delay from the manager's stream to drawn, median of ${delays.length} points: ${median(delays).toFixed(0)} ms (max ${Math.max(...delays).toFixed(0)} ms); baseline: a direct WatchVersion client, 0 ms by definition`);
  } finally {
    baseline.close();
    await chromium.close();
    await setup.stop();
  }
}

declare const window: unknown;
