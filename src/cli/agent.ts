/**
 * `kre agent`: one per node. Reads the node's pods from the kubelet (or the API server), measures
 * their cgroups, serves task metrics, and in allocation mode keeps the rules' allocations applied.
 * `kre agent manifests` writes the agent's `deploy/` files.
 */
import { Command } from 'commander';
import { manifestsCommand } from './manifests.ts';

export function agentCommand(): Command {
  const cmd = new Command('agent')
    .description("measure the node's pods from their cgroups, serve task metrics, and keep CPU allocations applied")
    .option('--config <file>', 'YAML configuration')
    .option('--node <name>', 'the node this agent runs on (else KRE_AGENT_NODE or NODE_NAME)')
    .option('--listen <host:port>', 'address of /metrics, /livez and /readyz (port 0 picks a free one; default 127.0.0.1:8005)')
    .option('--source <source>', 'where the pods come from: kubelet (default) or apiserver')
    .option('--kubeconfig <path>', 'the cluster, for --source apiserver (else KUBECONFIG, ~/.kube/config, in-cluster)')
    .option('--kubelet-url <url>', "the kubelet's API (default https://127.0.0.1:10250)")
    .option('--kubelet-ca-file <path>', "the kubelet's serving CA (PEM)")
    .option('--kubelet-cert-file <path>', 'client certificate for the kubelet (with --kubelet-key-file)')
    .option('--kubelet-key-file <path>', 'client key for the kubelet')
    .option('--kubelet-token-file <path>', 'bearer token file for the kubelet (a ServiceAccount token)')
    .option('--kubelet-insecure', "do not verify the kubelet's certificate")
    .option('--cgroup-root <path>', 'the cgroup mount (default /sys/fs/cgroup)')
    .option('--cgroup-driver <driver>', 'systemd or cgroupfs (default: detected)')
    .option('--cgroup-version <version>', 'v1 or v2 (default: detected)')
    .option('--mode <mode>', 'monitoring (default) or allocation')
    .option('--interval <seconds>', 'iteration interval (default 10)')
    .option('--textfile <path>', "also write the metrics there, atomically (node_exporter's textfile collector)")
    .option('--token-file <path>', 'bearer token /metrics asks for (else KRE_AGENT_TOKEN; open without either)')
    .action(async (flags) => (await import('./run/agent.ts')).runAgent(flags));
  cmd.addCommand(manifestsCommand("write the agent's DaemonSets, RBAC and configuration example of deploy/", async () => (await import('../agent/index.ts')).renderAgentManifests()));
  return cmd;
}
