/** `kre agent` running: configuration first (every flag checked), then the agent and its HTTP server. */
import { loadKubeConfig } from '../../kube/index.ts';
import { loadAgentConfig, startAgent, type AgentFlags } from '../../agent/index.ts';
import { listening, runPart } from '../part.ts';

export async function runAgent(flags: AgentFlags): Promise<void> {
  const { config, token } = loadAgentConfig({ flags });
  const kubeConfig = config.source === 'apiserver' ? loadKubeConfig({ kubeconfig: config.kubeconfig }).kc : undefined;
  await runPart('agent', async ({ log, defer }) => {
    const agent = await listening('listen', config.listen, () => startAgent({ config, token, logger: log, kubeConfig }));
    defer(() => agent.stop());
    return {
      metrics: `${agent.url}/metrics`,
      livez: `${agent.url}/livez`,
      readyz: `${agent.url}/readyz`,
      node: config.node,
      source: config.source === 'kubelet' ? config.kubelet.url : 'apiserver',
      mode: config.mode,
      ...(config.textfile && { textfile: config.textfile }),
    };
  });
}
