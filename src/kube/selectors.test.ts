import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from './client.ts';
import {
  checkFieldSelector,
  escapeFieldValue,
  fieldMatcher,
  fieldValue,
  isSupportedField,
  labelSelectorFromObject,
  labelSelectorToString,
  parseFieldSelector,
  parseLabelSelector,
  SelectorError,
  type LabelSelectorObject,
  type Labels,
} from './selectors.ts';

const NAME_PART_MSG =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

describe('parseLabelSelector: matching', () => {
  const web: Labels = { app: 'web', tier: 'front', version: '3' };
  const db: Labels = { app: 'db', version: '12' };
  const bare: Labels = {};
  // selector, [matches web, matches db, matches bare]
  const cases: [string, [boolean, boolean, boolean]][] = [
    ['', [true, true, true]],
    ['   ', [true, true, true]],
    ['app', [true, true, false]],
    ['tier', [true, false, false]],
    ['!tier', [false, true, true]],
    ['app=web', [true, false, false]],
    ['app==web', [true, false, false]],
    ['app!=web', [false, true, true]],
    ['app in (web,db)', [true, true, false]],
    ['app in (web)', [true, false, false]],
    ['app notin (web)', [false, true, true]],
    ['app notin (web,db)', [false, false, true]],
    ['version>5', [false, true, false]],
    ['version<5', [true, false, false]],
    ['app=web,tier=front', [true, false, false]],
    ['app=web,tier=back', [false, false, false]],
    ['app, !tier', [false, true, false]],
    [' app = web , tier in ( front , back ) ', [true, false, false]],
    ['app in (web,,db)', [true, true, false]],
    ['tier in ()', [false, false, false]],
    ['tier notin ()', [true, true, true]],
    ['tier=', [false, false, false]],
    ['tier!=', [true, true, true]],
    ['in in (in)', [false, false, false]],
    ['constructor', [false, false, false]],
    ['!toString', [true, true, true]],
    ['constructor!=x', [true, true, true]],
    ['constructor notin (a,b)', [true, true, true]],
  ];
  for (const [selector, [w, d, b]] of cases) {
    test(JSON.stringify(selector), () => {
      const sel = parseLabelSelector(selector);
      assert.equal(sel.matches(web), w, 'web');
      assert.equal(sel.matches(db), d, 'db');
      assert.equal(sel.matches(bare), b, 'bare');
      assert.equal(sel.matches(undefined), b, 'undefined labels');
    });
  }

  test('in and notin treat empty values as a value', () => {
    assert.equal(parseLabelSelector('tier in (a,)').matches({ tier: '' }), true);
    assert.equal(parseLabelSelector('tier in (,a)').matches({ tier: '' }), true);
    assert.equal(parseLabelSelector('tier in (a)').matches({ tier: '' }), false);
    assert.equal(parseLabelSelector('tier=').matches({ tier: '' }), true);
  });

  test('gt and lt compare as integers and ignore non-numeric labels', () => {
    const sel = parseLabelSelector('n>9');
    assert.equal(sel.matches({ n: '10' }), true);
    assert.equal(sel.matches({ n: '9' }), false);
    assert.equal(sel.matches({ n: 'x' }), false);
    assert.equal(sel.matches({ n: '99999999999999999999' }), false);
    assert.equal(parseLabelSelector('n<0').matches({ n: '-3' }), true);
  });
});

describe('parseLabelSelector: structure', () => {
  const cases: [string, string, boolean][] = [
    // input, toString, empty
    ['', '', true],
    ['b=2,a=1', 'a=1,b=2', false],
    ['x==y', 'x==y', false],
    ['x in (c,a,b,a)', 'x in (a,b,c)', false],
    ['x notin (b,a)', 'x notin (a,b)', false],
    ['!x', '!x', false],
    ['x', 'x', false],
    ['x>1', 'x>1', false],
    ['x<1', 'x<1', false],
    ['x in ()', 'x in ()', false],
    ['app.kubernetes.io/name=web', 'app.kubernetes.io/name=web', false],
  ];
  for (const [input, text, empty] of cases) {
    test(JSON.stringify(input), () => {
      const sel = parseLabelSelector(input);
      assert.equal(sel.toString(), text);
      assert.equal(String(sel), text);
      assert.equal(sel.empty, empty);
    });
  }

  test('requirements', () => {
    assert.deepEqual(parseLabelSelector('b in (y,x),!c,a').requirements, [
      { key: 'a', operator: 'exists', values: [] },
      { key: 'b', operator: 'in', values: ['x', 'y'] },
      { key: 'c', operator: '!', values: [] },
    ]);
  });

  test('exactMatchPairs', () => {
    assert.deepEqual(parseLabelSelector('a=1,b==2,c in (3),d in (4,5),e!=6,f').exactMatchPairs(), { a: '1', b: '2', c: '3' });
    assert.deepEqual(parseLabelSelector('').exactMatchPairs(), {});
  });
});

describe('parseLabelSelector: errors', () => {
  const cases: [string, string][] = [
    ['x in (', "unable to parse requirement: found '', expected: ',', ')' or identifier"],
    ['x in', "unable to parse requirement: found '' expected: '('"],
    ['x in (a', "unable to parse requirement: found '', expected: ',' or ')'"],
    ['x in (a b)', "unable to parse requirement: found 'b', expected: ',' or ')'"],
    ['x in (a,=)', "unable to parse requirement: found '=', expected: ',', or identifier"],
    ['x in (=)', "unable to parse requirement: found '=', expected: ',', ')' or identifier"],
    ['x = = y', "unable to parse requirement: found '=', expected: identifier"],
    ['x y', "unable to parse requirement: found 'y', expected: in, notin, =, ==, !=, gt, lt"],
    ['x >= 1', "unable to parse requirement: found '=', expected: identifier"],
    ['!', "unable to parse requirement: found '', expected: identifier"],
    ['!x=y', "found '=', expected: ',' or 'end of string'"],
    ['x=y z', "found 'z', expected: ',' or 'end of string'"],
    ['x,', "found '', expected: identifier after ','"],
    ['x,,y', "found ',', expected: identifier after ','"],
    [',x', "found ',', expected: !, identifier, or 'end of string'"],
    ['=x', "found '=', expected: !, identifier, or 'end of string'"],
    [
      'app:monolith',
      `unable to parse requirement: <nil>: Invalid value: "app:monolith": ${NAME_PART_MSG}`,
    ],
    [
      'app.kubernetes_io/name=x',
      `unable to parse requirement: <nil>: Invalid value: "app.kubernetes_io/name": prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
    ],
    [`${'k'.repeat(64)}=v`, `unable to parse requirement: <nil>: Invalid value: "${'k'.repeat(64)}": name part must be no more than 63 characters`],
    ['k=-v', `unable to parse requirement: values[0][k]: Invalid value: "-v": ${LABEL_VALUE_MSG}`],
    [`k=${'v'.repeat(64)}`, `unable to parse requirement: values[0][k]: Invalid value: "${'v'.repeat(64)}": must be no more than 63 characters`],
    ['k in (a,-b)', `unable to parse requirement: values[0][k]: Invalid value: "-b": ${LABEL_VALUE_MSG}`],
    ['k>a', `unable to parse requirement: values[0]: Invalid value: "a": for 'Gt', 'Lt' operators, the value must be an integer`],
    ['k<-1', `unable to parse requirement: values[0][k]: Invalid value: "-1": ${LABEL_VALUE_MSG}`],
  ];
  for (const [input, message] of cases) {
    test(JSON.stringify(input), () => {
      assert.throws(() => parseLabelSelector(input), (err: unknown) => {
        assert.ok(err instanceof SelectorError);
        assert.equal(err.message, message);
        return true;
      });
    });
  }
});

describe('labelSelectorFromObject', () => {
  test('missing selects nothing, empty selects everything', () => {
    for (const missing of [undefined, null]) {
      const sel = labelSelectorFromObject(missing);
      assert.equal(sel.matches({ a: 'b' }), false);
      assert.equal(sel.empty, false);
    }
    for (const empty of [{}, { matchLabels: {}, matchExpressions: [] }, { matchLabels: null }]) {
      const sel = labelSelectorFromObject(empty);
      assert.equal(sel.matches({}), true);
      assert.equal(sel.empty, true);
    }
  });

  test('every operator', () => {
    const sel = labelSelectorFromObject({
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['front', 'edge'] },
        { key: 'track', operator: 'NotIn', values: ['canary'] },
        { key: 'version', operator: 'Exists' },
        { key: 'legacy', operator: 'DoesNotExist', values: [] },
      ],
    });
    assert.equal(sel.toString(), 'app=web,!legacy,tier in (edge,front),track notin (canary),version');
    assert.equal(sel.matches({ app: 'web', tier: 'edge', version: '1' }), true);
    assert.equal(sel.matches({ app: 'web', tier: 'edge', version: '1', track: 'canary' }), false);
    assert.equal(sel.matches({ app: 'web', tier: 'edge', version: '1', legacy: 'y' }), false);
    assert.equal(sel.matches({ app: 'web', tier: 'back', version: '1' }), false);
    assert.equal(sel.matches({ app: 'web', tier: 'edge' }), false);
    assert.deepEqual(sel.exactMatchPairs(), { app: 'web' });
  });

  const errors: [LabelSelectorObject, string][] = [
    [{ matchExpressions: [{ key: 'a', operator: 'Gt', values: ['1'] }] }, '"Gt" is not a valid label selector operator'],
    [{ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }, "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty"],
    [{ matchExpressions: [{ key: 'a', operator: 'NotIn' }] }, "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty"],
    [
      { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x', 'y'] }] },
      'values: Invalid value: []string{"x", "y"}: values set must be empty for exists and does not exist',
    ],
    [{ matchLabels: { 'bad key': 'v' } }, `key: Invalid value: "bad key": ${NAME_PART_MSG}`],
    [{ matchLabels: { k: 'bad value' } }, `values[0][k]: Invalid value: "bad value": ${LABEL_VALUE_MSG}`],
    [
      { matchExpressions: [{ key: '_k', operator: 'In', values: [] }] },
      `[key: Invalid value: "_k": ${NAME_PART_MSG}, values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty]`,
    ],
  ];
  for (const [obj, message] of errors) {
    test(`error: ${message.slice(0, 60)}`, () => {
      assert.throws(() => labelSelectorFromObject(obj), (err: unknown) => {
        assert.ok(err instanceof SelectorError);
        assert.equal(err.message, message);
        return true;
      });
    });
  }
});

describe('labelSelectorToString', () => {
  const cases: [LabelSelectorObject | undefined, string][] = [
    [{ matchLabels: { b: '2', a: '1' } }, 'a=1,b=2'],
    [{ matchExpressions: [{ key: 'x', operator: 'In', values: ['b', 'a'] }] }, 'x in (a,b)'],
    [{}, '<none>'],
    [undefined, '<none>'],
    [{ matchExpressions: [{ key: 'x', operator: 'Bogus' }] }, '<error>'],
  ];
  for (const [obj, text] of cases) test(text, () => assert.equal(labelSelectorToString(obj), text));
});

describe('parseFieldSelector', () => {
  const pod = { kind: 'Pod', metadata: { name: 'web-1', namespace: 'ns' }, spec: { nodeName: 'node-a' }, status: { phase: 'Running' } };
  const get = (f: string) => fieldValue(pod, f);
  // selector, requirements, toString, matches pod
  const cases: [string, { field: string; op: '=' | '!='; value: string }[], string, boolean][] = [
    ['', [], '', true],
    ['metadata.name=web-1', [{ field: 'metadata.name', op: '=', value: 'web-1' }], 'metadata.name=web-1', true],
    ['metadata.name==web-1', [{ field: 'metadata.name', op: '=', value: 'web-1' }], 'metadata.name=web-1', true],
    ['metadata.name!=web-1', [{ field: 'metadata.name', op: '!=', value: 'web-1' }], 'metadata.name!=web-1', false],
    [
      'status.phase=Running,spec.nodeName=node-a',
      [
        { field: 'spec.nodeName', op: '=', value: 'node-a' },
        { field: 'status.phase', op: '=', value: 'Running' },
      ],
      'spec.nodeName=node-a,status.phase=Running',
      true,
    ],
    ['spec.nodeName=,status.phase=Running', [{ field: 'spec.nodeName', op: '=', value: '' }, { field: 'status.phase', op: '=', value: 'Running' }], 'spec.nodeName=,status.phase=Running', false],
    ['metadata.name=a\\,b\\=c\\\\d', [{ field: 'metadata.name', op: '=', value: 'a,b=c\\d' }], 'metadata.name=a\\,b\\=c\\\\d', false],
    ['a=b,', [{ field: 'a', op: '=', value: 'b' }], 'a=b', false],
  ];
  for (const [input, reqs, text, matches] of cases) {
    test(JSON.stringify(input), () => {
      const sel = parseFieldSelector(input);
      assert.deepEqual(sel.requirements, reqs);
      assert.equal(sel.toString(), text);
      assert.equal(sel.empty, reqs.length === 0);
      assert.equal(sel.matches(get), matches);
    });
  }

  test('fields() lists each field once', () => {
    assert.deepEqual(parseFieldSelector('a=1,b!=2,a!=3').fields(), ['a', 'b']);
  });

  const errors: [string, string][] = [
    ['metadata.name', "invalid selector: 'metadata.name'; can't understand 'metadata.name'"],
    ['a=1,b', "invalid selector: 'a=1,b'; can't understand 'b'"],
    ['a=b=c', 'invalid field selector: unescaped character in value: 61'],
    ['a=b\\x', 'invalid field selector: invalid escape sequence: \\x'],
    ['a=b\\', 'invalid field selector: invalid escape sequence: \\'],
  ];
  for (const [input, message] of errors) {
    test(`error ${JSON.stringify(input)}`, () => {
      assert.throws(() => parseFieldSelector(input), (err: unknown) => {
        assert.ok(err instanceof SelectorError);
        assert.equal(err.message, message);
        return true;
      });
    });
  }

  test('escapeFieldValue round-trips', () => {
    const value = 'a,b=c\\d';
    assert.equal(parseFieldSelector(`f=${escapeFieldValue(value)}`).requirements[0].value, value);
  });
});

describe('fieldValue', () => {
  const pod = {
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'ns' },
    spec: { restartPolicy: 'Always', schedulerName: 'default-scheduler', serviceAccountName: 'default', hostNetwork: true },
    status: { phase: 'Pending', podIP: '10.0.0.9', podIPs: [{ ip: '10.0.0.9' }] },
  };
  const event = {
    kind: 'Event',
    metadata: { name: 'e', namespace: 'ns' },
    involvedObject: { kind: 'Pod', namespace: 'ns', name: 'p', uid: 'u1', apiVersion: 'v1', resourceVersion: '7', fieldPath: 'spec.containers{c}' },
    reason: 'Scheduled',
    type: 'Normal',
    source: { component: 'default-scheduler' },
    reportingComponent: 'scheduler',
  };
  const cases: [KubeObject, string, string | undefined][] = [
    [pod, 'metadata.name', 'p'],
    [pod, 'metadata.namespace', 'ns'],
    [pod, 'spec.nodeName', ''],
    [pod, 'spec.restartPolicy', 'Always'],
    [pod, 'spec.schedulerName', 'default-scheduler'],
    [pod, 'spec.serviceAccountName', 'default'],
    [pod, 'spec.hostNetwork', 'true'],
    [{ kind: 'Pod', metadata: {}, spec: {} }, 'spec.hostNetwork', 'false'],
    [pod, 'status.phase', 'Pending'],
    [pod, 'status.podIP', '10.0.0.9'],
    [{ kind: 'Pod', metadata: {}, status: { podIP: '10.1.1.1' } }, 'status.podIP', '10.1.1.1'],
    [{ kind: 'Pod', metadata: {} }, 'status.podIP', ''],
    [pod, 'spec.bogus', undefined],
    [event, 'involvedObject.kind', 'Pod'],
    [event, 'involvedObject.namespace', 'ns'],
    [event, 'involvedObject.name', 'p'],
    [event, 'involvedObject.uid', 'u1'],
    [event, 'involvedObject.apiVersion', 'v1'],
    [event, 'involvedObject.resourceVersion', '7'],
    [event, 'involvedObject.fieldPath', 'spec.containers{c}'],
    [event, 'reason', 'Scheduled'],
    [event, 'type', 'Normal'],
    [event, 'source', 'default-scheduler'],
    [{ kind: 'Event', metadata: {}, reportingComponent: 'kre-operator' }, 'source', 'kre-operator'],
    [event, 'reportingComponent', 'scheduler'],
    [{ kind: 'Secret', metadata: {}, type: 'Opaque' }, 'type', 'Opaque'],
    [{ kind: 'Node', metadata: { name: 'n' }, spec: { unschedulable: true } }, 'spec.unschedulable', 'true'],
    [{ kind: 'Node', metadata: { name: 'n' } }, 'spec.unschedulable', 'false'],
    [{ kind: 'Node', metadata: { name: 'n' } }, 'metadata.name', 'n'],
    [{ kind: 'Node', metadata: { name: 'n' } }, 'metadata.namespace', undefined],
    [{ kind: 'Namespace', metadata: {}, status: { phase: 'Terminating' } }, 'status.phase', 'Terminating'],
    [{ kind: 'ConfigMap', metadata: { name: 'c', namespace: 'ns' } }, 'metadata.namespace', 'ns'],
    [{ kind: 'ConfigMap', metadata: { name: 'c' } }, 'data', undefined],
    [{ kind: 'ConfigMap', metadata: {} }, 'constructor', undefined],
    [{ metadata: { name: 'x' } }, 'metadata.name', 'x'],
  ];
  for (const [obj, field, value] of cases) {
    test(`${obj.kind ?? '(no kind)'} ${field}`, () => assert.equal(fieldValue(obj, field), value));
  }
});

describe('field selectors against kinds', () => {
  test('isSupportedField and checkFieldSelector', () => {
    assert.equal(isSupportedField('Pod', 'spec.nodeName'), true);
    assert.equal(isSupportedField('ConfigMap', 'spec.nodeName'), false);
    assert.equal(isSupportedField('Runtime', 'metadata.namespace'), true);
    assert.doesNotThrow(() => checkFieldSelector('Pod', parseFieldSelector('spec.nodeName=a')));
    assert.throws(() => checkFieldSelector('Pod', parseFieldSelector('spec.bogus=1,metadata.name=x')), {
      name: 'SelectorError',
      message: 'field label not supported: spec.bogus',
    });
  });

  test('fieldMatcher resolves the fields once and matches objects', () => {
    const match = fieldMatcher('Pod', parseFieldSelector('spec.nodeName=,status.phase!=Succeeded'));
    assert.equal(match({ metadata: {}, spec: {}, status: { phase: 'Pending' } }), true);
    assert.equal(match({ metadata: {}, spec: { nodeName: 'n' }, status: { phase: 'Pending' } }), false);
    assert.equal(match({ metadata: {}, spec: {}, status: { phase: 'Succeeded' } }), false);
    assert.equal(fieldMatcher('Pod', parseFieldSelector(''))({ metadata: {} }), true);
    assert.throws(() => fieldMatcher('Node', parseFieldSelector('metadata.namespace=x')), /field label not supported: metadata.namespace/);
  });
});

describe('at size', () => {
  test('a compiled selector filters 50,000 label sets', () => {
    const pods: Labels[] = [];
    for (let i = 0; i < 50_000; i++) pods.push({ app: `app-${i % 100}`, tier: i % 2 ? 'front' : 'back', 'pod-template-hash': `h${i % 7}` });
    const sel = parseLabelSelector('app=app-7,tier in (front,edge),!canary');
    let n = 0;
    for (let round = 0; round < 10; round++) for (const labels of pods) if (sel.matches(labels)) n++;
    assert.equal(n, 10 * 500); // app-7 pods have odd indexes: all front
  });
});
