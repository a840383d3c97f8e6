import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { ApiError } from './errors.ts';
import { decodeProtobufObject } from './protobuf.ts';
import { undefinedMessages } from './protobuf-schema.ts';

/*
 * testdata/protobuf/<name>.pb is the body kubectl 1.33 POSTed for one `kubectl create …` command
 * (kubectl 1.32 sent the same bytes); <name>.json is the body kubectl 1.31 POSTed for the same
 * command. job-from-cronjob is `kubectl create job --from=cronjob/rich` against a CronJob carrying
 * env, envFrom, resources, probes, volumes, affinity and security contexts, so kubectl itself
 * encoded a deep PodSpec; job-from-cronjob-pod-scheduling adds pod (anti-)affinity, topology
 * spread, projected and downwardAPI volumes, scheduling gates and a pod failure policy.
 */
const testdata = new URL('./testdata/protobuf/', import.meta.url);
const fixtures = readdirSync(testdata)
  .filter((f) => f.endsWith('.pb'))
  .map((f) => f.slice(0, -'.pb'.length))
  .sort();

test('fixtures cover every kind kubectl create sends as protobuf', () => {
  const kinds = new Set(fixtures.map((name) => decodeProtobufObject(readFileSync(new URL(`${name}.pb`, testdata))).kind));
  for (const kind of ['Namespace', 'ConfigMap', 'Secret', 'Deployment', 'Service', 'ServiceAccount', 'Job', 'CronJob', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding']) {
    assert.ok(kinds.has(kind), `no fixture for ${kind}`);
  }
});

for (const name of fixtures) {
  test(`decodes kubectl's protobuf body to the JSON kubectl 1.31 sends: ${name}`, () => {
    const got = decodeProtobufObject(readFileSync(new URL(`${name}.pb`, testdata)));
    const want = JSON.parse(readFileSync(new URL(`${name}.json`, testdata), 'utf8'));
    assert.deepEqual(got, want);
  });
}

test('every message the schema tables name is defined', () => {
  assert.deepEqual(undefinedMessages(), []);
});

// A minimal protobuf writer, to build bodies kubectl would never send.
function varint(n: number | bigint): Buffer {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  do {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v ? b | 0x80 : b);
  } while (v);
  return Buffer.from(out);
}
const int = (field: number, n: number | bigint) => Buffer.concat([varint(field << 3), varint(n)]);
const bytes = (field: number, value: string | Buffer) => {
  const b = typeof value === 'string' ? Buffer.from(value) : value;
  return Buffer.concat([varint((field << 3) | 2), varint(b.length), b]);
};
const msg = (field: number, ...parts: Buffer[]) => bytes(field, Buffer.concat(parts));
const envelope = (apiVersion: string, kind: string, raw: Buffer) =>
  Buffer.concat([Buffer.from('k8s\0', 'latin1'), msg(1, bytes(1, apiVersion), bytes(2, kind)), bytes(2, raw)]);

function rejects(body: Buffer, code: number, message: RegExp): void {
  assert.throws(
    () => decodeProtobufObject(body),
    (e: unknown) => e instanceof ApiError && e.code === code && message.test(e.message),
  );
}

test('a body without the k8s magic is a 400', () => {
  rejects(Buffer.from('{"kind":"Namespace"}'), 400, /magic/);
  rejects(Buffer.from('k8s'), 400, /magic/);
});

test('a truncated body is a 400 naming the field that runs past the end', () => {
  const whole = readFileSync(new URL('deployment.pb', testdata));
  rejects(whole.subarray(0, whole.length - 20), 400, /malformed protobuf body: field 2 at byte \d+ claims \d+ bytes/);
});

test('a field of the wrong wire type is a 400 naming its JSON path', () => {
  const raw = Buffer.concat([msg(1, bytes(1, 'web')), msg(2, bytes(1, 'three'))]);
  rejects(envelope('apps/v1', 'Deployment', raw), 400, /spec\.replicas: expected a varint/);
});

test('an envelope with no kind or no object is a 400', () => {
  rejects(envelope('v1', '', Buffer.alloc(0)), 400, /names no kind/);
  rejects(Buffer.concat([Buffer.from('k8s\0', 'latin1'), msg(1, bytes(1, 'v1'), bytes(2, 'Namespace'))]), 400, /carries no object/);
});

test('a wire type protobuf does not define is a 400', () => {
  rejects(Buffer.concat([Buffer.from('k8s\0', 'latin1'), Buffer.from([(1 << 3) | 7])]), 400, /unsupported wire type 7/);
});

test('a kind kubectl create does not make is a 415 naming it', () => {
  rejects(envelope('apps/v1', 'StatefulSet', msg(1, bytes(1, 'db'))), 415, /StatefulSet \(apps\/v1\).*application\/json/);
  assert.equal(
    (() => {
      try {
        decodeProtobufObject(envelope('v1', 'Pod', Buffer.alloc(0)));
      } catch (e) {
        return (e as ApiError).reason;
      }
    })(),
    'UnsupportedMediaType',
  );
});

test('a compressed envelope is a 415', () => {
  const body = Buffer.concat([envelope('v1', 'Namespace', msg(1, bytes(1, 'x'))), bytes(3, 'gzip')]);
  rejects(body, 415, /contentEncoding "gzip"/);
});

test('fields this server does not know are skipped', () => {
  const raw = Buffer.concat([msg(1, bytes(1, 'demo'), int(99, 7)), bytes(42, 'future'), int(43, 1), msg(2)]);
  assert.deepEqual(decodeProtobufObject(envelope('v1', 'Namespace', raw)), {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'demo' },
    spec: {},
  });
});

test('times, negative numbers, int-or-strings and zero-valued pointers decode as Go prints them', () => {
  const metadata = msg(
    1,
    bytes(1, 'web'),
    msg(8, int(1, 1_740_823_200)), // creationTimestamp 2025-03-01T10:00:00Z
    msg(9, int(1, 1_740_823_260), int(2, 500_000_000)), // deletionTimestamp drops the fraction, as Time does
    int(10, 0), // deletionGracePeriodSeconds is a pointer: 0 stays
  );
  const spec = msg(
    2,
    int(1, 0), // replicas: 0 is a real request, not an absent field
    msg(4, bytes(1, 'RollingUpdate'), msg(2, msg(1, int(1, 1), bytes(3, '25%')), msg(2, int(2, 1)))),
    int(5, 0), // minReadySeconds: omitempty
    int(6, -1n), // revisionHistoryLimit: a negative int32 travels as ten bytes
  );
  assert.deepEqual(decodeProtobufObject(envelope('apps/v1', 'Deployment', Buffer.concat([metadata, spec]))), {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', creationTimestamp: '2025-03-01T10:00:00Z', deletionTimestamp: '2025-03-01T10:01:00Z', deletionGracePeriodSeconds: 0 },
    spec: { replicas: 0, revisionHistoryLimit: -1, strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: 1 } } },
  });
});

test('map entries with an empty value keep the key', () => {
  // gogo leaves out a map entry's value field when it is empty.
  const raw = Buffer.concat([msg(1, bytes(1, 'cfg')), msg(2, bytes(1, 'empty')), msg(3, bytes(1, 'blob'), bytes(2, Buffer.from([0, 255])))]);
  assert.deepEqual(decodeProtobufObject(envelope('v1', 'ConfigMap', raw)), {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'cfg' },
    data: { empty: '' },
    binaryData: { blob: 'AP8=' },
  });
});

test('a map key named __proto__ stays a plain key', () => {
  const raw = Buffer.concat([msg(1, bytes(1, 'cfg'), msg(11, bytes(1, '__proto__'), bytes(2, 'x')))]);
  const got = decodeProtobufObject(envelope('v1', 'ConfigMap', raw));
  assert.deepEqual(got.metadata.labels, JSON.parse('{"__proto__":"x"}'));
  assert.equal(Object.getPrototypeOf(got.metadata.labels), Object.prototype);
});
