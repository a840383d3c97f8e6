/** `kre monitor` running: configuration and kubeconfig first, then the monitor. */
import { loadKubeConfig } from '../../kube/index.ts';
import { loadMonitorConfig, startMonitor } from '../../monitor/index.ts';
import { listening, runPart } from '../part.ts';

interface Flags {
  kubeconfig?: string;
  listen?: string;
  config?: string;
  tokenFile?: string;
  namespace?: string;
  redis?: string;
}

export async function runMonitor(flags: Flags): Promise<void> {
  const { config, token, redisPassword } = loadMonitorConfig({ flags });
  const kubeConfig = loadKubeConfig({ kubeconfig: config.kubeconfig }).kc;
  await runPart('monitor', async ({ log, defer }) => {
    const monitor = await listening('listen', config.listen, () => startMonitor({ config, token, redisPassword, kubeConfig, logger: log }));
    defer(() => monitor.stop());
    return { url: monitor.url, ...(config.redis ? { store: 'redis', identity: monitor.identity, writer: monitor.isWriter() } : { store: 'memory', resources: [...monitor.watches.keys()] }) };
  });
}
