/**
 * The dashboard in a real browser (Debian's chromium through puppeteer-core) against a `kre dev`-like
 * setup in this process: log in, see a runtime go Running, versions appear and get published
 * without a reload, the CPU graph draw the simulated usage, a version stop; a wrong token gets a
 * login error. Screenshots of the main views go to test-artifacts/dashboard/.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'puppeteer-core';
import { eventually } from '../devcluster/testing.ts';
import type { Pod } from '../kube/index.ts';
import { call, credentialsMessage, versionMessage, versionRequest } from '../manager/testing.ts';
import { isReadyPod, PODS } from '../operator/testing.ts';
import { launchChromium, LOGIN_TOKEN, startDashboardSetup, type DashboardSetup, type PageDocument, type TestBrowser } from './testing.ts';

declare const document: PageDocument;

const NS = 'dash-demo';
const CPU_MILLI = 120;
const MEMORY_BYTES = 64 * 1024 * 1024;
const WAIT = 90_000;
const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts', 'dashboard');

describe('kre dashboard in chromium', () => {
  let setup: DashboardSetup;
  let chromium: TestBrowser;
  let page: Page;

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    setup = await startDashboardSetup();
    chromium = await launchChromium();
    page = await chromium.browser.newPage();
    await page.setViewport({ width: 1280, height: 800 });
  });

  after(async () => {
    await chromium?.close();
    await setup?.stop();
  });

  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  const attr = (selector: string, name: string) => page.$eval(selector, (el, n) => el.getAttribute(n), name).catch(() => null);

  async function login(token: string): Promise<void> {
    await page.goto(setup.dashboard.url, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#token');
    await page.type('#token', token);
    await page.keyboard.press('Enter');
  }

  test('a wrong token shows a login error, not a broken page', async () => {
    await login('not-the-token');
    await page.waitForFunction(() => document.querySelector('#login-error')?.textContent?.includes('Wrong token'), { timeout: WAIT });
    assert.ok(await page.$('#token'), 'the login form is still there');
    assert.equal(await page.$('#runtimes'), null);
    await shot('login-error');
  });

  test('the page refuses actions without the session and from another origin', async () => {
    const res = await fetch(`${setup.dashboard.url}/api/action`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: 'http://evil.example' },
      body: JSON.stringify({ action: 'publish', namespace: NS, version: 'v1' }),
    });
    assert.equal(res.status, 403);
    const events = await fetch(`${setup.dashboard.url}/api/events`);
    assert.equal(events.status, 401);
    await events.body?.cancel();
  });

  test('log in, the runtime goes Running, versions appear, get published, draw their CPU, and stop', async () => {
    await login(LOGIN_TOKEN);
    await page.waitForSelector('#runtimes');
    const cookies = await page.cookies();
    const session = cookies.find((c) => c.name === 'kre_dashboard');
    assert.ok(session?.httpOnly, 'the session cookie is HttpOnly');
    assert.equal(session?.sameSite, 'Strict');

    const { harness } = setup;
    await call(harness.runtime, 'create', { runtime: { name: 'demo', namespace: NS, ...credentialsMessage() } });
    await page.waitForSelector(`[data-runtime="${NS}"]`, { timeout: WAIT });
    await page.waitForSelector(`[data-runtime="${NS}"][data-phase="Running"]`, { timeout: WAIT });
    assert.deepEqual(await page.$$eval(`[data-runtime="${NS}"] [data-component] .ok`, (els) => els.length), 3);

    // A version created through the manager appears without a reload.
    await call(harness.version, 'start', versionRequest(versionMessage(NS, 'v1')));
    await page.waitForSelector(`[data-version="v1"][data-phase="Running"]`, { timeout: WAIT });
    await shot('runtime-running');

    // The usage the simulated kubelets report for the version's pods.
    const pods = await eventually(async () => {
      const list = (await harness.kube.list<Pod>({ ...PODS, namespace: NS }, { labelSelector: 'version-name=v1' })).items;
      return list.length === 3 && list.every(isReadyPod) && list;
    }, WAIT, "v1's three pods ready");
    let containers = 0;
    for (const p of pods) {
      containers += p.spec?.containers.length ?? 0;
      await harness.kube.patch({ ...PODS, namespace: NS, name: p.metadata.name! }, {
        metadata: { annotations: { 'kre.konstellation.io/cpu-millicores': String(CPU_MILLI), 'kre.konstellation.io/memory-bytes': String(MEMORY_BYTES), 'kre.konstellation.io/memory-ramp-seconds': '0' } },
      });
    }

    // Publish through the page: the mark is on v1.
    await page.click('[data-version="v1"] button[data-action="publish"]');
    await page.waitForSelector('[data-version="v1"][data-published="true"]', { timeout: WAIT });
    await page.waitForFunction(() => document.querySelector('[data-version="v1"] .done')?.textContent?.includes('published'), { timeout: WAIT });

    // The graphs: points drawn near the simulated usage (metrics.k8s.io gives ±10 % per container).
    await page.click('[data-version="v1"] button.graphs');
    const expected = containers * CPU_MILLI;
    await page
      .waitForFunction(
        (want) => {
          const el = document.querySelector('[data-series="cpu"]');
          const v = Number(el?.dataset.lastValue);
          return Number(el?.dataset.points) >= 2 && Math.abs(v - want) <= want * 0.11;
        },
        { timeout: WAIT },
        expected,
      )
      .catch(async (err: Error) => {
        const status = await page.$eval('.graph-status', (el) => el.textContent).catch(() => 'no graphs panel');
        const seen = `${await attr('[data-series="cpu"]', 'data-points')} points, the last ${await attr('[data-series="cpu"]', 'data-last-value')}m, the panel says "${status}"`;
        throw new Error(`the CPU graph never came within 11% of ${expected}m: ${seen} (${err.message})`);
      });
    const canvas = await page.$('[data-series="cpu"] canvas');
    assert.ok(canvas, 'uPlot drew its canvas');
    assert.ok(Number(await attr('[data-series="mem"]', 'data-points')) >= 2);
    assert.equal(setup.dashboard.graphs.stats().streams, 1);
    await page.waitForFunction(() => Number(document.querySelector('[data-series="cpu"]')?.dataset.points) >= 8, { timeout: WAIT });
    await shot('graphs-live');

    // A second tab on the same graph shares the one WatchVersion.
    const second = await chromium.browser.newPage();
    await second.goto(setup.dashboard.url);
    await second.waitForSelector('[data-version="v1"] button.graphs', { timeout: WAIT });
    await second.click('[data-version="v1"] button.graphs');
    await second.waitForFunction(() => Number((document.querySelector('[data-series="cpu"]'))?.dataset.points) >= 1, { timeout: WAIT });
    assert.deepEqual(setup.dashboard.graphs.stats(), { streams: 1, viewers: 2 });
    await second.close();

    // The time range picker reads history with GetVersion.
    await page.select('#range', '1');
    await page.waitForFunction(() => /points, every/.test(document.querySelector('.graph-status')?.textContent ?? ''), { timeout: WAIT });
    assert.ok(Number(await attr('[data-series="cpu"]', 'data-points')) >= 1);

    // A second version, published: the mark moves.
    await call(harness.version, 'start', versionRequest(versionMessage(NS, 'v2')));
    await page.waitForSelector('[data-version="v2"][data-phase="Running"]', { timeout: WAIT });
    await page.click('[data-version="v2"] button[data-action="publish"]');
    await page.waitForSelector('[data-version="v2"][data-published="true"]', { timeout: WAIT });
    await page.waitForSelector('[data-version="v1"][data-published="false"]', { timeout: WAIT });

    // Nobody looks at v1's graph any more: its stream ends.
    await page.click('[data-version="v1"] button.graphs');
    await eventually(() => setup.dashboard.graphs.stats().streams === 0, WAIT, "v1's WatchVersion ended");

    // The manager refuses to stop the published version: its reason shows in place.
    await page.click('[data-version="v2"] button[data-action="stop"]');
    await page.waitForFunction(() => /unpublish it before stopping it/.test(document.querySelector('[data-version="v2"] .action-error')?.textContent ?? ''), { timeout: WAIT });
    await shot('action-error');
    // Unpublished, v2 no longer holds the mark.
    await page.click('[data-version="v2"] button[data-action="unpublish"]');
    await page.waitForSelector('[data-version="v2"][data-published="false"]', { timeout: WAIT });
    // Stop v1: it goes Stopped and its pods go.
    await page.click('[data-version="v1"] button[data-action="stop"]');
    await page.waitForSelector('[data-version="v1"][data-phase="Stopped"]', { timeout: WAIT });
    await page.waitForFunction(() => document.querySelectorAll('[data-version="v1"] [data-pod]').length === 0, { timeout: WAIT });
    await shot('version-stopped');

    // And starts again from the page.
    await page.click('[data-version="v1"] button[data-action="start"]');
    await page.waitForSelector('[data-version="v1"][data-phase="Running"]', { timeout: WAIT });
  });

  test('a narrow window keeps every control reachable by keyboard', async () => {
    await page.setViewport({ width: 420, height: 800 });
    await page.goto(setup.dashboard.url);
    await page.waitForSelector('[data-version="v2"]', { timeout: WAIT });
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 420, `no horizontal scrolling at 420 px (page is ${width} px wide)`);
    // Tab through the page until the publish button of v2 has the focus.
    let reached = false;
    for (let i = 0; i < 60 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.matches('[data-version="v2"] button[data-action="publish"]') ?? false);
    }
    assert.ok(reached, "v2's Publish button is reachable with Tab");
    await shot('narrow');
  });
});
