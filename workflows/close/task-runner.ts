// Running a close task's work (issue 19: moved out of workflows/month-end-close.ts, behaviour unchanged): each kind
// runs its own way (reconciliation child, approval checkpoint, a person's `complete`, an activity, the evidence
// package, the close report). A failing task is retried per its policy, then blocked with its reason; a task with a
// finish-to-finish predecessor waits for it before it finishes.
import type { Duration } from '@temporalio/common';
import {
  ApplicationFailure,
  condition,
  executeChild,
  isCancellation,
  patched,
  proxyActivities,
  sleep,
} from '@temporalio/workflow';
import { reconPeriodBounds } from '../../domain/close/fiscal-calendar';
import type { CloseTask } from '../../domain/close/plan';
import { isPersonTask } from '../../domain/close/task-actions';
import { finishBlockers } from '../../domain/close/task-graph';
import {
  activityOutcome,
  evidenceOutcome,
  failedReason,
  finishWaitReason,
  reconciliationOutcome,
  retryingReason,
  type WorkOutcome,
} from '../../domain/close/task-outcome';
import { attestationMissing, attestationRequirement } from '../../domain/compliance/attestation';
import { reconWorkflowId } from '../../domain/ids';
import type { reconciliationWorkflow } from '../reconciliation';
import type {
  ApprovalTaskConfig,
  CloseEvidenceInput,
  CloseEvidenceOutput,
  CloseReportInput,
  ReconciliationSummary,
  TaskStatus,
} from '../types';
import { rewriteFinalReports } from './final-reports';
import { cancelledWithClose, cancelTask } from './cancellation';
import {
  DEFAULT_TASK_RETRY,
  backoffMs,
  failureMessage,
  isNonRetryable,
  smallOutput,
  type RetryPolicy,
} from './runtime';
import {
  allCheckpoints,
  attestedRoles,
  bump,
  closeStatus,
  finishTask,
  graphPlan,
  graphStates,
  nowIso,
  specOf,
  taskOf,
  type CloseRun,
} from './state';

/** patched() id: a documentation task whose config says awaitAttestation waits for a signed `attest` first. */
const DOCUMENTATION_ATTESTATION = 'documentation-attestation';
const TASK_ACTIVITY_TIMEOUT = '1h';

/** A task's activities run one attempt per call: the close's own retry loop counts attempts (shown in status). */
function taskActivities(timeout: Duration) {
  return proxyActivities<Record<string, (input: unknown) => Promise<unknown>>>({
    startToCloseTimeout: timeout,
    retry: { maximumAttempts: 1 },
  });
}

function blockTask(r: CloseRun, t: TaskStatus, reason: string, failed = false): void {
  // The legacy shape reported a task whose work failed as 'failed' (and its callers read that state).
  t.state = failed && r.legacy ? 'failed' : 'blocked';
  t.reason = reason;
  t.finishedAt = nowIso();
}

/** Starts a ready task: a person task waits for its owner's `complete`, any other runs its work now. */
export function startTask(r: CloseRun, id: string): void {
  const t = taskOf(r, id) as TaskStatus;
  const spec = specOf(r, id);
  t.state = 'running';
  t.startedAt = nowIso();
  t.attempts = 0;
  delete t.finishedAt;
  bump(r);
  if (isPersonTask(spec.kind)) return; // waits for its owner's `complete`
  r.inflight.add(id);
  // Not awaited: the loop goes on starting tasks. A rejection (a bug, not a task failure: those are caught
  // inside) stays unhandled and fails the workflow task, as it did when the promise was kept in a map.
  void runTask(r, t, spec);
}

const fiscalBounds = (plan: CloseRun['plan']) => reconPeriodBounds(plan.period, plan.fiscalCalendar);

async function execute(r: CloseRun, t: TaskStatus, spec: CloseTask): Promise<WorkOutcome> {
  const { plan } = r;
  const config = spec.config;
  switch (spec.kind) {
    case 'reconciliation': {
      const reconId = typeof config.reconId === 'string' ? config.reconId : spec.id;
      const summary = await executeChild<typeof reconciliationWorkflow>('reconciliationWorkflow', {
        workflowId: reconWorkflowId(plan.company, plan.period, reconId),
        // A fiscal period's bounds come from the plan's calendar; a calendar month's, from the month (as before).
        args: [{ company: plan.company, period: plan.period, ...fiscalBounds(plan), ...config, reconId }],
        // Without the option the child runs on the close's own task queue, as it always has (same command).
        ...(r.options.reconciliationTaskQueue ? { taskQueue: r.options.reconciliationTaskQueue } : {}),
      });
      t.result = summary;
      return reconciliationOutcome(summary);
    }
    case 'documentation': {
      // The attestation is captured, not pre-written: the package waits for a signed `attest` carrying the
      // control's exact text from a holder of each required role. Histories recorded before this never waited.
      const required = attestationRequirement(config);
      if (required?.awaits && patched(DOCUMENTATION_ATTESTATION)) {
        const missing = () => attestationMissing(required, attestedRoles(r, t.id));
        if (missing().length) {
          t.awaitingAttestation = { text: required.text, requiredFrom: missing() };
          bump(r);
          await condition(() => missing().length === 0);
          delete t.awaitingAttestation;
          bump(r);
        }
      }
      // The reconciliations' reports as their exceptions stand now, before the package lists them.
      await rewriteFinalReports(r);
      const out = (await taskActivities(TASK_ACTIVITY_TIMEOUT).produceCloseEvidence(
        evidenceInput(r, spec),
      )) as CloseEvidenceOutput & { allControlsHeld?: boolean };
      t.output = smallOutput(out);
      return evidenceOutcome(out);
    }
    case 'report': {
      const report: CloseReportInput = { closeWorkflowId: r.closeId, status: closeStatus(r) };
      t.output = smallOutput(await taskActivities(TASK_ACTIVITY_TIMEOUT).generateCloseReport(report));
      return 'done';
    }
    case 'activity': {
      const out = await taskActivities(TASK_ACTIVITY_TIMEOUT)[spec.activity as string]({
        company: plan.company,
        period: plan.period,
        taskId: spec.id,
        config,
      });
      t.output = smallOutput(out);
      return activityOutcome(out);
    }
  }
  throw ApplicationFailure.nonRetryable(
    `task ${spec.id}: kind ${spec.kind} is not run by an activity`,
    'InvalidClosePlan',
  );
}

/** The documentation task's input: the close as it stands, its reconciliations, approvals and journal. */
function evidenceInput(r: CloseRun, spec: CloseTask): CloseEvidenceInput {
  return {
    closeWorkflowId: r.closeId,
    company: r.plan.company,
    period: r.plan.period,
    taskId: spec.id,
    config: spec.config,
    reconciliations: r.tasks.map((x) => x.result).filter((s): s is ReconciliationSummary => !!s),
    approvals: allCheckpoints(r),
    journal: r.journal,
    closeState: 'running',
    startedAt: r.startedAt,
  };
}

/**
 * Runs a task's work and takes it out of `inflight` when it ends, however it ends. The bookkeeping is in this
 * function's own `finally`, not a `.finally()` on its promise: every promise the close creates costs a stack
 * trace (the SDK records one per promise for the stack-trace query), and a burst of completions multiplies it.
 */
async function runTask(r: CloseRun, t: TaskStatus, spec: CloseTask): Promise<void> {
  try {
    if (spec.kind === 'approval') {
      t.attempts = 1;
      try {
        const outcome = await r.checkpoints.run(spec.config as unknown as ApprovalTaskConfig);
        if (outcome.state === 'approved') finishTask(t, 'done');
        else blockTask(r, t, outcome.reason ?? `approval ${outcome.state}`);
      } catch (err) {
        if (isCancellation(err)) throw err;
        blockTask(r, t, failureMessage(err));
      }
      return;
    }
    // The legacy shape ran each task once; a plan task without a policy gets DEFAULT_TASK_RETRY.
    const retry: RetryPolicy = spec.retry ?? (r.legacy ? { maximumAttempts: 1 } : DEFAULT_TASK_RETRY);
    for (let attempt = 1; ; attempt++) {
      t.attempts = attempt;
      bump(r);
      let outcome: WorkOutcome;
      try {
        outcome = await execute(r, t, spec);
      } catch (err) {
        if (isCancellation(err)) throw err;
        const message = failureMessage(err);
        if (attempt >= retry.maximumAttempts || isNonRetryable(err, retry)) {
          blockTask(r, t, failedReason(attempt, message, r.legacy), true);
          return;
        }
        t.reason = retryingReason(attempt, message);
        bump(r);
        await sleep(backoffMs(retry, attempt));
        continue;
      }
      delete t.reason;
      // A finish-to-finish predecessor holds the task open until it has finished cleanly itself. Only a task with
      // one asks the graph: the question costs O(tasks), and a burst of completions would pay it once each.
      const blockers = () => finishBlockers(graphPlan(r), graphStates(r), t.id);
      if (spec.predecessors.some((p) => p.type === 'FF') && blockers().length) {
        t.reason = finishWaitReason(blockers());
        bump(r);
        await condition(() => blockers().length === 0);
        delete t.reason;
      }
      finishTask(t, outcome);
      return;
    }
  } catch (err) {
    // The close was cancelled: the work (child, activity, retry wait, approval) stopped with it.
    if (cancelledWithClose(r, err)) {
      cancelTask(t);
      return;
    }
    throw err;
  } finally {
    r.inflight.delete(t.id);
    bump(r);
  }
}
