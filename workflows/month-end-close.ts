// The month-end close: runs a close plan's task graph. Ready tasks start in parallel up to the plan's maxParallel,
// in the order of their dependencies (FS, FF, SS_WARN: domain/close/task-graph.ts decides what may start); each
// kind runs its own way (reconciliation child, approval checkpoint, a person's `complete`, an activity, the
// evidence package, the close report). A failing task is retried per its policy, then blocked with its reason;
// what depends on it is blocked too, while independent branches go on. Deadlines are durable timers: a task with
// no slack left is marked at risk, a task past its deadline late, and its owner and the close owner are told.
// People adapt the close through `taskAction` (complete, rerun, waive with an approval, reassign, skip, add,
// pause, resume); every action, accepted or refused, goes in the journal. The history stays bounded: the close
// continues as new, carrying its state, when the history grows large.
// The pieces live beside this file in workflows/close/ (state, task-actions, waivers, deadlines, task-runner) and
// their pure rules in domain/close/; this module keeps the loop.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { withDelegations } from '../domain/approval/delegation';
import { blockedTimeoutMs, isBlocked, waitForChangeMs } from '../domain/close/blocked-timeout';
import { isFinishedState } from '../domain/close/task-actions';
import { eligibleTasks, readyTasks } from '../domain/close/task-graph';
import { cancelledWithClose, endCancelled, watchCancellation } from './close/cancellation';
import { checkDeadlines, resolveDeadlines } from './close/deadlines';
import { directoryUsers, installExceptionActions } from './close/exception-actions';
import { invalidPlan } from './close/input';
import {
  allCheckpoints,
  bump,
  closeStatus,
  graphPlan,
  graphStates,
  nowIso,
  nowMs,
  openCloseRun,
  type CloseRun,
} from './close/state';
import { readModelOf, type ReadModel } from './close/read-model';
import { installSourceWaits } from './close/source-waits';
import { installTaskActions } from './close/task-actions';
import { startTask } from './close/task-runner';
import { statusQuery } from './definitions';
import type { CloseCarriedState, CloseStatus, CloseWorkflowInput } from './types';

export const FINFLOW_COMPANY_KEY = defineSearchAttributeKey('FinflowCompany', SearchAttributeType.KEYWORD);
export const FINFLOW_PERIOD_KEY = defineSearchAttributeKey('FinflowPeriod', SearchAttributeType.KEYWORD);
export const FINFLOW_CLOSE_STATUS_KEY = defineSearchAttributeKey('FinflowCloseStatus', SearchAttributeType.KEYWORD);

const DEFAULT_CONTINUE_AS_NEW_EVENTS = 10_000;

export async function monthEndCloseWorkflow(input: CloseWorkflowInput): Promise<CloseStatus> {
  const r = openCloseRun(input);
  watchCancellation(r);
  const upsertAttributes = searchAttributes(r);
  let readModel: ReadModel | undefined;
  try {
    return await runClose(r, upsertAttributes, (m) => (readModel = m));
  } catch (err) {
    // A cancellation request ends the close as cancelled, with who and why journaled (workflows/close/cancellation).
    if (cancelledWithClose(r, err))
      return endCancelled(r, upsertAttributes, () => readModel?.flush() ?? Promise.resolve());
    throw err;
  }
}

async function runClose(
  r: CloseRun,
  upsertAttributes: () => void,
  opened: (m: ReadModel) => void,
): Promise<CloseStatus> {
  installExceptionActions({
    closeId: r.closeId,
    tasks: () => r.tasks,
    users: () => directoryUsers(r.policy),
    journal: (e) => r.journal.push(e),
    nowIso,
    changed: () => bump(r),
  });
  setHandler(statusQuery, () => closeStatus(r));
  installTaskActions(r);
  installSourceWaits(r);
  // The status read model that readers use instead of the query (workflows/close/read-model.ts).
  const readModel = readModelOf(r, r.options.carried?.statusVersion);
  opened(readModel);

  await resolveDeadlines(r);
  upsertAttributes();
  r.changesThisRun = 0;
  // The legacy shape ended as soon as nothing more could run; a plan waits for a person to rerun, waive or skip.
  let blockedMs: number;
  try {
    blockedMs = blockedTimeoutMs(r.options.blockedTimeout, r.legacy);
  } catch (err) {
    throw invalidPlan(`blockedTimeout: ${(err as Error).message}`);
  }
  let stuckSince: number | undefined;
  for (;;) {
    const wakeAt = checkDeadlines(r);
    if (!r.paused) for (const id of readyTasks(graphPlan(r), graphStates(r))) startTask(r, id);
    if (r.tasks.every((t) => isFinishedState(t.state))) {
      r.state = 'completed';
      break;
    }
    const stuck = isBlocked({
      paused: r.paused,
      working: r.inflight.size,
      waiting: r.waivers.size,
      running: r.tasks.some((t) => t.state === 'running'),
      eligible: () => eligibleTasks(graphPlan(r), graphStates(r)).length,
    });
    r.state = stuck ? 'blocked' : 'running';
    stuckSince = stuck ? (stuckSince ?? nowMs()) : undefined;
    upsertAttributes();
    readModel.publish();
    if (stuck && nowMs() >= (stuckSince as number) + blockedMs) break;

    if (r.inflight.size === 0 && r.waivers.size === 0 && continueAsNewDue(r))
      await continueAsNewWithState(r, readModel);

    const seen = r.version;
    const wait = waitForChangeMs(nowMs(), wakeAt, stuck ? (stuckSince as number) + blockedMs : undefined);
    const woken = () => r.version !== seen || readModel.dirty();
    if (wait === undefined) await condition(woken);
    else await condition(woken, wait);
  }
  r.finishedAt = nowIso();
  upsertAttributes();
  await Promise.all(r.background);
  await readModel.flush();
  return closeStatus(r);
}

/** Upserts FinflowCompany/FinflowPeriod/FinflowCloseStatus when the close asks for them and the status changed. */
function searchAttributes(r: CloseRun): () => void {
  let lastUpserted: string | undefined;
  return () => {
    if (!r.options.searchAttributes) return;
    const value = r.paused && r.state === 'running' ? 'paused' : r.state;
    if (value === lastUpserted) return;
    lastUpserted = value;
    upsertSearchAttributes([
      { key: FINFLOW_COMPANY_KEY, value: r.plan.company },
      { key: FINFLOW_PERIOD_KEY, value: r.plan.period },
      { key: FINFLOW_CLOSE_STATUS_KEY, value },
    ]);
  };
}

function continueAsNewDue(r: CloseRun): boolean {
  const i = workflowInfo();
  const limit = r.options.continueAsNewAfterEvents ?? DEFAULT_CONTINUE_AS_NEW_EVENTS;
  // A run that has changed nothing yet would only hand the same state on again (and again, with a low limit).
  return r.changesThisRun > 0 && (i.continueAsNewSuggested || i.historyLength >= limit);
}

/** Hands the close's state on to a new run, once every handler has finished and every notice is written. */
async function continueAsNewWithState(r: CloseRun, readModel: ReadModel): Promise<never> {
  // The read model's write under way lands first: a person's update that arrives meanwhile is then awaited below.
  await readModel.settle();
  await condition(allHandlersFinished);
  await Promise.all(r.background);
  const next: CloseCarriedState = {
    run: r.run + 1,
    startedAt: r.startedAt,
    plan: r.plan,
    tasks: r.tasks,
    journal: r.journal,
    paused: r.paused,
    checkpoints: allCheckpoints(r).filter((c) => c.state !== 'pending'),
    notified: [...r.notified],
    notifications: r.notifications,
    refusalsNotKept: r.refusalsNotKept,
    legacy: r.legacy,
  };
  if (readModel.version()) next.statusVersion = readModel.version();
  if (r.calendar) next.calendar = r.calendar as CloseCarriedState['calendar'];
  return continueAsNew<typeof monthEndCloseWorkflow>({
    ...r.options,
    // Delegations granted while the close ran (workflows/approval/delegations.ts) go on with it.
    approvalPolicy: withDelegations(r.options.approvalPolicy, r.checkpoints.delegationsReceived()),
    company: r.plan.company,
    period: r.plan.period,
    tasks: [],
    carried: next,
  });
}
