/**
 * The verification's classification as a table: a cache (key → version), the watch's version and
 * deletions, a fresh list, and exactly what must be called missed, stale or a ghost.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyAgainstList, compareVersions } from './verify.ts';

describe('compareVersions', () => {
  it('orders integers numerically, not as text, and refuses anything else', () => {
    assert.equal(compareVersions('9', '10'), -1);
    assert.equal(compareVersions('100', '99'), 1);
    assert.equal(compareVersions('42', '42'), 0);
    // Beyond 2^53, where Number() would call these equal.
    assert.equal(compareVersions('9007199254740993', '9007199254740992'), 1);
    assert.equal(compareVersions('abc', '1'), undefined);
    assert.equal(compareVersions('1', '1.5'), undefined);
    assert.equal(compareVersions(undefined, '1'), undefined);
    assert.equal(compareVersions('', '1'), undefined);
  });
});

interface Case {
  name: string;
  /** key → version the cache holds. */
  cache: Record<string, string>;
  cacheVersion: string | undefined;
  /** key → version the watch deleted it at. */
  deleted?: Record<string, string>;
  /** key → version on the server. */
  list: Record<string, string>;
  listVersion: string;
  /** The expected keys of each class; undefined when nothing can be classified. */
  want: { missedAdds: string[]; staleVersions: string[]; ghosts: string[] } | undefined;
}

const none = { missedAdds: [], staleVersions: [], ghosts: [] };

const CASES: Case[] = [
  { name: 'a cache equal to the list has nothing wrong', cache: { a: '3', b: '5' }, cacheVersion: '7', list: { a: '3', b: '5' }, listVersion: '7', want: none },
  {
    name: 'a listed object the watch was past is a missed add',
    cache: { a: '3' },
    cacheVersion: '7',
    list: { a: '3', b: '6' },
    listVersion: '7',
    want: { missedAdds: ['b'], staleVersions: [], ghosts: [] },
  },
  { name: 'a listed object newer than the watch is not delivered yet', cache: { a: '3' }, cacheVersion: '5', list: { a: '3', b: '6' }, listVersion: '6', want: none },
  {
    name: 'a listed object the watch reached exactly is a missed add',
    cache: {},
    cacheVersion: '6',
    list: { b: '6' },
    listVersion: '6',
    want: { missedAdds: ['b'], staleVersions: [], ghosts: [] },
  },
  {
    name: 'an object the watch deleted after the list saw it is not missed',
    cache: {},
    cacheVersion: '9',
    deleted: { b: '8' },
    list: { b: '6' },
    listVersion: '7',
    want: none,
  },
  {
    name: 'an object re-created after the deletion the watch saw is missed',
    cache: {},
    cacheVersion: '9',
    deleted: { b: '4' },
    list: { b: '6' },
    listVersion: '9',
    want: { missedAdds: ['b'], staleVersions: [], ghosts: [] },
  },
  {
    name: 'a cached object older than the listed one the watch was past is stale',
    cache: { a: '3' },
    cacheVersion: '7',
    list: { a: '5' },
    listVersion: '7',
    want: { missedAdds: [], staleVersions: ['a'], ghosts: [] },
  },
  { name: 'a cached object older than a listed one the watch has not reached is not stale', cache: { a: '3' }, cacheVersion: '4', list: { a: '5' }, listVersion: '5', want: none },
  { name: 'a cached object newer than the listed one is not stale', cache: { a: '6' }, cacheVersion: '7', list: { a: '5' }, listVersion: '5', want: none },
  {
    name: 'a cached object the list lacks, with the watch past the list, is a ghost',
    cache: { a: '3', b: '4' },
    cacheVersion: '9',
    list: { a: '3' },
    listVersion: '8',
    want: { missedAdds: [], staleVersions: [], ghosts: ['b'] },
  },
  {
    // The list at 8 would hold an object that existed at 8.
    name: 'a cached object at exactly the list version the list lacks is a ghost',
    cache: { b: '8' },
    cacheVersion: '9',
    list: {},
    listVersion: '8',
    want: { missedAdds: [], staleVersions: [], ghosts: ['b'] },
  },
  { name: 'no ghosts while the watch is behind the list', cache: { a: '3', b: '4' }, cacheVersion: '7', list: { a: '3' }, listVersion: '8', want: none },
  { name: 'an object created after the list is no ghost', cache: { a: '3', b: '9' }, cacheVersion: '9', list: { a: '3' }, listVersion: '8', want: none },
  {
    // Behind the list: ghosts wait, and so does what the watch has not reached; what it was past is wrong.
    name: 'all three at once, the watch behind the list',
    cache: { a: '2', gone: '3', same: '4' },
    cacheVersion: '12',
    list: { a: '5', same: '4', missed: '6', late: '13' },
    listVersion: '13',
    want: { missedAdds: ['missed'], staleVersions: ['a'], ghosts: [] },
  },
  {
    name: 'all three at once, the watch at the list',
    cache: { a: '2', gone: '3', same: '4' },
    cacheVersion: '13',
    list: { a: '5', same: '4', missed: '6', late: '13' },
    listVersion: '13',
    want: { missedAdds: ['late', 'missed'], staleVersions: ['a'], ghosts: ['gone'] },
  },
  { name: 'versions that are not integers classify nothing', cache: { a: 'x1' }, cacheVersion: 'x9', list: { b: 'x2' }, listVersion: 'x9', want: undefined },
  { name: 'a cache that has not heard a version classifies nothing', cache: {}, cacheVersion: undefined, list: { b: '2' }, listVersion: '3', want: undefined },
];

describe('classifyAgainstList', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const obj = (key: string, resourceVersion: string) => ({ key, metadata: { resourceVersion } });
      const cache = new Map(Object.entries(c.cache).map(([k, v]) => [k, obj(k, v)]));
      const found = classifyAgainstList({
        listed: Object.entries(c.list).map(([k, v]) => obj(k, v)),
        listVersion: c.listVersion,
        cacheVersion: c.cacheVersion,
        cachedKeys: cache.keys(),
        cached: (key) => cache.get(key),
        keyOf: (o) => o.key,
        deletedAt: (key) => c.deleted?.[key],
      });
      const got = found && {
        missedAdds: found.missedAdds.map((o) => o.key).sort(),
        staleVersions: found.staleVersions.map((s) => s.listed.key).sort(),
        ghosts: found.ghosts.map((g) => g.key).sort(),
      };
      assert.deepEqual(got, c.want);
      // The classes carry the objects the caller corrects with: the listed one, and the cached one it replaces.
      for (const s of found?.staleVersions ?? []) assert.equal(s.cached, cache.get(s.listed.key));
      for (const g of found?.ghosts ?? []) assert.equal(g.cached, cache.get(g.key));
    });
  }
});
