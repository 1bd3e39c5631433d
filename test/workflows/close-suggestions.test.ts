// Suggested matches decided by people through the close (issue 15): a reconciliation whose `near` rule is marked
// auto: false, and whose exact rule meets two equally good candidates, leaves three suggestions; through the
// close's submitExceptionAction update (time-skipping server, real engine on CSV files, real PostgreSQL) the
// accountant confirms one (candidate 2) and rejects another, a forged token and a supervisor's confirm are refused
// and recorded, and the store's per-rule counts move from suggested (pending) to matched (confirmed) / rejected.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { Pool } from 'pg';
import { createActivities } from '../../activities';
import { signExceptionAction, type ExceptionActionClaimsInput } from '../../activities/approval/exception-action-token';
import { APPROVAL_AUDIENCE, CLI_ISSUER, GATEWAY_ISSUER } from '../../activities/approval/keys';
import { buildApprovalGateway } from '../../client/approval-gateway';
import { parseApprovalPolicy } from '../../domain/approval';
import {
  approvalKeySet,
  generateApprovalKeyPair,
  type ApprovalKeyPair,
  type ApprovalSigningKey,
} from '../../activities/approval/signing';
import { AuditLedger } from '../../activities/audit-ledger/ledger';
import { lifecycleEvidence } from '../../activities/compliance/exception-evidence';
import { createExceptionActivities, exceptionActionStoreOf, suggestionStoreOf } from '../../activities/exceptions';
import { writeSummaryReport } from '../../activities/reports/summary-report';
import { createResultStore } from '../../activities/result-store';
import { systemsFromEnv, type SystemRegistry } from '../../activities/systems';
import { unexplainedMaterial } from '../../domain/exceptions/lifecycle';
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
  const url = await freshDatabase('close_suggestions');
  pool = new Pool({ connectionString: url, max: 2 });
  ledger = await AuditLedger.open({ pool });
  systems = systemsFromEnv({ DATABASE_URL: url });
  key = await generateApprovalKeyPair();
  people = await PeopleKeys.of(['ann', 'sam']);
  workDir = await mkdtemp(join(tmpdir(), 'finflow-suggestions-'));
  files = { a: join(workDir, 'gl.csv'), b: join(workDir, 'erp.csv') };
  // 1 matches exactly; 2 and 3 differ by cents (the manual rule proposes them); 5 has two equal ERP candidates.
  await writeFile(files.a, 'account_code,amount\n1,100.00\n2,20.00\n3,50.00\n5,10.00\n');
  await writeFile(files.b, 'account_code,amount\n1,100.00\n2,20.40\n3,50.30\n5,10.00\n5,10.00\n');
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
    name: 'suggestions close',
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
          definition: {
            id: 'gl-vs-erp',
            a: side(files.a),
            b: side(files.b),
            rules: [
              { id: 'exact', type: 'exact' },
              { id: 'near', type: 'tolerance', absolute: '1.00', auto: false },
            ],
          },
        },
      },
      { id: 'review', name: 'Review', kind: 'manual', ownerRole: 'supervisor', predecessors: ['gl_vs_erp'] },
    ],
  } as ClosePlanInput & CloseRunOptions;
}

describe('suggested matches decided through the close', () => {
  it('confirms one suggestion and rejects another, refuses a forged and an unauthorised confirm, and the counts follow', async () => {
    const company = uniqueId('SUG').replace(/[^A-Za-z0-9-]/g, '');
    const closeId = `close:${company}:2026-10`;
    const taskQueue = uniqueId('tq');
    const recon = { workDir, reportsDir: workDir };
    const deps = { systems, approval: { keys: approvalKeySet([key]), userKeys: people }, recon };
    const worker = await Worker.create(
      await testWorkerOptions({
        connection: env.nativeConnection,
        taskQueue,
        activities: { ...createActivities(deps), ...createExceptionActivities({ ...deps, ledger }) },
      }),
    );
    const suggestions = suggestionStoreOf(deps);
    const actions = exceptionActionStoreOf(deps);
    await worker.runUntil(async () => {
      const handle = await env.client.workflow.start<typeof monthEndCloseWorkflow>('monthEndCloseWorkflow', {
        taskQueue,
        workflowId: closeId,
        args: [plan(company)],
      });
      const ready = await waitFor(handle, (s) => task(s, 'gl_vs_erp').state === 'done_with_exceptions', 'reconciled');
      const runId = task(ready, 'gl_vs_erp').result?.runId as string;
      const asOf = '2026-10-31';

      // The summary report the reconciliation wrote: per rule, what was matched and what waits for a person.
      const written = task(ready, 'gl_vs_erp').result?.reports?.find(
        (r) => r.kind === 'summary' && r.format === 'json',
      );
      const report = JSON.parse(await readFile(written?.path as string, 'utf8')) as { rules: unknown };
      expect(report.rules).toEqual([
        { rule: 'exact', matched_auto: 1, matched_confirmed: 0, suggested_pending: 1, rejected: 0 },
        { rule: 'near', matched_auto: 0, matched_confirmed: 0, suggested_pending: 2, rejected: 0 },
      ]);

      const pending = await suggestions.list(runId, { asOf });
      expect(pending.count).toBe(3);
      const byRule = (rule: string) => pending.items.filter((s) => s.rule === rule);
      const [ambiguous] = byRule('exact');
      expect(ambiguous.candidates.map((c) => [c.number, c.a.length, c.b.length, c.difference])).toEqual([
        [1, 1, 1, '0.00'],
        [2, 1, 1, '0.00'],
      ]);
      const near = byRule('near').sort((x, y) => (x.key < y.key ? -1 : 1));
      expect(near.map((s) => [s.key, s.difference, s.because])).toEqual([
        ['2', '-0.40', 'rule_not_automatic'],
        ['3', '-0.30', 'rule_not_automatic'],
      ]);
      expect(await suggestions.ruleCounts(runId)).toEqual([
        { rule: 'exact', matchedAuto: 1, matchedConfirmed: 0, suggestedPending: 1, rejected: 0 },
        { rule: 'near', matchedAuto: 0, matchedConfirmed: 0, suggestedPending: 2, rejected: 0 },
      ]);

      const now = new Date(await env.currentTimeMs());
      const claims = (
        itemId: string,
        total: string,
        exceptionAction: Record<string, unknown>,
        by = 'ann',
      ): ExceptionActionClaimsInput => ({
        workflowId: closeId,
        reconId: 'gl-vs-erp',
        runId,
        by,
        exceptionAction,
        itemIds: [itemId],
        count: 1,
        totals: [{ currency: 'USD', total }],
      });
      const sign = async (c: ExceptionActionClaimsInput, k: ApprovalSigningKey = people.keyOf(c.by)) =>
        (await signExceptionAction(c, k, { issuer: CLI_ISSUER, audience: APPROVAL_AUDIENCE, now })).token;
      const update = (token: string) =>
        handle.executeUpdate(submitExceptionActionUpdate, { args: [{ task: 'gl_vs_erp', token }] });

      const forged = await update(
        await sign(
          claims(ambiguous.itemId, '-10.00', { action: 'confirm', candidate: 2 }),
          await generateApprovalKeyPair(),
        ),
      );
      expect(forged).toMatchObject({ accepted: false, type: 'ExceptionActionToken_unknown_key' });
      const sam = await update(
        await sign(claims(ambiguous.itemId, '-10.00', { action: 'confirm', candidate: 2 }, 'sam')),
      );
      expect(sam).toMatchObject({ accepted: false, type: 'ExceptionActionUnauthorised', by: 'sam' });

      const confirmToken = await sign(
        claims(ambiguous.itemId, '-10.00', { action: 'confirm', candidate: 2, text: 'same payment' }),
      );
      const confirmed = await update(confirmToken);
      expect(confirmed).toMatchObject({ accepted: true, by: 'ann', action: 'confirm', count: 1 });
      // The same signed confirm again: the close refuses the replay before anything reaches the store.
      expect(await update(confirmToken)).toMatchObject({ accepted: false, type: 'ExceptionActionReplayed' });
      const rejected = await update(
        await sign(claims(near[0].itemId, '-0.40', { action: 'reject', reason: 'two invoices' })),
      );
      expect(rejected).toMatchObject({ accepted: true, by: 'ann', action: 'reject', count: 1 });
      const again = await update(await sign(claims(near[0].itemId, '-0.40', { action: 'confirm' })));
      expect(again).toMatchObject({ accepted: false, type: 'ExceptionTransitionRefused' });

      // The store: the decided suggestions, the match naming who confirmed it, the records returned to leftovers.
      const { rows: decisions } = await pool.query(
        `SELECT item_id, decision, rule, by, candidate, b_items, returned FROM recon_suggestion_decisions
          WHERE run_id = $1 ORDER BY decision`,
        [runId],
      );
      expect(decisions).toEqual([
        {
          item_id: ambiguous.itemId,
          decision: 'confirmed',
          rule: 'exact',
          by: 'ann',
          candidate: 2,
          b_items: [ambiguous.candidates[1].b[0]],
          returned: [`returned:${ambiguous.itemId}:${ambiguous.candidates[0].b[0]}`],
        },
        {
          item_id: near[0].itemId,
          decision: 'rejected',
          rule: 'near',
          by: 'ann',
          candidate: null,
          b_items: [],
          returned: [`returned:${near[0].itemId}:${near[0].itemId}`],
        },
      ]);
      const rows = await actions.rows(runId);
      const state = (id: string) => rows.find((r) => r.itemId === id);
      expect(state(ambiguous.itemId)).toMatchObject({ state: 'confirmed', resolvedBy: 'ann' });
      expect(state(near[0].itemId)).toMatchObject({ state: 'rejected', resolvedBy: 'ann' });
      expect(state(`returned:${near[0].itemId}:${near[0].itemId}`)).toMatchObject({
        state: 'open',
        category: 'amount_mismatch',
        amount: '-0.40',
      });
      expect(state(`returned:${ambiguous.itemId}:${ambiguous.candidates[0].b[0]}`)).toMatchObject({
        state: 'open',
        category: 'missing_in_a',
        amount: '-10.00',
      });
      // The evidence package judges the decided suggestions settled (who, when) and the returned records open.
      const evidence = rows.map((r) => lifecycleEvidence('gl-vs-erp', r));
      const judged = (id: string) => evidence.find((e) => e.id === `gl-vs-erp:${id}`)?.resolution;
      expect(judged(ambiguous.itemId)).toMatchObject({
        status: 'resolved',
        by: 'ann',
        note: expect.stringMatching(/confirmed by ann/),
      });
      expect(judged(near[0].itemId)).toMatchObject({
        status: 'resolved',
        by: 'ann',
        note: expect.stringMatching(/rejected by ann/),
      });
      expect(judged(`returned:${near[0].itemId}:${near[0].itemId}`)).toMatchObject({ status: 'open' });
      // Unexplained above materiality: the pending suggestion and the two returned items, not the decided ones.
      const material = unexplainedMaterial(rows, '0');
      expect(material.ids.sort()).toEqual(
        [
          near[1].itemId,
          `returned:${near[0].itemId}:${near[0].itemId}`,
          `returned:${ambiguous.itemId}:${ambiguous.candidates[0].b[0]}`,
        ].sort(),
      );
      expect(await suggestions.ruleCounts(runId)).toEqual([
        { rule: 'exact', matchedAuto: 1, matchedConfirmed: 1, suggestedPending: 0, rejected: 0 },
        { rule: 'near', matchedAuto: 0, matchedConfirmed: 0, suggestedPending: 1, rejected: 1 },
      ]);
      expect((await suggestions.list(runId, { asOf })).items.map((s) => s.itemId)).toEqual([near[1].itemId]);
      const rewritten = await writeSummaryReport('json', {
        store: createResultStore({ pool }),
        runId,
        reconId: 'gl-vs-erp',
        date: asOf,
        dir: await mkdtemp(join(tmpdir(), 'finflow-suggestions-summary-')),
        ruleCounts: (id) => suggestions.ruleCounts(id),
      });
      expect((JSON.parse(await readFile(rewritten.path, 'utf8')) as { rules: unknown }).rules).toEqual([
        { rule: 'exact', matched_auto: 1, matched_confirmed: 1, suggested_pending: 0, rejected: 0 },
        { rule: 'near', matched_auto: 0, matched_confirmed: 0, suggested_pending: 1, rejected: 1 },
      ]);

      // Every attempt is in the action history, accepted or refused, and in the close's journal.
      const history = await actions.history(runId);
      expect(history.map((h) => [h.action, h.by, h.accepted, h.refusalType])).toEqual([
        ['unverified', 'unverified:ann', false, 'ExceptionActionToken_unknown_key'],
        ['confirm', 'sam', false, 'ExceptionActionUnauthorised'],
        ['confirm', 'ann', true, null],
        ['reject', 'ann', true, null],
        ['confirm', 'ann', false, 'ExceptionTransitionRefused'],
      ]);
      expect(history[2].detail).toEqual({ action: 'confirm', candidate: 2, text: 'same payment' });
      const journal = ((await handle.query(statusQuery)).journal ?? []).filter((j) =>
        j.action.startsWith('exceptions.'),
      );
      expect(journal.map((j) => [j.action, j.by, j.accepted])).toEqual([
        ['exceptions.refused', 'unverified:ann', false],
        ['exceptions.refused', 'sam', false],
        ['exceptions.confirm', 'ann', true],
        ['exceptions.refused', 'ann', false],
        ['exceptions.reject', 'ann', true],
        ['exceptions.refused', 'ann', false],
      ]);
      const inLedger = (await ledger.entries()).filter((e) => e.subject === `${closeId}/gl-vs-erp`);
      expect(inLedger.map((e) => [e.action, e.actor])).toEqual([
        ['exception.action.refused', 'unverified:ann'],
        ['exception.action.refused', 'sam'],
        ['exception.action', 'ann'],
        ['exception.action', 'ann'],
        ['exception.action.refused', 'ann'],
      ]);

      // An approver app confirms the last one through the gateway, which proves the caller and signs as them.
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
      const login = await new SignJWT({})
        .setProtectedHeader({ alg: 'EdDSA', kid: 'test-idp' })
        .setIssuer('test-idp')
        .setAudience('finflow-approval-gateway')
        .setSubject('ann')
        .setIssuedAt(Math.floor(now.getTime() / 1000))
        .setExpirationTime(Math.floor(now.getTime() / 1000) + 600)
        .sign(idp.privateKey);
      const res = await gateway.inject({
        method: 'POST',
        url: '/exception-actions',
        headers: { authorization: `Bearer ${login}` },
        payload: {
          workflowId: closeId,
          task: 'gl_vs_erp',
          reconId: 'gl-vs-erp',
          runId,
          action: { action: 'confirm', candidate: 1 },
          itemIds: [near[1].itemId],
          count: 1,
          totals: [{ currency: 'USD', total: '-0.30' }],
        },
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ accepted: true, by: 'ann', action: 'confirm' });
      await gateway.close();
      const last = ((await handle.query(statusQuery)).journal ?? []).slice(-1)[0];
      expect(last).toMatchObject({ action: 'exceptions.confirm', by: 'ann', signed: { issuer: GATEWAY_ISSUER } });
      expect((await suggestions.ruleCounts(runId)).find((c) => c.rule === 'near')).toEqual({
        rule: 'near',
        matchedAuto: 0,
        matchedConfirmed: 1,
        suggestedPending: 0,
        rejected: 1,
      });

      await handle.signal(taskActionSignal, { action: 'complete', taskId: 'review', by: 'sam' });
      await handle.result();
    });
    // The close's history, with the confirm and reject updates and their activities, replays on this code.
    const history = await env.client.workflow.getHandle(closeId).fetchHistory();
    await expect(
      Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, closeId),
    ).resolves.toBeUndefined();
  });
});
