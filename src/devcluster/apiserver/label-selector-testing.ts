/**
 * The label selectors the selector tests ask for, over objects labelled with `app` (web, db,
 * cache), `tier` (front, back), `shard` (s0…) and `size` (a number), each label absent on some:
 * every kind of term, alone and combined — what the label index narrows by (`=`, `==`, `in`,
 * exists, `>`, `<`) and what it only filters (`!=`, `notin`, `!k`).
 */
export const SELECTOR_CASES = [
  'app=web',
  'app==web',
  'app!=web',
  'app in (web,db)',
  'app notin (web,db)',
  'app',
  '!app',
  'tier',
  '!tier',
  'app=web,tier=front',
  'app in (web,db),tier!=back',
  'app,!tier',
  'tier in (front),app notin (db)',
  'shard=s3',
  'shard in (s1,s2),app=web',
  'shard=s1,shard!=s1',
  'size>3',
  'size<2,app',
  'app=nothing',
  'nothing',
  'app=web,nothing=x',
];
