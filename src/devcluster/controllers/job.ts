/**
 * The Job controller: runs pods until `completions` of them have succeeded, at most `parallelism`
 * at a time, and gives up after `backoffLimit` failures. The kubelet finishes a Job's pods after a
 * simulated run time. Status: active, succeeded, failed, startTime, completionTime and the
 * SuccessCriteriaMet/Complete (or FailureTarget/Failed) conditions `kubectl wait` reads.
 */
import { JOBS, PODS, Controller, generateNameSuffix, type Job, type JobStatus, type Pod, type ReconcileContext, type ReconcileKey, type Reconciler } from '../../kube/index.ts';
import { controllerOptions, createObject, informersOf, writeStatus, type ControllerContext } from './context.ts';
import { isReady, isTerminating, nowTime, ownedBy, podFromTemplate, setCondition } from './pods.ts';

export function jobController(ctx: ControllerContext): Controller {
  return new Controller({ ...controllerOptions(ctx, 'job', 4), primary: JOBS, owns: [PODS], reconciler: new JobReconciler(ctx) });
}

class JobReconciler implements Reconciler {
  private readonly cache;

  constructor(private readonly ctx: ControllerContext) {
    this.cache = informersOf(ctx, { jobs: JOBS, pods: PODS });
  }

  async reconcile({ namespace, name }: ReconcileKey, rc: ReconcileContext): Promise<void> {
    const job: Job | undefined = this.cache.jobs.get(namespace, name);
    if (!job || job.metadata.deletionTimestamp) return;
    const finished = (job.status?.conditions ?? []).some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
    const owned: Pod[] = ownedBy(this.cache.pods, job);
    const counts = countPods(job, owned);
    if (!finished && !counts.complete && !counts.failedForGood && !job.spec?.suspend) {
      const completions = job.spec?.completions ?? undefined;
      const parallelism = job.spec?.parallelism ?? 1;
      const wanted = Math.max(0, Math.min(parallelism, completions !== undefined ? completions - counts.succeeded : parallelism) - counts.active.length);
      const creates = Array.from({ length: wanted }, () =>
        createObject(this.ctx, this.cache.pods, podFromTemplate(job.spec?.template, job, `${name}-${generateNameSuffix()}`, { generateName: `${name}-` })),
      );
      await Promise.all(creates);
    }
    rc.ownWrite(await writeStatus(this.ctx, this.cache.jobs, job, jobStatus(job, owned, counts, finished)));
  }
}

interface PodCounts {
  succeeded: number;
  failed: number;
  active: Pod[];
  complete: boolean;
  failedForGood: boolean;
}

function countPods(job: Job, owned: Pod[]): PodCounts {
  const succeeded = owned.filter((p) => p.status?.phase === 'Succeeded').length;
  const failed = owned.filter((p) => p.status?.phase === 'Failed').length;
  const active = owned.filter((p) => !isTerminating(p) && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
  const completions = job.spec?.completions ?? undefined;
  const complete = completions !== undefined ? succeeded >= completions : succeeded > 0 && active.length === 0;
  return { succeeded, failed, active, complete, failedForGood: failed > (job.spec?.backoffLimit ?? 6) };
}

function jobStatus(job: Job, owned: Pod[], counts: PodCounts, finished: boolean): JobStatus {
  const status: JobStatus = { ...job.status };
  status.startTime ??= nowTime();
  status.active = counts.active.length;
  status.ready = counts.active.filter(isReady).length;
  status.succeeded = counts.succeeded;
  status.failed = counts.failed;
  status.terminating = owned.filter(isTerminating).length;
  status.uncountedTerminatedPods = {};
  if (!finished && counts.complete) {
    status.conditions = setCondition(status.conditions, { type: 'SuccessCriteriaMet', status: 'True', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods' });
    status.conditions = setCondition(status.conditions, { type: 'Complete', status: 'True', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods' });
    status.completionTime = nowTime();
  } else if (!finished && counts.failedForGood) {
    status.conditions = setCondition(status.conditions, { type: 'FailureTarget', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' });
    status.conditions = setCondition(status.conditions, { type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' });
  }
  for (const k of ['active', 'succeeded', 'failed'] as const) if (!status[k]) delete status[k];
  return status;
}
