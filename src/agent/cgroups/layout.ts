/**
 * Which cgroup version and driver a node runs, and where each controller's hierarchy is.
 *
 * The mounts say it first (`/proc/self/mountinfo`): a cgroup2 mount at the root is v2; cgroup v1
 * mounts at or under the root carrying `cpu`, `cpuacct`, `cpuset`, `memory` are v1 (also on a
 * hybrid host, where an empty cgroup2 sits at `unified/`). A root that is no mount (a file tree in
 * a test, a container that bind-mounted the host's tree) is judged by its contents. The driver is
 * whichever of `kubepods.slice` (systemd) and `kubepods` (cgroupfs) exists under the parent.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { validParent } from './paths.ts';
import { CONTROLLERS, type CgroupDriver, type CgroupLayout, type CgroupOptions, type CgroupVersion, type Controller } from './types.ts';

/** The cgroup tree is not what a kubelet node has, or the configuration contradicts it. */
export class CgroupLayoutError extends Error {
  override name = 'CgroupLayoutError';
}

export const DEFAULT_CGROUP_ROOT = '/sys/fs/cgroup';

interface Mount {
  /** The directory of the filesystem the mount shows: `/` unless a cgroup namespace or bind mount shows a subtree. */
  mountRoot: string;
  mountPoint: string;
  fsType: string;
  superOptions: string[];
}

/** The mounts of a `mountinfo` file: mount point, filesystem type and super options. */
export function parseMountinfo(text: string): Mount[] {
  const out: Mount[] = [];
  for (const line of text.split('\n')) {
    const dash = line.indexOf(' - ');
    if (dash < 0) continue;
    const left = line.slice(0, dash).split(' ');
    const right = line.slice(dash + 3).split(' ');
    if (left.length < 5 || right.length < 3) continue;
    const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    out.push({ mountRoot: unescape(left[3]), mountPoint: unescape(left[4]), fsType: right[0], superOptions: right[2].split(',') });
  }
  return out;
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function under(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith('/') ? root : `${root}/`);
}

/** v1 controller directories from the mounts under the root. */
function v1DirsFromMounts(mounts: Mount[], root: string): Partial<Record<Controller, string>> {
  const dirs: Partial<Record<Controller, string>> = {};
  for (const m of mounts) {
    if (m.fsType !== 'cgroup' || !under(m.mountPoint, root)) continue;
    for (const c of CONTROLLERS) if (m.superOptions.includes(c) && !dirs[c]) dirs[c] = m.mountPoint;
  }
  return dirs;
}

/** v1 controller directories from the root's entries: `cpu`, or a co-mount such as `cpu,cpuacct`. */
async function v1DirsFromContents(root: string): Promise<Partial<Record<Controller, string>>> {
  const dirs: Partial<Record<Controller, string>> = {};
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return dirs;
  }
  for (const c of CONTROLLERS) {
    if (names.includes(c) && (await isDir(join(root, c)))) {
      dirs[c] = join(root, c);
      continue;
    }
    const co = names.find((n) => n.split(',').includes(c));
    if (co && (await isDir(join(root, co)))) dirs[c] = join(root, co);
  }
  return dirs;
}

function complete(dirs: Partial<Record<Controller, string>>): dirs is Record<Controller, string> {
  return CONTROLLERS.every((c) => dirs[c] !== undefined);
}

/**
 * Finds the layout of the cgroup tree at `o.root` (default `/sys/fs/cgroup`). A configured version
 * or driver is taken as given (the directories are still looked up); a tree that fits neither
 * version, or has no `kubepods` (or both kinds) under the parent when the driver is not given,
 * is a `CgroupLayoutError` naming what was looked for.
 */
export async function detectLayout(o: CgroupOptions = {}): Promise<CgroupLayout> {
  const root = resolve(o.root ?? DEFAULT_CGROUP_ROOT);
  const parent = validParent(o.parent);
  let mounts: Mount[] = [];
  try {
    mounts = parseMountinfo(await readFile(o.mountinfo ?? '/proc/self/mountinfo', 'utf8'));
  } catch {
    // No mount table (not Linux, or a sandbox): the root's contents decide.
  }
  const unifiedAtRoot = mounts.some((m) => m.fsType === 'cgroup2' && m.mountPoint === root);
  let v1 = v1DirsFromMounts(mounts, root);
  if (!complete(v1)) v1 = { ...(await v1DirsFromContents(root)), ...v1 };

  let version: CgroupVersion;
  if (o.version) version = o.version;
  else if (unifiedAtRoot) version = 'v2';
  else if (complete(v1)) version = 'v1';
  else if (await exists(join(root, 'cgroup.controllers'))) version = 'v2';
  else {
    const missing = CONTROLLERS.filter((c) => !v1[c]);
    throw new CgroupLayoutError(
      `no cgroup tree at ${root}: not a cgroup2 mount (no cgroup.controllers) and no cgroup v1 hierarchy for ${missing.join(', ')}`,
    );
  }

  let dirs: Record<Controller, string>;
  if (version === 'v2') {
    dirs = { cpu: root, cpuacct: root, cpuset: root, memory: root };
  } else {
    if (!complete(v1)) {
      const missing = CONTROLLERS.filter((c) => !v1[c]);
      throw new CgroupLayoutError(`cgroup v1 at ${root} has no hierarchy for ${missing.join(', ')}`);
    }
    dirs = v1;
  }

  // In a container with its own cgroup namespace the mounts show only the container's subtree.
  const partial = mounts.find((m) => (m.fsType === 'cgroup' || m.fsType === 'cgroup2') && under(m.mountPoint, root) && m.mountRoot !== '/');
  const hint = partial ? `; the mount at ${partial.mountPoint} shows only ${partial.mountRoot} of its hierarchy (a cgroup namespace?): mount the host's cgroup tree` : '';
  const driver = o.driver ?? (await detectDriver(join(dirs.cpu, parent), hint));
  return Object.freeze({ version, driver, root, parent, dirs: Object.freeze(dirs) });
}

async function detectDriver(base: string, hint: string): Promise<CgroupDriver> {
  const systemd = await isDir(join(base, 'kubepods.slice'));
  const cgroupfs = await isDir(join(base, 'kubepods'));
  if (systemd && cgroupfs) throw new CgroupLayoutError(`both kubepods.slice and kubepods exist under ${base}: configure the cgroup driver`);
  if (systemd) return 'systemd';
  if (cgroupfs) return 'cgroupfs';
  throw new CgroupLayoutError(`neither kubepods.slice (systemd) nor kubepods (cgroupfs) exists under ${base}: is the kubelet running? Or configure the cgroup driver${hint}`);
}
