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
import type { Condition, Container, ContainerState, ContainerStatus, Pod, PodStatus } from '../../kube/index.ts';
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
  status: PodStatus;
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

function runMs(pod: Pod): number | undefined {
  const a = pod.metadata.annotations ?? {};
  if (a[CRASH_LOOP] === 'true') return CRASH_RUN_MS;
  if (a[RUN_SECONDS] !== undefined && Number.isFinite(Number(a[RUN_SECONDS]))) return Number(a[RUN_SECONDS]) * 1000;
  return (pod.spec?.restartPolicy ?? 'Always') !== 'Always' ? DEFAULT_JOB_RUN_MS : undefined;
}

/** One sync of one pod: the pod and the time it looks at, and what it collects on the way. */
class Sync {
  readonly events: KubeletEvent[] = [];
  /** The earliest time something is due: the kubelet syncs the pod again then. */
  nextAt: number | undefined;
  readonly annotations: Record<string, string>;
  readonly deleting: boolean;

  constructor(
    readonly pod: Pod,
    readonly now: number,
  ) {
    this.annotations = pod.metadata.annotations ?? {};
    this.deleting = Boolean(pod.metadata.deletionTimestamp);
  }

  /** Something happens at `t`: sync again then, if it is still to come. */
  due(t: number): void {
    if (t > this.now) this.nextAt = Math.min(this.nextAt ?? Infinity, t);
  }

  /** A container starts now, with the Events a kubelet records when it pulls, creates and starts it. */
  startContainer(spec: { name: string; image?: string; init?: boolean }, restartCount = 0): ContainerRun {
    const fieldPath = `spec.${spec.init ? 'initContainers' : 'containers'}{${spec.name}}`;
    this.events.push(
      { type: 'Normal', reason: 'Pulled', message: `Container image "${spec.image}" already present on machine`, fieldPath },
      { type: 'Normal', reason: 'Created', message: `Created container: ${spec.name}`, fieldPath },
      { type: 'Normal', reason: 'Started', message: `Started container ${spec.name}`, fieldPath },
    );
    // The API server requires an image; the empty string only satisfies the type.
    return { name: spec.name, image: spec.image ?? '', containerID: newContainerID(), startedAt: this.now, restartCount };
  }
}

/**
 * One sync of `pod` at `now`, from what the kubelet remembers of it (`previous`, undefined for a pod
 * it has not started): the run to remember, the status to report, the Events to record, when to
 * sync again, and whether the pod's deletion is finished.
 */
export function syncPod(pod: Pod, previous: PodRun | undefined, now: number, env: NodeEnv): SyncResult {
  const sync = new Sync(pod, now);
  if (!previous && sync.deleting) return deletedBeforeStart(pod, now);
  if (!previous && env.configErrors?.length) return waitForConfig(pod, env, now, env.configErrors);

  const run = previous ? structuredClone(previous) : startPod(sync, env);
  // A pod the API has as Succeeded or Failed stays so: its containers neither exit nor restart.
  const finishedPhase = pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
  if (sync.deleting && !run.stopped) stopForDeletion(sync, run);
  if (!sync.deleting && !finishedPhase) exitAndRestart(sync, run);
  const containerReady = readiness(sync, run);
  const phase = podPhase(sync, run, finishedPhase);
  const conditions = updateConditions(sync, run, phase, containerReady);
  const status = podStatus(sync, run, env, phase, conditions, containerReady);
  return { run, status, events: sync.events, nextAt: sync.nextAt, finishDeletion: sync.deleting && Boolean(run.stopped) };
}

/** A pod deleted before it started has nothing to stop: its deletion finishes at once. */
function deletedBeforeStart(pod: Pod, now: number): SyncResult {
  return {
    run: { uid: pod.metadata.uid!, startedAt: now, podIP: '', containers: [], initContainers: [], conditions: {}, stopped: true },
    status: pod.status ?? {},
    events: [],
    finishDeletion: true,
  };
}

/** A new pod gets its IP; its init containers run to completion at once, in order; then its containers start. */
function startPod(sync: Sync, env: NodeEnv): PodRun {
  const { pod, now } = sync;
  return {
    uid: pod.metadata.uid!,
    startedAt: now,
    podIP: pod.spec?.hostNetwork ? env.hostIP : env.allocateIP(),
    initContainers: (pod.spec?.initContainers ?? []).map((c) => {
      const r = sync.startContainer({ ...c, init: true });
      r.terminated = { exitCode: 0, reason: 'Completed', startedAt: now, finishedAt: now, containerID: r.containerID };
      return r;
    }),
    containers: (pod.spec?.containers ?? []).map((c) => sync.startContainer(c)),
    conditions: {},
  };
}

/**
 * A pod being deleted: its containers are told to stop (Killing) and stop after their shutdown
 * time, capped by the grace period; one that takes longer than the grace period is killed (137).
 */
function stopForDeletion(sync: Sync, run: PodRun): void {
  const { pod, now, annotations } = sync;
  if (run.stopAt === undefined) {
    const grace = pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    const shutdown = Number(annotations[SHUTDOWN_SECONDS] ?? 0) || 0;
    run.stopAt = now + Math.min(grace, shutdown) * 1000;
    for (const c of run.containers) {
      if (!c.terminated) sync.events.push({ type: 'Normal', reason: 'Killing', message: `Stopping container ${c.name}`, fieldPath: `spec.containers{${c.name}}` });
    }
  }
  if (now < run.stopAt) {
    sync.due(run.stopAt);
    return;
  }
  const grace = pod.metadata.deletionGracePeriodSeconds ?? 30;
  const shutdown = Number(annotations[SHUTDOWN_SECONDS] ?? 0) || 0;
  const killed = shutdown > grace;
  for (const c of run.containers) {
    if (c.terminated) continue;
    c.terminated = { exitCode: killed ? 137 : 0, reason: killed ? 'Error' : 'Completed', startedAt: c.startedAt, finishedAt: now, containerID: c.containerID };
    c.restartAt = undefined;
  }
  run.stopped = true;
}

/**
 * Containers that exit on their own (a crash loop, a run time) and their restarts: a container the
 * restart policy restarts waits out its back-off (BackOff), then starts again.
 */
function exitAndRestart(sync: Sync, run: PodRun): void {
  const { pod, now, annotations } = sync;
  const restartPolicy = pod.spec?.restartPolicy ?? 'Always';
  const exitAfter = runMs(pod);
  for (const c of run.containers) {
    if (c.restartAt !== undefined && now >= c.restartAt) {
      const restarted = sync.startContainer({ name: c.name, image: c.image }, c.restartCount);
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
          sync.events.push({ type: 'Warning', reason: 'BackOff', message: `Back-off restarting failed container ${c.name} in pod ${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`, fieldPath: `spec.containers{${c.name}}` });
        }
      } else sync.due(exitAt);
    }
    if (c.restartAt !== undefined) sync.due(c.restartAt);
  }
}

/** Per container: running, past its readiness probe's initial delay, and not told never to be ready. */
function readiness(sync: Sync, run: PodRun): boolean[] {
  const { pod, now, annotations, deleting } = sync;
  const specs = new Map((pod.spec?.containers ?? []).map((c) => [c.name, c]));
  return run.containers.map((c) => {
    if (c.terminated || c.restartAt !== undefined || deleting) return false;
    if (annotations[NEVER_READY] === 'true') return false;
    const probe = specs.get(c.name)?.readinessProbe;
    if (!probe) return true;
    const readyAt = c.startedAt + (probe.initialDelaySeconds ?? 0) * 1000;
    sync.due(readyAt);
    return now >= readyAt;
  });
}

/** Running once started; Succeeded or Failed once every container has exited for good (unless deleting). */
function podPhase(sync: Sync, run: PodRun, finishedPhase: boolean): string {
  const current = sync.pod.status?.phase;
  const phase = current === 'Pending' || !current ? 'Running' : current;
  const allExited = run.containers.length > 0 && run.containers.every((c) => c.terminated && c.restartAt === undefined);
  if (finishedPhase || !allExited || sync.deleting) return phase;
  return run.containers.every((c) => c.terminated!.exitCode === 0) ? 'Succeeded' : 'Failed';
}

/** The pod's conditions, each keeping its lastTransitionTime while its status stays the same. */
function updateConditions(sync: Sync, run: PodRun, phase: string, containerReady: boolean[]): Condition[] {
  const completed = phase === 'Succeeded' || phase === 'Failed';
  const allReady = containerReady.length > 0 && containerReady.every(Boolean);
  const set = (type: string, status: string, reason?: string, message?: string) => {
    const old = run.conditions[type];
    run.conditions[type] = { status, since: old && old.status === status ? old.since : sync.now, ...(reason ? { reason } : {}), ...(message ? { message } : {}) };
  };
  const notReady = run.containers.filter((_c, i) => !containerReady[i]).map((c) => c.name);
  const notReadyMessage = `containers with unready status: [${notReady.join(' ')}]`;
  set('PodReadyToStartContainers', completed || run.stopped ? 'False' : 'True');
  set('Initialized', 'True');
  if (allReady) {
    set('Ready', 'True');
    set('ContainersReady', 'True');
  } else {
    const reason = completed ? 'PodCompleted' : 'ContainersNotReady';
    set('Ready', 'False', reason, completed ? undefined : notReadyMessage);
    set('ContainersReady', 'False', reason, completed ? undefined : notReadyMessage);
  }
  set('PodScheduled', 'True');
  return ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => {
    const c = run.conditions[type];
    return { type, status: c.status, lastTransitionTime: time(c.since), ...(c.reason ? { reason: c.reason } : {}), ...(c.message ? { message: c.message } : {}) };
  });
}

function terminatedState(t: NonNullable<ContainerRun['terminated']>): ContainerState {
  return { terminated: { exitCode: t.exitCode, reason: t.reason, startedAt: time(t.startedAt), finishedAt: time(t.finishedAt), containerID: t.containerID } };
}

/** A container's status: waiting in CrashLoopBackOff during its back-off, else terminated or running. */
function containerStatus(pod: Pod, c: ContainerRun, ready: boolean): ContainerStatus {
  return {
    name: c.name,
    state:
      c.restartAt !== undefined
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
  };
}

/** The status the kubelet reports; the QoS class, set by the API server, is kept. */
function podStatus(sync: Sync, run: PodRun, env: NodeEnv, phase: string, conditions: Condition[], containerReady: boolean[]): PodStatus {
  const { pod } = sync;
  const status: PodStatus = {
    phase,
    conditions,
    hostIP: env.hostIP,
    hostIPs: [{ ip: env.hostIP }],
    podIP: run.podIP,
    podIPs: [{ ip: run.podIP }],
    startTime: time(run.startedAt),
    ...(run.initContainers.length ? { initContainerStatuses: run.initContainers.map((c) => containerStatus(pod, c, c.terminated?.exitCode === 0)) } : {}),
    containerStatuses: run.containers.map((c, i) => containerStatus(pod, c, containerReady[i])),
  };
  if (pod.status?.qosClass) status.qosClass = pod.status.qosClass;
  return status;
}

/**
 * A pod that cannot start yet: its volumes cannot be mounted (all containers ContainerCreating,
 * `FailedMount`), or a container's environment names what is missing (that container
 * `CreateContainerConfigError` with a `Failed` event, the others still creating). The times
 * stay those of the first look, so that looking again writes nothing new.
 */
function waitForConfig(pod: Pod, env: NodeEnv, now: number, errors: PodConfigError[]): SyncResult {
  const since = pod.status?.startTime ?? time(now);
  const mounting = errors.some((e) => e.kind === 'volume');
  const events: KubeletEvent[] = mounting
    ? errors.map((e) => ({ type: 'Warning' as const, reason: 'FailedMount', message: e.message }))
    : errors.map((e) => ({ type: 'Warning' as const, reason: 'Failed', message: `Error: ${e.message}`, fieldPath: `spec.containers{${e.container}}` }));
  const waiting = (c: Container): ContainerStatus => {
    const err = mounting ? undefined : errors.find((e) => e.container === c.name);
    return {
      name: c.name,
      state: { waiting: err ? { reason: 'CreateContainerConfigError', message: err.message } : { reason: 'ContainerCreating' } },
      lastState: {},
      ready: false,
      restartCount: 0,
      // The API server requires an image; the empty string only satisfies the type.
      image: c.image ?? '',
      imageID: '',
      started: false,
    };
  };
  const names = (pod.spec?.containers ?? []).map((c) => c.name).join(' ');
  const cond = (type: string, status: string, reason?: string, message?: string): Condition => ({ type, status, lastTransitionTime: since, ...(reason ? { reason } : {}), ...(message ? { message } : {}) });
  const status: PodStatus = {
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
