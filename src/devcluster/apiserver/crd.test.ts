import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { crdResourceTypes, defaultCrd, establishCrd, storageVersionOf, validateCrd } from './crd.ts';
import { realApiserver } from './testdata/real-apiserver.ts';

/** Responses captured from a real kube-apiserver v1.32. */


/** What kubectl sends for the Runtime CRD (its last-applied configuration): no server defaults. */
function runtimeCrd(): any {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'runtimes.kre.konstellation.io' },
    spec: {
      group: 'kre.konstellation.io',
      names: { kind: 'Runtime', plural: 'runtimes', singular: 'runtime' },
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1alpha1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: {
                  type: 'object',
                  properties: {
                    developmentMode: { type: 'boolean', default: false },
                    mongo: { type: 'object', properties: { replicas: { type: 'integer', default: 3, minimum: 1 } } },
                  },
                },
                status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
              },
            },
          },
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
        },
      ],
    },
  };
}

const NOW = '2026-11-22T04:54:04Z';

describe('establishCrd reproduces what a real server stores', () => {
  test('crd.json: spec defaults and status', () => {
    const real = realApiserver('crd.json');
    const got = establishCrd(runtimeCrd(), NOW);
    assert.deepEqual(got.spec, real.spec);
    assert.deepEqual(got.status, real.status);
    assert.deepEqual(Object.keys(got.status), Object.keys(real.status));
    assert.deepEqual(Object.keys(got.spec.names), Object.keys(real.spec.names));
  });

  test('the stored CRD is itself valid', () => {
    assert.deepEqual(validateCrd(realApiserver('crd.json')), []);
  });
});

describe('establishCrd', () => {
  test('defaults singular and listKind from the kind', () => {
    const crd = runtimeCrd();
    delete crd.spec.names.singular;
    const got = establishCrd(crd, NOW);
    assert.deepEqual(got.status.acceptedNames, { plural: 'runtimes', singular: 'runtime', kind: 'Runtime', listKind: 'RuntimeList' });
    assert.deepEqual(got.spec.conversion, { strategy: 'None' });
  });

  test('does not change its input', () => {
    const crd = runtimeCrd();
    establishCrd(crd, NOW);
    assert.deepEqual(crd, runtimeCrd());
  });

  test('on update keeps transition times and accumulates stored versions', () => {
    const first = establishCrd(runtimeCrd(), NOW);
    first.spec.versions[0].storage = false;
    first.spec.versions.push({ ...structuredClone(first.spec.versions[0]), name: 'v1', storage: true });
    const again = establishCrd(first, '2026-11-23T00:00:00Z');
    assert.deepEqual(again.status.storedVersions, ['v1alpha1', 'v1']);
    assert.ok(again.status.conditions.every((c: any) => c.lastTransitionTime === NOW));
    assert.equal(storageVersionOf(again), 'v1');
  });

  test('carries short names and categories into acceptedNames', () => {
    const crd = runtimeCrd();
    crd.spec.names.shortNames = ['rt'];
    crd.spec.names.categories = ['kre'];
    assert.deepEqual(establishCrd(crd, NOW).status.acceptedNames, {
      plural: 'runtimes',
      singular: 'runtime',
      shortNames: ['rt'],
      kind: 'Runtime',
      listKind: 'RuntimeList',
      categories: ['kre'],
    });
  });
});

describe('validateCrd', () => {
  test('accepts what kubectl sends for a valid CRD', () => {
    assert.deepEqual(validateCrd(runtimeCrd()), []);
  });

  const root = 'spec.versions[0].schema.openAPIV3Schema';
  const cases: Array<[string, (crd: any) => void, Array<{ field: string; message: string | RegExp }>]> = [
    [
      'name other than <plural>.<group>',
      (c) => (c.metadata.name = 'runtime.kre.konstellation.io'),
      [{ field: 'metadata.name', message: 'Invalid value: "runtime.kre.konstellation.io": must be spec.names.plural+"."+spec.group' }],
    ],
    [
      'group without a dot',
      (c) => {
        c.spec.group = 'kre';
        c.metadata.name = 'runtimes.kre';
      },
      [{ field: 'spec.group', message: 'Invalid value: "kre": should be a domain with at least one dot' }],
    ],
    ['missing group', (c) => delete c.spec.group, [
      { field: 'metadata.name', message: /must be spec.names.plural/ },
      { field: 'spec.group', message: 'Required value' },
    ]],
    [
      'unknown scope',
      (c) => (c.spec.scope = 'Global'),
      [{ field: 'spec.scope', message: 'Unsupported value: "Global": supported values: "Cluster", "Namespaced"' }],
    ],
    ['missing scope', (c) => delete c.spec.scope, [{ field: 'spec.scope', message: 'Required value' }]],
    [
      'plural with capitals',
      (c) => {
        c.spec.names.plural = 'Runtimes';
        c.metadata.name = 'Runtimes.kre.konstellation.io';
      },
      [
        { field: 'metadata.name', message: /a lowercase RFC 1123 subdomain must consist of/ },
        { field: 'spec.names.plural', message: /^Invalid value: "Runtimes": a DNS-1035 label must consist of lower case/ },
      ],
    ],
    ['missing kind', (c) => delete c.spec.names.kind, [
      { field: 'spec.names.kind', message: 'Required value' },
      { field: 'spec.names.listKind', message: 'Required value' },
    ]],
    [
      'kind with an underscore',
      (c) => (c.spec.names.kind = 'Run_time'),
      [
        { field: 'spec.names.kind', message: /^Invalid value: "Run_time": may have mixed case, but should otherwise match: a DNS-1035 label/ },
        { field: 'spec.names.listKind', message: /^Invalid value: "Run_timeList": may have mixed case/ },
      ],
    ],
    [
      'no versions',
      (c) => (c.spec.versions = []),
      [{ field: 'spec.versions', message: /must have exactly one version marked as storage version$/ }],
    ],
    [
      'two storage versions',
      (c) => c.spec.versions.push({ ...structuredClone(c.spec.versions[0]), name: 'v1' }),
      [{ field: 'spec.versions', message: /must have exactly one version marked as storage version$/ }],
    ],
    [
      'duplicate version names',
      (c) => c.spec.versions.push({ ...structuredClone(c.spec.versions[0]), storage: false }),
      [{ field: 'spec.versions', message: /must contain unique version names$/ }],
    ],
    [
      'no schema',
      (c) => delete c.spec.versions[0].schema,
      [{ field: root, message: 'Required value: schemas are required' }],
    ],
    [
      'root not an object',
      (c) => (c.spec.versions[0].schema.openAPIV3Schema = { type: 'string' }),
      [{ field: `${root}.type`, message: 'Invalid value: "string": must be object at the root' }],
    ],
    [
      'root without type',
      (c) => delete c.spec.versions[0].schema.openAPIV3Schema.type,
      [{ field: `${root}.type`, message: 'Required value: must not be empty at the root' }],
    ],
    [
      'property without type',
      (c) => delete c.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.mongo.type,
      [{ field: `${root}.properties[spec].properties[mongo].type`, message: 'Required value: must not be empty for specified object fields' }],
    ],
    [
      'array without items, items without type',
      (c) => {
        const props = c.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties;
        props.a = { type: 'array' };
        props.b = { type: 'array', items: {} };
      },
      [
        { field: `${root}.properties[spec].properties[a].items`, message: 'Required value: must be specified' },
        { field: `${root}.properties[spec].properties[b].items.type`, message: 'Required value: must not be empty for specified array items' },
      ],
    ],
    [
      'unknown type',
      (c) => (c.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.mongo.type = 'map'),
      [{
        field: `${root}.properties[spec].properties[mongo].type`,
        message: 'Unsupported value: "map": supported values: "array", "boolean", "integer", "number", "object", "string"',
      }],
    ],
    [
      'uniqueItems',
      (c) => (c.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.tags = { type: 'array', uniqueItems: true, items: { type: 'string' } }),
      [{
        field: `${root}.properties[spec].properties[tags].uniqueItems`,
        message: 'Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic',
      }],
    ],
    [
      'properties and additionalProperties',
      (c) => (c.spec.versions[0].schema.openAPIV3Schema.properties.spec.additionalProperties = { type: 'string' }),
      [{ field: `${root}.properties[spec].additionalProperties`, message: 'Forbidden: additionalProperties and properties are mutual exclusive' }],
    ],
    [
      'a default of the wrong type',
      (c) => (c.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.mongo.properties.replicas.default = 'three'),
      [{
        field: `${root}.properties[spec].properties[mongo].properties[replicas].default`,
        message: 'Invalid value: "string": in body must be of type integer: "string"',
      }],
    ],
    [
      'metadata constrained beyond name',
      (c) => (c.spec.versions[0].schema.openAPIV3Schema.properties.metadata = { type: 'object', properties: { labels: { type: 'object' } } }),
      [{ field: `${root}.properties[metadata]`, message: /^Forbidden: must not specify anything other than name and generateName/ }],
    ],
    [
      'list-type map without keys',
      (c) => (c.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.ports = {
        type: 'array',
        'x-kubernetes-list-type': 'map',
        items: { type: 'object', properties: { name: { type: 'string' } } },
      }),
      [{ field: `${root}.properties[spec].properties[ports].x-kubernetes-list-map-keys`, message: 'Required value: must not be empty if x-kubernetes-list-type is map' }],
    ],
    [
      'scale paths outside spec and status',
      (c) => (c.spec.versions[0].subresources.scale = { specReplicasPath: '.replicas', statusReplicasPath: '.status.replicas' }),
      [{ field: 'spec.versions[0].subresources.scale.specReplicasPath', message: 'Invalid value: ".replicas": should be a json path under .spec' }],
    ],
    [
      'printer column of an unknown type',
      (c) => (c.spec.versions[0].additionalPrinterColumns[0].type = 'text'),
      [{ field: 'spec.versions[0].additionalPrinterColumns[0].type', message: 'Invalid value: "text": must be one of boolean,date,integer,number,string' }],
    ],
    [
      'unknown conversion strategy',
      (c) => (c.spec.conversion = { strategy: 'Magic' }),
      [{ field: 'spec.conversion.strategy', message: 'Unsupported value: "Magic": supported values: "None", "Webhook"' }],
    ],
  ];

  for (const [name, mutate, expected] of cases) {
    test(name, () => {
      const crd = runtimeCrd();
      mutate(crd);
      const got = validateCrd(crd);
      assert.equal(got.length, expected.length, JSON.stringify(got, null, 2));
      expected.forEach((e, i) => {
        assert.equal(got[i].field, e.field);
        if (typeof e.message === 'string') assert.equal(got[i].message, e.message);
        else assert.match(got[i].message, e.message);
      });
    });
  }

  test('int-or-string and preserve-unknown-fields need no type', () => {
    const crd = runtimeCrd();
    const props = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties;
    props.port = { 'x-kubernetes-int-or-string': true };
    props.config = { 'x-kubernetes-preserve-unknown-fields': true };
    assert.deepEqual(validateCrd(crd), []);
  });

  test('causes carry the reasons a real server gives', () => {
    const crd = runtimeCrd();
    crd.spec.scope = 'Global';
    delete crd.spec.versions[0].schema.openAPIV3Schema.type;
    assert.deepEqual(
      validateCrd(crd).map((c) => c.reason),
      ['FieldValueNotSupported', 'FieldValueRequired'],
    );
  });
});

describe('crdResourceTypes', () => {
  test('one kind per served version, with the CRD attached', () => {
    const crd = establishCrd(runtimeCrd(), NOW);
    crd.spec.names.shortNames = ['rt'];
    crd.status.acceptedNames.shortNames = ['rt'];
    crd.status.acceptedNames.categories = ['all'];
    crd.spec.versions.push({
      ...structuredClone(crd.spec.versions[0]),
      name: 'v1beta1',
      storage: false,
      subresources: { status: {}, scale: { specReplicasPath: '.spec.mongo.replicas', statusReplicasPath: '.status.replicas' } },
    });
    crd.spec.versions.push({ ...structuredClone(crd.spec.versions[0]), name: 'v0', storage: false, served: false });
    const types = crdResourceTypes(crd);
    assert.equal(types.length, 2);
    assert.deepEqual(
      types.map(({ crd: attached, ...rest }) => {
        assert.equal(attached, crd);
        return rest;
      }),
      [
        {
          group: 'kre.konstellation.io',
          version: 'v1alpha1',
          plural: 'runtimes',
          singular: 'runtime',
          kind: 'Runtime',
          namespaced: true,
          verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
          shortNames: ['rt'],
          categories: ['all'],
          status: true,
          generation: true,
        },
        {
          group: 'kre.konstellation.io',
          version: 'v1beta1',
          plural: 'runtimes',
          singular: 'runtime',
          kind: 'Runtime',
          namespaced: true,
          verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
          shortNames: ['rt'],
          categories: ['all'],
          status: true,
          scale: { specReplicasPath: '.spec.mongo.replicas', statusReplicasPath: '.status.replicas' },
          generation: true,
        },
      ],
    );
  });

  test('cluster-scoped CRD before it is established uses the defaulted spec names', () => {
    const crd = runtimeCrd();
    crd.spec.scope = 'Cluster';
    delete crd.spec.names.singular;
    const [t] = crdResourceTypes(crd);
    assert.equal(t.namespaced, false);
    assert.equal(t.singular, 'runtime');
    assert.equal(t.status, true);
    assert.equal(t.scale, undefined);
  });

  test('defaultCrd sets port 443 on a conversion webhook service', () => {
    const crd = runtimeCrd();
    crd.spec.conversion = { strategy: 'Webhook', webhook: { clientConfig: { service: { name: 'conv', namespace: 'kre' } }, conversionReviewVersions: ['v1'] } };
    assert.equal(defaultCrd(crd).spec.conversion.webhook.clientConfig.service.port, 443);
  });
});
