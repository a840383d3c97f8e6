/**
 * What a kubelet checks before it starts a pod's containers: the Secrets and ConfigMaps the pod
 * names. A missing one (or a missing key) that is not `optional` keeps the pod from starting, as
 * on a real node: env `valueFrom` and `envFrom` → the container waits in
 * `CreateContainerConfigError` with a `Failed` event; a `secret` or `configMap` volume → the pod
 * stays in ContainerCreating with a `FailedMount` event. The kubelet looks again until the object
 * appears. (Projected volumes are not checked: the ServiceAccount's `kube-root-ca.crt` is always
 * there on a real cluster.)
 */
import type { ConfigMap, Container, Pod, Secret } from '../../kube/index.ts';

export interface PodConfigError {
  /** `env`: the container cannot be created; `volume`: the pod's volumes cannot be mounted. */
  kind: 'env' | 'volume';
  container?: string;
  volume?: string;
  message: string;
}

type Kind = 'Secret' | 'ConfigMap';
/** Reads an object; undefined when it does not exist. */
export type ReadConfig = (kind: Kind, namespace: string, name: string) => Promise<Secret | ConfigMap | undefined>;

const noun = (kind: Kind) => (kind === 'Secret' ? 'secret' : 'configmap');

/** Where a Secret's or a ConfigMap's keys are (a Secret has no binaryData, a ConfigMap no stringData). */
type Keyed = Pick<ConfigMap, 'data' | 'binaryData'> & Pick<Secret, 'stringData'>;

function hasKey(obj: Keyed, key: string): boolean {
  return key in (obj.data ?? {}) || key in (obj.binaryData ?? {}) || key in (obj.stringData ?? {});
}

/** The errors that keep `pod` from starting now; none when everything it names is there. */
export async function missingPodConfig(pod: Pod, read: ReadConfig): Promise<PodConfigError[]> {
  const namespace = pod.metadata.namespace ?? 'default';
  const cache = new Map<string, ReturnType<ReadConfig>>();
  const get = (kind: Kind, name: string) => {
    const k = `${kind}/${name}`;
    if (!cache.has(k)) cache.set(k, read(kind, namespace, name));
    return cache.get(k)!;
  };
  const errors: PodConfigError[] = [];

  for (const v of pod.spec?.volumes ?? []) {
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

  for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
    const problem = await containerConfigProblem(c, get, namespace);
    if (problem) errors.push({ kind: 'env', container: c.name, message: problem });
  }
  return errors;
}

async function containerConfigProblem(c: Container, get: (kind: Kind, name: string) => ReturnType<ReadConfig>, namespace: string): Promise<string | undefined> {
  for (const from of c.envFrom ?? []) {
    const ref: { kind: Kind; name?: string; optional?: boolean } | undefined = from.secretRef
      ? { kind: 'Secret', ...from.secretRef }
      : from.configMapRef
        ? { kind: 'ConfigMap', ...from.configMapRef }
        : undefined;
    if (!ref?.name || ref.optional) continue;
    if (!(await get(ref.kind, ref.name))) return `${noun(ref.kind)} ${JSON.stringify(ref.name)} not found`;
  }
  for (const e of c.env ?? []) {
    const sel = e.valueFrom?.secretKeyRef ?? e.valueFrom?.configMapKeyRef;
    if (!sel?.name || sel.optional) continue;
    const kind: Kind = e.valueFrom?.secretKeyRef ? 'Secret' : 'ConfigMap';
    const obj = await get(kind, sel.name);
    if (!obj) return `${noun(kind)} ${JSON.stringify(sel.name)} not found`;
    if (sel.key !== undefined && !hasKey(obj, sel.key)) return `couldn't find key ${sel.key} in ${kind} ${namespace}/${sel.name}`;
  }
  return undefined;
}
