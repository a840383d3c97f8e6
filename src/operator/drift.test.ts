import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { findDrift, holdsRendered } from './drift.ts';

const rendered = () => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name: 'kre-nats', namespace: 'ns', labels: { app: 'kre-nats' }, annotations: { h: '1' } },
  spec: {
    replicas: 2,
    template: {
      spec: {
        containers: [
          {
            name: 'nats',
            args: ['--config', '/etc/nats/nats.conf'],
            ports: [{ name: 'client', containerPort: 4222, protocol: 'TCP' }],
            readinessProbe: { httpGet: { path: '/healthz', port: 8222 } },
            resources: { requests: { cpu: '0.5', memory: '1Gi' } },
            volumeMounts: [{ name: 'config', mountPath: '/etc/nats', readOnly: false }],
          },
        ],
        volumes: [{ name: 'config', emptyDir: {} }],
      },
    },
    volumeClaimTemplates: [] as unknown[],
  },
});

/** The rendered object as a server returns it: defaults filled in, values normalized, metadata added. */
function asServed(): Record<string, unknown> {
  const live = structuredClone(rendered()) as ReturnType<typeof rendered> & Record<string, unknown>;
  delete (live as Partial<typeof live>).apiVersion;
  Object.assign(live.metadata, { uid: 'u', resourceVersion: '7', generation: 3, labels: { app: 'kre-nats', extra: 'by-hand' } });
  Object.assign(live.spec, { revisionHistoryLimit: 10, updateStrategy: { type: 'RollingUpdate' } });
  delete (live.spec as Partial<typeof live.spec>).volumeClaimTemplates;
  const c = live.spec.template.spec.containers[0] as Record<string, unknown> & ReturnType<typeof rendered>['spec']['template']['spec']['containers'][0];
  c.imagePullPolicy = 'IfNotPresent';
  c.readinessProbe = { httpGet: { path: '/healthz', port: '8222', scheme: 'HTTP' }, timeoutSeconds: 1 } as never;
  c.resources = { requests: { cpu: '500m', memory: '1024Mi' } };
  c.volumeMounts = [{ name: 'config', mountPath: '/etc/nats' } as never];
  live.status = { replicas: 2 };
  return live;
}

describe('findDrift', () => {
  test('an object as the server returns it holds what was rendered', () => {
    assert.equal(findDrift(rendered(), asServed()), undefined);
    assert.ok(holdsRendered(rendered(), asServed()));
  });

  test('a changed scalar, label, annotation or list item is drift, named by its path', () => {
    const scaled = asServed() as ReturnType<typeof rendered>;
    scaled.spec.replicas = 1;
    assert.deepEqual(findDrift(rendered(), scaled), { path: 'spec.replicas', at: ['spec', 'replicas'], rendered: 2, live: 1 });

    const relabelled = asServed() as ReturnType<typeof rendered>;
    relabelled.metadata.labels.app = 'other';
    assert.equal(findDrift(rendered(), relabelled)?.path, 'metadata.labels.app');

    const port = asServed() as ReturnType<typeof rendered>;
    port.spec.template.spec.containers[0].ports[0].containerPort = 4333;
    assert.equal(findDrift(rendered(), port)?.path, 'spec.template.spec.containers[0].ports[0].containerPort');
    assert.deepEqual(findDrift(rendered(), port)?.at, ['spec', 'template', 'spec', 'containers', 0, 'ports', 0, 'containerPort']);

    const noAnnotation = asServed() as ReturnType<typeof rendered>;
    noAnnotation.metadata.annotations = {} as { h: string };
    assert.equal(findDrift(rendered(), noAnnotation)?.path, 'metadata.annotations.h');
  });

  test('an item added to a list of objects is kept, not drift; a changed or missing item is', () => {
    const ports = (...p: number[]) => ({ spec: { ports: p.map((port) => ({ port, protocol: 'TCP' })) } });
    assert.equal(findDrift(ports(4222, 8222), ports(4222, 4333, 8222)), undefined);
    assert.equal(findDrift(ports(4222, 8222), ports(4333, 4222, 8222)), undefined);
    assert.equal(findDrift(ports(4222, 8222), ports(4333, 8222))?.path, 'spec.ports[0].port');
    assert.equal(findDrift(ports(4222, 8222), ports(4222))?.path, 'spec.ports[1]');
    assert.ok(findDrift(ports(4222, 8222), ports(8222, 4222)), 'order counts');
  });

  test('lists of scalars are compared in order and by length', () => {
    const reordered = asServed() as ReturnType<typeof rendered>;
    reordered.spec.template.spec.containers[0].args.reverse();
    assert.equal(findDrift(rendered(), reordered)?.path, 'spec.template.spec.containers[0].args[0]');
    const longer = asServed() as ReturnType<typeof rendered>;
    longer.spec.template.spec.containers[0].args.push('--debug');
    assert.equal(findDrift(rendered(), longer)?.path, 'spec.template.spec.containers[0].args');
  });

  test('quantities are compared by value, only where quantities live', () => {
    const more = asServed() as ReturnType<typeof rendered>;
    more.spec.template.spec.containers[0].resources.requests.memory = '2Gi';
    assert.equal(findDrift(rendered(), more)?.path, 'spec.template.spec.containers[0].resources.requests.memory');
    // Elsewhere, strings that read as the same quantity are still different strings.
    assert.ok(findDrift({ data: { SIZE: '1Gi' } }, { data: { SIZE: '1024Mi' } }));
    assert.ok(findDrift({ data: { sizeLimit: '1Gi' } }, { data: { sizeLimit: '1024Mi' } }));
    assert.equal(findDrift({ spec: { volumes: [{ emptyDir: { sizeLimit: '1Gi' } }] } }, { spec: { volumes: [{ emptyDir: { sizeLimit: '1073741824' } }] } }), undefined);
  });

  test('int-or-string values match across forms, and nothing else does', () => {
    assert.equal(findDrift({ spec: { ports: [{ targetPort: 80 }] } }, { spec: { ports: [{ targetPort: '80' }] } }), undefined);
    assert.equal(findDrift({ spec: { ports: [{ targetPort: '80' }] } }, { spec: { ports: [{ targetPort: 80 }] } }), undefined);
    assert.ok(findDrift({ spec: { ports: [{ targetPort: 80 }] } }, { spec: { ports: [{ targetPort: 'http' }] } }));
    assert.ok(findDrift({ spec: { enabled: true } }, { spec: { enabled: 'true' } }));
  });

  test('empty rendered values match absent ones, but a missing value is drift', () => {
    assert.equal(findDrift({ data: {} }, {}), undefined);
    assert.ok(findDrift({ data: { a: '1' } }, {}));
    assert.ok(findDrift({ spec: { volumes: [{ name: 'v', emptyDir: {} }] } }, { spec: { volumes: [{ name: 'v', emptyDir: null }] } }) === undefined);
    assert.ok(findDrift({ spec: { replicas: 2 } }, { spec: {} }));
  });

  test('status and type information are never drift', () => {
    assert.equal(findDrift({ apiVersion: 'v1', kind: 'Service', status: { x: 1 } }, { status: { x: 2 } }), undefined);
  });
});
