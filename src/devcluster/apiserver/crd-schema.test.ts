import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { crdResourceTypes, establishCrd } from './crd.ts';
import {
  badValue,
  defaultCustomResource,
  goSyntax,
  pruneCustomResource,
  validateCustomResource,
  type Schema,
} from './crd-schema.ts';
import { errors } from './errors.ts';
import type { ResourceType } from './resources.ts';
import { realApiserver } from './testdata/real-apiserver.ts';



const SCHEMA: Schema = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      required: ['name'],
      properties: {
        name: { type: 'string', pattern: '^[a-z]+$', minLength: 2, maxLength: 10 },
        replicas: { type: 'integer', minimum: 1, maximum: 5, default: 1 },
        ratio: { type: 'number', minimum: 0, exclusiveMinimum: true, maximum: 1, exclusiveMaximum: true },
        mode: { type: 'string', enum: ['fast', 'safe'], default: 'safe' },
        port: { 'x-kubernetes-int-or-string': true },
        nickname: { type: 'string', nullable: true },
        startAt: { type: 'string', format: 'date-time' },
        token: { type: 'string', format: 'byte' },
        owner: { type: 'string', format: 'email' },
        mongo: {
          type: 'object',
          default: {},
          properties: {
            replicas: { type: 'integer', default: 3, minimum: 1 },
            storage: { type: 'object', properties: { size: { type: 'string', default: '1Gi' } } },
          },
        },
        tags: { type: 'array', items: { type: 'string' }, maxItems: 3, minItems: 1, 'x-kubernetes-list-type': 'set' },
        models: {
          type: 'array',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['name'],
          items: {
            type: 'object',
            required: ['name'],
            properties: { name: { type: 'string' }, weight: { type: 'integer', default: 1 } },
          },
        },
        env: { type: 'object', additionalProperties: { type: 'string', default: 'unset', nullable: false } },
        limits: {
          type: 'object',
          minProperties: 1,
          maxProperties: 2,
          additionalProperties: { type: 'object', properties: { cpu: { type: 'string', default: '1' } } },
        },
        config: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { level: { type: 'integer' } } },
        template: {
          type: 'object',
          'x-kubernetes-embedded-resource': true,
          'x-kubernetes-preserve-unknown-fields': true,
        },
      },
    },
    status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
  },
};

function crdWith(schema: Schema): any {
  return establishCrd(
    {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'runtimes.kre.konstellation.io' },
      spec: {
        group: 'kre.konstellation.io',
        names: { kind: 'Runtime', plural: 'runtimes' },
        scope: 'Namespaced',
        versions: [{ name: 'v1alpha1', served: true, storage: true, schema: { openAPIV3Schema: schema }, subresources: { status: {} } }],
      },
    },
    '2026-11-22T04:54:04Z',
  );
}

const runtime: ResourceType = crdResourceTypes(crdWith(SCHEMA))[0];

function object(spec: Record<string, unknown>, name = 'demo'): any {
  return { apiVersion: 'kre.konstellation.io/v1alpha1', kind: 'Runtime', metadata: { name, namespace: 'demo' }, spec };
}

describe('validateCustomResource', () => {
  test('a valid object has no causes', () => {
    const obj = object({
      name: 'demo',
      replicas: 2,
      ratio: 0.5,
      mode: 'fast',
      port: 'http',
      nickname: null,
      startAt: '2026-11-22T04:54:07Z',
      token: 'aGVsbG8=',
      owner: 'ops@example.com',
      tags: ['a', 'b'],
      models: [{ name: 'a' }, { name: 'b' }],
      env: { A: 'x' },
      limits: { main: { cpu: '2' } },
      config: { level: 3, anything: { goes: true } },
      template: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' }, spec: {} },
    });
    assert.deepEqual(validateCustomResource(runtime, obj), []);
    assert.deepEqual(validateCustomResource(runtime, object({ name: 'ok', port: 8080 })), []);
  });

  const cases: Array<[string, Record<string, unknown>, { field: string; reason: string; message: string }]> = [
    ['wrong type', { replicas: 'three' }, {
      field: 'spec.replicas',
      reason: 'FieldValueTypeInvalid',
      message: 'Invalid value: "string": spec.replicas in body must be of type integer: "string"',
    }],
    ['float for an integer', { replicas: 1.5 }, {
      field: 'spec.replicas',
      reason: 'FieldValueTypeInvalid',
      message: 'Invalid value: "number": spec.replicas in body must be of type integer: "number"',
    }],
    ['object for a string', { nickname: { a: 1 } }, {
      field: 'spec.nickname',
      reason: 'FieldValueTypeInvalid',
      message: 'Invalid value: "object": spec.nickname in body must be of type string: "object"',
    }],
    ['null where not nullable', { owner: null }, {
      field: 'spec.owner',
      reason: 'FieldValueTypeInvalid',
      message: 'Invalid value: "null": spec.owner in body must be of type string: "null"',
    }],
    ['below minimum', { replicas: 0 }, {
      field: 'spec.replicas',
      reason: 'FieldValueInvalid',
      message: 'Invalid value: 0: spec.replicas in body should be greater than or equal to 1',
    }],
    ['above maximum', { replicas: 6 }, {
      field: 'spec.replicas',
      reason: 'FieldValueInvalid',
      message: 'Invalid value: 6: spec.replicas in body should be less than or equal to 5',
    }],
    ['exclusive minimum', { ratio: 0 }, {
      field: 'spec.ratio',
      reason: 'FieldValueInvalid',
      message: 'Invalid value: 0: spec.ratio in body should be greater than 0',
    }],
    ['exclusive maximum', { ratio: 1 }, {
      field: 'spec.ratio',
      reason: 'FieldValueInvalid',
      message: 'Invalid value: 1: spec.ratio in body should be less than 1',
    }],
    ['not in enum', { mode: 'slow' }, {
      field: 'spec.mode',
      reason: 'FieldValueNotSupported',
      message: 'Unsupported value: "slow": supported values: "fast", "safe"',
    }],
    ['pattern', { name: 'ABC' }, {
      field: 'spec.name',
      reason: 'FieldValueInvalid',
      message: "Invalid value: \"ABC\": spec.name in body should match '^[a-z]+$'",
    }],
    ['too short', { name: 'a' }, {
      field: 'spec.name',
      reason: 'FieldValueInvalid',
      message: 'Invalid value: "a": spec.name in body should be at least 2 chars long',
    }],
    ['too long', { name: 'abcdefghijk' }, {
      field: 'spec.name',
      reason: 'FieldValueTooLong',
      message: 'Too long: may not be more than 10 bytes',
    }],
    ['int-or-string given a boolean', { port: true }, {
      field: 'spec.port',
      reason: 'FieldValueTypeInvalid',
      message: 'Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"',
    }],
    ['date-time format', { startAt: 'tomorrow' }, {
      field: 'spec.startAt',
      reason: 'FieldValueTypeInvalid',
      message: 'Invalid value: "tomorrow": spec.startAt in body must be of type date-time: "tomorrow"',
    }],
    ['byte format', { token: 'not base64!' }, {
      field: 'spec.token',
      reason: 'FieldValueTypeInvalid',
      message: 'Invalid value: "not base64!": spec.token in body must be of type byte: "not base64!"',
    }],
    ['email format', { owner: 'nobody' }, {
      field: 'spec.owner',
      reason: 'FieldValueTypeInvalid',
      message: 'Invalid value: "nobody": spec.owner in body must be of type email: "nobody"',
    }],
    ['too many items', { tags: ['a', 'b', 'c', 'd'] }, {
      field: 'spec.tags',
      reason: 'FieldValueTooMany',
      message: 'Too many: 4: must have at most 3 items',
    }],
    ['too few items', { tags: [] }, {
      field: 'spec.tags',
      reason: 'FieldValueInvalid',
      message: 'Invalid value: 0: spec.tags in body should have at least 1 items',
    }],
    ['item of the wrong type', { tags: ['a', 2] }, {
      field: 'spec.tags[1]',
      reason: 'FieldValueTypeInvalid',
      message: 'Invalid value: "integer": spec.tags[1] in body must be of type string: "integer"',
    }],
    ['list-type set duplicate', { tags: ['a', 'a'] }, {
      field: 'spec.tags[1]',
      reason: 'FieldValueDuplicate',
      message: 'Duplicate value: "a"',
    }],
    ['list-type map duplicate key', { models: [{ name: 'a' }, { name: 'a', weight: 2 }] }, {
      field: 'spec.models[1]',
      reason: 'FieldValueDuplicate',
      message: 'Duplicate value: map[string]interface {}{"name":"a"}',
    }],
    ['required field inside an item', { models: [{ weight: 1 }] }, {
      field: 'spec.models[0].name',
      reason: 'FieldValueRequired',
      message: 'Required value',
    }],
    ['additionalProperties value', { env: { A: 1 } }, {
      field: 'spec.env.A',
      reason: 'FieldValueTypeInvalid',
      message: 'Invalid value: "integer": spec.env.A in body must be of type string: "integer"',
    }],
    ['too many properties', { limits: { a: {}, b: {}, c: {} } }, {
      field: 'spec.limits',
      reason: 'FieldValueTooMany',
      message: 'Too many: 3: must have at most 2 items',
    }],
    ['too few properties', { limits: {} }, {
      field: 'spec.limits',
      reason: 'FieldValueInvalid',
      message: 'Invalid value: 0: spec.limits in body should have at least 1 properties',
    }],
    ['known field under preserve-unknown-fields', { config: { level: 'high' } }, {
      field: 'spec.config.level',
      reason: 'FieldValueTypeInvalid',
      message: 'Invalid value: "string": spec.config.level in body must be of type integer: "string"',
    }],
    ['nested default location', { mongo: { replicas: 0 } }, {
      field: 'spec.mongo.replicas',
      reason: 'FieldValueInvalid',
      message: 'Invalid value: 0: spec.mongo.replicas in body should be greater than or equal to 1',
    }],
  ];

  for (const [name, spec, expected] of cases) {
    test(name, () => {
      const got = validateCustomResource(runtime, object({ name: 'demo', ...spec }));
      assert.deepEqual(got, [expected]);
    });
  }

  test('a required field that is missing', () => {
    assert.deepEqual(validateCustomResource(runtime, object({})), [
      { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.name' },
    ]);
  });

  test('enum and type both fail for a value of the wrong kind', () => {
    const got = validateCustomResource(runtime, object({ name: 'demo', mode: 7 }));
    assert.deepEqual(
      got.map((c) => c.reason),
      ['FieldValueTypeInvalid', 'FieldValueNotSupported'],
    );
    assert.equal(got[1].message, 'Unsupported value: 7: supported values: "fast", "safe"');
  });

  test('null is checked against the enum too (defaulting removes such nulls before validation)', () => {
    const got = validateCustomResource(runtime, object({ name: 'demo', mode: null }));
    assert.deepEqual(
      got.map((c) => c.message),
      ['Invalid value: "null": spec.mode in body must be of type string: "null"', 'Unsupported value: "null": supported values: "fast", "safe"'],
    );
  });

  test('metadata.name must be a DNS-1123 subdomain', () => {
    assert.deepEqual(validateCustomResource(runtime, object({ name: 'demo' }, 'Bad_Name')), [
      {
        reason: 'FieldValueInvalid',
        field: 'metadata.name',
        message:
          "Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
      },
    ]);
    const unnamed = object({ name: 'demo' });
    delete unnamed.metadata.name;
    assert.deepEqual(validateCustomResource(runtime, unnamed), [
      { reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' },
    ]);
    unnamed.metadata.generateName = 'demo-';
    assert.deepEqual(validateCustomResource(runtime, unnamed), []);
  });

  test('the Status a real server answers', () => {
    const real = realApiserver('status-422-invalid-custom-resource.json');
    const t = crdResourceTypes(realApiserver('crd.json'))[0];
    const obj = object({ mongo: { replicas: 0 } }, 'bad');
    const causes = validateCustomResource(t, obj);
    assert.deepEqual(errors.invalid(t.kind, t.group, 'bad', causes).toStatus(), real);
  });
});

describe('defaultCustomResource', () => {
  test('fills absent fields, nested objects, items and additionalProperties', () => {
    const obj = object({ name: 'demo', models: [{ name: 'a' }, { name: 'b', weight: 5 }], env: { A: null, B: 'b' }, limits: { main: {} } });
    defaultCustomResource(runtime, obj);
    assert.deepEqual(obj.spec, {
      name: 'demo',
      replicas: 1,
      mode: 'safe',
      // `mongo` is defaulted to {} and then its own fields are defaulted inside it.
      mongo: { replicas: 3 },
      models: [{ name: 'a', weight: 1 }, { name: 'b', weight: 5 }],
      env: { A: 'unset', B: 'b' },
      limits: { main: { cpu: '1' } },
    });
  });

  test('keeps values that are set, drops nulls of non-nullable fields without default', () => {
    const obj = object({ name: 'demo', replicas: 4, mode: null, tags: null, nickname: null, mongo: { replicas: 1, storage: {} } });
    defaultCustomResource(runtime, obj);
    assert.equal(obj.spec.replicas, 4);
    assert.equal(obj.spec.mode, 'safe');
    assert.equal('tags' in obj.spec, false);
    assert.equal(obj.spec.nickname, null);
    assert.deepEqual(obj.spec.mongo, { replicas: 1, storage: { size: '1Gi' } });
  });

  test('the Runtime of crd.json', () => {
    const t = crdResourceTypes(realApiserver('crd.json'))[0];
    const obj = object({ mongo: {} });
    defaultCustomResource(t, obj);
    assert.deepEqual(obj.spec, { developmentMode: false, mongo: { replicas: 3 } });
    const shared = object({});
    defaultCustomResource(t, shared);
    shared.spec.developmentMode = true;
    assert.equal(t.crd!.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.developmentMode.default, false);
  });
});

describe('pruneCustomResource', () => {
  test('removes unknown fields and reports their paths', () => {
    const obj = object({
      name: 'demo',
      unknownField: 1,
      mongo: { replicas: 3, extra: true, storage: { size: '1Gi', class: 'fast' } },
      models: [{ name: 'a', color: 'red' }],
      env: { A: 'x' },
      limits: { main: { cpu: '1', gpu: '1' } },
      config: { level: 1, anything: { goes: true } },
      template: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x', bogus: 1 }, spec: { containers: [] } },
    });
    obj.metadata.bogus = 'x';
    obj.extraTopLevel = 1;
    obj.status = { phase: 'Running', anything: 1 };
    const pruned = pruneCustomResource(runtime, obj);
    assert.deepEqual(pruned.sort(), [
      'extraTopLevel',
      'metadata.bogus',
      'spec.limits.main.gpu',
      'spec.models[0].color',
      'spec.mongo.extra',
      'spec.mongo.storage.class',
      'spec.template.metadata.bogus',
      'spec.unknownField',
    ]);
    assert.deepEqual(obj, {
      apiVersion: 'kre.konstellation.io/v1alpha1',
      kind: 'Runtime',
      metadata: { name: 'demo', namespace: 'demo' },
      spec: {
        name: 'demo',
        mongo: { replicas: 3, storage: { size: '1Gi' } },
        models: [{ name: 'a' }],
        env: { A: 'x' },
        limits: { main: { cpu: '1' } },
        config: { level: 1, anything: { goes: true } },
        template: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' }, spec: { containers: [] } },
      },
      status: { phase: 'Running', anything: 1 },
    });
  });

  test('keeps every ObjectMeta field', () => {
    const metadata = {
      name: 'demo',
      generateName: 'demo-',
      namespace: 'demo',
      labels: { a: 'b' },
      annotations: { c: 'd' },
      finalizers: ['x/y'],
      ownerReferences: [],
      uid: 'u',
      resourceVersion: '1',
      generation: 1,
      creationTimestamp: '2026-11-22T04:54:07Z',
      deletionTimestamp: '2026-11-22T04:54:08Z',
      deletionGracePeriodSeconds: 0,
      managedFields: [],
      selfLink: '',
    };
    const obj = { ...object({ name: 'demo' }), metadata: structuredClone(metadata) };
    assert.deepEqual(pruneCustomResource(runtime, obj), []);
    assert.deepEqual(obj.metadata, metadata);
  });

  test('the observed strict-decoding field of the README', () => {
    const t = crdResourceTypes(realApiserver('crd.json'))[0];
    const obj = object({ developmentMode: true, unknownField: 'x' });
    assert.deepEqual(pruneCustomResource(t, obj), ['spec.unknownField']);
    assert.deepEqual(obj.spec, { developmentMode: true });
  });

  test('a root that preserves unknown fields still keeps apiVersion, kind and metadata', () => {
    const t = crdResourceTypes(crdWith({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true }))[0];
    const obj = { ...object({ anything: 1 }), extra: true };
    obj.metadata.bogus = 1;
    assert.deepEqual(pruneCustomResource(t, obj), ['metadata.bogus']);
    assert.deepEqual(obj.spec, { anything: 1 });
    assert.equal(obj.extra, true);
  });
});

describe('values as Go prints them', () => {
  const cases: Array<[unknown, string, string]> = [
    ['a', '"a"', '"a"'],
    [1, '1', '1'],
    [1.5, '1.5', '1.5'],
    [true, 'true', 'true'],
    [null, '"null"', 'interface {}(nil)'],
    [{ b: 1, a: 'x' }, 'map[string]interface {}{"a":"x", "b":1}', 'map[string]interface {}{"a":"x", "b":1}'],
    [['a', 1], '[]interface {}{"a", 1}', '[]interface {}{"a", 1}'],
  ];
  for (const [value, bad, syntax] of cases) {
    test(JSON.stringify(value), () => {
      assert.equal(badValue(value), bad);
      assert.equal(goSyntax(value), syntax);
    });
  }
});
