// People work a reconciliation's exceptions through the close (issue 15): the submitExceptionAction update of a
// running close, on the time-skipping server, with the real reconciliation engine (CSV sources) writing to real
// PostgreSQL. A signed bulk explanation is verified, applied in the result store and the audit ledger, and
// journaled in the close's history; a replayed token, someone without the owner role and a forged token are
// refused and journaled; the approval gateway's POST /exception-actions signs as the proven caller; the recorded
// history replays on this code.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { Pool } from 'pg';
import { createActivities } from '../../activities';
import { signExceptionAction, type ExceptionActionClaimsInput } from '../../activities/approval/exception-action-token';
import { APPROVAL_AUDIENCE, CLI_ISSUER, GATEWAY_ISSUER } from '../../activities/approval/keys';
import {
  approvalKeySet,
  generateApprovalKeyPair,
  type ApprovalKeyPair,
  type ApprovalSigningKey,
} from '../../activities/approval/signing';
import { AuditLedger } from '../../activities/audit-ledger/ledger';
import { createExceptionActivities } from '../../activities/exceptions';
import { systemsFromEnv, type SystemRegistry } from '../../activities/systems';
import { buildApprovalGateway } from '../../client/approval-gateway';
import { parseApprovalPolicy } from '../../domain/approval';
import type { monthEndCloseWorkflow } from '../../workflows';
import { statusQuery, submitExceptionActionUpdate, taskActionSignal } from '../../workflows/definitions';
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
/** The gateway's key. */
let key: ApprovalKeyPair;
/** Each person's own key for what they sign through the CLI. */
let people: PeopleKeys;
let workDir: string;
let files: { a: string; b: string };

beforeAll(async () => {
  const url = await freshDatabase('close_exception_actions');
  pool = new Pool({ connectionString: url, max: 2 });
  ledger = await AuditLedger.open({ pool });
  systems = systemsFromEnv({ DATABASE_URL: url });
  key = await generateApprovalKeyPair();
  people = await PeopleKeys.of(['ann', 'sam']);
  workDir = await mkdtemp(join(tmpdir(), 'finflow-exc-actions-'));
  files = { a: join(workDir, 'gl.csv'), b: join(workDir, 'erp.csv') };
  // 1 matches; 2 and 3 are only in the GL, 4 only in the ERP: three exceptions.
  await writeFile(files.a, 'account_code,amount\n1,100.00\n2,20.50\n3,7.25\n');
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
  return {
    company,
    period: '2026-10',
    name: 'exceptions close',
    owner: 'dora',
    approvalPolicy: seedPolicyInput(),
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
      { id: 'review', name: 'Review', kind: 'manual', ownerRole: 'supervisor', predecessors: ['gl_vs_erp'] },
    ],
  } as ClosePlanInput & CloseRunOptions;
}

describe('exception actions through the close', () => {
  it('applies a signed bulk explanation, journals it, refuses a replay, a non-owner and a forged token, and replays', async () => {
    const company = uniqueId('EXC').replace(/[^A-Za-z0-9-]/g, '');
    const closeId = `close:${company}:2026-10`;
    const taskQueue = uniqueId('tq');
    const recon = { workDir, reportsDir: workDir };
    const worker = await Worker.create(
      await testWorkerOptions({
        connection: env.nativeConnection,
        taskQueue,
        activities: {
          ...createActivities({ systems, approval: { keys: approvalKeySet([key]), userKeys: people }, recon }),
          ...createExceptionActivities({ systems, approval: { keys: approvalKeySet([key]), userKeys: people }, recon, ledger }),
        },
      }),
    );
    await worker.runUntil(async () => {
      const handle = await env.client.workflow.start<typeof monthEndCloseWorkflow>('monthEndCloseWorkflow', {
        taskQueue,
        workflowId: closeId,
        args: [plan(company)],
      });
      const ready = await waitFor(handle, (s) => task(s, 'gl_vs_erp').state === 'done_with_exceptions', 'reconciled');
      const runId = task(ready, 'gl_vs_erp').result?.runId as string;
      expect(runId).toBeTruthy();
      const now = new Date(await env.currentTimeMs());
      const claims = (over: Partial<ExceptionActionClaimsInput> = {}): ExceptionActionClaimsInput => ({
        workflowId: closeId,
        reconId: 'gl-vs-erp',
        runId,
        by: 'ann',
        exceptionAction: { action: 'explain', reasonCode: 'timing', text: 'posted in November' },
        itemIds: [],
        count: 0,
        totals: [],
        ...over,
      });
      const { rows } = await pool.query<{ item_id: string; amount: string; currency: string }>(
        `SELECT item_id, coalesce(difference, amount)::text AS amount, currency FROM recon_exceptions
          WHERE run_id = $1 AND category = 'missing_in_b' ORDER BY item_id`,
        [runId],
      );
      expect(rows).toHaveLength(2);
      const ids = rows.map((r) => r.item_id);
      const sign = async (c: ExceptionActionClaimsInput, k: ApprovalSigningKey = people.keyOf(c.by)) =>
        (await signExceptionAction(c, k, { issuer: CLI_ISSUER, audience: APPROVAL_AUDIENCE, now })).token;
      const good = await sign(
        claims({
          itemIds: ids,
          count: 2,
          totals: [{ currency: 'USD', total: '27.75' }],
          filter: { categories: ['missing_in_b'] },
        }),
      );
      const update = (token: string, t = 'gl_vs_erp') =>
        handle.executeUpdate(submitExceptionActionUpdate, { args: [{ task: t, token }] });

      expect(await update(good)).toMatchObject({ accepted: true, by: 'ann', action: 'explain', count: 2 });
      expect(await update(good)).toMatchObject({ accepted: false, type: 'ExceptionActionReplayed' });
      const sam = await update(await sign(claims({ by: 'sam', itemIds: ['GL:1'], count: 1, totals: [] })));
      expect(sam).toMatchObject({ accepted: false, type: 'ExceptionActionUnauthorised', by: 'sam' });
      const forged = await update(
        await sign(
          claims({ itemIds: ids, count: 2, totals: [{ currency: 'USD', total: '27.75' }] }),
          await generateApprovalKeyPair(),
        ),
      );
      expect(forged).toMatchObject({ accepted: false, type: 'ExceptionActionToken_unknown_key' });
      // The validator answers at once for what cannot be an action: no history event.
      const invalid = await update(good, 'review').then(
        () => undefined,
        (e: Error & { cause?: Error }) => e.cause?.message,
      );
      expect(invalid).toBe(`${closeId} has no reconciliation task review`);

      const s = await handle.query(statusQuery);
      const entries = (s.journal ?? []).filter((j) => j.action.startsWith('exceptions.'));
      expect(entries.map((j) => [j.action, j.by, j.accepted])).toEqual([
        ['exceptions.explain', 'ann', true],
        ['exceptions.refused', 'ann', false],
        ['exceptions.refused', 'sam', false],
        ['exceptions.refused', 'unverified:ann', false],
      ]);
      expect(entries[0]).toMatchObject({ taskId: 'gl_vs_erp', signed: { kid: people.keyOf('ann').kid, issuer: CLI_ISSUER } });
      expect(entries[0].note).toMatch(/^2 exception\(s\) of gl-vs-erp, totals USD 27\.75 \(result-store action \d+\)$/);
      expect(entries[2].refusal).toContain('ExceptionActionUnauthorised: sam (supervisor) may not work the exceptions');
      const states = await pool.query<{ status: string }>(
        `SELECT status FROM recon_exceptions WHERE run_id = $1 ORDER BY item_id`,
        [runId],
      );
      expect(states.rows.map((r) => r.status).sort()).toEqual(['explained', 'explained', 'open']);
      const inLedger = (await ledger.entries()).filter((e) => e.subject === `${closeId}/gl-vs-erp`);
      expect(inLedger.map((e) => [e.action, e.actor])).toEqual([
        ['exception.action', 'ann'],
        ['exception.action.refused', 'sam'],
        ['exception.action.refused', 'unverified:ann'],
      ]);

      // The approval gateway's route: the caller proven by the identity provider, the action signed as them.
      const idp = await generateKeyPair('EdDSA');
      const idpJwk = { ...(await exportJWK(idp.publicKey)), kid: 'test-idp', alg: 'EdDSA' };
      const gateway = await buildApprovalGateway({
        client: env.client,
        directory: parseApprovalPolicy(seedPolicyInput(), 'test policy'),
        identity: { keys: { keys: [idpJwk] }, issuer: 'test-idp', audience: 'finflow-approval-gateway' },
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
      const { rows: open } = await pool.query<{ item_id: string; amount: string; currency: string }>(
        `SELECT item_id, coalesce(difference, amount)::text AS amount, currency FROM recon_exceptions
          WHERE run_id = $1 AND status = 'open'`,
        [runId],
      );
      expect(open).toHaveLength(1);
      const body = (task = 'gl_vs_erp') => ({
        workflowId: closeId,
        task,
        reconId: 'gl-vs-erp',
        runId,
        action: { action: 'explain', reasonCode: 'posting_error', text: 'posted to the wrong account' },
        itemIds: [open[0].item_id],
        count: 1,
        totals: [{ currency: open[0].currency, total: open[0].amount }],
      });
      const post = async (payload: unknown, userId?: string) => {
        const res = await gateway.inject({
          method: 'POST',
          url: '/exception-actions',
          headers: userId ? { authorization: `Bearer ${await login(userId)}` } : {},
          payload: payload as Record<string, unknown>,
        });
        return { status: res.statusCode, body: res.json() as Record<string, unknown> };
      };
      expect((await post(body())).status).toBe(401);
      expect(await post(body(), 'sam')).toMatchObject({
        status: 409,
        body: { accepted: false, type: 'ExceptionActionUnauthorised', by: 'sam' },
      });
      expect(await post(body('review'), 'ann')).toMatchObject({
        status: 400,
        body: { error: 'invalid_request', message: `${closeId} has no reconciliation task review` },
      });
      expect(await post({ ...body(), count: 2 }, 'ann')).toMatchObject({ status: 400 });
      expect(await post(body(), 'ann')).toMatchObject({
        status: 200,
        body: { accepted: true, by: 'ann', action: 'explain', count: 1 },
      });
      const after = await pool.query(
        `SELECT count(*)::int AS n FROM recon_exceptions WHERE run_id = $1 AND status = 'open'`,
        [runId],
      );
      expect(after.rows[0].n).toBe(0);
      const journal = ((await handle.query(statusQuery)).journal ?? []).filter((j) =>
        j.action.startsWith('exceptions.'),
      );
      expect(journal.slice(-2).map((j) => [j.action, j.by, j.accepted])).toEqual([
        ['exceptions.refused', 'sam', false],
        ['exceptions.explain', 'ann', true],
      ]);
      expect(journal[journal.length - 1].signed?.issuer).toBe(GATEWAY_ISSUER);
      await gateway.close();

      await handle.signal(taskActionSignal, { action: 'complete', taskId: 'review', by: 'sam' });
      await handle.result();
    });
    // The close's history, with its updates and their activities, replays on this code.
    const history = await env.client.workflow.getHandle(closeId).fetchHistory();
    await expect(
      Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, closeId),
    ).resolves.toBeUndefined();
  });
});
