/**
 * A package's manifest as the manager's `Version` message: each workflow's `sequential` list
 * becomes that workflow's nodes, joined in order by edges. Node ids are unique across the version
 * (they name the Deployments); edge ids are NATS subjects, so they carry the version's name and do
 * not collide with another version's in the same runtime.
 */
import { createHash } from 'node:crypto';
import type { Version } from '../../gen/version/version.ts';
import { nodeId, type KrtManifest } from './manifest.ts';

export interface ConfigValue {
  key: string;
  value: string;
}

/** The version's id: its name and a digest of its manifest, so that a changed package shows. */
export function versionId(manifest: KrtManifest, manifestText: string): string {
  return `${manifest.version}-${createHash('sha256').update(manifestText).digest('hex').slice(0, 12)}`;
}

export function versionMessage(manifest: KrtManifest, manifestText: string, namespace: string, values: ConfigValue[] = []): Version {
  const given = new Map(values.map((v) => [v.key, v.value]));
  const byName = new Map(manifest.nodes.map((n) => [n.name, n]));
  return {
    id: versionId(manifest, manifestText),
    name: manifest.version,
    namespace,
    entrypoint: { protoFile: manifest.entrypoint.proto, image: manifest.entrypoint.image },
    config: manifest.config.variables.map((key) => ({ key, value: given.get(key) ?? '' })),
    workflows: manifest.workflows.map((wf, w) => {
      const nodes = wf.sequential.map((name, i) => {
        const n = byName.get(name)!;
        return { id: nodeId(w, i), name: n.name, image: n.image, src: n.src, replicas: n.replicas ?? 1 };
      });
      return {
        id: `${manifest.version}-${wf.name}`,
        name: wf.name,
        entrypoint: wf.entrypoint,
        nodes,
        edges: nodes.slice(1).map((to, i) => ({ id: `${manifest.version}-${wf.name}-${nodes[i].id}-${to.id}`, fromNode: nodes[i].id, toNode: to.id })),
      };
    }),
    mongoUri: '',
    mongoDbName: '',
  };
}
