/**
 * What a real server's mutating admission plugins change in new objects, after defaulting and
 * after the sender's fields are recorded (what they add is no manager's).
 *
 * The ServiceAccount admission plugin's change to a new pod, as a real server with the plugin on
 * makes it: the `default` account, and a projected `kube-api-access-<5 chars>` volume (the
 * account's token, the cluster CA from `kube-root-ca.crt`, the namespace) mounted read-only at
 * /var/run/secrets/kubernetes.io/serviceaccount in every container — unless the pod turns
 * automounting off or already mounts something there. The sources are the real server's, to the
 * letter (data/real-apiserver/pod.json). Not reproduced: refusing a pod whose ServiceAccount does
 * not exist (403), since the devcluster runs no ServiceAccount controller to create `default`.
 */
import { generateNameSuffix } from '../../kube/index.ts';

export const SERVICE_ACCOUNT_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';

type Obj = Record<string, any>;

export function admitServiceAccount(pod: Obj): void {
  const spec = (pod.spec ??= {});
  if (!spec.serviceAccountName) spec.serviceAccountName = 'default';
  spec.serviceAccount = spec.serviceAccountName;
  if (spec.automountServiceAccountToken === false) return;
  const containers: Obj[] = [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])];
  if (containers.some((c) => (c.volumeMounts ?? []).some((m: Obj) => m.mountPath === SERVICE_ACCOUNT_MOUNT_PATH))) return;
  const name = `kube-api-access-${generateNameSuffix()}`;
  (spec.volumes ??= []).push({
    name,
    projected: {
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
        { configMap: { name: 'openshift-service-ca.crt', items: [{ key: 'service-ca.crt', path: 'service-ca.crt' }] } },
      ],
      defaultMode: 420,
    },
  });
  for (const c of containers) (c.volumeMounts ??= []).push({ name, readOnly: true, mountPath: SERVICE_ACCOUNT_MOUNT_PATH });
}

/**
 * TaintNodesByCondition: every new node starts with the `node.kubernetes.io/not-ready`
 * NoSchedule taint, which the node lifecycle controller removes once the node is Ready; until
 * then the scheduler places nothing there.
 */
export function admitNode(node: Obj): void {
  const taints: Obj[] = ((node.spec ??= {}).taints ??= []);
  if (!taints.some((t) => t.key === 'node.kubernetes.io/not-ready' && t.effect === 'NoSchedule')) taints.push({ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' });
}
