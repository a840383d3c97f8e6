/**
 * The label index behind list and watch selectors: for every kind of selector term, the objects a
 * list reads through the index are exactly those a scan of every object selects, and both agree
 * with a model of the labels kept by the test — after creates, label changes, label removals,
 * deletes, at an older resourceVersion (a paginated list's snapshot), and after the state dir is
 * loaded again by a new storage.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseLabelSelector } from '../../kube/index.ts';
import { indexTerms, LabelIndex } from './label-index.ts';
import { SELECTOR_CASES as SELECTORS } from './label-selector-testing.ts';
import { objectKey, Storage } from './storage.ts';

const work = mkdtempSync(join(tmpdir(), 'kre-label-index-'));
after(() => rmSync(work, { recursive: true, force: true }));

const COLLECTION = 'configmaps';

/** Every selector with a term the index answers reads through it, however many objects the term holds. */
const ALWAYS_INDEX = { labelIndexMaxShare: 1 };
const NAMESPACES = ['a', 'b', 'c'];

/** Deterministic pseudo-random numbers, so that a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomLabels(rnd: () => number): Record<string, string> | undefined {
  if (rnd() < 0.1) return undefined;
  const labels: Record<string, string> = {};
  if (rnd() < 0.8) labels.app = ['web', 'db', 'cache'][Math.floor(rnd() * 3)];
  if (rnd() < 0.5) labels.tier = ['front', 'back'][Math.floor(rnd() * 2)];
  if (rnd() < 0.7) labels.shard = `s${Math.floor(rnd() * 5)}`;
  if (rnd() < 0.4) labels.size = String(Math.floor(rnd() * 6));
  return labels;
}

function configMap(ns: string, name: string, labels: Record<string, string> | undefined): any {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, ...(labels ? { labels } : {}) }, data: { k: 'v' } };
}

/** A storage and the test's own record of each object's labels, changed together. */
class World {
  readonly model = new Map<string, Record<string, string> | undefined>();
  constructor(readonly storage: Storage) {}

  put(ns: string, name: string, labels: Record<string, string> | undefined): void {
    const key = objectKey(ns, name);
    this.storage.put(COLLECTION, key, configMap(ns, name, labels), this.model.has(key) ? 'MODIFIED' : 'ADDED');
    this.model.set(key, labels);
  }

  remove(key: string): void {
    this.storage.remove(COLLECTION, key);
    this.model.delete(key);
  }

  /** Creates, relabels and deletes objects at random. */
  churn(rnd: () => number, steps: number): void {
    for (let i = 0; i < steps; i++) {
      const keys = [...this.model.keys()];
      const r = rnd();
      if (r < 0.5 || keys.length === 0) this.put(NAMESPACES[Math.floor(rnd() * 3)], `cm-${Math.floor(rnd() * 400)}`, randomLabels(rnd));
      else if (r < 0.8) {
        const key = keys[Math.floor(rnd() * keys.length)];
        const [ns, name] = key.split('/');
        this.put(ns, name, randomLabels(rnd));
      } else this.remove(keys[Math.floor(rnd() * keys.length)]);
    }
  }
}

/** The keys a selector picks, three ways: through the index, by a scan, and from a model. */
function select(storage: Storage, model: Map<string, Record<string, string> | undefined>, selector: string, namespace?: string, at?: number) {
  const sel = parseLabelSelector(selector);
  const keysOf = (entries: ReturnType<Storage['list']>) => entries.filter((e) => sel.matches(e.labels as Record<string, string> | undefined)).map((e) => e.key);
  const terms = indexTerms(sel.requirements);
  const read = storage.list(COLLECTION, namespace, at, terms);
  // What the index reads carries a label a term asks for (at an older version, undone objects join it).
  const satisfies = (labels: Readonly<Record<string, string>> | undefined) => terms.some((t) => labels?.[t.key] !== undefined && (!t.values || t.values.includes(labels[t.key])));
  if (terms.length > 0 && at === undefined) for (const e of read) assert.ok(satisfies(e.labels), `${selector}: the index read ${e.key} (${JSON.stringify(e.labels)})`);
  const indexed = keysOf(read);
  const scanned = keysOf(storage.list(COLLECTION, namespace, at));
  const expected = [...model.entries()]
    .filter(([key, labels]) => (namespace === undefined || key.startsWith(`${namespace}/`)) && sel.matches(labels))
    .map(([key]) => key)
    .sort();
  return { indexed, scanned, expected };
}

function assertAllSelectors(storage: Storage, model: Map<string, Record<string, string> | undefined>, at?: number): void {
  for (const selector of SELECTORS) {
    for (const namespace of [undefined, 'b']) {
      const { indexed, scanned, expected } = select(storage, model, selector, namespace, at);
      const where = `${selector} in ${namespace ?? 'all namespaces'}${at ? ` at ${at}` : ''}`;
      assert.deepEqual(scanned, expected, `scan: ${where}`);
      assert.deepEqual(indexed, expected, `index: ${where}`);
    }
  }
}

describe('label index', () => {
  test('every kind of selector term selects through the index what a scan selects, as objects are created, relabelled and deleted', () => {
    const world = new World(new Storage(ALWAYS_INDEX));
    const rnd = random(7);
    for (let round = 0; round < 6; round++) {
      world.churn(rnd, 300);
      assertAllSelectors(world.storage, world.model);
    }
    // A selective term reads a part of the collection, not all of it.
    const all = world.storage.list(COLLECTION).length;
    const read = world.storage.list(COLLECTION, undefined, undefined, indexTerms(parseLabelSelector('shard=s3').requirements)).length;
    assert.ok(read < all / 2, `shard=s3 read ${read} of ${all} objects`);
  });

  test('a list at an older resourceVersion selects through the index what matched then', () => {
    const world = new World(new Storage(ALWAYS_INDEX));
    const rnd = random(11);
    world.churn(rnd, 600);
    const at = world.storage.resourceVersion;
    const then = new Map(world.model);
    // Objects that matched then and no longer do (relabelled, deleted) and the other way round.
    world.churn(rnd, 400);
    assertAllSelectors(world.storage, then, at);
    assertAllSelectors(world.storage, world.model);
  });

  test('the index is rebuilt from the state dir when a storage loads it again', () => {
    const dir = join(work, 'reload');
    const world = new World(new Storage({ dir, ...ALWAYS_INDEX }));
    world.churn(random(13), 800);
    world.storage.close();
    const loaded = new Storage({ dir, ...ALWAYS_INDEX });
    try {
      assertAllSelectors(loaded, world.model);
    } finally {
      loaded.close();
    }
  });

  test('a term narrows to the objects with its label; !=, notin and !k narrow nothing', () => {
    const index = new LabelIndex();
    index.update('ns/one', undefined, { app: 'web', tier: 'front' });
    index.update('ns/two', undefined, { app: 'db' });
    index.update('ns/three', undefined, { tier: 'back' });
    const narrow = (s: string) => index.candidates(indexTerms(parseLabelSelector(s).requirements), Infinity)?.sort();
    assert.deepEqual(narrow('app=web'), ['ns/one']);
    assert.deepEqual(narrow('app in (web,db)'), ['ns/one', 'ns/two']);
    assert.deepEqual(narrow('tier'), ['ns/one', 'ns/three']);
    // The smallest term decides.
    assert.deepEqual(narrow('tier,app=db'), ['ns/two']);
    assert.deepEqual(narrow('app=none,tier'), []);
    assert.equal(narrow('app!=web'), undefined);
    assert.equal(narrow('app notin (web)'), undefined);
    assert.equal(narrow('!app'), undefined);
    // Relabelled: the old buckets forget the object, the new ones have it.
    index.update('ns/one', { app: 'web', tier: 'front' }, { app: 'db', tier: 'front' });
    assert.deepEqual(narrow('app=web'), []);
    assert.deepEqual(narrow('app=db'), ['ns/one', 'ns/two']);
    index.update('ns/two', { app: 'db' }, undefined);
    assert.deepEqual(narrow('app=db'), ['ns/one']);
    // A term holding more objects than asked for is left to a scan.
    assert.equal(index.candidates(indexTerms(parseLabelSelector('tier').requirements), 1), undefined);
  });
});
