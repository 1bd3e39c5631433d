// The preparer's signed certification before a reconciliation's approval (issue 15), on the time-skipping server with
// the real reconciliation engine writing to real PostgreSQL: a checkpoint with certification_required refuses every
// approval until the reconciliation's preparer has certified it complete (the refusal names what is missing and is
// recorded in the checkpoint's trail and the audit ledger); a forged certification, one signed with a key nobody
// registered, and one by someone without the owner role are refused and recorded (result store, close journal, audit
// ledger); the approval gateway's POST /certifications signs one for the caller the identity provider proved; a later action on the exceptions supersedes a certification; the certifier may not approve; the
// approval then counts. The recorded history replays on this code.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { Pool } from 'pg';
import { buildApprovalGateway } from '../../client/approval-gateway';
import { parseApprovalPolicy } from '../../domain/approval';
import { createActivities } from '../../activities';
import { signExceptionAction } from '../../activities/approval/exception-action-token';
import { APPROVAL_AUDIENCE, CLI_ISSUER } from '../../activities/approval/keys';
import {
  approvalKeySet,
  generateApprovalKeyPair,
  signApprovalDecision,
  type ApprovalKeyPair,
} from '../../activities/approval/signing';
import { AuditLedger } from '../../activities/audit-ledger/ledger';
import { closeTrail } from '../../activities/audit-ledger/trail';
import { createExceptionActivities } from '../../activities/exceptions';
import { systemsFromEnv, type SystemRegistry } from '../../activities/systems';
import type { monthEndCloseWorkflow } from '../../workflows';
import {
  approvalsQuery,
  statusQuery,
  submitApprovalUpdate,
  submitExceptionActionUpdate,
  taskActionSignal,
} from '../../workflows/definitions';
import type { ClosePlanInput } from '../../domain/close/plan';
import type { CloseRunOptions } from '../../contracts';
import { seedPolicyInput } from '../unit/approval-fixtures';
import { PeopleKeys } from '../helpers/people-keys';
import { freshDatabase } from '../helpers/postgres';
import { freshTimeSkippingServerPerTest, testWorkerOptions, uniqueId, workflowBundle } from '../helpers/temporal';
import { task, waitFor } from './close-harness';

let env: TestWorkflowEnvironment;
let pool: Pool;
let systems: SystemRegistry;
let ledger: AuditLedger;
let key: ApprovalKeyPair;
let forger: ApprovalKeyPair;
let people: PeopleKeys;
let files: { a: string; b: string };
let workDir: string;

beforeAll(async () => {
  const url = await freshDatabase('close_certification');
  pool = new Pool({ connectionString: url, max: 2 });
  ledger = await AuditLedger.open({ pool });
  systems = systemsFromEnv({ DATABASE_URL: url });
  key = await generateApprovalKeyPair();
  forger = await generateApprovalKeyPair();
  people = await PeopleKeys.of(['ann', 'sam', 'vic']);
  workDir = await mkdtemp(join(tmpdir(), 'finflow-certify-'));
  files = { a: join(workDir, 'gl.csv'), b: join(workDir, 'erp.csv') };
  // 1 matches; 2 (20.50) only in the GL, 4 (3.00) only in the ERP: two exceptions.
  await writeFile(files.a, 'account_code,amount\n1,100.00\n2,20.50\n');
  await writeFile(files.b, 'account_code,amount\n1,100.00\n4,3.00\n');
  await workflowBundle();
}, 180_000);

afterAll(async () => {
  await systems?.close();
  await pool?.end();
});

freshTimeSkippingServerPerTest((e) => (env = e));
jest.setTimeout(120_000);

function plan(company: string): ClosePlanInput & CloseRunOptions {
  const side = (path: string) => ({
    source: { connector: 'csv', path },
    classification: 'internal',
    key_fields: ['account_code'],
    value_fields: ['amount'],
    currency: 'USD',
  });
  const policy = seedPolicyInput();
  policy.checkpoints = policy.checkpoints!.map((c) =>
    c.id === 'recon-review' ? { ...c, certification_required: true } : c,
  );
  return {
    company,
    period: '2026-10',
    name: 'certified close',
    owner: 'dora',
    approvalPolicy: policy,
    tasks: [
      {
        id: 'gl_vs_erp',
        name: 'GL vs ERP',
        kind: 'reconciliation',
        ownerRole: 'accountant',
        config: {
          reconId: 'gl-vs-erp',
          definition: { id: 'gl-vs-erp', a: side(files.a), b: side(files.b), rules: [{ id: 'exact', type: 'exact' }] },
        },
      },
      {
        id: 'recon_approval',
        name: 'Approval of the reconciliation',
        kind: 'approval',
        ownerRole: 'supervisor',
        predecessors: [{ task: 'gl_vs_erp', type: 'SS_WARN' }],
        config: {
          checkpointId: 'recon-review',
          item: {
            type: 'reconciliation',
            preparer: 'ann',
            ref: 'gl-vs-erp',
            evidence: [{ kind: 'bank_statement', ref: 'recon:gl-vs-erp' }],
          },
        },
      },
      { id: 'review', name: 'Review', kind: 'manual', ownerRole: 'supervisor', predecessors: ['recon_approval'] },
    ],
  } as ClosePlanInput & CloseRunOptions;
}

describe("a reconciliation approval that requires its preparer's certification", () => {
  it('refuses approvals until the preparer certifies, refuses and records forged, unregistered and unauthorised certifications, and accepts after', async () => {
    const company = uniqueId('CERT').replace(/[^A-Za-z0-9-]/g, '');
    const closeId = `close:${company}:2026-10`;
    const taskQueue = uniqueId('tq');
    const recon = { workDir, reportsDir: workDir };
    // Everybody signs with their own key (the CLI's path); the gateway's key set is trusted too but signs nothing.
    const approval = { keys: approvalKeySet([key]), userKeys: people, ledger };
    const worker = await Worker.create(
      await testWorkerOptions({
        connection: env.nativeConnection,
        taskQueue,
        activities: {
          ...createActivities({ systems, approval, recon }),
          ...createExceptionActivities({ systems, approval, recon, ledger }),
        },
      }),
    );
    await worker.runUntil(async () => {
      const handle = await env.client.workflow.start<typeof monthEndCloseWorkflow>('monthEndCloseWorkflow', {
        taskQueue,
        workflowId: closeId,
        args: [plan(company)],
      });
      const ready = await waitFor(
        handle,
        (s) =>
          task(s, 'gl_vs_erp').state === 'done_with_exceptions' &&
          s.checkpoints.some((c) => c.checkpointId === 'recon-review' && c.state === 'open'),
        'reconciled, and the approval open',
      );
      const runId = task(ready, 'gl_vs_erp').result?.runId as string;
      const totals = [{ currency: 'USD', total: '17.50' }];
      const send = async (
        by: string,
        exceptionAction: Record<string, unknown>,
        opts: { signer?: ApprovalKeyPair; itemIds?: string[]; count?: number } = {},
      ) => {
        const { token } = await signExceptionAction(
          {
            workflowId: closeId,
            reconId: 'gl-vs-erp',
            runId,
            by,
            exceptionAction,
            itemIds: opts.itemIds ?? [],
            count: opts.count ?? 2,
            totals: opts.itemIds ? [{ currency: 'USD', total: '20.50' }] : totals,
          },
          opts.signer ?? people.keyOf(by),
          {
            issuer: CLI_ISSUER,
            audience: APPROVAL_AUDIENCE,
            now: new Date(await env.currentTimeMs()),
          },
        );
        return handle.executeUpdate(submitExceptionActionUpdate, { args: [{ task: 'gl_vs_erp', token }] });
      };
      const certify = (by: string, opts: { signer?: ApprovalKeyPair } = {}) =>
        send(
          by,
          { action: 'certify', text: 'every exception of gl-vs-erp is explained; the reconciliation is complete' },
          opts,
        );
      const approve = async (approverId: string) =>
        handle.executeUpdate(submitApprovalUpdate, {
          args: [
            {
              checkpointId: 'recon-review',
              token: (
                await signApprovalDecision(
                  {
                    workflowId: closeId,
                    checkpointId: 'recon-review',
                    round: 1,
                    roles: [],
                    approverId,
                    decision: 'approved',
                    evidence: [{ kind: 'bank_statement', ref: 'recon:gl-vs-erp' }],
                    resolution: 'reviewed',
                  },
                  people.keyOf(approverId),
                  { issuer: CLI_ISSUER, audience: APPROVAL_AUDIENCE, now: new Date(await env.currentTimeMs()) },
                )
              ).token,
            },
          ],
        });

      // Before any certification: refused, naming what is missing.
      const early = await approve('sam');
      expect(early).toMatchObject({ accepted: false, reason: 'not_certified', state: 'open' });
      expect(early.message).toBe(
        'checkpoint recon-review refuses approval: 1 reconciliation(s) not certified by their preparer; ' +
          'reconciliation gl-vs-erp is not certified: its preparer has not certified it',
      );

      // A certification whose signature does not verify under the key it names, one signed with a key nobody
      // registered, and one by a supervisor who is not the reconciliation's preparer: refused, and the approval too.
      // Forged: ann's key id, another private key.
      const forged = await certify('ann', { signer: { ...forger, kid: people.keyOf('ann').kid } });
      expect(forged).toMatchObject({ accepted: false, by: 'unverified:ann' });
      expect(forged).toMatchObject({ type: 'ExceptionActionToken_bad_signature' });
      const unregistered = await certify('ann', { signer: forger });
      expect(unregistered).toMatchObject({ accepted: false, type: 'ExceptionActionToken_unknown_key' });
      const notPreparer = await certify('sam');
      expect(notPreparer).toMatchObject({ accepted: false, type: 'ExceptionActionUnauthorised', by: 'sam' });
      expect(notPreparer.accepted === false && notPreparer.message).toContain(
        'sam (supervisor) may not certify gl-vs-erp',
      );
      expect(await approve('sam')).toMatchObject({ accepted: false, reason: 'not_certified' });

      // ann, the preparer, certifies: accepted with the run's count and totals.
      expect(await certify('ann')).toMatchObject({ accepted: true, by: 'ann', action: 'certify', count: 2, totals });
      // ...then amends an explanation: the certification no longer stands.
      const { rows } = await pool.query<{ item_id: string }>(
        `SELECT item_id FROM recon_exceptions WHERE run_id = $1 AND amount = 20.50`,
        [runId],
      );
      expect(
        await send(
          'ann',
          { action: 'explain', reasonCode: 'timing', text: 'posted in November' },
          {
            itemIds: [rows[0].item_id],
            count: 1,
          },
        ),
      ).toMatchObject({ accepted: true, action: 'explain' });
      const superseded = await approve('sam');
      expect(superseded).toMatchObject({ accepted: false, reason: 'not_certified' });
      expect(superseded.message).toMatch(
        /the certification by ann at .* \(action \d+\) was superseded by explain action \d+ by ann/,
      );

      // vic (accountant and supervisor) certifies it again, through the approval gateway's route (the caller proven
      // by the identity provider, the certification signed as him): he may not approve what he certified; sam may.
      const now = new Date(await env.currentTimeMs());
      const idp = await generateKeyPair('EdDSA');
      const gateway = await buildApprovalGateway({
        client: env.client,
        directory: parseApprovalPolicy(seedPolicyInput(), 'test policy'),
        identity: {
          keys: { keys: [{ ...(await exportJWK(idp.publicKey)), kid: 'test-idp', alg: 'EdDSA' }] },
          issuer: 'test-idp',
          audience: 'finflow-approval-gateway',
        },
        signingKey: key,
        clock: () => now,
      });
      const login = (userId: string) =>
        new SignJWT({})
          .setProtectedHeader({ alg: 'EdDSA', kid: 'test-idp' })
          .setIssuer('test-idp')
          .setAudience('finflow-approval-gateway')
          .setSubject(userId)
          .setIssuedAt(Math.floor(now.getTime() / 1000))
          .setExpirationTime(Math.floor(now.getTime() / 1000) + 600)
          .sign(idp.privateKey);
      const body = {
        workflowId: closeId,
        task: 'gl_vs_erp',
        reconId: 'gl-vs-erp',
        runId,
        text: 'complete',
        count: 2,
        totals,
      };
      const post = async (userId?: string) => {
        const res = await gateway.inject({
          method: 'POST',
          url: '/certifications',
          headers: userId ? { authorization: `Bearer ${await login(userId)}` } : {},
          payload: body,
        });
        return { status: res.statusCode, body: res.json() as Record<string, unknown> };
      };
      expect((await post()).status).toBe(401);
      expect(await post('vic')).toMatchObject({ status: 200, body: { accepted: true, by: 'vic', action: 'certify' } });
      await gateway.close();
      const own = await approve('vic');
      expect(own).toMatchObject({ accepted: false, reason: 'explainer_approval' });
      expect(own.message).toMatch(
        /^vic certified reconciliation gl-vs-erp \(certification at .*\) and may not approve it/,
      );
      expect(await approve('sam')).toMatchObject({ accepted: true, outcome: 'approved', state: 'approved' });

      // Recorded: the result store's action history (refusals included), the close's journal, the audit ledger.
      const { rows: history } = await pool.query<{
        action: string;
        by: string;
        accepted: boolean;
        refusal_type: string | null;
      }>(`SELECT action, by, accepted, refusal_type FROM recon_exception_actions WHERE run_id = $1 ORDER BY seq`, [
        runId,
      ]);
      expect(history.map((h) => [h.action, h.by, h.accepted, h.refusal_type])).toEqual([
        ['unverified', 'unverified:ann', false, 'ExceptionActionToken_bad_signature'],
        ['unverified', 'unverified:ann', false, 'ExceptionActionToken_unknown_key'],
        ['certify', 'sam', false, 'ExceptionActionUnauthorised'],
        ['certify', 'ann', true, null],
        ['explain', 'ann', true, null],
        ['certify', 'vic', true, null],
      ]);
      const status = await handle.query(statusQuery);
      expect(
        (status.journal ?? [])
          .filter((e) => e.action.startsWith('exceptions.'))
          .map((e) => [e.action, e.by, e.accepted]),
      ).toEqual([
        ['exceptions.refused', 'unverified:ann', false],
        ['exceptions.refused', 'unverified:ann', false],
        ['exceptions.refused', 'sam', false],
        ['exceptions.certify', 'ann', true],
        ['exceptions.explain', 'ann', true],
        ['exceptions.certify', 'vic', true],
      ]);
      const trail = await closeTrail(pool, closeId);
      expect(
        trail
          .filter((e) => e.action.startsWith('exception.action') || e.action.startsWith('approval.decision'))
          .map((e) => [e.actor, e.action]),
      ).toEqual([
        ['sam', 'approval.decision.refused'],
        ['unverified:ann', 'exception.action.refused'],
        ['unverified:ann', 'exception.action.refused'],
        ['sam', 'exception.action.refused'],
        ['sam', 'approval.decision.refused'],
        ['ann', 'exception.action'],
        ['ann', 'exception.action'],
        ['sam', 'approval.decision.refused'],
        ['vic', 'exception.action'],
        ['vic', 'approval.decision.refused'],
        ['sam', 'approval.decision'],
      ]);
      const cp = (await handle.query(approvalsQuery)).checkpoints.find((c) => c.checkpointId === 'recon-review');
      expect(cp?.refusals.map((r) => [r.approverId, r.reason])).toEqual([
        ['sam', 'not_certified'],
        ['sam', 'not_certified'],
        ['sam', 'not_certified'],
        ['vic', 'explainer_approval'],
      ]);
      expect(await ledger.verify()).toMatchObject({ ok: true });

      await waitFor(handle, (s) => task(s, 'review').state === 'running', 'the review running');
      await handle.signal(taskActionSignal, { action: 'complete', taskId: 'review', by: 'sam' });
      expect((await handle.result()).state).toBe('completed');
    });
    const history = await env.client.workflow.getHandle(closeId).fetchHistory();
    await expect(
      Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, closeId),
    ).resolves.toBeUndefined();
  });
});
