// Shared set-up of the approval workflow suites: one time-skipping server and one PostgreSQL database (the outbox)
// per suite, a fresh worker per test, and decisions signed the way the approval gateway signs them, at the
// server's (possibly skipped) time.
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { JSONWebKeySet } from 'jose';
import { Pool } from 'pg';
import { createActivities } from '../../activities';
import { APPROVAL_AUDIENCE, GATEWAY_ISSUER, type ApprovalActivityConfig } from '../../activities/approval';
import { ApprovalOutbox, type OutboxRow } from '../../activities/approval/outbox';
import { signResubmission, type ResubmissionInput } from '../../activities/approval/resubmission';
import {
  approvalKeySet,
  generateApprovalKeyPair,
  signApprovalDecision,
  type ApprovalKeyPair,
  type SignApprovalOptions,
} from '../../activities/approval/signing';
import { systemsFromEnv, type SystemRegistry } from '../../activities/systems';
import type { ApprovalDecisionInput, ApprovalPolicyInput } from '../../domain/approval';
import type { approvalWorkflow } from '../../workflows';
import { approvalsQuery, type ApprovalSignal, type ResubmitSignal } from '../../workflows/definitions';
import type { ApprovalItem, CheckpointStatus } from '../../contracts';
import { seedPolicyInput } from '../unit/approval-fixtures';
import { testIdentityProvider, type TestIdentityProvider } from '../helpers/identity-provider';
import { freshDatabase } from '../helpers/postgres';
import { freshTimeSkippingServerPerTest, testWorkerOptions, uniqueId, workflowBundle } from '../helpers/temporal';

export interface Harness {
  env: TestWorkflowEnvironment;
  systems: SystemRegistry;
  pool: Pool;
  outbox: ApprovalOutbox;
  signer: ApprovalKeyPair;
  keys: JSONWebKeySet;
  /** The identity provider whose token for the approver every gateway decision carries (issue 18). */
  idp: TestIdentityProvider;
  /** Workflow ids started by the current test (terminated after it). */
  started: string[];
}

/** Call at the top of a suite: registers beforeAll/afterEach/afterAll and returns the (later filled) harness. */
export function approvalSuite(prefix: string): Harness {
  const h = { started: [] as string[] } as Harness;
  beforeAll(async () => {
    const url = await freshDatabase(prefix);
    h.systems = systemsFromEnv({ DATABASE_URL: url });
    h.pool = new Pool({ connectionString: url, max: 2 });
    h.outbox = new ApprovalOutbox(h.pool);
    h.signer = await generateApprovalKeyPair();
    h.keys = approvalKeySet([h.signer]);
    h.idp = await testIdentityProvider();
    await workflowBundle();
  }, 120_000);
  // Workflows a test leaves are terminated before its server goes (each test has its own, see
  // freshTimeSkippingServerPerTest); running tests clean up inside their worker's run, see `running`.
  afterEach(() => terminateStarted(h));
  freshTimeSkippingServerPerTest((env) => (h.env = env));
  afterAll(async () => {
    await h.systems?.close();
    await h.pool?.end();
  });
  return h;
}

async function terminateStarted(h: Harness): Promise<void> {
  for (const id of h.started.splice(0))
    await h.env.client.workflow
      .getHandle(id)
      .terminate('test cleanup')
      .catch(() => undefined);
}

/**
 * Runs a test body on a worker and terminates the workflows it started while that worker still runs, so that the
 * worker's shutdown does not wait on their in-flight activities.
 */
export async function running(h: Harness, worker: Worker, body: () => Promise<void>): Promise<void> {
  await worker.runUntil(async () => {
    try {
      await body();
    } finally {
      await terminateStarted(h);
    }
  });
}

export async function newWorker(h: Harness, taskQueue: string, approval: ApprovalActivityConfig = {}): Promise<Worker> {
  return Worker.create(
    await testWorkerOptions({
      connection: h.env.nativeConnection,
      taskQueue,
      activities: createActivities({
        systems: h.systems,
        approval: { keys: h.keys, identity: h.idp.config, ...approval },
      }),
    }),
  );
}

export type Handle = WorkflowHandle<typeof approvalWorkflow>;

export function policy(edit: (p: ApprovalPolicyInput) => void = () => undefined): ApprovalPolicyInput {
  const p = seedPolicyInput();
  edit(p);
  return p;
}

export async function startApproval(
  h: Harness,
  taskQueue: string,
  input: {
    checkpointId: string;
    item: ApprovalItem;
    approvalPolicy?: ApprovalPolicyInput;
    owner?: string;
    allowUnsignedApprovals?: boolean;
  },
): Promise<Handle> {
  const workflowId = uniqueId(`approval-${input.checkpointId}`);
  h.started.push(workflowId);
  return h.env.client.workflow.start<typeof approvalWorkflow>('approvalWorkflow', {
    taskQueue,
    workflowId,
    args: [{ approvalPolicy: policy(), owner: 'dora', ...input }],
  });
}

export async function serverNow(h: Harness): Promise<Date> {
  return new Date(await h.env.currentTimeMs());
}

/**
 * An approval signal as the gateway makes it: the token bound to this workflow, signed at the server's time, with
 * the identity provider's token for the approver in it (valid as long as the decision), unless `identityProof`
 * names another (or null: none).
 */
export async function signed(
  h: Harness,
  handle: { workflowId: string },
  decision: Partial<ApprovalDecisionInput> & Pick<ApprovalDecisionInput, 'approverId'>,
  opts: Omit<Partial<SignApprovalOptions>, 'identityProof'> & {
    key?: ApprovalKeyPair;
    identityProof?: string | null;
  } = {},
): Promise<ApprovalSignal & { token: string; nonce: string }> {
  const checkpointId = decision.checkpointId ?? 'je-approval';
  const now = await serverNow(h);
  const { identityProof, ...options } = opts;
  const proof =
    identityProof === undefined
      ? await h.idp.token(decision.approverId, { now: opts.now ?? now, ttlSeconds: opts.ttlSeconds ?? 900 })
      : identityProof;
  const { token, nonce } = await signApprovalDecision(
    { workflowId: handle.workflowId, checkpointId, round: 1, decision: 'approved', roles: [], ...decision },
    opts.key ?? h.signer,
    {
      issuer: GATEWAY_ISSUER,
      audience: APPROVAL_AUDIENCE,
      now,
      ...options,
      ...(proof !== null ? { identityProof: proof } : {}),
    },
  );
  return { checkpointId, token, nonce, round: decision.round ?? 1 };
}

export async function signedResubmission(
  h: Harness,
  handle: { workflowId: string },
  fields: Partial<ResubmissionInput> & Pick<ResubmissionInput, 'preparerId'>,
): Promise<ResubmitSignal & { token: string }> {
  const checkpointId = fields.checkpointId ?? 'je-approval';
  const round = fields.round ?? 2;
  const { token } = await signResubmission(
    { workflowId: handle.workflowId, checkpointId, round, ...fields },
    h.signer,
    { issuer: GATEWAY_ISSUER, audience: APPROVAL_AUDIENCE, now: await serverNow(h) },
  );
  return { checkpointId, round, token };
}

export async function checkpoint(handle: Handle, id?: string): Promise<CheckpointStatus> {
  const s = await handle.query(approvalsQuery);
  const cp = id ? s.checkpoints.find((c) => c.checkpointId === id) : s.checkpoints[0];
  if (!cp) throw new Error(`no checkpoint ${id ?? ''} yet`);
  return cp;
}

export async function waitFor<T>(probe: () => Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < 300; i++) {
    try {
      last = await probe();
      if (ok(last)) return last;
    } catch {
      // not there yet (e.g. the checkpoint has not opened)
    }
    await new Promise((r) => setTimeout(r, 30));
  }
  throw new Error(`${what} never happened; last seen: ${JSON.stringify(last)?.slice(0, 2000)}`);
}

/** Waits until the checkpoint is open (its first round's notification is being written). */
export function opened(handle: Handle, id?: string): Promise<CheckpointStatus> {
  return waitFor(
    () => checkpoint(handle, id),
    (c) => c.state === 'open',
    'checkpoint open',
  );
}

/** Notifications of a workflow, once at least `count` are in the outbox. */
export async function notifications(h: Harness, workflowId: string, count: number): Promise<OutboxRow[]> {
  return waitFor(
    () => h.outbox.forWorkflow(workflowId),
    (rows) => rows.length >= count,
    `${count} notifications`,
  );
}

export const JE_75K: ApprovalItem = {
  type: 'journal_entry',
  amount: '75000.00',
  currency: 'USD',
  preparer: 'ann',
  ref: 'JE-2026-10-042',
  evidence: [{ kind: 'je_support', ref: 'store://je/JE-2026-10-042/support.pdf' }],
};

export { uniqueId };
