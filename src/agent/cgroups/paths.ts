/**
 * Where the kubelet puts a pod's cgroups, by driver and QoS class (`pkg/kubelet/cm`), built only
 * from a validated pod uid and validated container ids, so that what a pod's status says can never
 * lead the agent outside the cgroup tree.
 *
 * cgroupfs: `kubepods[/burstable|/besteffort]/pod<uid>/<container>`; systemd: uid dashes become
 * `_`, `kubepods.slice[/kubepods-<qos>.slice]/kubepods[-<qos>]-pod<uid>.slice/<runtime>-<id>.scope`.
 * Guaranteed pods sit directly under the pods root with both drivers.
 */
import { isAbsolute, join, relative, resolve } from 'node:path';
import { QOS_CLASSES } from '../../kube/index.ts';
import type { CgroupDriver, CgroupLayout, ContainerRuntime, Controller, PodRef, QosClass } from './types.ts';

/** A pod uid, container id or sub-path that cannot name a cgroup; nothing is read or written for it. */
export class CgroupPathError extends Error {
  override name = 'CgroupPathError';
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Container ids are lowercase hex: 64 digits from docker, containerd and CRI-O; shorter forms seen in tests. */
const CONTAINER_HEX = /^[0-9a-f]{12,128}$/;
const SCHEMES: Record<string, ContainerRuntime> = { 'docker': 'docker', 'containerd': 'cri-containerd', 'cri-o': 'crio' };

/** Shows a hostile value in an error message without echoing control bytes or megabytes of it. */
export function shown(v: unknown): string {
  const s = typeof v === 'string' ? v : String(v);
  const cut = s.length > 80 ? `${s.slice(0, 80)}… (${s.length} chars)` : s;
  return JSON.stringify(cut);
}

/** The pod uid, checked to be a UUID (lowercase, as the API server makes them). */
export function validPodUid(uid: unknown): string {
  if (typeof uid !== 'string' || !UUID.test(uid)) throw new CgroupPathError(`pod uid ${shown(uid)} is not a UUID`);
  return uid;
}

/** A container id split into its runtime and hex id, checked. */
export function parseContainerId(containerId: unknown): { runtime: ContainerRuntime; id: string } {
  if (typeof containerId !== 'string') throw new CgroupPathError(`container id ${shown(containerId)} is not a string`);
  const i = containerId.indexOf('://');
  if (i < 0) throw new CgroupPathError(`container id ${shown(containerId)} has no runtime scheme (docker://, containerd://, cri-o://)`);
  const scheme = containerId.slice(0, i);
  const runtime = Object.hasOwn(SCHEMES, scheme) ? SCHEMES[scheme] : undefined;
  if (!runtime) throw new CgroupPathError(`container id ${shown(containerId)} has an unknown runtime scheme ${shown(scheme)}`);
  const id = containerId.slice(i + 3);
  if (!CONTAINER_HEX.test(id)) throw new CgroupPathError(`container id ${shown(containerId)} is not 12 to 128 lowercase hex digits after the scheme`);
  return { runtime, id };
}

function validQos(qos: unknown): QosClass {
  if (!QOS_CLASSES.includes(qos as QosClass)) throw new CgroupPathError(`QoS class ${shown(qos)} is not one of ${QOS_CLASSES.join(', ')}`);
  return qos as QosClass;
}

/**
 * A relative sub-path (the layout's `parent`): components of letters, digits, `._-:@`, no `.` or
 * `..`, no empty components; `''` for none.
 */
export function validParent(parent: unknown): string {
  if (parent === undefined || parent === '') return '';
  if (typeof parent !== 'string' || parent.length > 1024) throw new CgroupPathError(`cgroup parent ${shown(parent)} is not a string of at most 1024 chars`);
  const parts = parent.replace(/^\/+|\/+$/g, '').split('/');
  for (const p of parts) {
    if (!/^[A-Za-z0-9._:@-]+$/.test(p) || p === '.' || p === '..') throw new CgroupPathError(`cgroup parent ${shown(parent)} has an invalid component ${shown(p)}`);
  }
  return parts.join('/');
}

/** The pods root: `kubepods.slice` or `kubepods`, under the layout's parent. */
export function podsRootPath(layout: Pick<CgroupLayout, 'driver' | 'parent'>): string {
  return join(layout.parent, layout.driver === 'systemd' ? 'kubepods.slice' : 'kubepods');
}

function podDirName(driver: CgroupDriver, qos: QosClass, uid: string): string[] {
  if (driver === 'cgroupfs') return qos === 'Guaranteed' ? [`pod${uid}`] : [qos.toLowerCase(), `pod${uid}`];
  const u = uid.replace(/-/g, '_');
  if (qos === 'Guaranteed') return [`kubepods-pod${u}.slice`];
  const q = qos.toLowerCase();
  return [`kubepods-${q}.slice`, `kubepods-${q}-pod${u}.slice`];
}

/**
 * The pod's cgroup, relative to each hierarchy's directory (`layout.dirs[controller]`) and
 * including the layout's parent, e.g. `kubepods/burstable/pod<uid>`. Throws `CgroupPathError` for
 * an invalid uid or QoS class.
 */
export function podCgroupPath(layout: CgroupLayout, pod: PodRef): string {
  const uid = validPodUid(pod?.uid);
  const qos = validQos(pod?.qos);
  return join(podsRootPath(layout), ...podDirName(layout.driver, qos, uid));
}

/**
 * A container's cgroup, relative like `podCgroupPath`: `<pod>/<id>` with cgroupfs (`crio-<id>` for
 * CRI-O, which prefixes its cgroups with either driver), `<pod>/<runtime>-<id>.scope` with systemd.
 */
export function containerCgroupPath(layout: CgroupLayout, pod: PodRef, containerId: string): string {
  const podPath = podCgroupPath(layout, pod);
  const { runtime, id } = parseContainerId(containerId);
  if (layout.driver === 'systemd') return join(podPath, `${runtime}-${id}.scope`);
  return join(podPath, runtime === 'crio' ? `crio-${id}` : id);
}

/**
 * The absolute directory of a relative cgroup path in one controller's hierarchy, checked to lie
 * inside that hierarchy (a second line of defence behind the validation above).
 */
export function cgroupDir(layout: CgroupLayout, controller: Controller, relPath: string): string {
  const base = layout.dirs[controller];
  if (relPath.includes('\0') || isAbsolute(relPath)) throw new CgroupPathError(`cgroup path ${shown(relPath)} is not relative`);
  const dir = resolve(base, relPath);
  const rel = relative(base, dir);
  if (rel === '..' || rel.startsWith('../') || isAbsolute(rel)) throw new CgroupPathError(`cgroup path ${shown(relPath)} leaves the ${controller} hierarchy ${base}`);
  return dir;
}
