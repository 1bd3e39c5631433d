// Issue 18 on the time-skipping server: a gateway's decision counts only for the person the identity provider
// proved. The gateway puts the provider's token for its caller into the decision it signs; the worker checks that
// token against the provider's JWKS (a real local key pair, test/helpers/identity-provider.ts) before the rules
// count the decision. A gateway key signing for someone the provider did not prove (no token, another person's,
// a forged, expired or foreign one, or one that already backed another decision) is refused, kept in the
// checkpoint's trail and appended to the audit ledger.
import { generateKeyPair } from 'jose';
import { Pool } from 'pg';
import { AuditLedger } from '../../activities/audit-ledger/ledger';
import { closeTrail } from '../../activities/audit-ledger/trail';
import { buildApprovalGateway } from '../../client/approval-gateway';
import { parseApprovalPolicy } from '../../domain/approval';
import { approvalSignal, resubmitSignal, submitApprovalUpdate } from '../../workflows/definitions';
import { freshDatabase } from '../helpers/postgres';
import {
  approvalSuite,
  checkpoint,
  JE_75K,
  newWorker,
  opened,
  policy,
  running,
  serverNow,
  signed,
  signedResubmission,
  startApproval,
  uniqueId,
  waitFor,
} from './approval-harness';

const h = approvalSuite('approval_identity_proof');
let ledgerPool: Pool;
let ledger: AuditLedger;

beforeAll(async () => {
  ledgerPool = new Pool({ connectionString: await freshDatabase('approval_identity_proof_audit'), max: 2 });
  ledger = await AuditLedger.open({ pool: ledgerPool });
}, 60_000);
afterAll(() => ledgerPool?.end());

const JE_8K = { ...JE_75K, amount: '8000.00', ref: 'JE-8K' };

describe("a gateway's decision counts only with the identity provider's proof of its approver", () => {
  it('refuses the gateway signing as sam with sue’s token, no token, a forged, an expired or a foreign one, records each, and counts sam’s proven decision', async () => {
    const taskQueue = uniqueId('tq');
    const worker = await newWorker(h, taskQueue, { ledger });
    await running(h, worker, async () => {
      const handle = await startApproval(h, taskQueue, { checkpointId: 'je-approval', item: JE_8K });
      await opened(handle);
      const now = await serverNow(h);
      const impostor = (await generateKeyPair('EdDSA')).privateKey;
      const attempts: [string, string | null][] = [
        ['identity_proof_of_another_person', await h.idp.token('sue', { now })],
        ['identity_proof_missing', null],
        ['identity_proof_invalid', await h.idp.token('sam', { now, key: impostor })],
        ['identity_proof_invalid', await h.idp.token('sam', { now: new Date(now.getTime() - 3_600_000) })],
        ['identity_proof_invalid', await h.idp.token('sam', { now, audience: 'another-app' })],
      ];
      for (const [reason, identityProof] of attempts) {
        const answer = await handle.executeUpdate(submitApprovalUpdate, {
          args: [await signed(h, handle, { approverId: 'sam' }, { identityProof })],
        });
        expect(answer).toMatchObject({ accepted: false, reason: 'unsigned' });
        expect(answer.message).toContain(`(${reason})`);
      }
      const refused = await checkpoint(handle);
      expect(refused.state).toBe('open');
      expect(refused.refusals.map((r) => r.approverId)).toEqual(['sam', 'sam', 'sam', 'sam', 'sam']);
      expect(refused.refusals[0].message).toContain(
        "the gateway signed for sam, but the identity provider's token it carries proves sue",
      );
      expect(refused.refusals[2].message).toContain('bad_signature');
      expect(refused.refusals[3].message).toContain('expired');
      expect(refused.refusals[4].message).toContain('wrong_audience');

      const proven = await signed(h, handle, { approverId: 'sam', comments: 'ties out' });
      expect(await handle.executeUpdate(submitApprovalUpdate, { args: [proven] })).toMatchObject({
        accepted: true,
        outcome: 'approved',
      });
      expect((await handle.result()).state).toBe('approved');

      const trail = await closeTrail(ledgerPool, handle.workflowId);
      expect(trail.map((e) => [e.actor, e.action])).toEqual([
        ...attempts.map(() => ['unverified:sam', 'approval.decision.refused']),
        ['sam', 'approval.decision'],
      ]);
      expect(trail.slice(0, 5).map((e) => (e.payload as { message: string }).message)).toEqual(
        attempts.map(([reason]) => expect.stringContaining(reason)),
      );
      expect(trail[5].payload).toMatchObject({ signature: 'verified', accepted: true, nonce: proven.nonce });
      expect(await ledger.verify()).toMatchObject({ ok: true });
    });
  });

  it("counts the identity provider's token for one decision only: sam's token that backed his rejection does not back his approval of the next round", async () => {
    const taskQueue = uniqueId('tq');
    const worker = await newWorker(h, taskQueue);
    await running(h, worker, async () => {
      const handle = await startApproval(h, taskQueue, { checkpointId: 'je-approval', item: JE_8K });
      await opened(handle);
      const samsToken = await h.idp.token('sam', { now: await serverNow(h) });
      const rejection = await signed(
        h,
        handle,
        { approverId: 'sam', decision: 'rejected', comments: 'wrong account' },
        { identityProof: samsToken },
      );
      expect(await handle.executeUpdate(submitApprovalUpdate, { args: [rejection] })).toMatchObject({
        accepted: true,
        outcome: 'rejected',
      });
      await handle.signal(resubmitSignal, await signedResubmission(h, handle, { preparerId: 'ann' }));
      await waitFor(
        () => checkpoint(handle),
        (c) => c.round === 2 && c.state === 'open',
        'round 2 open',
      );
      const replayed = await signed(h, handle, { approverId: 'sam', round: 2 }, { identityProof: samsToken });
      const answer = await handle.executeUpdate(submitApprovalUpdate, { args: [replayed] });
      expect(answer).toMatchObject({ accepted: false, reason: 'unsigned' });
      expect(answer.message).toContain('(identity_proof_reused)');
      expect(answer.message).toContain(`already backed decision ${rejection.nonce}`);

      // The rejection itself sent again keeps its nonce: not a reuse of the proof, but a replayed decision.
      await handle.signal(approvalSignal, rejection);
      const fresh = await signed(h, handle, { approverId: 'sam', round: 2 });
      expect(await handle.executeUpdate(submitApprovalUpdate, { args: [fresh] })).toMatchObject({
        accepted: true,
        outcome: 'approved',
      });
      const done = await handle.result();
      expect(done.state).toBe('approved');
    });
  });

  it('refuses every gateway decision on a worker that has no identity provider to check it against, saying what to set', async () => {
    const taskQueue = uniqueId('tq');
    const worker = await newWorker(h, taskQueue, { identity: undefined });
    await running(h, worker, async () => {
      const handle = await startApproval(h, taskQueue, { checkpointId: 'je-approval', item: JE_8K });
      await opened(handle);
      const answer = await handle.executeUpdate(submitApprovalUpdate, {
        args: [await signed(h, handle, { approverId: 'sam' })],
      });
      expect(answer).toMatchObject({ accepted: false, reason: 'unsigned' });
      expect(answer.message).toContain('(identity_proof_unverifiable)');
      expect(answer.message).toContain('FINFLOW_IDENTITY_JWKS_FILE');
      expect((await checkpoint(handle)).state).toBe('open');
    });
  });

  it("the approval gateway puts its caller's token into the decision: a login of sam counts as sam's approval", async () => {
    const taskQueue = uniqueId('tq');
    const worker = await newWorker(h, taskQueue);
    await running(h, worker, async () => {
      const handle = await startApproval(h, taskQueue, { checkpointId: 'je-approval', item: JE_8K });
      await opened(handle);
      const at = await serverNow(h);
      const gateway = await buildApprovalGateway({
        client: h.env.client,
        directory: parseApprovalPolicy(policy()),
        identity: h.idp.config,
        signingKey: h.signer,
        clock: () => at,
      });
      try {
        const res = await gateway.inject({
          method: 'POST',
          url: '/approvals',
          headers: { authorization: `Bearer ${await h.idp.token('sam', { now: at })}` },
          payload: { workflowId: handle.workflowId, checkpointId: 'je-approval', decision: 'approved' },
        });
        expect(res.json()).toMatchObject({ accepted: true, outcome: 'approved' });
        expect(res.statusCode).toBe(200);
        expect((await handle.result()).state).toBe('approved');
      } finally {
        await gateway.close();
      }
    });
  });
});
