/**
 * The client commands as a user runs them through a version's life: `bin/kre.js` in a child
 * process against a real manager (devcluster with nodes, cluster-wide operator, metrics from
 * metrics.k8s.io), its address and token from the environment.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eventually } from '../devcluster/testing.ts';
import { startClientHarness, type ClientHarness } from '../client/testing.ts';
import { EXAMPLE, kreRunner, ok } from './client-commands-testing.ts';

const WAIT = 120_000;
let ch: ClientHarness;
let dir: string;
const { kre, run } = kreRunner(() => ch.address, () => dir);

before(async () => {
  ch = await startClientHarness();
  dir = mkdtempSync(join(tmpdir(), 'kre-cli-'));
});
after(async () => {
  await ch?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('kre runtime and version commands through a version\'s life', () => {
  test('runtime create -o json, then status --wait shows progress until Running', async () => {
    const created = JSON.parse(ok(await run(['runtime', 'create', 'demo', '-o', 'json'])));
    assert.deepEqual(created, { name: 'demo', namespace: 'kre-demo', created: true, message: "Runtime 'demo' created", credentials: 'generated' });
    const out = ok(await run(['runtime', 'status', 'demo', '--wait']));
    const lines = out.trimEnd().split('\n');
    assert.match(lines[0], /^\[\s*\d+s\] (Creating|Running)\s+\d\/4 ready/);
    assert.ok(lines.some((l) => /^\[\s*\d+s\] Running\s+4\/4 ready$/.test(l)), out);
    assert.ok(lines.includes('Runtime demo (namespace kre-demo): Running — all components are ready'), out);
    assert.match(out, /^ {2}MongoDB\s+ready$/m);
  });

  test('version create --krt DIR --wait: what was sent, progress, and the running version', async () => {
    const out = ok(await run(['version', 'create', '--runtime', 'demo', '--krt', EXAMPLE, '--config', 'GREETING_LANGUAGE=es', '--wait']));
    const lines = out.trimEnd().split('\n');
    assert.equal(lines[0], "Version 'greeter-v1' started in runtime demo: 2 workflows (greeting, farewell), 4 nodes");
    assert.ok(lines.some((l) => /^\d{2}:\d{2}:\d{2} {2}Running {3}5\/5 ready {2}5 workloads ready$/.test(l)), out);
    assert.ok(lines.includes('Version greeter-v1 (runtime demo): Running — 5 workloads ready'), out);
    assert.match(out, /^ {2}greeting\/parse\s+1\/1\s+ready$/m);
  });

  test('version status -o json has the documented shape', async () => {
    const s = JSON.parse(ok(await run(['version', 'status', 'greeter-v1', '--runtime', 'demo', '-o', 'json'])));
    assert.deepEqual(Object.keys(s), ['runtime', 'name', 'namespace', 'state', 'phase', 'published', 'nodes', 'message']);
    assert.deepEqual([s.runtime, s.name, s.namespace, s.state, s.phase, s.published], ['demo', 'greeter-v1', 'kre-demo', 'Started', 'Running', false]);
    assert.deepEqual(s.nodes[1], { name: 'greeting/parse', readyReplicas: 1, desiredReplicas: 1, ready: true });
  });

  test('publish and config', async () => {
    assert.equal(ok(await run(['version', 'publish', 'greeter-v1', '--runtime', 'demo'])), "Version 'greeter-v1' published\n");
    assert.equal(ok(await run(['version', 'config', 'greeter-v1', 'GREETING_LANGUAGE=fr', 'MODEL_PATH=/m', '--runtime', 'demo'])), "Version 'greeter-v1' config updated: GREETING_LANGUAGE, MODEL_PATH\n");
  });

  test('metrics: a table and -o json points', async () => {
    const rows = await eventually(async () => {
      const r = ok(await run(['version', 'metrics', 'greeter-v1', '--runtime', 'demo', '--from', '1m', '--step', '5']));
      const lines = r.trimEnd().split('\n');
      return lines[0] === 'TIME                  CPU     MEMORY' && lines.length >= 3 && lines;
    }, WAIT, 'a table with points');
    assert.match(rows[1], /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z {2}\d+\.\dm +\d+\.\d MiB$/);
    const points = JSON.parse(ok(await run(['version', 'metrics', 'greeter-v1', '--runtime', 'demo', '--from', '1m', '--step', '5', '-o', 'json'])));
    assert.ok(Array.isArray(points) && points.length >= 2);
    assert.deepEqual(Object.keys(points[0]), ['date', 'cpu', 'mem']);
    assert.ok(points.some((p: { cpu: number }) => p.cpu > 0));
  });

  test('through bin/kre.js, at once: status --watch and metrics --watch print as things change and stop on Ctrl-C with status 0', async () => {
    const [status, metrics] = await Promise.all([
      kre(['version', 'status', 'greeter-v1', '--runtime', 'demo', '--watch'], { until: /Running/ }),
      kre(['version', 'metrics', 'greeter-v1', '--runtime', 'demo', '--watch', '--from', '10s', '--step', '1'], { until: /(\n.*MiB){2}/ }),
    ]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^\d{2}:\d{2}:\d{2} {2}Running {3}5\/5 ready {2}published {2}5 workloads ready$/m, 'published by the test before');
    assert.equal(metrics.code, 0, metrics.stderr);
    const lines = metrics.stdout.trimEnd().split('\n');
    assert.equal(lines[0], 'TIME                  CPU       MEMORY');
    assert.match(lines[1], /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z {2}\d+\.\dm +\d+\.\d MiB$/);
    assert.ok(!metrics.stdout.includes('\x1b['), 'no terminal control codes when stdout is not a terminal');
  });
});
