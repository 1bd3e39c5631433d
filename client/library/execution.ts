// An Execution: a close started (or attached to) by an Engine (engine.ts). It follows the close through its
// queries, submits signed approval decisions and task completions, and reads the results in the seed's shape.
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { APPROVAL_AUDIENCE, CLI_ISSUER } from '../../activities/approval/keys';
import { signTaskAction } from '../../activities/approval/task-action-token';
import type { ApprovalSigningKey } from '../../activities/approval/signing';
import type { EvidenceRef } from '../../domain/approval';
import { approvalsQuery, statusQuery, submitApprovalUpdate, type ApprovalAnswer } from '../../workflows/definitions';
import type { CloseStatus, TaskActionAnswer } from '../../workflows/types';
import { attachEvidence } from '../approval-attachments';
import { approvalDecisionPayload, sendApprovalUpdate } from '../approval-decision';
import { cancelClose } from '../close-cancel';
import { readModelStatus, sharedStatusPool, type StatusAnswer, type StatusSourceChoice } from '../close-status-source';
import { submitTaskAction } from '../task-action';
import type { Client } from '@temporalio/client';
import type { TemporalConfig } from '../../platform/config';
import { currentStepOf, reached, resultsOf, type EndedState, type ExecutionResults } from './results';

/** What `submitApproval` takes: who decides what, with which comment and evidence. */
export interface ApprovalSubmission {
  /** The approver's userId. */
  approver: string;
  decision: 'approved' | 'rejected';
  comments?: string;
  /** The checkpoint; default the one checkpoint waiting for a decision. */
  checkpoint?: string;
  evidence?: EvidenceRef[];
  /**
   * Evidence files (`{ kind: 'screenshot', path: 'portal.png' }`): stored by their SHA-256 in FINFLOW_ATTACHMENTS_DIR
   * (where the workers read them), named in the signed decision and copied into the close's evidence package.
   */
  attachments?: { kind: string; path: string }[];
  resolution?: string;
  onBehalfOf?: string;
  level?: number;
  /** Default the engine's signingKey, else FINFLOW_APPROVAL_SIGNING_KEY_FILE. */
  signingKey?: string | ApprovalSigningKey;
  /** DEVELOPMENT ONLY: send without a key; the close refuses it unless it allows unsigned approvals. */
  unsigned?: boolean;
}

export interface WaitOptions {
  /** Milliseconds; default 60,000. */
  timeout?: number;
  /** Milliseconds between looks; default 200. */
  interval?: number;
}

const ENDED: Record<string, EndedState | undefined> = {
  CANCELLED: 'cancelled',
  FAILED: 'failed',
  TERMINATED: 'terminated',
  TIMED_OUT: 'timed_out',
};

/**
 * What an Execution asks of the Engine that made it (engine.ts implements it): the connection, the environment, the
 * approvers' roles and the signing key to use. An interface, so that execution.ts does not import engine.ts.
 */
export interface ExecutionEngine {
  connection(): Promise<{ client: Client; config: TemporalConfig }>;
  environment(): NodeJS.ProcessEnv;
  rolesOf(userId: string): string[];
  signingKeyFor(given: string | ApprovalSigningKey | undefined): Promise<ApprovalSigningKey | undefined>;
}

/** A close started (or attached to) by an Engine. */
export class Execution {
  /** Whether this call started the close (false: it was already running or done). */
  readonly started: boolean;
  readonly #checkpoints: Map<string, string>;
  readonly #closeTaskId: string | undefined;

  constructor(
    private readonly engine: ExecutionEngine,
    /** The close's workflow id (close:<company>:<period>). */
    readonly id: string,
    opts: { started: boolean; checkpoints?: Map<string, string>; closeTaskId?: string },
  ) {
    this.started = opts.started;
    this.#checkpoints = opts.checkpoints ?? new Map();
    this.#closeTaskId = opts.closeTaskId;
  }

  async #handle() {
    return (await this.engine.connection()).client.workflow.getHandle(this.id);
  }

  /**
   * The close's status: every task's state, the checkpoints, progress. From the read model the close keeps in the
   * result store (DATABASE_URL or FINFLOW_SYSTEM_RESULTS_URL of the engine's environment), which answers without
   * waiting for the close's workflow task; else from the workflow (its result once completed, its `status` query).
   * `statusAnswer()` says which path answered and how fresh the read model was.
   */
  async status(): Promise<CloseStatus> {
    return (await this.statusAnswer()).status;
  }

  /**
   * The status with which path answered (`read-model` with its version and age, `query`, or `result`) and, when the
   * read model did not, why. `source: 'read-model'` throws instead of falling back; `source: 'query'` asks the
   * workflow only.
   */
  async statusAnswer(source: StatusSourceChoice = 'auto'): Promise<StatusAnswer> {
    const handle = await this.#handle();
    let fallback: string | undefined;
    if (source !== 'query') {
      const got = await readModelStatus(this.id, sharedStatusPool(this.engine.environment()));
      if ('status' in got) return got;
      if (source === 'read-model') throw new Error(`no status of ${this.id} from the read model: ${got.fallback}`);
      fallback = got.fallback;
    }
    const d = await handle.describe();
    const status =
      d.status.name === 'COMPLETED' ? ((await handle.result()) as CloseStatus) : await handle.query(statusQuery);
    return {
      status,
      source: d.status.name === 'COMPLETED' ? 'result' : 'query',
      ...(fallback ? { fallback } : {}),
    };
  }

  /** The first running task's id, or the close's state ('completed', 'blocked') when none runs. */
  async currentStep(): Promise<string> {
    return currentStepOf(await this.status());
  }

  /**
   * Resolves with the status once the close reaches `step` (an approval task: its checkpoint waits for a decision;
   * another task: it runs or finished) or, for 'completed', once the close completed. Rejects at the timeout,
   * saying where the close is, or at once when there is no such step.
   */
  async waitFor(step: string, opts: WaitOptions = {}): Promise<CloseStatus> {
    const deadline = Date.now() + (opts.timeout ?? 60_000);
    for (;;) {
      let s: CloseStatus | undefined;
      try {
        s = await this.status();
      } catch (err) {
        // Before its first workflow task the close answers no query: keep looking until the deadline.
        if (Date.now() >= deadline) throw err;
      }
      if (s) {
        if (step !== 'completed' && !s.tasks.some((t) => t.id === step))
          throw new Error(`${this.id} has no step ${step} (steps: ${s.tasks.map((t) => t.id).join(', ')})`);
        if (reached(s, step, (t) => this.#checkpoints.get(t))) return s;
        if (Date.now() >= deadline) {
          const blocked = (s.blockers ?? []).map((b) => `${b.task}: ${b.message}`).join('; ');
          throw new Error(
            `${this.id} did not reach ${step} within ${opts.timeout ?? 60_000} ms: it is ${s.state} at ${currentStepOf(s)}` +
              (blocked ? ` (blocked: ${blocked})` : ''),
          );
        }
      }
      await new Promise((r) => setTimeout(r, opts.interval ?? 200));
    }
  }

  /**
   * A person's decision on the checkpoint waiting for one, signed with their key (as `finflow approve
   * --signing-key`); the workflow verifies it and answers. Refusals by the workflow (wrong role, over the limit,
   * the preparer approving their own item) come back as `accepted: false` with the reason. Throws when the
   * checkpoint is not waiting for a decision, naming what is.
   */
  async submitApproval(s: ApprovalSubmission): Promise<ApprovalAnswer> {
    const { client } = await this.engine.connection();
    const approvals = await (await this.#handle()).query(approvalsQuery);
    const open = approvals.checkpoints.filter((c) => c.state === 'open');
    const waiting = open.map((c) => c.checkpointId).join(', ') || 'none';
    let checkpointId = s.checkpoint;
    if (checkpointId === undefined) {
      if (open.length !== 1)
        throw new Error(
          open.length === 0
            ? `no checkpoint of ${this.id} is waiting for a decision (the close is at ${await this.currentStep()})`
            : `several checkpoints wait for a decision (${waiting}): name one with { checkpoint }`,
        );
      checkpointId = open[0].checkpointId;
    } else if (!open.some((c) => c.checkpointId === checkpointId)) {
      const cp = approvals.checkpoints.find((c) => c.checkpointId === checkpointId);
      throw new Error(
        `checkpoint ${checkpointId} is not waiting for a decision (${cp ? `it is ${cp.state}` : 'it is not open'}); ` +
          `waiting: ${waiting}; the close is at ${await this.currentStep()}`,
      );
    }
    const key = await this.engine.signingKeyFor(s.signingKey);
    if (!key && !s.unsigned)
      throw new Error(
        `submitApproval needs the approver's signing key (signingKey, the Engine's signingKey or ` +
          'FINFLOW_APPROVAL_SIGNING_KEY_FILE); a decision without one counts only in a close that allows unsigned approvals',
      );
    const payload = await approvalDecisionPayload(
      client,
      this.id,
      {
        checkpointId,
        approverId: s.approver,
        decision: s.decision,
        ...(s.comments !== undefined ? { comments: s.comments } : {}),
        ...(s.evidence || s.attachments?.length
          ? {
              evidence: [
                ...(s.evidence ?? []),
                ...(await attachEvidence(
                  (s.attachments ?? []).map((a) => `${a.kind}=${a.path}`),
                  this.engine.environment(),
                )),
              ],
            }
          : {}),
        ...(s.resolution !== undefined ? { resolution: s.resolution } : {}),
        ...(s.onBehalfOf ? { onBehalfOf: s.onBehalfOf } : {}),
        ...(s.level ? { level: s.level } : {}),
        roles: this.engine.rolesOf(s.approver),
      },
      key,
    );
    return sendApprovalUpdate(client, this.id, submitApprovalUpdate, payload);
  }

  /**
   * A person's completion of a task waiting for one (a journal entry, a manual task), signed with their key as
   * `finflow task complete --signing-key` does; the close answers (refusals come back as `accepted: false`).
   * Throws, naming what runs, when the task is not running.
   */
  async completeTask(
    taskId: string,
    c: { by: string; note?: string; signingKey?: string | ApprovalSigningKey; unsigned?: boolean },
  ): Promise<TaskActionAnswer> {
    const status = await this.status();
    const task = status.tasks.find((t) => t.id === taskId);
    if (!task || task.state !== 'running')
      throw new Error(
        `task ${taskId} is not waiting to be completed (${task ? `it is ${task.state}` : 'no such task'}); ` +
          `running: ${
            status.tasks
              .filter((t) => t.state === 'running')
              .map((t) => t.id)
              .join(', ') || 'none'
          }`,
      );
    const action = { action: 'complete' as const, taskId, by: c.by, ...(c.note !== undefined ? { note: c.note } : {}) };
    const key = await this.engine.signingKeyFor(c.signingKey);
    if (!key && !c.unsigned)
      throw new Error(
        "completeTask needs the person's signing key (signingKey, the Engine's signingKey or " +
          'FINFLOW_APPROVAL_SIGNING_KEY_FILE); a completion without one counts only in a close that takes unsigned actions',
      );
    const token = key
      ? (
          await signTaskAction({ ...action, workflowId: this.id }, key, {
            issuer: CLI_ISSUER,
            audience: APPROVAL_AUDIENCE,
          })
        ).token
      : undefined;
    const { client } = await this.engine.connection();
    return submitTaskAction(client, this.id, { ...action, ...(token ? { token } : {}) });
  }

  /** The seed's results: status, reconciliation figures, the compliance documentation file, the close task's state. */
  async getResults(): Promise<ExecutionResults> {
    const handle = await this.#handle();
    const d = await handle.describe();
    const ended = ENDED[d.status.name];
    let status: CloseStatus | undefined;
    if (d.status.name === 'COMPLETED') status = (await handle.result()) as CloseStatus;
    else
      status = await handle.query(statusQuery).catch((err: unknown) => {
        if (ended) return undefined; // an ended close with no worker to answer: the state is all there is
        throw err;
      });
    const reportFile = status?.tasks.some((t) => t.kind === 'documentation' && t.output)
      ? (await import('../../activities/compliance/package')).REPORT_PDF
      : '';
    return resultsOf(this.id, status, { ended, closeTaskId: this.#closeTaskId, reportFile, join });
  }

  /**
   * Cancels the close: a Temporal cancellation request, preceded by the note naming who and why. The close stops
   * its running reconciliations, activities and timers, journals the cancellation (and sends it to the audit
   * ledger) and ends cancelled; `status()` then says so with `cancellation`. The note is signed with `signingKey`
   * (or the Engine's), which proves `by`; without a key `by` is recorded as claimed. Throws when the close is not
   * running, naming its state.
   */
  async cancel(
    o: string | { by?: string; reason?: string; signingKey?: string | ApprovalSigningKey } = {},
  ): Promise<void> {
    const given = typeof o === 'string' ? { reason: o } : o;
    const env = this.engine.environment();
    const by = given.by ?? env.FINFLOW_ACTOR ?? env.USER ?? userInfo().username;
    const signingKey = await this.engine.signingKeyFor(given.signingKey);
    const { client } = await this.engine.connection();
    await cancelClose(client, this.id, {
      by,
      reason: given.reason ?? 'cancelled through the finflow library',
      ...(signingKey ? { signingKey } : {}),
    });
  }
}
