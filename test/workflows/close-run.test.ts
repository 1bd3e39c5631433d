import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { exportJWK, generateKeyPair, SignJWT, type JSONWebKeySet } from 'jose';
import { Client } from 'pg';
import { APPROVAL_AUDIENCE, CLI_ISSUER, GATEWAY_ISSUER } from '../../activities/approval/keys';
import {
  approvalKeySet,
  generateApprovalKeyPair,
  type ApprovalKeyPair,
  type ApprovalSigningKey,
} from '../../activities/approval/signing';
import { signTaskAction } from '../../activities/approval/task-action-token';
import { systemsFromEnv, type SystemRegistry } from '../../activities/systems';
import { buildApprovalGateway } from '../../client/approval-gateway';
import { parseApprovalPolicy } from '../../domain/approval';
import { approvalSignal, statusQuery, submitTaskActionUpdate, taskActionSignal } from '../../workflows/definitions';
import type { CloseEvidenceInput, TaskAction } from '../../contracts';
import { PeopleKeys } from '../helpers/people-keys';
import { freshDatabase } from '../helpers/postgres';
import { freshTimeSkippingServerPerTest, uniqueId, workflowBundle } from '../helpers/temporal';
import { seedPolicyInput } from '../unit/approval-fixtures';
import {
  closeWorker,
  companyId,
  signedApproval,
  startClose,
  task,
  terminateLeftovers,
  waitFor,
  type CloseStart,
  type Harness,
} from './close-harness';

let env: TestWorkflowEnvironment;
let systems: SystemRegistry;
/** The gateway's key: signs for the people the identity provider proved (FINFLOW_APPROVAL_JWKS_FILE). */
let signer: ApprovalKeyPair;
let keys: JSONWebKeySet;
/** Each person's own key for what they sign through the CLI, in the user key directory the worker reads. */
let people: PeopleKeys;
const h: Harness = { env: () => env, started: [] };

beforeAll(async () => {
  const url = await freshDatabase('close_run');
  const db = new Client({ connectionString: url });
  await db.connect();
  await db.query(`
    CREATE TABLE gl (account_code text, balance numeric(18,2));
    CREATE TABLE erp (acct_num text, amt numeric(18,2));
    INSERT INTO gl VALUES ('1001','100.00'),('1002','250.10'),('1003','75.00');
    INSERT INTO erp VALUES ('1001','100.00'),('1002','250.09'),('1004','12.34');`);
  await db.end();
  systems = systemsFromEnv({ DATABASE_URL: url });
  signer = await generateApprovalKeyPair();
  keys = approvalKeySet([signer]);
  people = await PeopleKeys.of(['ann', 'sam', 'dora', 'dan', 'sue']);
  await workflowBundle();
}, 120_000);

afterEach(() => terminateLeftovers(h));

freshTimeSkippingServerPerTest((e) => (env = e));

afterAll(async () => {
  await systems?.close();
});

/** The seed's close (examples/monthly-close/close-plan.yaml) in small: parallel reconciliations, then a chain. */
function seedPlan(company: string): CloseStart {
  return {
    company,
    period: '2026-10',
    name: 'seed close',
    owner: 'dora',
    maxParallel: 4,
    approvalPolicy: seedPolicyInput(),
    tasks: [
      { id: 'preliminary_close', name: 'Preliminary close', kind: 'journal_entry', ownerRole: 'accountant' },
      {
        id: 'subsystem_validation',
        name: 'Validate sub-system feeds',
        kind: 'activity',
        activity: 'checkFeeds',
        ownerRole: 'accountant',
        predecessors: ['preliminary_close'],
      },
      {
        id: 'gl_vs_erp',
        name: 'GL vs ERP',
        kind: 'reconciliation',
        ownerRole: 'accountant',
        predecessors: ['subsystem_validation'],
        config: {
          reconId: 'gl-vs-erp',
          a: { system: 'ledger', table: 'gl', keyField: 'account_code', valueField: 'balance' },
          b: { system: 'ledger', table: 'erp', keyField: 'acct_num', valueField: 'amt' },
        },
      },
      {
        id: 'bank_reconciliation',
        name: 'Bank vs GL cash',
        kind: 'activity',
        activity: 'bankRecon',
        ownerRole: 'accountant',
        predecessors: ['subsystem_validation'],
      },
      {
        id: 'reconciliation_approval',
        name: 'Supervisor approval',
        kind: 'approval',
        ownerRole: 'supervisor',
        predecessors: [
          { task: 'gl_vs_erp', type: 'SS_WARN' },
          { task: 'bank_reconciliation', type: 'SS_WARN' },
        ],
        config: { checkpointId: 'je-single', item: { preparer: 'ann', amount: '5000.00', currency: 'USD' } },
      },
      {
        id: 'sox_documentation',
        name: 'SOX documentation',
        kind: 'documentation',
        ownerRole: 'controller',
        predecessors: ['reconciliation_approval'],
        config: { regulation: 'SOX', controlId: 'F-R3-GL-15' },
      },
      {
        id: 'financial_reporting',
        name: 'Close report',
        kind: 'report',
        ownerRole: 'controller',
        predecessors: ['sox_documentation'],
      },
      {
        id: 'management_review',
        name: 'Management review',
        kind: 'manual',
        ownerRole: 'director',
        predecessors: ['financial_reporting'],
      },
    ],
  };
}

/** A close history recorded on older code (test/fixtures/histories) replays on this code without nondeterminism. */
async function expectReplays(file: string): Promise<void> {
  const raw = JSON.parse(readFileSync(join(__dirname, '../fixtures/histories', file), 'utf8')) as Record<
    string,
    unknown
  >;
  const history = temporal.api.history.v1.History.fromObject(raw);
  expect(history.events?.length).toBeGreaterThan(20);
  await expect(
    Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, 'close:REPLAY:2026-10'),
  ).resolves.toBeUndefined();
}

/** Task actions through the submitTaskAction update, each signed (CLI issuer) with its person's own key at server time. */
function signedActions(handle: Awaited<ReturnType<typeof startClose>>) {
  return async (a: Omit<TaskAction, 'token'>) =>
    handle.executeUpdate(submitTaskActionUpdate, {
      args: [
        {
          ...a,
          token: (
            await signTaskAction(
              { ...a, workflowId: handle.workflowId } as Parameters<typeof signTaskAction>[0],
              people.keyOf(a.by),
              {
                issuer: CLI_ISSUER,
                audience: APPROVAL_AUDIENCE,
                now: new Date(await env.currentTimeMs()),
              },
            )
          ).token,
        },
      ],
    });
}

describe('monthEndCloseWorkflow running a close plan', () => {
  it('runs the seed close: sequential steps in dependency order, the two reconciliations in parallel, and completes with a correct final status', async () => {
    const taskQueue = uniqueId('tq');
    const company = companyId();
    const reportDir = mkdtempSync(join(tmpdir(), 'close-report-'));
    const evidence: CloseEvidenceInput[] = [];
    let releaseBank: () => void = () => undefined;
    const bankGate = new Promise<void>((r) => (releaseBank = r));
    const worker = await closeWorker(
      env,
      taskQueue,
      { systems, keys, userKeys: people, reportDir },
      {
        checkFeeds: async () => ({ feeds: 2 }),
        // Held open by the test, so the status shows it running while the reconciliation child finishes.
        bankRecon: async () => {
          await bankGate;
          return { status: 'exceptions', warnings: ['2 unmatched statement lines'] };
        },
        produceCloseEvidence: async (input: CloseEvidenceInput) => {
          evidence.push(input);
          return { packageId: `pkg-${input.taskId}`, path: '/evidence/pkg', manifestSha256: 'ab'.repeat(32), files: 7 };
        },
      },
    );
    await worker.runUntil(async () => {
      const handle = await startClose(h, taskQueue, seedPlan(company));
      h.started.push(`recon:${company}:2026-10:gl-vs-erp`);
      const first = await waitFor(handle, (s) => task(s, 'preliminary_close').state === 'running');
      expect(first.tasks.filter((t) => t.state === 'running').map((t) => t.id)).toEqual(['preliminary_close']);
      expect(task(first, 'subsystem_validation').state).toBe('pending');
      expect(first.criticalPath?.[0]).toBe('preliminary_close');

      const answer = await handle.executeUpdate(submitTaskActionUpdate, {
        args: [{ action: 'complete', taskId: 'preliminary_close', by: 'ann', note: 'sub-ledgers posted' }],
      });
      expect(answer).toMatchObject({ accepted: true, taskId: 'preliminary_close' });

      const parallel = await waitFor(
        handle,
        (s) =>
          task(s, 'gl_vs_erp').state === 'done_with_exceptions' && task(s, 'bank_reconciliation').state === 'running',
        'the reconciliation done while the bank reconciliation runs',
      );
      const gl = task(parallel, 'gl_vs_erp');
      const bank = task(parallel, 'bank_reconciliation');
      const feeds = task(parallel, 'subsystem_validation');
      // Both started the moment the validation finished, in the same workflow task.
      expect(gl.startedAt).toBe(bank.startedAt);
      expect(Date.parse(gl.startedAt as string)).toBeGreaterThanOrEqual(Date.parse(feeds.finishedAt as string));
      expect(gl.result).toMatchObject({ status: 'exceptions', keys: { matched: 1, amountMismatch: 1 } });
      expect(task(parallel, 'reconciliation_approval').state).toBe('pending');
      releaseBank();

      await waitFor(handle, (s) => s.checkpoints.some((c) => c.checkpointId === 'je-single' && c.state === 'open'));
      await handle.signal(
        approvalSignal,
        await signedApproval(env, people, handle.workflowId, 'je-single', { decision: 'approved', approverId: 'sam' }),
      );
      const review = await waitFor(handle, (s) => task(s, 'management_review').state === 'running');
      expect(task(review, 'sox_documentation').output).toMatchObject({ packageId: 'pkg-sox_documentation', files: 7 });
      await handle.signal(taskActionSignal, { action: 'complete', taskId: 'management_review', by: 'dora' });

      const result = await handle.result();
      expect(result.state).toBe('completed');
      expect(result.percentDone).toBe(100);
      expect(result.blockers).toEqual([]);
      expect(result.criticalPath).toEqual([]);
      expect(result.tasks.map((t) => [t.id, t.state])).toEqual([
        ['preliminary_close', 'done'],
        ['subsystem_validation', 'done'],
        ['gl_vs_erp', 'done_with_exceptions'],
        ['bank_reconciliation', 'done_with_exceptions'],
        ['reconciliation_approval', 'done'],
        ['sox_documentation', 'done'],
        ['financial_reporting', 'done'],
        ['management_review', 'done'],
      ]);
      // Every task started no earlier than each of its predecessors finished.
      for (const t of result.tasks)
        for (const p of t.predecessors ?? [])
          expect(Date.parse(t.startedAt as string)).toBeGreaterThanOrEqual(
            Date.parse(task(result, p.task).finishedAt as string),
          );
      expect(result.journal?.map((j) => [j.action, j.taskId, j.by, j.accepted])).toEqual([
        ['complete', 'preliminary_close', 'ann', true],
        ['complete', 'management_review', 'dora', true],
      ]);
      expect(result.finishedAt).toBeDefined();

      // The evidence activity got the close's state as the contract says.
      expect(evidence).toHaveLength(1);
      expect(evidence[0]).toMatchObject({
        closeWorkflowId: handle.workflowId,
        company,
        period: '2026-10',
        taskId: 'sox_documentation',
        config: { regulation: 'SOX', controlId: 'F-R3-GL-15' },
        reconciliations: [expect.objectContaining({ reconId: 'gl-vs-erp', difference: gl.result?.difference })],
        approvals: [expect.objectContaining({ checkpointId: 'je-single', state: 'approved' })],
      });
      // The real close report was written from the status.
      const paths = task(result, 'financial_reporting').output?.paths as string[];
      expect(paths.length).toBeGreaterThan(0);
      for (const p of paths) expect(existsSync(p)).toBe(true);
      const md = paths.find((p) => p.endsWith('.md')) as string;
      expect(readFileSync(md, 'utf8')).toContain('gl_vs_erp');
    });
  });

  it('retries a failing task per its policy, then blocks it and only its dependants while the independent branch completes; a rerun frees them', async () => {
    const taskQueue = uniqueId('tq');
    const company = companyId();
    let healthy = false;
    let calls = 0;
    const worker = await closeWorker(
      env,
      taskQueue,
      { systems },
      {
        postAccruals: async () => {
          calls++;
          if (!healthy) throw new Error('ERP refused the connection');
          return { posted: 12 };
        },
        ok: async () => ({ ok: true }),
      },
    );
    const plan: CloseStart = {
      company,
      period: '2026-10',
      owner: 'dora',
      tasks: [
        {
          id: 'accruals',
          name: 'Accruals',
          kind: 'activity',
          activity: 'postAccruals',
          ownerRole: 'accountant',
          retry: { maximumAttempts: 2, initialInterval: '1s' },
        },
        {
          id: 'accrual_review',
          name: 'Review',
          kind: 'activity',
          activity: 'ok',
          ownerRole: 'supervisor',
          predecessors: ['accruals'],
        },
        {
          id: 'after_review',
          name: 'After',
          kind: 'activity',
          activity: 'ok',
          ownerRole: 'supervisor',
          predecessors: ['accrual_review'],
        },
        { id: 'fixed_assets', name: 'Fixed assets', kind: 'activity', activity: 'ok', ownerRole: 'accountant' },
        {
          id: 'fa_review',
          name: 'FA review',
          kind: 'activity',
          activity: 'ok',
          ownerRole: 'supervisor',
          predecessors: ['fixed_assets'],
        },
      ],
    };
    await worker.runUntil(async () => {
      const handle = await startClose(h, taskQueue, plan);
      const stuck = await waitFor(handle, (s) => s.state === 'blocked', 'a blocked close');
      expect(calls).toBe(2);
      expect(task(stuck, 'accruals')).toMatchObject({
        state: 'blocked',
        attempts: 2,
        reason: 'failed after 2 attempts: ERP refused the connection',
      });
      expect(task(stuck, 'accrual_review')).toMatchObject({
        state: 'blocked',
        reason: expect.stringContaining('dependency cannot be met'),
      });
      expect(task(stuck, 'after_review').blockedReason).toContain('"accruals"');
      expect(task(stuck, 'fixed_assets').state).toBe('done');
      expect(task(stuck, 'fa_review').state).toBe('done');
      expect(stuck.percentDone).toBe(40);
      expect(stuck.blockers?.map((b) => [b.task, b.root])).toEqual([
        ['accruals', 'accruals'],
        ['accrual_review', 'accruals'],
        ['after_review', 'accruals'],
      ]);

      // A refused action is answered and journaled: this task is run by an activity, not completed by hand.
      const refused = await handle.executeUpdate(submitTaskActionUpdate, {
        args: [{ action: 'complete', taskId: 'accruals', by: 'ann' }],
      });
      expect(refused).toMatchObject({
        accepted: false,
        message: 'accruals is a task of kind activity: it completes by itself',
      });

      // A waiver needs an approval: this close's input has no approval policy to approve one with.
      const waive = await handle.executeUpdate(submitTaskActionUpdate, {
        args: [{ action: 'waive', taskId: 'accruals', by: 'ann', reason: 'immaterial' }],
      });
      expect(waive).toMatchObject({
        accepted: false,
        message: expect.stringContaining('a waiver needs an approval'),
      });

      healthy = true;
      const rerun = await handle.executeUpdate(submitTaskActionUpdate, {
        args: [{ action: 'rerun', taskId: 'accruals', by: 'ann', reason: 'ERP back up' }],
      });
      expect(rerun.accepted).toBe(true);
      const result = await handle.result();
      expect(result.state).toBe('completed');
      expect(calls).toBe(3);
      expect(task(result, 'accruals')).toMatchObject({ state: 'done', attempts: 1, output: { posted: 12 } });
      expect(result.tasks.every((t) => t.state === 'done')).toBe(true);
      expect(result.journal?.map((j) => [j.action, j.accepted, j.refusal])).toEqual([
        ['complete', false, 'accruals is a task of kind activity: it completes by itself'],
        ['waive', false, waive.message],
        ['rerun', true, undefined],
      ]);
    });
  });

  it('waits 30 days for a person on a close left with only blocked tasks, then ends blocked, naming the blockers', async () => {
    const taskQueue = uniqueId('tq');
    const company = companyId();
    const worker = await closeWorker(
      env,
      taskQueue,
      { systems },
      {
        postAccruals: async () => {
          throw new Error('ERP refused the connection');
        },
        ok: async () => ({ ok: true }),
      },
    );
    const plan: CloseStart = {
      company,
      period: '2026-10',
      owner: 'dora',
      tasks: [
        {
          id: 'accruals',
          name: 'Accruals',
          kind: 'activity',
          activity: 'postAccruals',
          ownerRole: 'accountant',
          retry: { maximumAttempts: 1 },
        },
        {
          id: 'accrual_review',
          name: 'Review',
          kind: 'activity',
          activity: 'ok',
          ownerRole: 'supervisor',
          predecessors: ['accruals'],
        },
        { id: 'fixed_assets', name: 'Fixed assets', kind: 'activity', activity: 'ok', ownerRole: 'accountant' },
      ],
    };
    await worker.runUntil(async () => {
      const handle = await startClose(h, taskQueue, plan);
      await waitFor(handle, (s) => s.state === 'blocked', 'a blocked close');
      const blockedAt = await env.currentTimeMs();
      // A day short of the wait, the close is still there for a rerun, waiver or skip.
      await env.sleep('29d');
      const waiting = await handle.query(statusQuery);
      expect(waiting.state).toBe('blocked');
      expect(waiting.finishedAt).toBeUndefined();
      expect((await handle.describe()).status.name).toBe('RUNNING');

      const result = await handle.result();
      const endedAt = await env.currentTimeMs();
      expect(result.state).toBe('blocked');
      // blockedAt was read just after the close saw itself blocked: a few (real) seconds of slack.
      expect(Date.parse(result.finishedAt!) - blockedAt).toBeGreaterThanOrEqual(30 * 86_400_000 - 5_000);
      expect(Date.parse(result.finishedAt!) - blockedAt).toBeLessThan(30 * 86_400_000 + 60_000);
      expect(endedAt - blockedAt).toBeGreaterThanOrEqual(30 * 86_400_000 - 5_000);
      expect(task(result, 'fixed_assets').state).toBe('done');
      expect(task(result, 'accruals')).toMatchObject({
        state: 'blocked',
        reason: 'failed after 1 attempt: ERP refused the connection',
      });
      expect(result.blockers?.map((b) => [b.task, b.root])).toEqual([
        ['accruals', 'accruals'],
        ['accrual_review', 'accruals'],
      ]);
    });
  });

  it('takes only signed task actions when the close requires them: unsigned, forged, misdirected, altered and replayed ones are refused and journaled', async () => {
    const taskQueue = uniqueId('tq');
    const company = companyId();
    const worker = await closeWorker(env, taskQueue, { systems, keys, userKeys: people });
    const stranger = await generateApprovalKeyPair();
    const plan: CloseStart = {
      company,
      period: '2026-10',
      owner: 'dora',
      requireSignedTaskActions: true,
      tasks: [
        { id: 'prelim', name: 'Preliminary close', kind: 'manual', ownerRole: 'accountant' },
        { id: 'review', name: 'Review', kind: 'manual', ownerRole: 'supervisor', predecessors: ['prelim'] },
      ],
    };
    await worker.runUntil(async () => {
      const handle = await startClose(h, taskQueue, plan);
      await waitFor(handle, (s) => task(s, 'prelim').state === 'running', 'prelim running');
      const sign = async (
        workflowId: string,
        by: string,
        key: ApprovalSigningKey = people.keyOf(by),
        taskId = 'prelim',
      ) =>
        (
          await signTaskAction({ workflowId, action: 'complete', taskId, by }, key, {
            issuer: CLI_ISSUER,
            audience: APPROVAL_AUDIENCE,
            now: new Date(await env.currentTimeMs()),
          })
        ).token;
      const act = (a: TaskAction) => handle.executeUpdate(submitTaskActionUpdate, { args: [a] });

      expect(await act({ action: 'complete', taskId: 'prelim', by: 'ann' })).toMatchObject({
        accepted: false,
        message: expect.stringMatching(/^unsigned: this close takes signed task actions only/),
      });
      expect(
        await act({ action: 'complete', by: 'ann', token: await sign(handle.workflowId, 'ann', stranger) }),
      ).toMatchObject({
        accepted: false,
        message: expect.stringMatching(/^signature refused \(unknown_key\)/),
      });
      expect(
        await act({ action: 'complete', by: 'ann', token: await sign(`close:OTHER:2026-10`, 'ann') }),
      ).toMatchObject({
        accepted: false,
        message: expect.stringMatching(/^signature refused \(wrong_workflow\)/),
      });
      const good = await sign(handle.workflowId, 'ann');
      expect(await act({ action: 'complete', taskId: 'prelim', by: 'mallory', token: good })).toMatchObject({
        accepted: false,
        message: `the action's "by" differs from what was signed`,
      });
      expect(await act({ action: 'complete', taskId: 'prelim', by: 'ann', token: good })).toMatchObject({
        accepted: true,
        message: 'prelim is done',
      });
      // The same token again, by signal (as the plain temporal CLI would send it): refused as used.
      await handle.signal(taskActionSignal, { action: 'complete', by: 'ann', token: good });
      await waitFor(handle, (s) => (s.journal?.length ?? 0) === 6, 'the replay journaled');
      expect(
        await act({ action: 'complete', by: 'sam', token: await sign(handle.workflowId, 'sam', undefined, 'review') }),
      ).toMatchObject({ accepted: true, message: 'review is done' });
      const result = await handle.result();
      expect(result.state).toBe('completed');
      const nonce = JSON.parse(Buffer.from(good.split('.')[1], 'base64url').toString()).jti as string;
      expect(result.journal?.map((j) => [j.by, j.accepted, j.refusal?.slice(0, 40), j.signed?.kid])).toEqual([
        ['ann', false, 'unsigned: this close takes signed task actions only'.slice(0, 40), undefined],
        ['ann', false, 'signature refused (unknown_key): no key in the key set'.slice(0, 40), undefined],
        ['ann', false, 'signature refused (wrong_workflow): the action is for'.slice(0, 40), undefined],
        ['ann', false, `the action's "by" differs from what was signed`.slice(0, 40), undefined],
        ['ann', true, undefined, people.keyOf('ann').kid],
        ['ann', false, `this signed action (nonce ${nonce}) was already used`.slice(0, 40), undefined],
        ['sam', true, undefined, people.keyOf('sam').kid],
      ]);
      expect(result.journal?.[4].signed).toEqual({ kid: people.keyOf('ann').kid, nonce, issuer: CLI_ISSUER });
    });
  });

  it("takes a signed completion only from the task's owner: a holder of its role in the directory, or the person it was reassigned to", async () => {
    const taskQueue = uniqueId('tq');
    const worker = await closeWorker(env, taskQueue, { systems, keys, userKeys: people });
    const plan: CloseStart = {
      company: companyId(),
      period: '2026-10',
      owner: 'dora',
      approvalPolicy: seedPolicyInput(),
      requireSignedTaskActions: true,
      tasks: [
        { id: 'prelim', name: 'Preliminary close', kind: 'manual', ownerRole: 'accountant' },
        { id: 'review', name: 'Review', kind: 'manual', ownerRole: 'supervisor', predecessors: ['prelim'] },
      ],
    };
    await worker.runUntil(async () => {
      const handle = await startClose(h, taskQueue, plan);
      await waitFor(handle, (s) => task(s, 'prelim').state === 'running', 'prelim running');
      const act = signedActions(handle);
      // sam is a supervisor: the accountant's task is not his to complete, however well signed.
      expect(await act({ action: 'complete', taskId: 'prelim', by: 'sam' })).toMatchObject({
        accepted: false,
        message: 'sam may not complete prelim: it belongs to role accountant, and the directory gives sam supervisor',
      });
      expect(await act({ action: 'complete', taskId: 'prelim', by: 'ann' })).toMatchObject({ accepted: true });
      await waitFor(handle, (s) => task(s, 'review').state === 'running', 'review running');
      expect(await act({ action: 'complete', taskId: 'review', by: 'ann' })).toMatchObject({ accepted: false });
      expect(await act({ action: 'reassign', taskId: 'review', by: 'dora', to: 'ann' })).toMatchObject({
        accepted: true,
      });
      expect(await act({ action: 'complete', taskId: 'review', by: 'ann' })).toMatchObject({ accepted: true });
      const result = await handle.result();
      expect(result.state).toBe('completed');
      expect(result.journal?.map((j) => [j.action, j.taskId, j.by, j.accepted, j.signed?.kid])).toEqual([
        ['complete', 'prelim', 'sam', false, people.keyOf('sam').kid],
        ['complete', 'prelim', 'ann', true, people.keyOf('ann').kid],
        ['complete', 'review', 'ann', false, people.keyOf('ann').kid],
        ['reassign', 'review', 'dora', true, people.keyOf('dora').kid],
        ['complete', 'review', 'ann', true, people.keyOf('ann').kid],
      ]);
    });
  });

  it('takes other signed actions only from those who may: a close manager pauses, reassigns, skips and adds; the task owner or a close manager reruns', async () => {
    const taskQueue = uniqueId('tq');
    let healthy = false;
    const worker = await closeWorker(
      env,
      taskQueue,
      { systems, keys, userKeys: people },
      {
        postAccruals: async () => {
          if (!healthy) throw new Error('ERP refused the connection');
          return { posted: 12 };
        },
      },
    );
    // dora owns the close; the seed directory makes her (and dan) directors: close managers by default.
    const plan: CloseStart = {
      company: companyId(),
      period: '2026-10',
      owner: 'dora',
      approvalPolicy: seedPolicyInput(),
      requireSignedTaskActions: true,
      tasks: [
        {
          id: 'accruals',
          name: 'Accruals',
          kind: 'activity',
          activity: 'postAccruals',
          ownerRole: 'accountant',
          retry: { maximumAttempts: 1 },
        },
        { id: 'prelim', name: 'Preliminary close', kind: 'manual', ownerRole: 'accountant' },
        { id: 'memo', name: 'Memo', kind: 'manual', ownerRole: 'supervisor' },
      ],
    };
    await worker.runUntil(async () => {
      const handle = await startClose(h, taskQueue, plan);
      await waitFor(handle, (s) => task(s, 'accruals').state === 'blocked', 'accruals blocked');
      const act = signedActions(handle);
      const managers = '(the close owner dora, role director)';
      expect(await act({ action: 'pause', by: 'ann' })).toMatchObject({
        accepted: false,
        message: `ann may not pause the close: that is for a close manager ${managers}, and the directory gives ann accountant`,
      });
      expect(await act({ action: 'pause', by: 'dan' })).toMatchObject({ accepted: true });
      expect(await act({ action: 'resume', by: 'dora' })).toMatchObject({ accepted: true });
      expect(await act({ action: 'reassign', taskId: 'memo', by: 'sam', to: 'sue' })).toMatchObject({
        accepted: false,
        message: `sam may not reassign memo: that is for a close manager ${managers}, and the directory gives sam supervisor`,
      });
      expect(await act({ action: 'skip', taskId: 'memo', by: 'sam', reason: 'not needed' })).toMatchObject({
        accepted: false,
      });
      const extra = { id: 'extra', name: 'Extra check', kind: 'manual' as const, ownerRole: 'accountant' };
      expect(await act({ action: 'add', by: 'ann', task: extra } as Omit<TaskAction, 'token'>)).toMatchObject({
        accepted: false,
      });
      // A supervisor is neither the accountant's task owner nor a close manager; the accountant is its owner.
      expect(await act({ action: 'rerun', taskId: 'accruals', by: 'sam' })).toMatchObject({
        accepted: false,
        message: `sam may not rerun accruals: that is for the task's owner (role accountant) or a close manager ${managers}, and the directory gives sam supervisor`,
      });
      healthy = true;
      expect(await act({ action: 'rerun', taskId: 'accruals', by: 'ann' })).toMatchObject({ accepted: true });
      expect(await act({ action: 'skip', taskId: 'memo', by: 'dora', reason: 'no memo this month' })).toMatchObject({
        accepted: true,
      });
      expect(await act({ action: 'complete', taskId: 'prelim', by: 'ann' })).toMatchObject({ accepted: true });
      const result = await handle.result();
      expect(result.state).toBe('completed');
      expect(task(result, 'accruals').state).toBe('done');
      expect(task(result, 'memo')).toMatchObject({ state: 'skipped', reason: 'skipped by dora: no memo this month' });
      expect(result.journal?.map((j) => [j.action, j.by, j.accepted])).toEqual([
        ['pause', 'ann', false],
        ['pause', 'dan', true],
        ['resume', 'dora', true],
        ['reassign', 'sam', false],
        ['skip', 'sam', false],
        ['add', 'ann', false],
        ['rerun', 'sam', false],
        ['rerun', 'ann', true],
        ['skip', 'dora', true],
        ['complete', 'ann', true],
      ]);
      expect(result.journal?.every((j) => j.signed?.kid === people.keyOf(j.by).kid)).toBe(true);
    });
  });

  it('signs task actions at the approval gateway as the authenticated caller, and refuses callers without a proven identity', async () => {
    const taskQueue = uniqueId('tq');
    const company = companyId();
    const worker = await closeWorker(env, taskQueue, { systems, keys, userKeys: people });
    const idp = await generateKeyPair('EdDSA');
    const idpJwk = { ...(await exportJWK(idp.publicKey)), kid: 'test-idp', alg: 'EdDSA' };
    const serverNow = async () => new Date(await env.currentTimeMs());
    let clock = new Date();
    const gateway = await buildApprovalGateway({
      client: env.client,
      directory: parseApprovalPolicy(seedPolicyInput(), 'test policy'),
      identity: { keys: { keys: [idpJwk] }, issuer: 'test-idp', audience: 'finflow-approval-gateway' },
      signingKey: signer,
      clock: () => clock,
    });
    const login = (userId: string) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'EdDSA', kid: 'test-idp' })
        .setIssuer('test-idp')
        .setAudience('finflow-approval-gateway')
        .setSubject(userId)
        .setIssuedAt(Math.floor(clock.getTime() / 1000))
        .setExpirationTime(Math.floor(clock.getTime() / 1000) + 600)
        .sign(idp.privateKey);
    const post = async (body: unknown, userId?: string) => {
      clock = await serverNow();
      const res = await gateway.inject({
        method: 'POST',
        url: '/task-actions',
        headers: userId ? { authorization: `Bearer ${await login(userId)}` } : {},
        payload: body as Record<string, unknown>,
      });
      return { status: res.statusCode, body: res.json() as Record<string, unknown> };
    };
    const plan: CloseStart = {
      company,
      period: '2026-10',
      owner: 'dora',
      requireSignedTaskActions: true,
      tasks: [{ id: 'prelim', name: 'Preliminary close', kind: 'manual', ownerRole: 'accountant' }],
    };
    try {
      await worker.runUntil(async () => {
        const handle = await startClose(h, taskQueue, plan);
        await waitFor(handle, (s) => task(s, 'prelim').state === 'running', 'prelim running');
        const workflowId = handle.workflowId;
        expect(await post({ workflowId, action: 'complete', taskId: 'prelim' })).toMatchObject({
          status: 401,
          body: { error: 'unauthenticated' },
        });
        expect(await post({ workflowId, action: 'complete', taskId: 'prelim' }, 'nobody')).toMatchObject({
          status: 401,
        });
        // Who acts comes from the identity, never from the body.
        expect(await post({ workflowId, action: 'complete', taskId: 'prelim', by: 'dan' }, 'ann')).toMatchObject({
          status: 400,
          body: { error: 'invalid_request' },
        });
        expect(await post({ workflowId, action: 'complete', taskId: 'ghost' }, 'ann')).toMatchObject({
          status: 409,
          body: { accepted: false, message: 'unknown task "ghost"', by: 'ann' },
        });
        expect(await post({ workflowId, action: 'complete', taskId: 'prelim', note: 'tied out' }, 'ann')).toMatchObject(
          {
            status: 200,
            body: { accepted: true, message: 'prelim is done', by: 'ann' },
          },
        );
        const result = await handle.result();
        expect(result.state).toBe('completed');
        expect(result.journal?.map((j) => [j.by, j.accepted, j.signed?.kid, j.signed?.issuer])).toEqual([
          ['ann', false, signer.kid, GATEWAY_ISSUER],
          ['ann', true, signer.kid, GATEWAY_ISSUER],
        ]);
        expect(result.journal?.[1].note).toBe('tied out');
      });
    } finally {
      await gateway.close();
    }
  });

  it('replays a close driven by unsigned task actions recorded on the code before signed actions and waivers of added tasks existed', async () => {
    // Recorded at 58e7e0d (complete refused then accepted, pause, resume, reassign, skip, add, a waiver of the added
    // task refused, by signal and update): the signed-action path must leave the commands of unsigned actions
    // unchanged, and the waiver of an added task must replay as refused (patched) for closes already running.
    await expectReplays('close-task-actions-58e7e0d.json');
  });

  it('replays a close whose signed actions were taken before the close managers were checked (recorded at a618b9f)', async () => {
    // ann (an accountant) paused and resumed, sam (a supervisor) reassigned a supervisor's task and reran an
    // accountant's, ann skipped a task: all accepted then, refused now. A close that ran them must replay as it ran.
    await expectReplays('close-signed-actions-a618b9f.json');
  });

  it('pauses and resumes, reassigns, adds and skips tasks, journals every action and refuses malformed ones', async () => {
    const taskQueue = uniqueId('tq');
    const company = companyId();
    const worker = await closeWorker(env, taskQueue, { systems });
    const plan: CloseStart = {
      company,
      period: '2026-10',
      owner: 'dora',
      tasks: [
        { id: 'm1', name: 'First', kind: 'manual', ownerRole: 'accountant' },
        { id: 'm2', name: 'Second', kind: 'manual', ownerRole: 'accountant', predecessors: ['m1'] },
      ],
    };
    await worker.runUntil(async () => {
      const handle = await startClose(h, taskQueue, plan);
      await waitFor(handle, (s) => task(s, 'm1').state === 'running');
      await handle.executeUpdate(submitTaskActionUpdate, { args: [{ action: 'pause', by: 'dora', reason: 'audit' }] });
      await handle.executeUpdate(submitTaskActionUpdate, { args: [{ action: 'complete', taskId: 'm1', by: 'ann' }] });
      const paused = await waitFor(handle, (s) => task(s, 'm1').state === 'done');
      expect(paused.paused).toBe(true);
      expect(task(paused, 'm2').state).toBe('pending');
      expect(paused.state).toBe('running');

      await expect(
        handle.executeUpdate(submitTaskActionUpdate, { args: [{ action: 'skip', taskId: 'm2', by: 'ann' }] }),
      ).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
      await expect(
        handle.executeUpdate(submitTaskActionUpdate, { args: [{ action: 'complete', taskId: 'nope', by: 'ann' }] }),
      ).rejects.toMatchObject({ cause: { message: 'unknown task "nope"' } });

      await handle.executeUpdate(submitTaskActionUpdate, { args: [{ action: 'resume', by: 'dora' }] });
      const resumed = await waitFor(handle, (s) => task(s, 'm2').state === 'running');
      expect(resumed.paused).toBe(false);

      const reassigned = await handle.executeUpdate(submitTaskActionUpdate, {
        args: [{ action: 'reassign', taskId: 'm2', by: 'dora', to: 'zoe' }],
      });
      expect(reassigned.accepted).toBe(true);
      const added = await handle.executeUpdate(submitTaskActionUpdate, {
        args: [
          {
            action: 'add',
            by: 'dora',
            reason: 'auditor asked for a tie-out',
            task: { id: 'm3', name: 'Tie-out', kind: 'manual', ownerRole: 'accountant', predecessors: ['m2'] },
          },
        ],
      });
      expect(added).toMatchObject({ accepted: true, message: 'task m3 is added' });
      const badAdd = await handle.executeUpdate(submitTaskActionUpdate, {
        args: [
          {
            action: 'add',
            by: 'dora',
            task: { id: 'm4', name: 'Loop', kind: 'manual', ownerRole: 'accountant', predecessors: ['m5'] },
          },
        ],
      });
      expect(badAdd.accepted).toBe(false);
      expect(badAdd.message).toContain('m5');
      await handle.signal(taskActionSignal, {
        action: 'skip',
        taskId: 'm3',
        by: 'dora',
        reason: 'tie-out done offline',
      });
      // A signal naming no known task is kept in the journal as refused.
      await handle.signal(taskActionSignal, { action: 'complete', taskId: 'ghost', by: 'eve' });
      const mid = await waitFor(handle, (s) => task(s, 'm3').state === 'skipped');
      expect(task(mid, 'm2').owner).toBe('zoe');
      expect(task(mid, 'm3')).toMatchObject({ added: true, reason: 'skipped by dora: tie-out done offline' });

      await handle.signal(taskActionSignal, { action: 'complete', taskId: 'm2', by: 'zoe' });
      const result = await handle.result();
      expect(result.state).toBe('completed');
      expect(result.tasks.map((t) => [t.id, t.state])).toEqual([
        ['m1', 'done'],
        ['m2', 'done'],
        ['m3', 'skipped'],
      ]);
      expect(result.journal?.map((j) => [j.action, j.taskId ?? '', j.by, j.accepted])).toEqual([
        ['pause', '', 'dora', true],
        ['complete', 'm1', 'ann', true],
        ['resume', '', 'dora', true],
        ['reassign', 'm2', 'dora', true],
        ['add', 'm3', 'dora', true],
        ['add', 'm4', 'dora', false],
        ['skip', 'm3', 'dora', true],
        ['complete', 'ghost', 'eve', false],
        ['complete', 'm2', 'zoe', true],
      ]);
      expect(result.journal?.find((j) => j.taskId === 'ghost')?.refusal).toBe('unknown task "ghost"');

      // The history of this run replays on the current workflow code: the orchestrator is deterministic.
      const history = await handle.fetchHistory();
      await expect(
        Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, handle.workflowId),
      ).resolves.toBeUndefined();
    });
  });

  it('runs no more tasks at once than maxParallel, and holds a finish-to-finish task open until its predecessor finished', async () => {
    const taskQueue = uniqueId('tq');
    const company = companyId();
    let running = 0;
    let peak = 0;
    const gates: (() => void)[] = [];
    const worker = await closeWorker(
      env,
      taskQueue,
      { systems },
      {
        gated: async () => {
          running++;
          peak = Math.max(peak, running);
          await new Promise<void>((r) => gates.push(r));
          running--;
          return { ok: true };
        },
        quick: async () => ({ ok: true }),
      },
    );
    const gated = (id: string) => ({ id, name: id, kind: 'activity' as const, activity: 'gated', ownerRole: 'ap' });
    const plan: CloseStart = {
      company,
      period: '2026-10',
      owner: 'dora',
      maxParallel: 2,
      tasks: [
        gated('g1'),
        gated('g2'),
        gated('g3'),
        { id: 'sign_off', name: 'Sign-off', kind: 'manual', ownerRole: 'controller', predecessors: ['g3'] },
        {
          id: 'disclosures',
          name: 'Disclosures',
          kind: 'activity',
          activity: 'quick',
          ownerRole: 'controller',
          predecessors: [{ task: 'sign_off', type: 'FF' }],
        },
      ],
    };
    await worker.runUntil(async () => {
      const handle = await startClose(h, taskQueue, plan);
      const two = await waitFor(handle, () => gates.length === 2, 'two gated tasks running');
      expect(two.tasks.filter((t) => t.state === 'running').map((t) => t.id)).toEqual(['g1', 'g2']);
      expect(task(two, 'g3').state).toBe('pending');
      for (let released = 0; released < 3; released++) {
        await waitFor(handle, () => gates.length > 0, 'a gated task running');
        (gates.shift() as () => void)();
      }
      const held = await waitFor(
        handle,
        (s) => task(s, 'sign_off').state === 'running' && task(s, 'disclosures').reason !== undefined,
        'disclosures held by sign_off',
      );
      expect(peak).toBe(2);
      // FF: disclosures started at once and did its work, but may not finish before sign_off.
      expect(task(held, 'disclosures')).toMatchObject({
        state: 'running',
        reason: 'finished its work; waits for sign_off to finish (FF)',
      });
      expect(task(held, 'disclosures').blockedReason).toBeUndefined();
      await handle.signal(taskActionSignal, { action: 'complete', taskId: 'sign_off', by: 'dora' });
      const result = await handle.result();
      expect(result.state).toBe('completed');
      expect(Date.parse(task(result, 'disclosures').finishedAt as string)).toBeGreaterThanOrEqual(
        Date.parse(task(result, 'sign_off').finishedAt as string),
      );
    });
  });

  it('starts reconciliation children on the task queue the close names, where a worker of their own runs them', async () => {
    const taskQueue = uniqueId('tq');
    const reconQueue = uniqueId('tq-recon');
    const company = companyId();
    const closeSide = await closeWorker(env, taskQueue, { systems });
    const reconSide = await closeWorker(env, reconQueue, { systems });
    const plan: CloseStart = {
      company,
      period: '2026-10',
      owner: 'dora',
      reconciliationTaskQueue: reconQueue,
      tasks: [
        {
          id: 'gl_vs_erp',
          name: 'GL vs ERP',
          kind: 'reconciliation',
          ownerRole: 'accountant',
          config: {
            reconId: 'gl-vs-erp',
            a: { system: 'ledger', table: 'gl', keyField: 'account_code', valueField: 'balance' },
            b: { system: 'ledger', table: 'erp', keyField: 'acct_num', valueField: 'amt' },
          },
        },
      ],
    };
    const childId = `recon:${company}:2026-10:gl-vs-erp`;
    h.started.push(childId);
    await closeSide.runUntil(
      reconSide.runUntil(async () => {
        const handle = await startClose(h, taskQueue, plan);
        const result = await handle.result();
        expect(result.state).toBe('completed');
        expect(task(result, 'gl_vs_erp')).toMatchObject({
          state: 'done_with_exceptions',
          result: { status: 'exceptions', keys: { matched: 1, amountMismatch: 1 } },
        });
        const child = await env.client.workflow.getHandle(childId).describe();
        expect(child.taskQueue).toBe(reconQueue);
        expect(child.parentExecution?.workflowId).toBe(handle.workflowId);
      }),
    );
  });

  it('refuses a plan with a cycle and an unknown predecessor at start, listing both problems', async () => {
    const taskQueue = uniqueId('tq');
    const worker = await closeWorker(env, taskQueue, { systems });
    const plan: CloseStart = {
      company: companyId(),
      period: '2026-10',
      owner: 'dora',
      tasks: [
        { id: 'a', name: 'A', kind: 'manual', ownerRole: 'x', predecessors: ['c'] },
        { id: 'b', name: 'B', kind: 'manual', ownerRole: 'x', predecessors: ['a'] },
        { id: 'c', name: 'C', kind: 'manual', ownerRole: 'x', predecessors: ['b'] },
        { id: 'd', name: 'D', kind: 'manual', ownerRole: 'x', predecessors: ['missing'] },
      ],
    };
    await worker.runUntil(async () => {
      const handle = await startClose(h, taskQueue, plan);
      const failure = await handle.result().catch((e: unknown) => e);
      expect(failure).toMatchObject({
        cause: {
          type: 'InvalidClosePlan',
          nonRetryable: true,
          message: expect.stringContaining('dependency cycle: a -> b -> c -> a'),
        },
      });
      expect((failure as { cause: Error }).cause.message).toContain('task "d" depends on unknown task "missing"');
    });
  });
});
