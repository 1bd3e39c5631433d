// Shared pieces of the close workflow suites: a worker with the real activities (plus a suite's own activities
// for kinds whose real implementation needs more than the suite sets up), typed starts, status polling, and
// approval tokens signed the way `finflow approve --signing-key` signs them (each person's own key).
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { JSONWebKeySet } from 'jose';
import { createActivities } from '../../activities';
import { APPROVAL_AUDIENCE, CLI_ISSUER } from '../../activities/approval';
import { signApprovalDecision, type ApprovalSigningKey } from '../../activities/approval/signing';
import type { UserKeySource } from '../../activities/approval/user-keys';
import type { SystemRegistry } from '../../activities/systems';
import type { ApprovalDecisionInput } from '../../domain/approval';
import type { ClosePlanInput } from '../../domain/close/plan';
import { statusQuery } from '../../workflows/definitions';
import type { monthEndCloseWorkflow } from '../../workflows';
import type { CloseRunOptions, CloseStatus } from '../../contracts';
import { PeopleKeys } from '../helpers/people-keys';
import { testWorkerOptions, uniqueId } from '../helpers/temporal';

export type CloseStart = ClosePlanInput & CloseRunOptions;

export interface Harness {
  env: () => TestWorkflowEnvironment;
  /** Workflow ids to terminate after each test. */
  started: string[];
}

export function companyId(): string {
  return uniqueId('CO').replace(/[^A-Za-z0-9-]/g, '');
}

export async function closeWorker(
  env: TestWorkflowEnvironment,
  taskQueue: string,
  deps: { systems: SystemRegistry; keys?: JSONWebKeySet; userKeys?: UserKeySource; reportDir?: string },
  extra: Record<string, (...args: never[]) => Promise<unknown>> = {},
): Promise<Worker> {
  return Worker.create(
    await testWorkerOptions({
      connection: env.nativeConnection,
      taskQueue,
      activities: {
        ...createActivities({
          systems: deps.systems,
          approval:
            deps.keys || deps.userKeys
              ? { ...(deps.keys ? { keys: deps.keys } : {}), ...(deps.userKeys ? { userKeys: deps.userKeys } : {}) }
              : undefined,
          closeReport: deps.reportDir ? { dir: deps.reportDir } : undefined,
        }),
        ...extra,
      },
    }),
  );
}

export async function startClose(
  h: Harness,
  taskQueue: string,
  plan: CloseStart,
  workflowId = `close:${plan.company}:${plan.period}`,
) {
  h.started.push(workflowId);
  return h.env().client.workflow.start<typeof monthEndCloseWorkflow>('monthEndCloseWorkflow', {
    taskQueue,
    workflowId,
    args: [plan],
  });
}

export async function waitFor(
  handle: { query: (q: typeof statusQuery) => Promise<CloseStatus> },
  ok: (s: CloseStatus) => boolean,
  what = 'the expected state',
): Promise<CloseStatus> {
  let last: CloseStatus | undefined;
  for (let i = 0; i < 300; i++) {
    last = await handle.query(statusQuery);
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(
    `status never reached ${what}; last: ${JSON.stringify(last?.tasks.map((t) => [t.id, t.state, t.reason]))}`,
  );
}

export const task = (s: CloseStatus, id: string) => {
  const t = s.tasks.find((x) => x.id === id);
  if (!t) throw new Error(`no task ${id} in the status`);
  return t;
};

/** An approval token signed at the server's (skipped) time, with the approver's own key when given PeopleKeys. */
export async function signedApproval(
  env: TestWorkflowEnvironment,
  signer: ApprovalSigningKey | PeopleKeys,
  workflowId: string,
  checkpointId: string,
  decision: Omit<ApprovalDecisionInput, 'workflowId' | 'checkpointId' | 'round' | 'roles'>,
) {
  const key = signer instanceof PeopleKeys ? signer.keyOf(decision.approverId) : signer;
  const { token } = await signApprovalDecision({ workflowId, checkpointId, round: 1, roles: [], ...decision }, key, {
    issuer: CLI_ISSUER,
    audience: APPROVAL_AUDIENCE,
    now: new Date(await env.currentTimeMs()),
  });
  return { checkpointId, token };
}

/** Terminates what a test left running: the time-skipping server stalls on worker-less workflows. */
export async function terminateLeftovers(h: Harness): Promise<void> {
  for (const id of h.started.splice(0))
    await h
      .env()
      .client.workflow.getHandle(id)
      .terminate('test cleanup')
      .catch(() => undefined);
}
