import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  generateNameSuffix,
  isConfigMapKey,
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  isQualifiedName,
  isValidLabelValue,
  NAME_SUFFIX_ALPHABET,
} from './names.ts';

const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_MSG =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const NAME_PART_MSG =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const CONFIG_KEY_MSG =
  "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";

type Case = [input: string, expected: string[]];

function table(name: string, fn: (v: string) => string[], cases: Case[]): void {
  describe(name, () => {
    for (const [input, expected] of cases) {
      const shown = input.length > 20 ? `${input.slice(0, 12)}…(${input.length})` : JSON.stringify(input);
      test(shown, () => assert.deepEqual(fn(input), expected));
    }
  });
}

table('isDNS1123Subdomain', isDNS1123Subdomain, [
  ['example.com', []],
  ['a', []],
  ['0', []],
  ['my-app-1', []],
  ['a.b-c.d', []],
  ['Bad_Name', [SUBDOMAIN_MSG]],
  ['', [SUBDOMAIN_MSG]],
  ['-a', [SUBDOMAIN_MSG]],
  ['a-', [SUBDOMAIN_MSG]],
  ['a..b', [SUBDOMAIN_MSG]],
  ['.a', [SUBDOMAIN_MSG]],
  ['a'.repeat(253), []],
  [`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`, []],
  ['a'.repeat(254), ['must be no more than 253 characters']],
  ['A'.repeat(254), ['must be no more than 253 characters', SUBDOMAIN_MSG]],
]);

table('isDNS1123Label', isDNS1123Label, [
  ['my-name', []],
  ['123-abc', []],
  ['a'.repeat(63), []],
  ['a'.repeat(64), ['must be no more than 63 characters']],
  ['a.b', ['must not contain dots']],
  ['My-Name', [LABEL_MSG]],
  ['', [LABEL_MSG]],
  ['-x', [LABEL_MSG]],
  ['x_y', [LABEL_MSG]],
  ['A'.repeat(64), ['must be no more than 63 characters', LABEL_MSG]],
]);

table('isDNS1035Label', isDNS1035Label, [
  ['my-name', []],
  ['abc-123', []],
  ['a'.repeat(63), []],
  ['a'.repeat(64), ['must be no more than 63 characters']],
  ['1abc', [DNS1035_MSG]],
  ['a.b', [DNS1035_MSG]],
  ['abc-', [DNS1035_MSG]],
  ['', [DNS1035_MSG]],
]);

table('isQualifiedName', isQualifiedName, [
  ['app', []],
  ['MyName', []],
  ['my.name', []],
  ['my_name', []],
  ['app.kubernetes.io/name', []],
  ['k8s.io/x', []],
  ['a'.repeat(63), []],
  [`${'p'.repeat(253)}/${'n'.repeat(63)}`, []],
  ['a'.repeat(64), ['name part must be no more than 63 characters']],
  ['_a', [NAME_PART_MSG]],
  ['a_', [NAME_PART_MSG]],
  ['app:monolith', [NAME_PART_MSG]],
  ['', ['name part must be non-empty', NAME_PART_MSG]],
  ['/a', ['prefix part must be non-empty']],
  ['a/', ['name part must be non-empty', NAME_PART_MSG]],
  ['app.kubernetes_io/name', [`prefix part ${SUBDOMAIN_MSG}`]],
  [`${'p'.repeat(254)}/n`, ['prefix part must be no more than 253 characters']],
  [
    'a/b/c',
    [
      "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ],
  ],
]);

table('isValidLabelValue', isValidLabelValue, [
  ['', []],
  ['v1', []],
  ['MyValue', []],
  ['my_value', []],
  ['1.2.3', []],
  ['a'.repeat(63), []],
  ['a'.repeat(64), ['must be no more than 63 characters']],
  ['-1', [LABEL_VALUE_MSG]],
  ['a b', [LABEL_VALUE_MSG]],
  ['a/b', [LABEL_VALUE_MSG]],
  ['_'.repeat(64), ['must be no more than 63 characters', LABEL_VALUE_MSG]],
]);

table('isConfigMapKey', isConfigMapKey, [
  ['key.name', []],
  ['KEY_NAME', []],
  ['.hidden', []],
  ['a'.repeat(253), []],
  ['a'.repeat(254), ['must be no more than 253 characters']],
  ['a/b', [CONFIG_KEY_MSG]],
  ['', [CONFIG_KEY_MSG]],
  ['.', ["must not be '.'"]],
  ['..', ["must not be '..'"]],
  ['..a', ["must not start with '..'"]],
]);

describe('generateNameSuffix', () => {
  test('five characters from the Kubernetes alphabet, varying', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const suffix = generateNameSuffix();
      assert.equal(suffix.length, 5);
      for (const ch of suffix) assert.ok(NAME_SUFFIX_ALPHABET.includes(ch), `${ch} in ${suffix}`);
      seen.add(suffix);
    }
    assert.ok(seen.size > 190);
  });
  test('the suffix keeps a valid name valid', () => {
    assert.deepEqual(isDNS1123Subdomain(`web-${generateNameSuffix()}`), []);
  });
});
