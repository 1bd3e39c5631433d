// Issue 18 on the time-skipping server: a worker with a user key directory refuses a decision signed with somebody
// else's key or a revoked one, keeps the refusal in the checkpoint's trail, and appends every judged decision and
// resubmission, accepted or refused, to the hash-chained audit ledger.
import { Pool } from 'pg';
import { APPROVAL_AUDIENCE, CLI_ISSUER } from '../../activities/approval/keys';
import { generateApprovalKeyPair, type ApprovalKeyPair } from '../../activities/approval/signing';
import { staticUserKeys } from '../../activities/approval/user-keys';
import { AuditLedger } from '../../activities/audit-ledger/ledger';
import { closeTrail } from '../../activities/audit-ledger/trail';
import { addUserKey, emptyUserKeyDirectory, type UserKeyRecord } from '../../domain/approval/person-keys';
import { approvalSignal, resubmitSignal } from '../../workflows/definitions';
import { freshDatabase } from '../helpers/postgres';
import {
  approvalSuite,
  checkpoint,
  JE_75K,
  newWorker,
  opened,
  running,
  signed,
  signedResubmission,
  startApproval,
  uniqueId,
  waitFor,
} from './approval-harness';

const h = approvalSuite('approval_ledger');
let ledgerPool: Pool;
let ledger: AuditLedger;
let ann: ApprovalKeyPair;
let sam: ApprovalKeyPair;
let sue: ApprovalKeyPair;

const personKey = (pair: ApprovalKeyPair, personId: string, extra: Partial<UserKeyRecord> = {}): UserKeyRecord => ({
  kid: pair.kid,
  personId,
  publicJwk: pair.publicJwk as UserKeyRecord['publicJwk'],
  validFrom: '2000-01-01T00:00:00.000Z',
  addedAt: '2000-01-01T00:00:00.000Z',
  addedBy: 'ivy.admin',
  ...extra,
});

beforeAll(async () => {
  ledgerPool = new Pool({ connectionString: await freshDatabase('approval_ledger_audit'), max: 2 });
  ledger = await AuditLedger.open({ pool: ledgerPool });
  [ann, sam, sue] = await Promise.all([1, 2, 3].map(() => generateApprovalKeyPair()));
}, 60_000);
afterAll(() => ledgerPool?.end());

describe('approval attempts in the audit ledger', () => {
  it("refuses ann's key signing as sam and sue's revoked key, counts sam's own key, and records all of them", async () => {
    const userKeys = staticUserKeys(
      [
        personKey(ann, 'ann'),
        personKey(sam, 'sam'),
        personKey(sue, 'sue', {
          revokedAt: '2001-01-01T00:00:00.000Z',
          revokedBy: 'ivy.admin',
          revocationReason: 'left',
        }),
      ].reduce(addUserKey, emptyUserKeyDirectory()),
    );
    const taskQueue = uniqueId('tq');
    const worker = await newWorker(h, taskQueue, { userKeys, ledger });
    await running(h, worker, async () => {
      const handle = await startApproval(h, taskQueue, {
        checkpointId: 'je-approval',
        item: { ...JE_75K, amount: '8000.00', ref: 'JE-8K' },
      });
      await opened(handle);
      const cli = { issuer: CLI_ISSUER, audience: APPROVAL_AUDIENCE };
      await handle.signal(approvalSignal, await signed(h, handle, { approverId: 'sam' }, { ...cli, key: ann }));
      await handle.signal(approvalSignal, await signed(h, handle, { approverId: 'sue' }, { ...cli, key: sue }));
      // Round 1 is open, not rejected: the resubmission is refused, and recorded as well.
      await handle.signal(resubmitSignal, await signedResubmission(h, handle, { preparerId: 'ann' }));
      const refused = await waitFor(
        () => checkpoint(handle),
        (c) => c.refusals.length >= 2,
        'two refusals',
      );
      expect(refused.refusals.map((r) => [r.approverId, r.reason])).toEqual([
        ['sam', 'unsigned'],
        ['sue', 'unsigned'],
      ]);
      expect(refused.refusals[0].message).toContain(`(key_of_another_person): key ${ann.kid} belongs to ann`);
      expect(refused.refusals[1].message).toContain(`(key_revoked): key ${sue.kid} of sue was revoked`);

      const approval = await signed(h, handle, { approverId: 'sam', comments: 'ties out' }, { ...cli, key: sam });
      await handle.signal(approvalSignal, approval);
      expect((await handle.result()).state).toBe('approved');

      const trail = await closeTrail(ledgerPool, handle.workflowId);
      expect(trail.map((e) => [e.actor, e.action, e.subject, (e.payload as { outcome: string }).outcome])).toEqual([
        ['unverified:sam', 'approval.decision.refused', `${handle.workflowId}/approval/je-approval`, 'unsigned'],
        ['unverified:sue', 'approval.decision.refused', `${handle.workflowId}/approval/je-approval`, 'unsigned'],
        ['ann', 'approval.resubmission.refused', `${handle.workflowId}/approval/je-approval`, expect.any(String)],
        ['sam', 'approval.decision', `${handle.workflowId}/approval/je-approval`, 'approved'],
      ]);
      expect(trail[3].payload).toMatchObject({
        signature: 'verified',
        accepted: true,
        kid: sam.kid,
        nonce: approval.nonce,
        decision: 'approved',
        round: 1,
        level: 1,
      });
      expect(trail[0].payload).toMatchObject({ signature: 'failed', accepted: false, decision: 'approved' });
      expect((trail[0].payload as { message: string }).message).toContain('key_of_another_person');
      expect(await ledger.verify()).toMatchObject({ ok: true, entries: trail.length });
    });
  });
});
