import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { z } from 'zod';
import { ConfigError } from './config-error.ts';
import { hostPort, LEASE_TIMINGS_ORDER, leaseTimings, leaseTimingsInOrder, leaseTimingsMs, parseConfig, parseHostPort, readConfigFile, readSecretFile, urlHost } from './config-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'kre-config-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

test('a YAML mapping is read; an empty file is an empty mapping', () => {
  assert.deepEqual(readConfigFile(file('ok.yaml', 'listen: 127.0.0.1:0\nmetrics: {source: auto}\n')), { listen: '127.0.0.1:0', metrics: { source: 'auto' } });
  assert.deepEqual(readConfigFile(file('empty.yaml', '')), {});
});

test('each problem of the file is a ConfigError naming the file and what is wrong', () => {
  const cases: [string, RegExp][] = [
    [join(dir, 'absent.yaml'), /--config: cannot read .*absent\.yaml: ENOENT/],
    [file('bad.yaml', 'a: [1, 2\n'), /--config: .*bad\.yaml is not YAML/],
    [file('list.yaml', '- a\n'), /list\.yaml is not a mapping/],
    [file('scalar.yaml', '42\n'), /scalar\.yaml is not a mapping/],
  ];
  for (const [path, message] of cases) assert.throws(() => readConfigFile(path), (err: Error) => err instanceof ConfigError && err.field === 'config' && message.test(err.message));
});

test('a schema problem names the field, under the prefix, with the label applied', () => {
  const lease = z.strictObject(leaseTimings).refine(leaseTimingsInOrder, LEASE_TIMINGS_ORDER);
  const schema = z.strictObject({ listen: hostPort, lease: lease.optional(), rules: z.array(z.strictObject({ name: z.string(), n: z.number() })).default([]) });
  const parsed = parseConfig(schema, { listen: ':0', lease: { leaseDurationSeconds: 30 } });
  assert.deepEqual(parsed, { listen: ':0', lease: { leaseDurationSeconds: 30, renewDeadlineSeconds: 10, retryPeriodSeconds: 2 }, rules: [] });
  assert.deepEqual(leaseTimingsMs(parsed.lease!), { leaseDurationMs: 30_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 });
  const fails = (raw: unknown, field: string, message: RegExp, opts?: Parameters<typeof parseConfig>[2]) =>
    assert.throws(() => parseConfig(schema, raw, opts), (err: Error) => err instanceof ConfigError && err.field === field && err.message.startsWith(`invalid configuration: ${field}: `) && message.test(err.message));
  fails({ listen: '127.0.0.1:99999' }, 'listen', /expected HOST:PORT/);
  fails({ listen: ':0', lease: { retryPeriodSeconds: 0 } }, 'lease.retryPeriodSeconds', /expected number to be >0/);
  fails({ listen: ':0', lease: { leaseDurationSeconds: 5 } }, 'lease', /expected retryPeriodSeconds < renewDeadlineSeconds < leaseDurationSeconds/);
  fails({ listen: ':0', extra: 1 }, '(top level)', /unknown field\(s\) extra/);
  fails({ listen: 'x' }, 'metrics.listen', /HOST:PORT/, { prefix: ['metrics'] });
  fails({ listen: ':0', rules: [{ name: 'a', n: 1 }, { name: 'b', n: 'x' }] }, 'rules.1 (b).n', /number/, { label: (p) => (p[0] === 'rules' ? [p[0], `${p[1]} (b)`, ...p.slice(2)] : p) });
});

test('HOST:PORT: IPv4, names, IPv6 in brackets, and an empty host is loopback', () => {
  assert.deepEqual(parseHostPort('0.0.0.0:8080'), { host: '0.0.0.0', port: 8080 });
  assert.deepEqual(parseHostPort('localhost:50051'), { host: 'localhost', port: 50051 });
  assert.deepEqual(parseHostPort('[::1]:0'), { host: '::1', port: 0 });
  assert.deepEqual(parseHostPort(':9'), { host: '127.0.0.1', port: 9 });
  for (const bad of ['127.0.0.1', '127.0.0.1:99999', '::1:80', 'a b:1', '127.0.0.1:', '[::1]']) assert.equal(parseHostPort(bad), undefined, bad);
  assert.equal(urlHost('0.0.0.0'), '127.0.0.1');
  assert.equal(urlHost('::1'), '[::1]');
});

test('a secret file is read trimmed; missing or empty is a ConfigError naming the field', () => {
  assert.equal(readSecretFile('tokenFile', file('token', ' s3cret\n')), 's3cret');
  assert.throws(() => readSecretFile('tokenFile', file('empty-token', '\n')), (err: Error) => err instanceof ConfigError && /tokenFile: .*empty-token is empty/.test(err.message));
  assert.throws(() => readSecretFile('redis.passwordFile', join(dir, 'none')), (err: Error) => err instanceof ConfigError && /redis\.passwordFile: cannot read/.test(err.message));
});
