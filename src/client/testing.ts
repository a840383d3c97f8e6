/**
 * What the client's tests share: the manager's harness (a devcluster with nodes, a cluster-wide
 * operator) and a manager on it that also serves resource metrics, sampled from the devcluster's
 * metrics.k8s.io every second.
 */
import { createLogger } from '../kube/index.ts';
import { parseManagerConfig } from '../manager/config.ts';
import { startResourceMetricsService } from '../manager/resource-metrics-service.ts';
import { startManager } from '../manager/server.ts';
import { startHarness, TOKEN, type Harness } from '../manager/testing.ts';
import { operatorRules } from '../operator/deploy.ts';

export { TOKEN };

export interface ClientHarness {
  h: Harness;
  /** `host:port` of the manager with resource metrics. */
  address: string;
  stop(): Promise<void>;
}

/** `nodes: 0` and `operator: false` for tests that need a manager but no running workloads. */
export async function startClientHarness(opts: { nodes?: number; operator?: boolean } = {}): Promise<ClientHarness> {
  const h = await startHarness({ nodes: opts.nodes ?? 3, operator: opts.operator ?? true });
  const logger = createLogger('manager', process.env.KRE_TEST_LOG ?? 'silent');
  try {
    const config = parseManagerConfig({ listen: '127.0.0.1:0', metrics: { source: 'metrics-api', pollIntervalSeconds: 1 } });
    const service = await startResourceMetricsService({ config: config.metrics, kube: h.kube, logger });
    try {
      const manager = await startManager({ config, token: TOKEN, kube: h.kube, logger, operatorRules: operatorRules(), resourceMetrics: service.handlers, resourceMetricsReady: service.ready });
      return {
        h,
        address: manager.address,
        async stop() {
          await manager.stop(1000);
          await service.close();
          await h.stop();
        },
      };
    } catch (err) {
      await service.close();
      throw err;
    }
  } catch (err) {
    await h.stop();
    throw err;
  }
}
