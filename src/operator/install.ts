/** `kre operator install`: the CRDs applied and waited for until the API server serves them. */
import { applyObject, CRDS, KubeApiError, type CustomResourceDefinition, type KubeClient } from '../kube/index.ts';
import { customResourceDefinitions } from '../api/index.ts';
import { FIELD_MANAGER } from './children.ts';


export async function installCustomResourceDefinitions(client: KubeClient, opts: { timeoutMs?: number } = {}): Promise<string[]> {
  const names: string[] = [];
  for (const crd of customResourceDefinitions()) {
    try {
      await applyObject(client, crd, { fieldManager: FIELD_MANAGER, force: true });
    } catch (err) {
      throw new Error(`could not apply CustomResourceDefinition ${crd.metadata.name}: ${(err as Error).message}`, { cause: err });
    }
    names.push(crd.metadata.name ?? '');
  }
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (const name of names) {
    for (;;) {
      const crd = await client.get<CustomResourceDefinition>({ ...CRDS, name });
      const established = (crd.status?.conditions ?? []).some((c) => c.type === 'Established' && c.status === 'True');
      // Established is not yet served: a real server answers 429 "storage is (re)initializing"
      // (or 404) for a moment after, so a list of the resource must go through.
      if (established && (await served(client, crd))) break;
      if (Date.now() > deadline) throw new Error(`CustomResourceDefinition ${name} was not Established and served in time`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return names;
}

async function served(client: KubeClient, crd: CustomResourceDefinition): Promise<boolean> {
  if (!crd.spec) return true;
  const { group, names, versions } = crd.spec;
  const version = versions.find((v) => v.served)?.name;
  if (!version) return true;
  try {
    await client.list({ group, version, plural: names.plural }, { limit: 1 });
    return true;
  } catch (err) {
    if (err instanceof KubeApiError && (err.code === 429 || err.code === 404 || err.code === 503)) return false;
    throw err;
  }
}
