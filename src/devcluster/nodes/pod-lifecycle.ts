/**
 * The simulated kubelet's state machine for one pod, pure: from the pod as the API has it, what
 * the kubelet remembers of its containers (`PodRun`) and the time, it computes the pod's status,
 * the Events to record, when to look again, and whether the pod's deletion is finished. Nothing
 * runs: containers "start" when the pod arrives, become ready after their readiness probe's
 * initial delay, and exit when an annotation says so.
 *
 * Annotations (for tests):
 * - `kre.konstellation.io/crash-loop: "true"`: each container exits with 1 after a second and is
 *   restarted after a back-off (CrashLoopBackOff), so restartCount grows.
 * - `kre.konstellation.io/never-ready: "true"`: containers run but never become ready.
 * - `kre.konstellation.io/run-seconds: "N"`: containers exit 0 after N s (a Job's pods run 1 s
 *   unless told otherwise).
 * - `kre.konstellation.io/shutdown-seconds: "N"`: on deletion, containers take N s to stop
 *   (default 0, a process that exits on SIGTERM); the grace period caps it.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { KubeObject } from '../../kube/index.ts';
import type { PodConfigError } from './pod-config.ts';

export const CRASH_LOOP = 'kre.konstellation.io/crash-loop';
export const NEVER_READY = 'kre.konstellation.io/never-ready';
export const RUN_SECONDS = 'kre.konstellation.io/run-seconds';
export const SHUTDOWN_SECONDS = 'kre.konstellation.io/shutdown-seconds';

/** A crashing container runs this long before it exits. */
const CRASH_RUN_MS = 1000;
/** Run time of pods that are meant to finish (restartPolicy Never or OnFailure) when no annotation says. */
const DEFAULT_JOB_RUN_MS = 1000;
/**
 * The restart back-off: the real kubelet's doubling from 10 s to 5 min, started at 1 s here so
 * that a crash loop shows within a test's patience.
 */
const BACKOFF_START_MS = 1000;
const BACKOFF_MAX_MS = 300_000;

export interface ContainerRun {
  name: string;
  image: string;
  containerID: string;
  startedAt: number;
  restartCount: number;
  /** Set while the container is not running: how it ended. */
  terminated?: { exitCode: number; reason: string; startedAt: number; finishedAt: number; containerID: string };
  lastTerminated?: { exitCode: number; reason: string; startedAt: number; finishedAt: number; containerID: string };
  /** Restart at this time (CrashLoopBackOff until then). */
  restartAt?: number;
}

export interface PodRun {
  uid: string;
  startedAt: number;
  podIP: string;
  containers: ContainerRun[];
  initContainers: ContainerRun[];
  /** Condition type → status and since when, so that lastTransitionTime stays put. */
  conditions: Record<string, { status: string; since: number; reason?: string; message?: string }>;
  /** Set once the deletion is noticed: when the containers will have stopped. */
  stopAt?: number;
  stopped?: boolean;
}

export interface KubeletEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  fieldPath?: string;
}

export interface SyncResult {
  run: PodRun;
  status: Record<string, unknown>;
  events: KubeletEvent[];
  /** Sync again at this time (ms since the epoch), if something is due. */
  nextAt?: number;
  /** The containers are gone and the pod is being deleted: delete it with a grace of 0. */
  finishDeletion: boolean;
  /** Nothing started (the pod waits for its configuration): the kubelet keeps no run for it. */
  notStarted?: boolean;
}

export interface NodeEnv {
  hostIP: string;
  /** An IP for a new pod. */
  allocateIP(): string;
  /** What keeps a pod that has not started from starting (pod-config.ts): it waits while any is there. */
  configErrors?: PodConfigError[];
}

/** How often a pod held back by a missing Secret or ConfigMap is looked at again. */
export const CONFIG_RETRY_MS = 2000;

const time = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
export const newContainerID = (): string => `containerd://${randomBytes(32).toString('hex')}`;

function imageID(image: string): string {
  const repo = image.replace(/[:@].*$/, '');
  return `${repo.includes('/') ? repo : `docker.io/library/${repo}`}@sha256:${createHash('sha256').update(image).digest('hex')}`;
}

function backoff(restarts: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * 2 ** Math.max(0, restarts - 1));
}

function runMs(pod: KubeObject): number | undefined {
  const a = pod.metadata.annotations ?? {};
  if (a[CRASH_LOOP] === 'true') return CRASH_RUN_MS;
  if (a[RUN_SECONDS] !== undefined && Number.isFinite(Number(a[RUN_SECONDS]))) return Number(a[RUN_SECONDS]) * 1000;
  return (pod.spec?.restartPolicy ?? 'Always') !== 'Always' ? DEFAULT_JOB_RUN_MS : undefined;
}

function start(pod: KubeObject, spec: any, now: number, events: KubeletEvent[], restartCount = 0): ContainerRun {
  const fieldPath = `spec.${spec.init ? 'initContainers' : 'containers'}{${spec.name}}`;
  events.push(
    { type: 'Normal', reason: 'Pulled', message: `Container image "${spec.image}" already present on machine`, fieldPath },
    { type: 'Normal', reason: 'Created', message: `Created container: ${spec.name}`, fieldPath },
    { type: 'Normal', reason: 'Started', message: `Started container ${spec.name}`, fieldPath },
  );
  return { name: spec.name, image: spec.image, containerID: newContainerID(), startedAt: now, restartCount };
}

export function syncPod(pod: KubeObject, previous: PodRun | undefined, now: number, env: NodeEnv): SyncResult {
  const events: KubeletEvent[] = [];
  const annotations = pod.metadata.annotations ?? {};
  const restartPolicy: string = pod.spec?.restartPolicy ?? 'Always';
  const deleting = Boolean(pod.metadata.deletionTimestamp);
  let nextAt: number | undefined;
  const due = (t: number) => {
    if (t > now) nextAt = Math.min(nextAt ?? Infinity, t);
  };

  // A pod deleted before it started has nothing to stop.
  if (!previous && deleting) {
    return { run: { uid: pod.metadata.uid!, startedAt: now, podIP: '', containers: [], initContainers: [], conditions: {}, stopped: true }, status: pod.status ?? {}, events, finishDeletion: true };
  }

  if (!previous && !deleting && env.configErrors?.length) return waitForConfig(pod, env, now, env.configErrors);

  const run: PodRun = previous
    ? structuredClone(previous)
    : {
        uid: pod.metadata.uid!,
        startedAt: now,
        podIP: pod.spec?.hostNetwork ? env.hostIP : env.allocateIP(),
        // Init containers run to completion at once, in order; then the containers start.
        initContainers: (pod.spec?.initContainers ?? []).map((c: any) => {
          const r = start(pod, { ...c, init: true }, now, events);
          r.terminated = { exitCode: 0, reason: 'Completed', startedAt: now, finishedAt: now, containerID: r.containerID };
          return r;
        }),
        containers: (pod.spec?.containers ?? []).map((c: any) => start(pod, c, now, events)),
        conditions: {},
      };

  const finishedPhase = pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';

  // Deletion: stop the containers after the shutdown time (capped by the grace period), then finish.
  if (deleting && !run.stopped) {
    if (run.stopAt === undefined) {
      const grace = pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
      const shutdown = Number(annotations[SHUTDOWN_SECONDS] ?? 0) || 0;
      run.stopAt = now + Math.min(grace, shutdown) * 1000;
      for (const c of run.containers) {
        if (!c.terminated) events.push({ type: 'Normal', reason: 'Killing', message: `Stopping container ${c.name}`, fieldPath: `spec.containers{${c.name}}` });
      }
    }
    if (now >= run.stopAt) {
      const grace = pod.metadata.deletionGracePeriodSeconds ?? 30;
      const shutdown = Number(annotations[SHUTDOWN_SECONDS] ?? 0) || 0;
      const killed = shutdown > grace;
      for (const c of run.containers) {
        if (c.terminated) continue;
        c.terminated = { exitCode: killed ? 137 : 0, reason: killed ? 'Error' : 'Completed', startedAt: c.startedAt, finishedAt: now, containerID: c.containerID };
        c.restartAt = undefined;
      }
      run.stopped = true;
    } else due(run.stopAt);
  }

  // Containers that exit on their own, and restarts.
  const exitAfter = runMs(pod);
  if (!deleting && !finishedPhase) {
    for (const c of run.containers) {
      if (c.restartAt !== undefined && now >= c.restartAt) {
        const restarted = start(pod, { name: c.name, image: c.image }, now, events, c.restartCount);
        restarted.lastTerminated = c.terminated;
        Object.assign(c, { ...restarted, terminated: undefined, restartAt: undefined });
      }
      if (!c.terminated && exitAfter !== undefined) {
        const exitAt = c.startedAt + exitAfter;
        if (now >= exitAt) {
          const failed = annotations[CRASH_LOOP] === 'true';
          c.terminated = { exitCode: failed ? 1 : 0, reason: failed ? 'Error' : 'Completed', startedAt: c.startedAt, finishedAt: exitAt, containerID: c.containerID };
          const restart = restartPolicy === 'Always' || (restartPolicy === 'OnFailure' && failed);
          if (restart) {
            c.restartCount++;
            c.restartAt = now + backoff(c.restartCount);
            events.push({ type: 'Warning', reason: 'BackOff', message: `Back-off restarting failed container ${c.name} in pod ${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`, fieldPath: `spec.containers{${c.name}}` });
          }
        } else due(exitAt);
      }
      if (c.restartAt !== undefined) due(c.restartAt);
    }
  }

  // Readiness: running, past the readiness probe's initial delay, and not told never to be ready.
  const specs = new Map<string, any>((pod.spec?.containers ?? []).map((c: any) => [c.name, c]));
  const readyOf = (c: ContainerRun): boolean => {
    if (c.terminated || c.restartAt !== undefined || deleting) return false;
    if (annotations[NEVER_READY] === 'true') return false;
    const probe = specs.get(c.name)?.readinessProbe;
    if (!probe) return true;
    const readyAt = c.startedAt + (probe.initialDelaySeconds ?? 0) * 1000;
    due(readyAt);
    return now >= readyAt;
  };
  const containerReady = run.containers.map(readyOf);
  const allReady = containerReady.length > 0 && containerReady.every(Boolean);

  let phase: string = pod.status?.phase === 'Pending' || !pod.status?.phase ? 'Running' : pod.status.phase;
  if (!finishedPhase && run.containers.length > 0 && run.containers.every((c) => c.terminated && c.restartAt === undefined)) {
    if (!deleting) phase = run.containers.every((c) => c.terminated!.exitCode === 0) ? 'Succeeded' : 'Failed';
  }
  const completed = phase === 'Succeeded' || phase === 'Failed';

  const setCond = (type: string, status: string, reason?: string, message?: string) => {
    const old = run.conditions[type];
    run.conditions[type] = { status, since: old && old.status === status ? old.since : now, ...(reason ? { reason } : {}), ...(message ? { message } : {}) };
  };
  const notReady = run.containers.filter((_c, i) => !containerReady[i]).map((c) => c.name);
  const notReadyMessage = `containers with unready status: [${notReady.join(' ')}]`;
  setCond('PodReadyToStartContainers', completed || run.stopped ? 'False' : 'True');
  setCond('Initialized', 'True');
  if (allReady) {
    setCond('Ready', 'True');
    setCond('ContainersReady', 'True');
  } else {
    const reason = completed ? 'PodCompleted' : 'ContainersNotReady';
    setCond('Ready', 'False', reason, completed ? undefined : notReadyMessage);
    setCond('ContainersReady', 'False', reason, completed ? undefined : notReadyMessage);
  }
  setCond('PodScheduled', 'True');
  const conditions = ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => {
    const c = run.conditions[type];
    return { type, status: c.status, lastTransitionTime: time(c.since), ...(c.reason ? { reason: c.reason } : {}), ...(c.message ? { message: c.message } : {}) };
  });

  const terminatedState = (t: NonNullable<ContainerRun['terminated']>) => ({
    terminated: { exitCode: t.exitCode, reason: t.reason, startedAt: time(t.startedAt), finishedAt: time(t.finishedAt), containerID: t.containerID },
  });
  const containerStatus = (c: ContainerRun, ready: boolean) => ({
    name: c.name,
    state: c.restartAt !== undefined
      ? { waiting: { reason: 'CrashLoopBackOff', message: `back-off ${Math.round(backoff(c.restartCount) / 1000)}s restarting failed container=${c.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})` } }
      : c.terminated
        ? terminatedState(c.terminated)
        : { running: { startedAt: time(c.startedAt) } },
    lastState: c.lastTerminated ? terminatedState(c.lastTerminated) : {},
    ready,
    restartCount: c.restartCount,
    image: c.image,
    imageID: imageID(c.image),
    containerID: c.containerID,
    started: !c.terminated && c.restartAt === undefined,
  });

  const status: Record<string, unknown> = {
    phase,
    conditions,
    hostIP: env.hostIP,
    hostIPs: [{ ip: env.hostIP }],
    podIP: run.podIP,
    podIPs: [{ ip: run.podIP }],
    startTime: time(run.startedAt),
    ...(run.initContainers.length ? { initContainerStatuses: run.initContainers.map((c) => containerStatus(c, c.terminated?.exitCode === 0)) } : {}),
    containerStatuses: run.containers.map((c, i) => containerStatus(c, containerReady[i])),
  };
  if (pod.status?.qosClass) status.qosClass = pod.status.qosClass;
  return { run, status, events, nextAt, finishDeletion: deleting && Boolean(run.stopped) };
}

/**
 * A pod that cannot start yet: its volumes cannot be mounted (all containers ContainerCreating,
 * `FailedMount`), or a container's environment names what is missing (that container
 * `CreateContainerConfigError` with a `Failed` event, the others still creating). The times
 * stay those of the first look, so that looking again writes nothing new.
 */
function waitForConfig(pod: KubeObject, env: NodeEnv, now: number, errors: PodConfigError[]): SyncResult {
  const since = pod.status?.startTime ?? time(now);
  const mounting = errors.some((e) => e.kind === 'volume');
  const events: KubeletEvent[] = mounting
    ? errors.map((e) => ({ type: 'Warning' as const, reason: 'FailedMount', message: e.message }))
    : errors.map((e) => ({ type: 'Warning' as const, reason: 'Failed', message: `Error: ${e.message}`, fieldPath: `spec.containers{${e.container}}` }));
  const waiting = (c: any) => {
    const err = mounting ? undefined : errors.find((e) => e.container === c.name);
    return {
      name: c.name,
      state: { waiting: err ? { reason: 'CreateContainerConfigError', message: err.message } : { reason: 'ContainerCreating' } },
      lastState: {},
      ready: false,
      restartCount: 0,
      image: c.image,
      imageID: '',
      started: false,
    };
  };
  const names = (pod.spec?.containers ?? []).map((c: any) => c.name).join(' ');
  const cond = (type: string, status: string, reason?: string, message?: string) => ({ type, status, lastTransitionTime: since, ...(reason ? { reason } : {}), ...(message ? { message } : {}) });
  const status: Record<string, unknown> = {
    phase: 'Pending',
    conditions: [
      cond('PodReadyToStartContainers', mounting ? 'False' : 'True'),
      cond('Initialized', 'True'),
      cond('Ready', 'False', 'ContainersNotReady', `containers with unready status: [${names}]`),
      cond('ContainersReady', 'False', 'ContainersNotReady', `containers with unready status: [${names}]`),
      cond('PodScheduled', 'True'),
    ],
    hostIP: env.hostIP,
    hostIPs: [{ ip: env.hostIP }],
    startTime: since,
    containerStatuses: (pod.spec?.containers ?? []).map(waiting),
  };
  if (pod.status?.qosClass) status.qosClass = pod.status.qosClass;
  const run: PodRun = { uid: pod.metadata.uid!, startedAt: now, podIP: '', containers: [], initContainers: [], conditions: {} };
  return { run, status, events, nextAt: now + CONFIG_RETRY_MS, finishDeletion: false, notStarted: true };
}
