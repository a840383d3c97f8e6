/**
 * The agent (`kre agent`): one per node. It reads the node's pods from the kubelet (or the API
 * server), measures their cgroups, serves the seed's task metrics on `/metrics` (and writes them
 * to a textfile), and in allocation mode keeps the static allocator's values applied.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { KubeClient, servePartHttp } from '../kube/index.ts';
import { Agent } from './agent.ts';
import type { AgentConfig } from './config.ts';
import { ApiServerPodSource, KubeletPodSource, type PodSource } from './pod-source.ts';

export { Agent, podRefOf, writeTextfile } from './agent.ts';
export { AgentConfigSchema, ConfigError, loadAgentConfig, parseAgentConfig, type AgentConfig, type AgentFlags } from './config.ts';
export { renderAgentManifests } from './deploy.ts';
export { KubeletPodSource, ApiServerPodSource, type PodSource, type PodsAnswer } from './pod-source.ts';

export interface StartAgentOptions {
  config: AgentConfig;
  /** Guards `/metrics` when given. */
  token?: string;
  logger: Logger;
  /** For `source: apiserver`. */
  kubeConfig?: KubeConfig;
}

export interface RunningAgent {
  url: string;
  agent: Agent;
  stop(): Promise<void>;
}

export function podSourceFor(config: AgentConfig, logger: Logger, kubeConfig?: KubeConfig): { source: PodSource; client?: KubeClient } {
  if (config.source === 'apiserver') {
    if (!kubeConfig) throw new Error('source apiserver needs a kubeconfig');
    const client = new KubeClient(kubeConfig, { userAgent: 'kre-agent' });
    return { source: new ApiServerPodSource(client, config.node, logger), client };
  }
  const k = config.kubelet;
  return {
    source: new KubeletPodSource({
      url: k.url,
      caFile: k.caFile,
      insecure: k.insecure,
      certFile: k.certFile,
      keyFile: k.keyFile,
      tokenFile: k.tokenFile,
      timeoutMs: k.timeoutSeconds * 1000,
      maxResponseBytes: k.maxResponseBytes,
      staleAfterMs: k.staleAfterSeconds * 1000,
    }),
  };
}

/** Starts the iterations and the HTTP server; `stop` drains the iteration under way. */
export async function startAgent(o: StartAgentOptions): Promise<RunningAgent> {
  const { config, logger } = o;
  const { source, client } = podSourceFor(config, logger, o.kubeConfig);
  const agent = new Agent({ config, source, cgroup: { root: config.cgroup.root, version: config.cgroup.version, driver: config.cgroup.driver, parent: config.cgroup.parent }, logger });
  let http;
  try {
    http = await servePartHttp({ listen: config.listen, token: o.token, metrics: () => agent.metricsText(), ready: () => agent.ready(), notReady: 'not ready: no iteration with tasks yet' });
  } catch (err) {
    await source.stop();
    client?.close();
    throw err;
  }
  agent.start();
  const served = http;
  return {
    url: served.url,
    agent,
    async stop() {
      await agent.stop();
      await served.close();
      await source.stop();
      client?.close();
    },
  };
}
