/**
 * The devcluster answers as a real kube-apiserver answers: the same requests go to both, in
 * order, and their status codes and bodies must match once the fields that differ by nature
 * (uids, timestamps, resourceVersions, generated names, managedFields times) are masked.
 * A new case is one line of CASES; a difference is a failure unless KNOWN_DIFFERENCES lists
 * it with its reason (and a listed difference that has gone away is a failure too, so the list
 * stays true).
 *
 * Needs the real server (../shared/kube-apiserver): in the real-server pass its absence is a
 * failure; in the plain pass the file runs when the server is there and is skipped otherwise.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDevCluster, type DevCluster } from './index.ts';
import { rawRequest, type RawResponse } from './testing.ts';
import { testCrd } from '../../test/support/crd.ts';
import { REAL_APISERVER_DIR, TARGET, realApiServerAvailable, startRealApiServer, type TestApiServer } from '../../test/support/apiserver.ts';

const NS = '/api/v1/namespaces/cmp';
const APPS = '/apis/apps/v1/namespaces/cmp';
const CR = '/apis/compare.example.com/v1/namespaces/cmp/widgets';
const MERGE = 'application/merge-patch+json';
const JSONPATCH = 'application/json-patch+json';
const APPLY = 'application/apply-patch+yaml';

const cm = (name: string, data: Record<string, string> = { a: '1' }, extra: object = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { app: 'cmp' } }, data, ...extra });
const pod = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { app: 'cmp' } },
  spec: { containers: [{ name: 'main', image: 'busybox:1.36', ports: [{ containerPort: 8080 }], resources: { requests: { cpu: '100m' }, limits: { memory: '64Mi' } } }] },
});
const deployment = (name: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: { replicas: 2, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image: 'nginx:1.27' }] } } },
});
const crd = testCrd('compare.example.com', 'Widget', {
  type: 'object',
  properties: {
    spec: { type: 'object', required: ['size'], properties: { size: { type: 'integer', minimum: 1 }, color: { type: 'string', enum: ['red', 'blue'], default: 'red' } } },
    status: { type: 'object', properties: { ready: { type: 'boolean' } } },
  },
});
const widget = (name: string, spec: object) => ({ apiVersion: 'compare.example.com/v1', kind: 'Widget', metadata: { name }, spec });

/**
 * name, method, path, body, content type; `until` retries the request until it answers that code;
 * `moving` matches the difference lines of what the real controller manager changes meanwhile.
 */
type Case = { name: string; method: string; path: string; body?: unknown; type?: string; until?: number; moving?: RegExp };
const c = (name: string, method: string, path: string, body?: unknown, type?: string, until?: number, moving?: RegExp): Case => ({ name, method, path, body, type, until, moving });
/** What the real Deployment controller writes into a Deployment once it sees it; the devcluster of this test runs no controllers. */
const DEPLOYMENT_CONTROLLER = /^\.(status|metadata\.annotations|metadata\.generation|metadata\.managedFields\[\d+\])(\.|:)/;

const CASES: Case[] = [
  c('create namespace', 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'cmp' } }),
  c('create configmap', 'POST', `${NS}/configmaps`, cm('cm1')),
  c('get configmap', 'GET', `${NS}/configmaps/cm1`),
  c('get missing configmap: 404', 'GET', `${NS}/configmaps/nope`),
  c('create configmap again: 409 AlreadyExists', 'POST', `${NS}/configmaps`, cm('cm1')),
  c('update at a stale resourceVersion: 409 Conflict', 'PUT', `${NS}/configmaps/cm1`, { ...cm('cm1', { a: '2' }), metadata: { name: 'cm1', resourceVersion: '1' } }),
  c('merge-patch configmap', 'PATCH', `${NS}/configmaps/cm1`, { data: { b: '2' } }, MERGE),
  c('json-patch configmap', 'PATCH', `${NS}/configmaps/cm1`, [{ op: 'add', path: '/data/c', value: '3' }], JSONPATCH),
  c('apply configmap', 'PATCH', `${NS}/configmaps/applied?fieldManager=cmp`, cm('applied', { x: 'y' }), APPLY),
  c('apply without fieldManager: 400', 'PATCH', `${NS}/configmaps/applied`, cm('applied', { x: 'z' }), APPLY),
  c('apply with a manager that conflicts: 409', 'PATCH', `${NS}/configmaps/applied?fieldManager=other`, cm('applied', { x: 'z' }), APPLY),
  c('create configmap by generateName', 'POST', `${NS}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'gen-' } }),
  c('list configmaps by label', 'GET', `${NS}/configmaps?labelSelector=app%3Dcmp`),
  c('list configmaps with limit=1', 'GET', `${NS}/configmaps?limit=1&labelSelector=app%3Dcmp`),
  c('list with a bad label selector: 400', 'GET', `${NS}/configmaps?labelSelector=a%20in%20(`),
  c('list with an unsupported field selector: 400', 'GET', `${NS}/configmaps?fieldSelector=spec.nope%3Dx`),
  c('list with limit=abc: 400', 'GET', `${NS}/configmaps?limit=abc`),
  c('list with watch=False is a list', 'GET', `${NS}/configmaps?watch=False&labelSelector=app%3Dcmp`),
  c('create with an unknown field, fieldValidation=Strict: 400', 'POST', `${NS}/configmaps?fieldValidation=Strict`, cm('strict', {}, { bogus: 1 })),
  c('create with fieldValidation=Bogus: 422', 'POST', `${NS}/configmaps?fieldValidation=Bogus`, cm('bogus')),
  c('create with an unknown field, fieldValidation=Ignore', 'POST', `${NS}/configmaps?fieldValidation=Ignore`, cm('ignored', {}, { bogus: 1 })),
  // Until the ServiceAccount controller has made the namespace's `default` account, a real server refuses pods.
  c('create pod', 'POST', `${NS}/pods`, pod('p1'), undefined, 201),
  c('get pod', 'GET', `${NS}/pods/p1`),
  c('set spec.nodeName by patch: 422', 'PATCH', `${NS}/pods/p1`, { spec: { nodeName: 'n1' } }, MERGE),
  c('bind pod', 'POST', `${NS}/pods/p1/binding`, { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'p1' }, target: { apiVersion: 'v1', kind: 'Node', name: 'n1' } }),
  c('bind a bound pod: 409', 'POST', `${NS}/pods/p1/binding`, { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'p1' }, target: { apiVersion: 'v1', kind: 'Node', name: 'n2' } }),
  c('bind with another name: 400', 'POST', `${NS}/pods/p1/binding`, { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'other' }, target: { apiVersion: 'v1', kind: 'Node', name: 'n2' } }),
  c('get bound pod', 'GET', `${NS}/pods/p1`),
  c('create invalid pod: 422', 'POST', `${NS}/pods`, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bad' }, spec: { containers: [] } }),
  c('list pods by field selector', 'GET', `${NS}/pods?fieldSelector=spec.nodeName%3Dn1`),
  c('create deployment', 'POST', `${APPS}/deployments`, deployment('web')),
  c('get deployment', 'GET', `${APPS}/deployments/web`, undefined, undefined, undefined, DEPLOYMENT_CONTROLLER),
  c('strategic-merge-patch deployment', 'PATCH', `${APPS}/deployments/web`, { spec: { template: { spec: { containers: [{ name: 'main', image: 'nginx:1.28' }] } } } }, 'application/strategic-merge-patch+json', undefined, DEPLOYMENT_CONTROLLER),
  c('change a deployment selector: 422', 'PATCH', `${APPS}/deployments/web`, { spec: { selector: { matchLabels: { app: 'other' } }, template: { metadata: { labels: { app: 'other' } } } } }, MERGE),
  c('create CRD', 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd),
  c('the CRD is served', 'GET', CR, undefined, undefined, 200),
  c('create custom resource (defaulted)', 'POST', CR, widget('w1', { size: 2 })),
  c('get custom resource', 'GET', `${CR}/w1`),
  c('list custom resources', 'GET', CR),
  c('merge-patch custom resource', 'PATCH', `${CR}/w1`, { spec: { size: 3 } }, MERGE),
  c('custom resource out of its schema: 422', 'POST', CR, widget('w2', { size: 0, color: 'green' })),
  c('custom resource with an unknown field, Strict: 400', 'POST', `${CR}?fieldValidation=Strict`, widget('w3', { size: 1, shape: 'round' })),
  c('strategic merge patch on a custom resource: 415', 'PATCH', `${CR}/w1`, { spec: { size: 4 } }, 'application/strategic-merge-patch+json'),
  c('delete custom resource', 'DELETE', `${CR}/w1`),
  c('delete configmap', 'DELETE', `${NS}/configmaps/cm1`),
  c('delete missing configmap: 404', 'DELETE', `${NS}/configmaps/cm1`),
  c('delete deployment', 'DELETE', `${APPS}/deployments/web`),
  c('delete pod with gracePeriodSeconds=0', 'DELETE', `${NS}/pods/p1?gracePeriodSeconds=0`),
];

/**
 * Differences known and accepted for now, each a pattern over the difference lines a case prints
 * (`<path>: devcluster …, real …`) and its reason. Every line must match one, and every pattern
 * must still match something, unless it `varies` from run to run on the real server.
 */
const KNOWN_DIFFERENCES: Array<[RegExp, string, 'varies'?]> = [
  [/\.managedFields\[\d+\]\.fieldsV1\./, "field sets: the devcluster leaves out the '.' entry of a non-empty map and counts the fields its defaulting and admission fill in as the sender's"],
  [/^\.items\[\d+\]\.(apiVersion|kind): devcluster "[^"]+", real \(absent\)$/, 'list items of built-in kinds carry apiVersion and kind on the devcluster (the kube core sets them itself, so no client relies on either)'],
  [/^\.(message|details\.causes\[0\]\.message): .*pod updates may not change fields other than/, 'the real server appends a Go diff of the pod spec to the message'],
  [/^\.status\.(conditions|acceptedNames|storedVersions): devcluster \(absent\)|^\.spec\.conversion: devcluster \(absent\), real \{"strategy":"None"\}$/, "a CRD's create answer: the real server returns the initial status it writes before establishing it; the devcluster answers with none and establishes at once"],
  [/^\.(message|details\.causes\[\d\]\.(reason|message|field)): .*(spec\.size|spec\.color|real "FieldValue(Invalid|NotSupported)")/, "the order of a custom resource's schema errors: the real server's walks a Go map, so it varies from run to run", 'varies'],
  [/^\.metadata\.deletionTimestamp: devcluster \(absent\), real "<time>"$|^\.metadata\.deletionGracePeriodSeconds: devcluster \(absent\), real 0$/, 'a pod deleted at once: the real answer carries the deletion time and a grace of 0'],
  [/^\.metadata\.continue: devcluster \(absent\), real ""$/, 'a list of custom resources: the real server writes an empty continue token'],
  [/^\.data: devcluster \{\}, real \(absent\)$/, 'an empty map: Go leaves out an empty `omitempty` map, the devcluster keeps it'],
];

const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** A JSON object or array, whose members are read by key. */
const isJsonObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

/** The answer with what differs by nature masked. */
function mask(value: unknown, key = '', generated = new Set<string>()): unknown {
  if (Array.isArray(value)) return value.map((v) => mask(v, key, generated));
  if (isJsonObject(value)) {
    if (typeof value.generateName === 'string' && typeof value.name === 'string') generated.add(value.name);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (['uid', 'resourceVersion', 'continue', 'remainingItemCount'].includes(k) && v !== undefined && v !== '') out[k] = `<${k}>`;
      else out[k] = mask(v, k, generated);
    }
    return out;
  }
  if (typeof value === 'string') {
    if (TIME.test(value)) return '<time>';
    let s = value.replace(UUID, '<uid>').replace(/kube-api-access-[a-z0-9]{5}/g, 'kube-api-access-<generated>');
    for (const g of generated) s = s.split(g).join('<generated-name>');
    // The generated suffix of a name made from generateName.
    if (key === 'name' && /^gen-[a-z0-9]{5}$/.test(s)) return '<generated-name>';
    return s;
  }
  return value;
}

interface Answer {
  code: number;
  body: unknown;
}

async function send(server: Pick<DevCluster, 'url' | 'token' | 'caCert'>, k: Case): Promise<Answer> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (k.type) headers['Content-Type'] = k.type;
    const r: RawResponse = await rawRequest(server, k.method, k.path, k.body === undefined ? undefined : JSON.stringify(k.body), headers);
    if (k.until === undefined || r.status === k.until || Date.now() > deadline) {
      let body: unknown;
      try {
        body = r.json();
      } catch {
        body = r.text;
      }
      return { code: r.status, body: mask(body) };
    }
    await new Promise((res) => setTimeout(res, 200));
  }
}

/** Paths at which two JSON values differ, with both values. */
function differences(a: unknown, b: unknown, path = ''): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  if (isJsonObject(a) && isJsonObject(b) && Array.isArray(a) === Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => differences(a[k], b[k], `${path}${Array.isArray(a) ? `[${k}]` : `.${k}`}`));
  }
  const show = (v: unknown) => (v === undefined ? '(absent)' : JSON.stringify(v).slice(0, 300));
  return [`${path || '(body)'}: devcluster ${show(a)}, real ${show(b)}`];
}

/**
 * Paths at which the keys both answers have come in another order. A client that compares what it
 * wrote with what it read back as text sees the server's order, so the order of a custom resource
 * (every map sorted on a real server) is part of the answer. Built-in kinds are left out: a real
 * server writes their fields in its Go structs' order, which the devcluster does not follow.
 */
function orderDifferences(a: unknown, b: unknown, path = ''): string[] {
  if (!isJsonObject(a) || !isJsonObject(b) || Array.isArray(a) !== Array.isArray(b)) return [];
  if (Array.isArray(a) && Array.isArray(b)) return a.slice(0, b.length).flatMap((v, i) => orderDifferences(v, b[i], `${path}[${i}]`));
  const inA = Object.keys(a).filter((k) => k in b);
  const inB = Object.keys(b).filter((k) => k in a);
  const here = inA.join(',') === inB.join(',') ? [] : [`${path || '(body)'}: key order devcluster ${inA.join(',')}, real ${inB.join(',')}`];
  return [...here, ...inA.flatMap((k) => orderDifferences(a[k], b[k], `${path}.${k}`))];
}

/** A custom resource, or a list of them, of the CRD the cases create. */
const isCustomResource = (body: unknown) => isJsonObject(body) && body.apiVersion === crd.spec.group + '/v1';

const available = realApiServerAvailable();
// The plain pass runs it where the real server exists; the real-server pass requires it.
const skip = !available && TARGET !== 'real' ? `no real kube-apiserver at ${REAL_APISERVER_DIR}` : false;

describe('the devcluster answers as a real kube-apiserver', { skip }, () => {
  let dev: DevCluster;
  let real: TestApiServer;
  const found = new Map<string, string[]>();

  before(async () => {
    if (!available) throw new Error(`the real-server pass needs a real kube-apiserver: ${REAL_APISERVER_DIR}/start.sh does not exist (set KRE_REAL_APISERVER_DIR)`);
    // The controller manager turns the ServiceAccount admission on, as on any real cluster.
    [dev, real] = await Promise.all([startDevCluster({ nodes: 0 }), startRealApiServer({ controllers: true })]);
    // Both answer every case in order, so each case sees the same state on both.
    for (const k of CASES) {
      const [a, b] = await Promise.all([send(dev, k), send(real, k)]);
      const diff = [...(a.code !== b.code ? [`code: devcluster ${a.code}, real ${b.code}`] : []), ...differences(a.body, b.body), ...(isCustomResource(b.body) ? orderDifferences(a.body, b.body) : [])];
      found.set(k.name, diff);
    }
  });
  after(async () => {
    await Promise.all([dev?.stop(), real?.stop()]);
  });

  const unexplained = (diff: string[], k: Case) => diff.filter((line) => !k.moving?.test(line) && !KNOWN_DIFFERENCES.some(([pattern]) => pattern.test(line)));

  for (const k of CASES) {
    test(k.name, () => {
      const diff = found.get(k.name);
      assert.ok(diff, 'the case was sent');
      assert.deepEqual(unexplained(diff, k), [], `${k.method} ${k.path} answers differently:\n${unexplained(diff, k).join('\n')}`);
    });
  }

  test('every known difference is still found', () => {
    const all = [...found.values()].flat();
    for (const [pattern, reason, varies] of KNOWN_DIFFERENCES) {
      if (!varies) assert.ok(all.some((line) => pattern.test(line)), `KNOWN_DIFFERENCES lists ${pattern} (${reason}), which no case shows any more: remove it`);
    }
  });
});
