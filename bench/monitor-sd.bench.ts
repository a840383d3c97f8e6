/**
 * What a Prometheus scrape of the monitor costs: rendering `/metrics/kube-state` (every family)
 * and the `/sd/pods` target groups for 1 000, 4 000 and 16 000 pods, medians over several runs,
 * as a ratio against the baseline run in the same process: `JSON.stringify` of the same pods, what
 * the seed's `/pods` endpoint does with them. Then the growth: time per pod at each size.
 */
import type { KubeObject } from '../src/kube/index.ts';
import { kubeStateFamilies, renderFamilies } from '../src/monitor/kube-state.ts';
import { podTargetGroups } from '../src/monitor/sd.ts';

const SIZES = [1000, 4000, 16000];
const RUNS = 7;

function pods(n: number): KubeObject[] {
  return Array.from({ length: n }, (_, i) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      namespace: `ns-${i % 20}`,
      name: `pod-${i}`,
      uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      labels: { app: `app-${i % 50}`, 'version-name': `v${i % 7}`, 'pod-template-hash': 'abcdef' },
      annotations: { 'prometheus.io/scrape': 'true' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `rs-${i % 50}`, uid: 'u', controller: true }],
    },
    spec: { nodeName: `node-${i % 10}`, containers: [{ name: 'main', image: 'img:1', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }], resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '1', memory: '256Mi' } } }] },
    status: { phase: 'Running', podIP: `10.244.${i % 250}.${i % 200}`, hostIP: '127.0.1.1', conditions: [{ type: 'Ready', status: 'True' }] },
  }));
}

function median(f: () => unknown): number {
  const xs: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    f();
    xs.push(performance.now() - t);
  }
  return xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}

export async function run(): Promise<void> {
  console.log('| pods | JSON.stringify (baseline) ms | /metrics/kube-state ms (ratio) | /sd/pods ms (ratio) | kube-state µs/pod | sd µs/pod |');
  console.log('|---|---|---|---|---|---|');
  for (const n of SIZES) {
    const list = pods(n);
    const base = median(() => JSON.stringify(list));
    const ks = median(() => renderFamilies(kubeStateFamilies({ pods: list, deployments: [], nodes: [] }, { podLabelsAllowlist: ['version-name'] })));
    const sd = median(() => JSON.stringify(podTargetGroups(list)));
    console.log(`| ${n} | ${base.toFixed(1)} | ${ks.toFixed(1)} (${(ks / base).toFixed(2)}×) | ${sd.toFixed(1)} (${(sd / base).toFixed(2)}×) | ${((ks * 1000) / n).toFixed(1)} | ${((sd * 1000) / n).toFixed(1)} |`);
  }
}
