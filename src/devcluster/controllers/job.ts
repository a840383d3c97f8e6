/**
 * The Job controller: runs pods until `completions` of them have succeeded, at most `parallelism`
 * at a time, and gives up after `backoffLimit` failures. The kubelet finishes a Job's pods after a
 * simulated run time. Status: active, succeeded, failed, startTime, completionTime and the
 * SuccessCriteriaMet/Complete (or FailureTarget/Failed) conditions `kubectl wait` reads.
 */
import { generateNameSuffix, keyOf, splitKey, type KubeObject } from '../../kube/index.ts';
import { OwnWrites, createObject, writeStatus, type ControllerContext } from './context.ts';
import { ControlLoop } from './loop.ts';
import { controllerRef, isControlledBy, isReady, isTerminating, nowTime, podFromTemplate, setCondition } from './pods.ts';
import { JOBS, PODS } from './resources.ts';

export function startJobController(ctx: ControllerContext): ControlLoop {
  const jobs = ctx.informers.for(JOBS);
  const pods = ctx.informers.for(PODS);
  const loop = new ControlLoop('job', reconcile, ctx.log);

  const enqueueObj = (j: KubeObject) => loop.enqueue(keyOf(j.metadata.namespace, j.metadata.name!));
  const own = new OwnWrites();
  jobs.on({ onAdd: enqueueObj, onUpdate: (_o, j) => own.isOwn(j) || enqueueObj(j), onDelete: (j) => own.forget(j) });
  const podChanged = (pod: KubeObject) => {
    const ref = controllerRef(pod);
    if (ref?.kind === 'Job') loop.enqueue(keyOf(pod.metadata.namespace, ref.name));
  };
  pods.on({ onAdd: podChanged, onUpdate: (_o, p) => podChanged(p), onDelete: podChanged });

  async function reconcile(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const job = jobs.get(namespace, name);
    if (!job || job.metadata.deletionTimestamp) return;
    const finished = (job.status?.conditions ?? []).some((c: any) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
    const owned = pods.list(namespace, job.spec?.selector).filter((p) => isControlledBy(p, job));
    const succeeded = owned.filter((p) => p.status?.phase === 'Succeeded').length;
    const failed = owned.filter((p) => p.status?.phase === 'Failed').length;
    const active = owned.filter((p) => !isTerminating(p) && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
    const parallelism: number = job.spec?.parallelism ?? 1;
    const completions: number | undefined = job.spec?.completions ?? undefined;
    const backoffLimit: number = job.spec?.backoffLimit ?? 6;
    const complete = completions !== undefined ? succeeded >= completions : succeeded > 0 && active.length === 0;
    const failedForGood = failed > backoffLimit;

    if (!finished && !complete && !failedForGood && !job.spec?.suspend) {
      const wanted = Math.max(0, Math.min(parallelism, completions !== undefined ? completions - succeeded : parallelism) - active.length);
      const creates = Array.from({ length: wanted }, () =>
        createObject(ctx, pods, podFromTemplate(job.spec.template, job, `${name}-${generateNameSuffix()}`, { generateName: `${name}-` })),
      );
      await Promise.all(creates);
    }

    const status: Record<string, any> = { ...job.status };
    status.startTime ??= nowTime();
    status.active = active.length;
    status.ready = active.filter(isReady).length;
    status.succeeded = succeeded;
    status.failed = failed;
    status.terminating = owned.filter(isTerminating).length;
    status.uncountedTerminatedPods = {};
    if (!finished && complete) {
      status.conditions = setCondition(status.conditions, { type: 'SuccessCriteriaMet', status: 'True', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods' });
      status.conditions = setCondition(status.conditions, { type: 'Complete', status: 'True', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods' });
      status.completionTime = nowTime();
    } else if (!finished && failedForGood) {
      status.conditions = setCondition(status.conditions, { type: 'FailureTarget', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' });
      status.conditions = setCondition(status.conditions, { type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' });
    }
    for (const k of ['active', 'succeeded', 'failed']) if (!status[k]) delete status[k];
    own.note(await writeStatus(ctx, jobs, job, status));
  }

  return loop;
}
