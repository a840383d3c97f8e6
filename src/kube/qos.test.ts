import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Pod, PodSpec } from './kinds.ts';
import { podQosClass, qosClass } from './qos.ts';

/** JSON as a kubelet may answer it: the rule reads a pod defensively, so cases need not be well-formed. */
const asSpec = (json: unknown): PodSpec => json as PodSpec;
const asPod = (json: unknown): Pod => json as Pod;

const c = (requests?: Record<string, unknown>, limits?: Record<string, unknown>) => ({
  name: 'c',
  image: 'x',
  resources: { ...(requests && { requests }), ...(limits && { limits }) },
});

describe('QoS class', () => {
  const cases: Array<[string, unknown, string]> = [
    ['no requests or limits', { containers: [c(), c()] }, 'BestEffort'],
    ['no containers at all', {}, 'BestEffort'],
    ['limits equal requests for cpu and memory', { containers: [c({ cpu: '1', memory: '1Gi' }, { cpu: '1000m', memory: '1024Mi' })] }, 'Guaranteed'],
    ['limits only (requests default to them)', { containers: [c(undefined, { cpu: '1', memory: '1Gi' })] }, 'Guaranteed'],
    ['every container guaranteed', { containers: [c(undefined, { cpu: '1', memory: '1Gi' }), c({ cpu: '2', memory: '2Gi' }, { cpu: '2', memory: '2Gi' })] }, 'Guaranteed'],
    ['memory limit missing', { containers: [c({ cpu: '1' }, { cpu: '1' })] }, 'Burstable'],
    ['requests below limits', { containers: [c({ cpu: '500m', memory: '1Gi' }, { cpu: '1', memory: '1Gi' })] }, 'Burstable'],
    ['requests only', { containers: [c({ cpu: '100m' })] }, 'Burstable'],
    ['an init container without limits', { initContainers: [c()], containers: [c(undefined, { cpu: '1', memory: '1Gi' })] }, 'Burstable'],
    ['extended resources only', { containers: [c({ 'nvidia.com/gpu': '1' }, { 'nvidia.com/gpu': '1' })] }, 'BestEffort'],
    ['zero quantities count as unset', { containers: [c({ cpu: '0', memory: '0' })] }, 'BestEffort'],
    ['garbage is ignored', { containers: [c({ cpu: 'lots', memory: [] })], initContainers: [null] }, 'BestEffort'],
    ['a spec that is not one', { containers: 'nope' }, 'BestEffort'],
  ];
  for (const [name, spec, want] of cases) test(name, () => assert.equal(qosClass(asSpec(spec)), want));

  test('a pod: status.qosClass when the API server set one, else its spec', () => {
    assert.equal(podQosClass(asPod({ spec: { containers: [c()] }, status: { qosClass: 'Guaranteed' } })), 'Guaranteed');
    assert.equal(podQosClass(asPod({ spec: { containers: [c()] }, status: { qosClass: 'Weird' } })), 'BestEffort');
    assert.equal(podQosClass(asPod({ spec: { containers: [c({ cpu: '1' })] } })), 'Burstable');
  });
});
