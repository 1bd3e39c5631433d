import { ApplicationFailure, condition, executeChild, setHandler, workflowInfo } from '@temporalio/workflow';
import { reconWorkflowId } from '../domain/ids';
import { createCheckpoints } from './approval/checkpoints';
import { statusQuery } from './definitions';
import { reconciliationWorkflow } from './reconciliation';
import type {
  ApprovalTaskConfig,
  CloseStatus,
  CloseTaskSpec,
  MonthEndCloseInput,
  ReconciliationTaskConfig,
  TaskStatus,
} from './types';

function validatePlan(tasks: CloseTaskSpec[]): void {
  const ids = new Set<string>();
  for (const t of tasks) {
    if (ids.has(t.id)) throw ApplicationFailure.nonRetryable(`task id ${t.id} appears twice`, 'InvalidClosePlan');
    ids.add(t.id);
  }
  for (const t of tasks)
    for (const p of t.predecessors ?? [])
      if (!ids.has(p))
        throw ApplicationFailure.nonRetryable(`task ${t.id} depends on unknown task ${p}`, 'InvalidClosePlan');
  // Kahn's algorithm: whatever is left after peeling off tasks with no open predecessors sits on a cycle.
  const indegree = new Map(tasks.map((t) => [t.id, (t.predecessors ?? []).length]));
  const queue = tasks.filter((t) => indegree.get(t.id) === 0).map((t) => t.id);
  let seen = 0;
  while (queue.length) {
    const id = queue.shift() as string;
    seen++;
    for (const t of tasks)
      if ((t.predecessors ?? []).includes(id)) {
        indegree.set(t.id, (indegree.get(t.id) ?? 0) - 1);
        if (indegree.get(t.id) === 0) queue.push(t.id);
      }
  }
  if (seen !== tasks.length) {
    const stuck = tasks.filter((t) => (indegree.get(t.id) ?? 0) > 0).map((t) => t.id);
    throw ApplicationFailure.nonRetryable(
      `close plan has a dependency cycle among: ${stuck.join(', ')}`,
      'InvalidClosePlan',
    );
  }
}

export async function monthEndCloseWorkflow(input: MonthEndCloseInput): Promise<CloseStatus> {
  validatePlan(input.tasks);
  const now = () => new Date().toISOString(); // the workflow clock: deterministic on replay
  const tasks: TaskStatus[] = input.tasks.map((t) => ({
    id: t.id,
    name: t.name ?? t.id,
    kind: t.kind,
    state: 'pending',
  }));
  const checkpoints = createCheckpoints({
    now,
    policy: input.approvalPolicy,
    owner: input.owner,
    allowUnsignedApprovals: input.allowUnsignedApprovals,
  });
  checkpoints.install();
  const byId = (id: string) => tasks.find((t) => t.id === id) as TaskStatus;

  const status = (): CloseStatus => {
    const finished = tasks.filter((t) => t.state === 'done' || t.state === 'done_with_exceptions').length;
    const blocked = tasks.some((t) => t.state === 'blocked' || t.state === 'failed');
    const allSettled = tasks.every((t) => t.state !== 'pending' && t.state !== 'running');
    return {
      closeId: workflowInfo().workflowId,
      company: input.company,
      period: input.period,
      state: allSettled ? (blocked ? 'blocked' : 'completed') : 'running',
      tasks,
      checkpoints: checkpoints.statuses(),
      percentDone: Math.round((finished / Math.max(tasks.length, 1)) * 100),
    };
  };
  setHandler(statusQuery, status);

  async function runReconciliation(task: TaskStatus, config: ReconciliationTaskConfig): Promise<void> {
    const summary = await executeChild(reconciliationWorkflow, {
      workflowId: reconWorkflowId(input.company, input.period, config.reconId),
      args: [{ company: input.company, period: input.period, reconId: config.reconId, a: config.a, b: config.b }],
    });
    task.result = summary;
    task.state = summary.status === 'balanced' ? 'done' : 'done_with_exceptions';
  }

  async function runApproval(task: TaskStatus, config: ApprovalTaskConfig): Promise<void> {
    const outcome = await checkpoints.run(config);
    task.state = outcome.state === 'approved' ? 'done' : 'blocked';
    if (outcome.reason) task.reason = outcome.reason;
  }

  async function run(spec: CloseTaskSpec): Promise<void> {
    const task = byId(spec.id);
    task.state = 'running';
    task.startedAt = now();
    try {
      if (spec.kind === 'reconciliation') await runReconciliation(task, spec.config as ReconciliationTaskConfig);
      else await runApproval(task, spec.config as ApprovalTaskConfig);
    } catch (err) {
      task.state = 'failed';
      task.reason = err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
    }
    task.finishedAt = now();
  }

  const started = new Set<string>();
  const inFlight: Promise<void>[] = [];
  for (;;) {
    for (const spec of input.tasks) {
      if (started.has(spec.id)) continue;
      const preds = (spec.predecessors ?? []).map(byId);
      if (preds.some((p) => p.state === 'blocked' || p.state === 'failed')) {
        started.add(spec.id);
        const task = byId(spec.id);
        task.state = 'blocked';
        task.reason = `dependency cannot be met: ${preds
          .filter((p) => p.state === 'blocked' || p.state === 'failed')
          .map((p) => p.id)
          .join(', ')}`;
        continue;
      }
      if (preds.every((p) => p.state === 'done' || p.state === 'done_with_exceptions')) {
        started.add(spec.id);
        inFlight.push(run(spec));
      }
    }
    const before = tasks.map((t) => t.state).join();
    if (tasks.every((t) => t.state !== 'pending' && t.state !== 'running')) break;
    await condition(() => tasks.map((t) => t.state).join() !== before);
  }
  await Promise.all(inFlight);
  return status();
}
