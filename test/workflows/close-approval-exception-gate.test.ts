// A reconciliation's approval answers to the work on its exceptions (issue 15), on the time-skipping server with
// the real reconciliation engine (CSV sources) writing to real PostgreSQL: whoever explained its exceptions may not
// approve it (segregation of duties), and while exceptions above the checkpoint's exception_materiality are
// unexplained no approval counts, the refusal naming how many, their total and which. Both refusals are recorded
// in the checkpoint's trail and the audit ledger (tokens signed as the approval gateway signs for a proven caller); once the rest is explained by the preparer, the supervisor's
// approval counts. The documentation step then has the reconciliation's reports rewritten as the exceptions stand,
// and hands the package their new SHA-256s. The recorded history replays on this code.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { Pool } from 'pg';
import { createActivities } from '../../activities';
import { signExceptionAction } from '../../activities/approval/exception-action-token';
import { APPROVAL_AUDIENCE, GATEWAY_ISSUER } from '../../activities/approval/keys';
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
import type { CloseEvidenceInput, CloseRunOptions, ReconReportRef } from '../../contracts';
import { seedPolicyInput } from '../unit/approval-fixtures';
import { testIdentityProvider } from '../helpers/identity-provider';
import { freshDatabase } from '../helpers/postgres';
import { freshTimeSkippingServerPerTest, testWorkerOptions, uniqueId, workflowBundle } from '../helpers/temporal';
import { task, waitFor } from './close-harness';

let env: TestWorkflowEnvironment;
let pool: Pool;
let systems: SystemRegistry;
let ledger: AuditLedger;
let key: ApprovalKeyPair;
let files: { a: string; b: string };
let workDir: string;

beforeAll(async () => {
  const url = await freshDatabase('close_approval_exception_gate');
  pool = new Pool({ connectionString: url, max: 2 });
  ledger = await AuditLedger.open({ pool });
  systems = systemsFromEnv({ DATABASE_URL: url });
  key = await generateApprovalKeyPair();
  workDir = await mkdtemp(join(tmpdir(), 'finflow-exc-gate-'));
  files = { a: join(workDir, 'gl.csv'), b: join(workDir, 'erp.csv') };
  // 1 matches; 2 (20.50) and 3 (7.25) are only in the GL, 4 (3.00) only in the ERP: three exceptions, the last
  // below the checkpoint's materiality of 5.00.
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
  const policy = seedPolicyInput();
  policy.checkpoints = policy.checkpoints!.map((c) =>
    c.id === 'recon-review' ? { ...c, exception_materiality: '5.00' } : c,
  );
  return {
    company,
    period: '2026-10',
    name: 'exception gate close',
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
      {
        id: 'sox',
        name: 'SOX documentation',
        kind: 'documentation',
        ownerRole: 'controller',
        predecessors: ['recon_approval'],
        config: { regulation: 'SOX', controlId: 'F-R3-GL-15' },
      },
      { id: 'review', name: 'Review', kind: 'manual', ownerRole: 'supervisor', predecessors: ['sox'] },
    ],
  } as ClosePlanInput & CloseRunOptions;
}

describe('a reconciliation approval and the work on its exceptions', () => {
  it('refuses the explainer (SoD) and any approval while material exceptions are unexplained, records both, accepts once explained, and documents the reports as they then stand', async () => {
    const company = uniqueId('GATE').replace(/[^A-Za-z0-9-]/g, '');
    const closeId = `close:${company}:2026-10`;
    const taskQueue = uniqueId('tq');
    const recon = { workDir, reportsDir: workDir };
    // The gateway's decisions carry the identity provider's token for the approver, which the worker checks (issue 18).
    const idp = await testIdentityProvider();
    const approval = { keys: approvalKeySet([key]), ledger, identity: idp.config };
    // The package itself is tested elsewhere: here, what the documentation step hands it.
    const evidence: CloseEvidenceInput[] = [];
    const worker = await Worker.create(
      await testWorkerOptions({
        connection: env.nativeConnection,
        taskQueue,
        activities: {
          ...createActivities({ systems, approval, recon }),
          ...createExceptionActivities({ systems, approval, recon, ledger }),
          produceCloseEvidence: async (input: CloseEvidenceInput) => {
            evidence.push(input);
            return { packageId: 'pkg', path: '/evidence/pkg', manifestSha256: 'ab'.repeat(32), files: 1 };
          },
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
      const now = new Date(await env.currentTimeMs());
      const { rows } = await pool.query<{ item_id: string; amount: string }>(
        `SELECT item_id, coalesce(difference, amount)::text AS amount FROM recon_exceptions WHERE run_id = $1`,
        [runId],
      );
      const id = (amount: string) => rows.find((r) => Number(r.amount) === Number(amount))?.item_id as string;
      const [big, small] = [id('20.50'), id('7.25')];
      const explain = async (by: string, itemId: string, amount: string) => {
        const { token } = await signExceptionAction(
          {
            workflowId: closeId,
            reconId: 'gl-vs-erp',
            runId,
            by,
            exceptionAction: { action: 'explain', reasonCode: 'timing', text: 'posted in November' },
            itemIds: [itemId],
            count: 1,
            totals: [{ currency: 'USD', total: amount }],
          },
          key,
          { issuer: GATEWAY_ISSUER, audience: APPROVAL_AUDIENCE, now },
        );
        return handle.executeUpdate(submitExceptionActionUpdate, { args: [{ task: 'gl_vs_erp', token }] });
      };
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
                    resolution: 'timing differences clear in November',
                  },
                  key,
                  {
                    issuer: GATEWAY_ISSUER,
                    audience: APPROVAL_AUDIENCE,
                    now: new Date(await env.currentTimeMs()),
                    identityProof: await idp.token(approverId, { now: new Date(await env.currentTimeMs()) }),
                  },
                )
              ).token,
            },
          ],
        });

      // Before anyone explains: two exceptions above 5.00 (20.50 and 7.25) are open; 3.00 is within materiality.
      const early = await approve('sam');
      expect(early).toMatchObject({ accepted: false, reason: 'exceptions_unexplained', state: 'open' });
      expect(early.message).toBe(
        'checkpoint recon-review refuses approval: 2 unexplained exception(s) above materiality remain; ' +
          'reconciliation gl-vs-erp cannot be approved yet: 2 unexplained exception(s) above materiality 5, ' +
          `totalling USD 27.75 (gl-vs-erp:${big}, gl-vs-erp:${small})`,
      );

      // vic holds both the owner role (accountant) and supervisor: he explains 20.50, then may not approve.
      expect(await explain('vic', big, '20.50')).toMatchObject({ accepted: true, by: 'vic', count: 1 });
      const own = await approve('vic');
      expect(own).toMatchObject({ accepted: false, reason: 'explainer_approval', state: 'open' });
      expect(own.message).toBe(
        'vic explained or resolved exceptions of reconciliation gl-vs-erp (1 exception(s) in action 1) and may ' +
          'not approve it (segregation of duties)',
      );
      const still = await approve('sam');
      expect(still).toMatchObject({ accepted: false, reason: 'exceptions_unexplained' });
      expect(still.message).toContain(
        `1 unexplained exception(s) above materiality 5, totalling USD 7.25 (gl-vs-erp:${small})`,
      );

      // The preparer explains the last material one: the supervisor's approval counts.
      expect(await explain('ann', small, '7.25')).toMatchObject({ accepted: true, by: 'ann' });
      expect(await approve('vic')).toMatchObject({ accepted: false, reason: 'explainer_approval' });
      expect(await approve('sam')).toMatchObject({ accepted: true, outcome: 'approved', state: 'approved' });

      // Every refusal is in the checkpoint's trail and in the audit ledger, under the verified approver.
      const cp = (await handle.query(approvalsQuery)).checkpoints.find((c) => c.checkpointId === 'recon-review');
      expect(cp?.refusals.map((r) => [r.approverId, r.reason])).toEqual([
        ['sam', 'exceptions_unexplained'],
        ['vic', 'explainer_approval'],
        ['sam', 'exceptions_unexplained'],
        ['vic', 'explainer_approval'],
      ]);
      const trail = (await closeTrail(pool, closeId)).filter((e) => e.action.startsWith('approval.decision'));
      expect(trail.map((e) => [e.actor, e.action, (e.payload as { outcome: string }).outcome])).toEqual([
        ['sam', 'approval.decision.refused', 'exceptions_unexplained'],
        ['vic', 'approval.decision.refused', 'explainer_approval'],
        ['sam', 'approval.decision.refused', 'exceptions_unexplained'],
        ['vic', 'approval.decision.refused', 'explainer_approval'],
        ['sam', 'approval.decision', 'approved'],
      ]);
      expect((trail[0].payload as { message: string }).message).toContain('totalling USD 27.75');
      expect(await ledger.verify()).toMatchObject({ ok: true });

      // The documentation step had the reports rewritten as the exceptions stand: the summary counts them
      // explained, and the package is handed the new files' SHA-256s (the run's first ones stay in history).
      await waitFor(handle, (s) => task(s, 'review').state === 'running', 'the review running');
      const written = task(ready, 'gl_vs_erp').result?.reports ?? [];
      expect(written.map((f) => `${f.kind}.${f.format}`).sort()).toEqual([
        'exceptions.csv',
        'exceptions.json',
        'exceptions.xlsx',
        'summary.csv',
        'summary.json',
        'summary.xlsx',
      ]);
      expect(evidence).toHaveLength(1);
      const handed = evidence[0].reconciliations[0].reports ?? [];
      expect(handed.map((f) => f.path)).toEqual(written.map((f) => f.path));
      for (const f of handed)
        expect(f.sha256).toBe(
          createHash('sha256')
            .update(await readFile(f.path))
            .digest('hex'),
        );
      const before = written.find((f) => f.kind === 'summary' && f.format === 'json') as ReconReportRef;
      expect(handed.find((f) => f.path === before.path)?.sha256).not.toBe(before.sha256);
      const summary = JSON.parse(await readFile(before.path, 'utf8')) as {
        categories: { category: string; count: number; open: number; explained: number }[];
      };
      expect(summary.categories.map((c) => [c.category, c.count, c.open, c.explained]).sort()).toEqual([
        ['missing_in_a', 1, 1, 0],
        ['missing_in_b', 2, 0, 2],
      ]);
      const exceptionsJson = await readFile(
        (handed.find((f) => f.kind === 'exceptions' && f.format === 'json') as ReconReportRef).path,
        'utf8',
      );
      expect(exceptionsJson).toContain('posted in November');
      expect((await handle.query(statusQuery)).tasks.find((t) => t.id === 'gl_vs_erp')?.result?.reports).toEqual(
        handed,
      );
      await handle.signal(taskActionSignal, { action: 'complete', taskId: 'review', by: 'sam' });
      expect((await handle.result()).state).toBe('completed');
      expect((await handle.query(statusQuery)).tasks.find((t) => t.id === 'recon_approval')?.state).toBe('done');
    });
    const history = await env.client.workflow.getHandle(closeId).fetchHistory();
    await expect(
      Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, closeId),
    ).resolves.toBeUndefined();
  });
});
