/**
 * The object log as a user of a long-lived state dir meets it: compacted while the server runs
 * (thresholds lowered through the options, the code path the same), read back as a stream even
 * when it is larger than the longest string the runtime can hold, and a damaged line in the middle
 * skipped, reported and kept in a copy, with every valid object loaded.
 *
 * "Larger than a string": the test writes such a log directly (about 520 MiB of 1 MiB records of
 * one object, as a long life of updates leaves it) and starts a devcluster on it, so the reader
 * is the one that runs in production, with its default chunk size.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { constants } from 'node:buffer';
import { Writable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startDevCluster, type DevCluster } from '../index.ts';
import { rawRequest as rawKeepAlive } from '../testing.ts';
import { ObjectLog, type LogRecord } from './object-log.ts';

/** Without keep-alive: a connection pooled before a stop would meet the next server closed. */
const rawRequest = (cluster: DevCluster, method: string, path: string, body?: object) => rawKeepAlive(cluster, method, path, body, { Connection: 'close' });

const work = mkdtempSync(join(tmpdir(), 'kre-object-log-'));
after(() => rmSync(work, { recursive: true, force: true }));

async function metric(cluster: DevCluster, name: string): Promise<number> {
  const line = (await cluster.metrics()).split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ').pop()) : NaN;
}

const record = (rv: number, ns: string, name: string, data: Record<string, string> = {}) =>
  JSON.stringify({ rv, c: 'configmaps', k: `${ns}/${name}`, o: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, uid: `uid-${name}`, resourceVersion: String(rv), creationTimestamp: '2026-01-01T00:00:00Z' }, data } });
const namespaceRecord = (rv: number, name: string) =>
  JSON.stringify({ rv, c: 'namespaces', k: `/${name}`, o: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, uid: `uid-ns-${name}`, resourceVersion: String(rv), creationTimestamp: '2026-01-01T00:00:00Z' }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } } });

describe('compaction while running', () => {
  test('a log grown past the thresholds is compacted while serving, and loads back whole', async () => {
    const stateDir = join(work, 'online');
    const objectLog = { compactMinBytes: 256 * 1024, compactRatio: 2 };
    let cluster = await startDevCluster({ stateDir, nodes: 0, objectLog });
    try {
      assert.equal((await rawRequest(cluster, 'POST', '/api/v1/namespaces', { metadata: { name: 'churn' } })).status, 201);
      const before = await metric(cluster, 'devcluster_object_log_compactions_total');
      const value = 'v'.repeat(10 * 1024);
      let written = 0;
      const last: Record<string, string> = {};
      for (let round = 0; round < 15; round++) {
        for (let i = 0; i < 20; i++) {
          const body = { metadata: { name: `cm-${i}` }, data: { round: String(round), value } };
          const res = round === 0 ? await rawRequest(cluster, 'POST', '/api/v1/namespaces/churn/configmaps', body) : await rawRequest(cluster, 'PUT', `/api/v1/namespaces/churn/configmaps/cm-${i}`, body);
          assert.ok(res.status === 200 || res.status === 201, res.text);
          last[`cm-${i}`] = res.json<any>().metadata.resourceVersion;
          written += res.text.length;
        }
      }
      const compactions = (await metric(cluster, 'devcluster_object_log_compactions_total')) - before;
      const logBytes = await metric(cluster, 'devcluster_object_log_bytes');
      const onDisk = statSync(join(stateDir, 'data', 'objects.log')).size;
      assert.ok(compactions >= 2, `compactions: ${compactions}`);
      assert.equal(logBytes, onDisk, 'the metric is the size on disk');
      // 20 live objects of ~10 KiB: the log stays within twice the live data and the 256 KiB floor,
      // plus one record, where ~3 MiB were written.
      assert.ok(onDisk <= Math.max(2 * 20 * 11 * 1024, 256 * 1024) + 12 * 1024, `log of ${onDisk} bytes after ${written} bytes written`);
      assert.ok(!readdirSync(join(stateDir, 'data')).some((f) => f !== 'objects.log'), `nothing left beside the log: ${readdirSync(join(stateDir, 'data'))}`);
      const rv = Number((await rawRequest(cluster, 'GET', '/api/v1/namespaces/churn/configmaps')).json<any>().metadata.resourceVersion);

      await cluster.stop();
      cluster = await startDevCluster({ stateDir, nodes: 0, objectLog });
      const list = (await rawRequest(cluster, 'GET', '/api/v1/namespaces/churn/configmaps')).json<any>();
      assert.equal(list.items.length, 20);
      for (const cm of list.items) {
        assert.equal(cm.data.round, '14');
        assert.equal(cm.metadata.resourceVersion, last[cm.metadata.name]);
      }
      assert.ok(Number(list.metadata.resourceVersion) >= rv, 'the resourceVersion does not go back');
      const next = await rawRequest(cluster, 'POST', '/api/v1/namespaces/churn/configmaps', { metadata: { name: 'after' } });
      assert.ok(Number(next.json<any>().metadata.resourceVersion) > rv);
    } finally {
      await cluster.stop();
    }
  });

  test('a log larger than the longest string loads, line by line, and is compacted at start', async () => {
    const stateDir = join(work, 'huge');
    mkdirSync(join(stateDir, 'data'), { recursive: true });
    const path = join(stateDir, 'data', 'objects.log');
    const fd = openSync(path, 'w', 0o600);
    const value = 'x'.repeat(1 << 20);
    let rv = 1;
    let size = 0;
    try {
      size += writeSync(fd, namespaceRecord(rv++, 'big') + '\n');
      while (size <= constants.MAX_STRING_LENGTH + (8 << 20)) size += writeSync(fd, record(rv++, 'big', 'blob', { n: String(rv), value }) + '\n');
      size += writeSync(fd, record(rv++, 'big', 'small', { last: 'yes' }) + '\n');
    } finally {
      closeSync(fd);
    }
    assert.ok(statSync(path).size > constants.MAX_STRING_LENGTH, 'the log is longer than a string can be');
    const cluster = await startDevCluster({ stateDir, nodes: 0 });
    try {
      const blob = (await rawRequest(cluster, 'GET', '/api/v1/namespaces/big/configmaps/blob')).json<any>();
      assert.equal(blob.data.n, String(rv - 1));
      assert.equal(blob.data.value.length, 1 << 20);
      assert.deepEqual((await rawRequest(cluster, 'GET', '/api/v1/namespaces/big/configmaps/small')).json<any>().data, { last: 'yes' });
      assert.ok(Number((await rawRequest(cluster, 'GET', '/api/v1/namespaces/big/configmaps')).json<any>().metadata.resourceVersion) >= rv - 1, 'the resourceVersion goes on from the log');
      assert.ok((await metric(cluster, 'devcluster_object_log_compactions_total')) >= 1);
      assert.ok(statSync(path).size < 4 << 20, `compacted to ${statSync(path).size} bytes`);
    } finally {
      await cluster.stop();
    }
  });
});

describe('a damaged log', () => {
  /** A log with damage in the middle: bad JSON, a record glued after a torn one, JSON that is no record. */
  function damagedLog(dir: string): string {
    mkdirSync(dir, { recursive: true });
    const path = join(dir, 'objects.log');
    const torn = record(4, 'd', 'torn');
    const lines = [
      namespaceRecord(1, 'd'),
      record(2, 'd', 'a', { v: 'a' }),
      record(3, 'd', 'b', { v: 'b' }),
      '{"rv":4,"c":"configmaps","k":"d/x","o":{"metadata"', // line 4: cut, then more was written after it
      torn.slice(0, 40) + record(5, 'd', 'glued', { v: 'glued' }), // line 5
      '[1,2,3]', // line 6
      record(7, 'd', 'c', { v: 'c' }),
      JSON.stringify({ rv: 8, c: 'configmaps', k: 'd/b', d: 1 }),
      record(9, 'd', 'e', { v: 'e' }),
    ];
    writeFileSync(path, lines.join('\n') + '\n', { mode: 0o600 });
    return path;
  }

  test('the valid records load; each damaged line is reported with its number and why; the damaged file is kept beside it', () => {
    const dir = join(work, 'damaged-unit');
    const path = damagedLog(dir);
    const original = readFileSync(path);
    const logged: any[] = [];
    const log = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, cb) => (logged.push(JSON.parse(chunk.toString())), cb()) }));
    const applied: LogRecord[] = [];
    const objectLog = new ObjectLog({ dir, log }, (rec) => applied.push(rec));
    objectLog.close();
    assert.deepEqual(applied.filter((r) => !r.d).map((r) => r.k), ['/d', 'd/a', 'd/b', 'd/glued', 'd/c', 'd/e']);
    const report = logged.find((l) => l.level === 50);
    assert.ok(report, JSON.stringify(logged));
    assert.deepEqual(report.skipped.map((s: any) => s.line), [4, 5, 6]);
    assert.match(report.skipped[0].reason, /invalid JSON/);
    assert.match(report.skipped[1].reason, /the record at its end was kept/);
    assert.match(report.skipped[2].reason, /not a JSON object/);
    assert.match(report.msg, /skipped 3 damaged line\(s\).*line 4/);
    assert.ok(existsSync(report.copy) && report.copy.startsWith(`${path}.damaged-`));
    assert.deepEqual(readFileSync(report.copy), original, 'the copy is the damaged file as it was');
    assert.equal(statSync(report.copy).mode & 0o777, 0o600);
  });

  test('the end of a log cut by a kill: half a record is cut off, a record missing only its newline is kept; what is appended next stays whole', () => {
    for (const [tail, kept] of [
      [record(3, 'd', 'torn').slice(0, 60), ['d/a']],
      [record(3, 'd', 'whole'), ['d/a', 'd/whole']],
    ] as const) {
      const dir = mkdtempSync(join(work, 'tail-'));
      writeFileSync(join(dir, 'objects.log'), [namespaceRecord(1, 'd'), record(2, 'd', 'a')].join('\n') + '\n' + tail, { mode: 0o600 });
      const applied: LogRecord[] = [];
      let log = new ObjectLog({ dir }, (rec) => applied.push(rec));
      assert.deepEqual(applied.slice(1).map((r) => r.k), kept);
      log.append(record(4, 'd', 'next'));
      log.close();
      applied.length = 0;
      log = new ObjectLog({ dir }, (rec) => applied.push(rec));
      log.close();
      assert.deepEqual(applied.slice(1).map((r) => r.k), [...kept, 'd/next']);
      assert.deepEqual(readdirSync(dir), ['objects.log'], 'no damage reported');
    }
  });

  test('a devcluster starts on it, serves every valid object, and the next start is clean', async () => {
    const stateDir = join(work, 'damaged');
    damagedLog(join(stateDir, 'data'));
    let cluster = await startDevCluster({ stateDir, nodes: 0 });
    try {
      const names = (await rawRequest(cluster, 'GET', '/api/v1/namespaces/d/configmaps')).json<any>().items.map((i: any) => i.metadata.name);
      assert.deepEqual(names, ['a', 'c', 'e', 'glued']);
      const copies = readdirSync(join(stateDir, 'data')).filter((f) => f.startsWith('objects.log.damaged-'));
      assert.equal(copies.length, 1);
      await cluster.stop();
      cluster = await startDevCluster({ stateDir, nodes: 0 });
      assert.deepEqual((await rawRequest(cluster, 'GET', '/api/v1/namespaces/d/configmaps')).json<any>().items.map((i: any) => i.metadata.name), ['a', 'c', 'e', 'glued']);
      assert.equal(readdirSync(join(stateDir, 'data')).filter((f) => f.startsWith('objects.log.damaged-')).length, 1, 'no new damage found');
      const next = await rawRequest(cluster, 'POST', '/api/v1/namespaces/d/configmaps', { metadata: { name: 'after' } });
      assert.ok(Number(next.json<any>().metadata.resourceVersion) > 9);
    } finally {
      await cluster.stop();
    }
  });
});
