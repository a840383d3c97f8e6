import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffFields, fieldsV1Of, withMember, withoutMember } from './field-diff.ts';
import { FieldSet } from './fieldset.ts';
import { compare, fieldSetOf, leavesOf, structureFor, type Structure } from './structure.ts';

/** A small seeded generator, so that a failure reproduces. */
function random(seed: number) {
  let s = seed;
  const next = () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
  const pick = <T>(xs: T[]): T => xs[Math.floor(next() * xs.length)];
  const count = (max: number) => Math.floor(next() * (max + 1));
  const any = (depth: number): unknown => {
    const r = next();
    if (depth <= 0 || r < 0.4) return pick<unknown>([1, 'a', true, null, 'TCP']);
    if (r < 0.7) return Object.fromEntries(Array.from({ length: count(2) }, () => [pick(['x', 'y', 'name']), any(depth - 1)]));
    return Array.from({ length: count(2) }, () => any(depth - 1));
  };
  const container = (): Record<string, unknown> => ({
    name: pick(['a', 'b', 'c']),
    image: pick(['i1', 'i2']),
    ...(next() < 0.6 ? { ports: Array.from({ length: count(2) }, () => ({ containerPort: pick([80, 81]), ...(next() < 0.5 ? { protocol: pick(['TCP', 'UDP']) } : {}) })) } : {}),
    ...(next() < 0.4 ? { env: Array.from({ length: count(2) }, () => ({ name: pick(['E', 'F']), value: pick(['1', '2']) })) } : {}),
    ...(next() < 0.2 ? { extra: any(2) } : {}),
  });
  const pod = (): Record<string, any> => ({
    metadata: {
      ...(next() < 0.7 ? { labels: Object.fromEntries(Array.from({ length: count(2) }, () => [pick(['a', 'b']), pick(['1', '2'])])) } : {}),
      ...(next() < 0.4 ? { finalizers: Array.from({ length: count(2) }, () => pick(['f1', 'f2'])) } : {}),
      ...(next() < 0.3 ? { ownerReferences: [{ uid: pick(['u1', 'u2']), name: pick(['o', 'p']) }] } : {}),
    },
    spec: {
      containers: next() < 0.9 ? Array.from({ length: count(3) }, container) : any(2),
      ...(next() < 0.3 ? { selector: { a: pick(['1', '2']) } } : {}),
      ...(next() < 0.2 ? { other: any(3) } : {}),
      ...(next() < 0.1 ? { volumes: [{ image: 'no key' }] } : {}),
    },
  });
  return { next, pick, pod };
}

const fail = (f: () => unknown): unknown => {
  try {
    return f();
  } catch (err) {
    return `error: ${(err as Error).message}`;
  }
};

const structures: Array<[string, Structure]> = [
  ['built-in', structureFor({ kind: 'Pod', isCustom: false })],
  ['custom', structureFor({ kind: 'X', isCustom: true, listMapKeys: (p) => (p === 'spec.containers' ? ['name'] : p === 'spec.other' ? 'set' : undefined) })],
];

for (const [name, structure] of structures) {
  test(`a create's FieldsV1 is the set of its leaves (${name})`, () => {
    const r = random(1);
    for (let i = 0; i < 2000; i++) {
      const obj = r.pod();
      const general = fail(() => {
        const fields = fieldSetOf(leavesOf(obj, structure));
        return fields.size > 0 ? fields.toFieldsV1() : undefined;
      });
      // Compared as text: the order of the keys is part of the answer.
      assert.equal(JSON.stringify(fail(() => fieldsV1Of(obj, structure))), JSON.stringify(general), JSON.stringify(obj));
    }
  });

  test(`an update's changes are those of comparing every leaf (${name})`, () => {
    const r = random(2);
    for (let i = 0; i < 2000; i++) {
      const before = r.pod();
      const after = r.next() < 0.3 ? r.pod() : { metadata: structuredClone(before.metadata), spec: { ...structuredClone(before.spec), ...r.pod().spec } };
      if (typeof fail(() => leavesOf(before, structure)) === 'string') continue;
      const general = fail(() => {
        const c = compare(leavesOf(before, structure), leavesOf(after, structure));
        return { written: c.added.union(c.modified).toFieldsV1(), removed: c.removed.toFieldsV1() };
      });
      const fast = fail(() => {
        const c = diffFields(before, after, structure);
        return { written: new FieldSet(c.written).toFieldsV1(), removed: new FieldSet(c.removed).toFieldsV1() };
      });
      assert.deepEqual(fast, general, `${JSON.stringify(before)} -> ${JSON.stringify(after)}`);
    }
  });
}

test('FieldsV1 trees gain and lose members as FieldSets do, keys in the same order', () => {
  const r = random(3);
  const structure = structures[0][1];
  for (let i = 0; i < 1000; i++) {
    const set = fail(() => fieldSetOf(leavesOf(r.pod(), structure)));
    const other = fail(() => fieldSetOf(leavesOf(r.pod(), structure)));
    if (!(set instanceof FieldSet) || !(other instanceof FieldSet)) continue;
    const tree = set.toFieldsV1();
    const frozen = JSON.stringify(tree);
    let added = tree;
    for (const p of other.paths()) added = withMember(added, p);
    assert.equal(JSON.stringify(added), JSON.stringify(set.union(other).toFieldsV1()));
    let removed = tree;
    for (const p of other.paths()) removed = withoutMember(removed, p);
    assert.equal(JSON.stringify(removed), JSON.stringify(set.difference(other).toFieldsV1()));
    // Trees are copied along the changed paths, never changed in place.
    assert.equal(JSON.stringify(tree), frozen);
  }
});
