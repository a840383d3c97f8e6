/**
 * What a kubelet checks before it starts a pod's containers: the Secrets and ConfigMaps the pod
 * names. A missing one (or a missing key) that is not `optional` keeps the pod from starting, as
 * on a real node: env `valueFrom` and `envFrom` → the container waits in
 * `CreateContainerConfigError` with a `Failed` event; a `secret` or `configMap` volume → the pod
 * stays in ContainerCreating with a `FailedMount` event. The kubelet looks again until the object
 * appears. (Projected volumes are not checked: the ServiceAccount's `kube-root-ca.crt` is always
 * there on a real cluster.)
 */
import type { KubeObject } from '../../kube/index.ts';

export interface PodConfigError {
  /** `env`: the container cannot be created; `volume`: the pod's volumes cannot be mounted. */
  kind: 'env' | 'volume';
  container?: string;
  volume?: string;
  message: string;
}

type Kind = 'Secret' | 'ConfigMap';
/** Reads an object; undefined when it does not exist. */
export type ReadConfig = (kind: Kind, namespace: string, name: string) => Promise<KubeObject | undefined>;

const noun = (kind: Kind) => (kind === 'Secret' ? 'secret' : 'configmap');

function hasKey(obj: KubeObject, key: string): boolean {
  const o = obj as { data?: Record<string, unknown>; binaryData?: Record<string, unknown>; stringData?: Record<string, unknown> };
  return key in (o.data ?? {}) || key in (o.binaryData ?? {}) || key in (o.stringData ?? {});
}

/** The errors that keep `pod` from starting now; none when everything it names is there. */
export async function missingPodConfig(pod: KubeObject, read: ReadConfig): Promise<PodConfigError[]> {
  const namespace = pod.metadata.namespace ?? 'default';
  const cache = new Map<string, Promise<KubeObject | undefined>>();
  const get = (kind: Kind, name: string) => {
    const k = `${kind}/${name}`;
    if (!cache.has(k)) cache.set(k, read(kind, namespace, name));
    return cache.get(k)!;
  };
  const errors: PodConfigError[] = [];

  for (const v of (pod.spec?.volumes ?? []) as any[]) {
    const ref: { kind: Kind; name?: string; optional?: boolean } | undefined = v.secret
      ? { kind: 'Secret', name: v.secret.secretName, optional: v.secret.optional }
      : v.configMap
        ? { kind: 'ConfigMap', name: v.configMap.name, optional: v.configMap.optional }
        : undefined;
    if (!ref?.name || ref.optional) continue;
    if (!(await get(ref.kind, ref.name))) {
      errors.push({ kind: 'volume', volume: v.name, message: `MountVolume.SetUp failed for volume ${JSON.stringify(v.name)} : ${noun(ref.kind)} ${JSON.stringify(ref.name)} not found` });
    }
  }
  if (errors.length > 0) return errors;

  for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])] as any[]) {
    const problem = await containerConfigProblem(c, get, namespace);
    if (problem) errors.push({ kind: 'env', container: c.name, message: problem });
  }
  return errors;
}

async function containerConfigProblem(c: any, get: (kind: Kind, name: string) => Promise<KubeObject | undefined>, namespace: string): Promise<string | undefined> {
  for (const from of (c.envFrom ?? []) as any[]) {
    const ref: { kind: Kind; name?: string; optional?: boolean } | undefined = from.secretRef
      ? { kind: 'Secret', ...from.secretRef }
      : from.configMapRef
        ? { kind: 'ConfigMap', ...from.configMapRef }
        : undefined;
    if (!ref?.name || ref.optional) continue;
    if (!(await get(ref.kind, ref.name))) return `${noun(ref.kind)} ${JSON.stringify(ref.name)} not found`;
  }
  for (const e of (c.env ?? []) as any[]) {
    const sel = e.valueFrom?.secretKeyRef ?? e.valueFrom?.configMapKeyRef;
    if (!sel?.name || sel.optional) continue;
    const kind: Kind = e.valueFrom.secretKeyRef ? 'Secret' : 'ConfigMap';
    const obj = await get(kind, sel.name);
    if (!obj) return `${noun(kind)} ${JSON.stringify(sel.name)} not found`;
    if (sel.key !== undefined && !hasKey(obj, sel.key)) return `couldn't find key ${sel.key} in ${kind} ${namespace}/${sel.name}`;
  }
  return undefined;
}
