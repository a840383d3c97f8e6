import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PodSpec } from '../kube/index.ts';
import { taskResources } from './resources.ts';

/**
 * JSON as a kubelet may answer it, garbage and numeric quantities included: the functions read a
 * pod defensively, so the cases need not be well-formed PodSpecs.
 */
const asSpec = (json: unknown): PodSpec => json as PodSpec;

const c = (requests?: Record<string, unknown>, limits?: Record<string, unknown>, extra: object = {}) => ({
  name: 'c',
  image: 'x',
  resources: { ...(requests && { requests }), ...(limits && { limits }) },
  ...extra,
});

describe('taskResources', () => {
  const cases: Array<{ name: string; spec: unknown; want: object }> = [
    {
      name: 'no resources at all',
      spec: { containers: [c()] },
      want: { disk: 0, mem: 0, cpus: 0, requests_cpus: 0, requests_mem: 0 },
    },
    {
      name: 'sum of app containers, every quantity form',
      spec: { containers: [c({ cpu: '250m', memory: '1Gi' }, { cpu: '1', memory: '2G' }), c({ cpu: '1.5', memory: '1e3', 'ephemeral-storage': '1Ki' }, { cpu: 2, memory: '1M' })] },
      want: { disk: 1024, mem: 2 ** 30 + 1000, cpus: 1.75, requests_cpus: 1.75, requests_mem: 2 ** 30 + 1000, limits_cpus: 3, limits_mem: 2e9 + 1e6 },
    },
    {
      name: 'request defaults to the limit',
      spec: { containers: [c(undefined, { cpu: '500m', memory: '64Mi' })] },
      want: { disk: 0, mem: 64 * 2 ** 20, cpus: 0.5, requests_cpus: 0.5, requests_mem: 64 * 2 ** 20, limits_cpus: 0.5, limits_mem: 64 * 2 ** 20 },
    },
    {
      name: 'one container without a limit: the pod has none',
      spec: { containers: [c({ cpu: '100m' }, { cpu: '200m', memory: '1Mi' }), c({ cpu: '100m', memory: '1Mi' }, { cpu: '200m' })] },
      want: { disk: 0, mem: 2 * 2 ** 20, cpus: 0.2, requests_cpus: 0.2, requests_mem: 2 * 2 ** 20, limits_cpus: 0.4 },
    },
    {
      name: 'largest init container wins over the sum',
      spec: { initContainers: [c({ cpu: '2', memory: '10Mi' }, { cpu: '3', memory: '10Mi' })], containers: [c({ cpu: '500m', memory: '20Mi' }, { cpu: '1', memory: '20Mi' })] },
      want: { disk: 0, mem: 20 * 2 ** 20, cpus: 2, requests_cpus: 2, requests_mem: 20 * 2 ** 20, limits_cpus: 3, limits_mem: 20 * 2 ** 20 },
    },
    {
      name: 'pod overhead is added',
      spec: { containers: [c({ cpu: '1', memory: '1Gi' }, { cpu: '1', memory: '1Gi' })], overhead: { cpu: '250m', memory: '120Mi' } },
      want: { disk: 0, mem: 2 ** 30 + 120 * 2 ** 20, cpus: 1.25, requests_cpus: 1.25, requests_mem: 2 ** 30 + 120 * 2 ** 20, limits_cpus: 1.25, limits_mem: 2 ** 30 + 120 * 2 ** 20 },
    },
    {
      name: 'sidecars add to the app containers and to later init containers',
      spec: {
        initContainers: [c({ cpu: '100m' }, undefined, { restartPolicy: 'Always' }), c({ cpu: '1' })],
        containers: [c({ cpu: '200m' })],
      },
      want: { disk: 0, mem: 0, cpus: 1.1, requests_cpus: 1.1, requests_mem: 0 },
    },
    {
      name: 'extended resources and garbage are ignored',
      spec: { containers: [c({ cpu: 'lots', 'nvidia.com/gpu': '1', 'hugepages-2Mi': '4Mi', memory: '1Ki' }, { 'example.com/foo': 'x', memory: [] })] },
      want: { disk: 0, mem: 1024, cpus: 0, requests_cpus: 0, requests_mem: 1024 },
    },
    {
      name: 'a spec that is not one',
      spec: { containers: 'nope', initContainers: [null] },
      want: { disk: 0, mem: 0, cpus: 0, requests_cpus: 0, requests_mem: 0 },
    },
  ];
  for (const k of cases) test(k.name, () => assert.deepEqual(taskResources(asSpec(k.spec)), k.want));
});
