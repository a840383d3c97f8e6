/**
 * The static allocator: rules from the configuration, each a name, a match on the task (namespace,
 * pod name, pod labels) and the allocations to apply. Every rule that matches a task contributes
 * its fields; a later rule overrides an earlier one field by field, so a general rule can come
 * first and an exception after it. Tasks no rule matches get no allocation: they keep what the
 * kernel holds.
 *
 * Values are the seed's normalized ones (see `Allocation` in the cgroups module): `cpu_quota` a
 * fraction of the node (≥ 0; ≥ 1 is no limit), `cpu_shares` in units (≥ 0), `cpuset_cpus` and
 * `cpuset_mems` kernel lists. Whether a cpuset lies within the node is checked when it is applied
 * (the node is only known then), and fails that task's allocation alone.
 */
import { z } from 'zod';
import type { Allocation } from './cgroups/index.ts';
import type { Task } from './tasks.ts';

/** Kernel list syntax: `0`, `0-3`, `0-3,8,10-11`; ascending ranges, no spaces. */
export const KERNEL_LIST = /^\d+(?:-\d+)?(?:,\d+(?:-\d+)?)*$/;

export function kernelListProblem(list: string): string | undefined {
  if (!KERNEL_LIST.test(list)) return `expected a kernel list such as "0-3,8", got ${JSON.stringify(list)}`;
  for (const part of list.split(',')) {
    const [a, b] = part.split('-').map(Number);
    if (b !== undefined && b < a) return `range ${part} goes backwards`;
    if (a > 4095 || (b ?? 0) > 4095) return `${part} is beyond any CPU or memory node a kernel has (4095)`;
  }
  return undefined;
}

const kernelList = z.string().superRefine((s, ctx) => {
  const p = kernelListProblem(s);
  if (p) ctx.addIssue({ code: 'custom', message: p });
});

/** A pod name pattern: exact, or with `*` standing for any run of characters. */
function nameMatcher(pattern: string): (name: string) => boolean {
  if (!pattern.includes('*')) return (n) => n === pattern;
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return (n) => re.test(n);
}

export const AllocationRuleSchema = z.strictObject({
  name: z.string().min(1),
  /** Every given condition must hold; a rule without `match` applies to every task. */
  match: z
    .strictObject({
      namespace: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
      /** The pod's name, exact or with `*` wildcards. */
      name: z.string().min(1).optional(),
      /** Pod labels (as Kubernetes has them, not sanitized) that must all be equal. */
      labels: z.record(z.string(), z.string()).optional(),
    })
    .default({}),
  allocations: z
    .strictObject({
      cpu_quota: z.number().min(0, 'expected a fraction of the node, 0 or more (1 or more: no limit)').optional(),
      cpu_shares: z.number().min(0, 'expected 0 or more shares units').optional(),
      cpuset_cpus: kernelList.optional(),
      cpuset_mems: kernelList.optional(),
    })
    .refine((a) => Object.keys(a).length > 0, 'expected at least one of cpu_quota, cpu_shares, cpuset_cpus, cpuset_mems'),
});

export type AllocationRule = z.infer<typeof AllocationRuleSchema>;

interface CompiledRule {
  rule: AllocationRule;
  matches(t: Task): boolean;
}

function compile(rule: AllocationRule): CompiledRule {
  const namespaces = rule.match.namespace === undefined ? undefined : ([] as string[]).concat(rule.match.namespace);
  const name = rule.match.name === undefined ? undefined : nameMatcher(rule.match.name);
  const labels = Object.entries(rule.match.labels ?? {});
  return {
    rule,
    matches: (t) => (!namespaces || namespaces.includes(t.namespace)) && (!name || name(t.podName)) && labels.every(([k, v]) => t.podLabels[k] === v),
  };
}

export class StaticAllocator {
  private readonly rules: CompiledRule[];

  constructor(rules: AllocationRule[]) {
    this.rules = rules.map(compile);
  }

  /** The desired allocation of each task some rule matches, by task id. */
  allocate(tasks: readonly Task[]): Map<string, Allocation> {
    const out = new Map<string, Allocation>();
    for (const t of tasks) {
      const a: Allocation = {};
      let matched = false;
      for (const { rule, matches } of this.rules) {
        if (!matches(t)) continue;
        matched = true;
        const r = rule.allocations;
        if (r.cpu_quota !== undefined) a.cpuQuota = r.cpu_quota;
        if (r.cpu_shares !== undefined) a.cpuShares = r.cpu_shares;
        if (r.cpuset_cpus !== undefined) a.cpusetCpus = r.cpuset_cpus;
        if (r.cpuset_mems !== undefined) a.cpusetMems = r.cpuset_mems;
      }
      if (matched) out.set(t.id, a);
    }
    return out;
  }
}
