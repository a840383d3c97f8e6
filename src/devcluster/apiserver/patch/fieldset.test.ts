import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FieldSet, pathString } from './fieldset.ts';

test('FieldsV1 round-trips, with "." for members that have members below', () => {
  const fieldsV1 = {
    'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
    'f:spec': { 'f:containers': { 'k:{"name":"c"}': { '.': {}, 'f:image': {}, 'f:name': {} } }, 'f:finalizers': { 'v:"x"': {} } },
  };
  assert.deepEqual(FieldSet.fromFieldsV1(fieldsV1).toFieldsV1(), fieldsV1);
});

test('paths print as a real server prints them in conflicts', () => {
  assert.equal(pathString(['f:spec', 'f:containers', 'k:{"name":"c"}', 'f:image']), '.spec.containers[name="c"].image');
  assert.equal(pathString(['f:ports', 'k:{"containerPort":80,"protocol":"TCP"}']), '.ports[containerPort=80,protocol="TCP"]');
  assert.equal(pathString(['f:metadata', 'f:finalizers', 'v:"x"']), '.metadata.finalizers[="x"]');
});
