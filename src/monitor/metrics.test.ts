import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MonitorMetrics, type ResourceState } from './metrics.ts';

const state: ResourceState = {
  resource: 'pods',
  stream: { events: { ADDED: 3, MODIFIED: 5, DELETED: 2 }, bookmarks: 4, lists: 3, relists: 2, expired: 2, watches: 7, collapsed: 0 },
  verifier: { verifications: 6, failures: 1, corrected: { missedAdds: 1, ghosts: 2, staleVersions: 0 }, lastDurationMs: 10 },
  objects: { streamed: 9, verified: 8, aggregated: 8 },
};

describe('monitor metrics', () => {
  it('are a function of the streams and verifiers state', async () => {
    const m = new MonitorMetrics(() => [state]);
    const text = async (name: string) => (await m.registry.getSingleMetricAsString(name)).trim();
    assert.equal(
      await text('kre_monitor_stream_events_total'),
      [
        '# HELP kre_monitor_stream_events_total Watch events received, by resource and event type.',
        '# TYPE kre_monitor_stream_events_total counter',
        'kre_monitor_stream_events_total{resource="pods",type="ADDED"} 3',
        'kre_monitor_stream_events_total{resource="pods",type="MODIFIED"} 5',
        'kre_monitor_stream_events_total{resource="pods",type="DELETED"} 2',
      ].join('\n'),
    );
    assert.equal(
      await text('kre_monitor_verification_corrections_total'),
      [
        '# HELP kre_monitor_verification_corrections_total What verifications corrected in the aggregated view.',
        '# TYPE kre_monitor_verification_corrections_total counter',
        'kre_monitor_verification_corrections_total{resource="pods",correction="missed_add"} 1',
        'kre_monitor_verification_corrections_total{resource="pods",correction="ghost"} 2',
        'kre_monitor_verification_corrections_total{resource="pods",correction="stale_version"} 0',
      ].join('\n'),
    );
    assert.match(await text('kre_monitor_stream_expired_total'), /kre_monitor_stream_expired_total\{resource="pods"\} 2$/);
    assert.match(await text('kre_monitor_stream_relists_total'), /kre_monitor_stream_relists_total\{resource="pods"\} 2$/);
    assert.match(await text('kre_monitor_verifications_total'), /\{resource="pods",result="ok"\} 6\n.*\{resource="pods",result="failed"\} 1$/);
    assert.match(await text('kre_monitor_objects'), /# TYPE kre_monitor_objects gauge\n.*view="streamed"\} 9\n.*view="verified"\} 8\n.*view="aggregated"\} 8$/);
    // Scraping twice does not double the counters.
    assert.match(await text('kre_monitor_stream_events_total'), /type="ADDED"\} 3\n/);
  });
});
