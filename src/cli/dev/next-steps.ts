/** What `kre dev` prints once everything is up: how to use each part, ready to paste. */
import type { DevEnvironment } from './start.ts';

export function nextSteps(env: DevEnvironment): string {
  const kubeconfig = `KUBECONFIG=${env.cluster.kubeconfigPath}`;
  const lines = [
    '',
    'KRE is running. Next:',
    `  cluster:    ${kubeconfig} kubectl get nodes`,
    `              ${kubeconfig} kubectl get runtimes,runtimeversions -A`,
    `  manager:    kre runtime create demo --wait      (the kre commands read ${env.clientConfigPath})`,
    '              kre version create --runtime demo --krt examples/greeter --wait',
    '              kre version publish greeter-v1 --runtime demo',
    '              kre version metrics greeter-v1 --runtime demo --watch',
    `  dashboard:  ${env.dashboard.url}  (log in with the token in ${env.dashboard.tokenFile})`,
    `  monitor:    curl -H "Authorization: Bearer $(cat ${env.monitorTokenFile})" ${env.monitor.url}/pods`,
  ];
  if (env.agents.length > 0) lines.push(`  agents:     curl ${env.agents[0].url}/metrics  (one per node)`);
  if (env.prometheus) lines.push(`  prometheus: ${env.prometheus.url}/targets  (queries: ${env.prometheus.url}/graph)`);
  else lines.push('  prometheus: not running; version metrics come from metrics.k8s.io');
  lines.push('Ctrl-C stops everything.', '');
  return lines.join('\n') + '\n';
}
