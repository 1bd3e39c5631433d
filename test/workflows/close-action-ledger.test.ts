// Issue 18 on the time-skipping server: a close whose worker binds keys to people refuses sam's key signing as ann,
// takes each person's own key, and every task action's check and the close's judgement of it reach the audit
// ledger, which still verifies.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { Pool } from 'pg';
import { createActivities } from '../../activities';
import { APPROVAL_AUDIENCE, CLI_ISSUER } from '../../activities/approval/keys';
import { generateApprovalKeyPair, type ApprovalKeyPair } from '../../activities/approval/signing';
import { signTaskAction } from '../../activities/approval/task-action-token';
import { staticUserKeys } from '../../activities/approval/user-keys';
import { AuditLedger } from '../../activities/audit-ledger/ledger';
import { closeTrail } from '../../activities/audit-ledger/trail';
import { systemsFromEnv, type SystemRegistry } from '../../activities/systems';
import { addUserKey, emptyUserKeyDirectory, type UserKeyRecord } from '../../domain/approval/person-keys';
import { submitTaskActionUpdate } from '../../workflows/definitions';
import type { TaskAction } from '../../workflows/types';
import { freshDatabase } from '../helpers/postgres';
import { freshTimeSkippingServerPerTest, testWorkerOptions, uniqueId, workflowBundle } from '../helpers/temporal';
import { seedPolicyInput } from '../unit/approval-fixtures';
import { companyId, startClose, task, terminateLeftovers, waitFor, type Harness } from './close-harness';

let env: TestWorkflowEnvironment;
let systems: SystemRegistry;
let pool: Pool;
let ledger: AuditLedger;
let ann: ApprovalKeyPair;
let sam: ApprovalKeyPair;
const h: Harness = { env: () => env, started: [] };

const personKey = (pair: ApprovalKeyPair, personId: string): UserKeyRecord => ({
  kid: pair.kid,
  personId,
  publicJwk: pair.publicJwk as UserKeyRecord['publicJwk'],
  validFrom: '2000-01-01T00:00:00.000Z',
  addedAt: '2000-01-01T00:00:00.000Z',
  addedBy: 'ivy.admin',
});

beforeAll(async () => {
  const url = await freshDatabase('close_action_ledger');
  systems = systemsFromEnv({ DATABASE_URL: url });
  pool = new Pool({ connectionString: url, max: 2 });
  ledger = await AuditLedger.open({ pool });
  [ann, sam] = await Promise.all([1, 2].map(() => generateApprovalKeyPair()));
  await workflowBundle();
}, 120_000);
afterEach(() => terminateLeftovers(h));
afterAll(async () => {
  await systems?.close();
  await pool?.end();
});
freshTimeSkippingServerPerTest((e) => (env = e));

describe('task actions in the audit ledger', () => {
  it("refuses sam's key signing as ann, takes each person's own key, and records every check and judgement", async () => {
    const taskQueue = uniqueId('tq');
    const userKeys = staticUserKeys(
      [personKey(ann, 'ann'), personKey(sam, 'sam')].reduce(addUserKey, emptyUserKeyDirectory()),
    );
    const worker = await Worker.create(
      await testWorkerOptions({
        connection: env.nativeConnection,
        taskQueue,
        activities: createActivities({ systems, approval: { userKeys, ledger } }),
      }),
    );
    await worker.runUntil(async () => {
      const handle = await startClose(h, taskQueue, {
        company: companyId(),
        period: '2026-10',
        owner: 'dora',
        approvalPolicy: seedPolicyInput(),
        requireSignedTaskActions: true,
        tasks: [
          { id: 'prelim', name: 'Preliminary close', kind: 'manual', ownerRole: 'accountant' },
          { id: 'review', name: 'Review', kind: 'manual', ownerRole: 'supervisor', predecessors: ['prelim'] },
        ],
      });
      await waitFor(handle, (s) => task(s, 'prelim').state === 'running', 'prelim running');
      const sign = async (key: ApprovalKeyPair, by: string, taskId: string) =>
        (
          await signTaskAction({ workflowId: handle.workflowId, action: 'complete', taskId, by }, key, {
            issuer: CLI_ISSUER,
            audience: APPROVAL_AUDIENCE,
            now: new Date(await env.currentTimeMs()),
          })
        ).token;
      const act = (a: TaskAction) => handle.executeUpdate(submitTaskActionUpdate, { args: [a] });

      expect(await act({ action: 'complete', by: 'ann', token: await sign(sam, 'ann', 'prelim') })).toMatchObject({
        accepted: false,
        message: `signature refused (key_of_another_person): key ${sam.kid} belongs to sam, and the token says it is signed by ann`,
      });
      expect(await act({ action: 'complete', by: 'ann', token: await sign(ann, 'ann', 'prelim') })).toMatchObject({
        accepted: true,
      });
      // prelim is done, so review runs: sam completes it with his own key.
      expect(await act({ action: 'complete', by: 'sam', token: await sign(sam, 'sam', 'review') })).toMatchObject({
        accepted: true,
      });
      expect((await handle.result()).state).toBe('completed');

      const trail = await closeTrail(pool, handle.workflowId);
      const rows = trail.map((e) => [e.actor, e.action, e.subject.slice(handle.workflowId.length + 1)].join(' '));
      expect(rows.sort()).toEqual(
        [
          'ann task.action task/prelim',
          'ann task.action.signed task/prelim',
          'sam task.action task/review',
          'sam task.action.signed task/review',
          // The signature check reads the task from the token; the close's refusal names none it has not verified.
          'unverified:ann task.action.refused task/prelim',
          'unverified:ann task.action.refused task/(close)',
        ].sort(),
      );
      const judged = trail.filter((e) => (e.payload as { journalIndex?: number }).journalIndex !== undefined);
      expect(judged.map((e) => e.payload)).toEqual([
        expect.objectContaining({
          journalIndex: 0,
          accepted: false,
          signature: 'unsigned',
          refusal: expect.stringContaining('(key_of_another_person)'),
        }),
        expect.objectContaining({ journalIndex: 1, accepted: true, signed: expect.objectContaining({ kid: ann.kid }) }),
        expect.objectContaining({ journalIndex: 2, accepted: true, signed: expect.objectContaining({ kid: sam.kid }) }),
      ]);
      expect(await ledger.verify()).toMatchObject({ ok: true, entries: 6 });
    });
  });
});
