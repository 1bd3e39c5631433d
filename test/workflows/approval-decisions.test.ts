// Decisions on an approval checkpoint, on the time-skipping server with a real worker and a real outbox: what
// counts (signed, in the directory, the right role within its limit, not the preparer, with evidence) and what is
// refused and recorded.
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { generateApprovalKeyPair } from '../../activities/approval/signing';
import { sendApprovalUpdate } from '../../client/approval-decision';
import { approvalSignal, approvalsQuery, submitApprovalUpdate, type ApprovalSignal } from '../../workflows/definitions';
import {
  approvalSuite,
  checkpoint,
  JE_75K,
  newWorker,
  running,
  notifications,
  opened,
  policy,
  serverNow,
  signed,
  startApproval,
  uniqueId,
  waitFor,
  type Handle,
} from './approval-harness';

const h = approvalSuite('approval_decisions');

async function refusalsAfter(handle: Handle, n: number) {
  return waitFor(
    () => checkpoint(handle),
    (c) => c.refusals.length >= n,
    `${n} refusals`,
  );
}

describe('approval decisions on the time-skipping server', () => {
  it('approves a journal entry within the supervisor limit with one signature and tells the preparer', async () => {
    const taskQueue = uniqueId('tq');
    const worker = await newWorker(h, taskQueue);
    await running(h, worker, async () => {
      const handle = await startApproval(h, taskQueue, {
        checkpointId: 'je-approval',
        item: { ...JE_75K, amount: '8000.00', ref: 'JE-8K' },
      });
      const open = await opened(handle);
      expect(open.rounds?.[0]).toMatchObject({ mode: 'single', levels: [{ level: 1, role: 'supervisor' }] });
      expect(open.openLevel).toEqual({
        level: 1,
        role: 'supervisor',
        of: 1,
        eligibleApprovers: ['sam', 'sue', 'maya', 'mo', 'dan', 'dora', 'vic'],
      });
      await handle.signal(approvalSignal, await signed(h, handle, { approverId: 'sam', comments: 'ties out' }));
      const result = await handle.result();
      expect(result.state).toBe('approved');
      expect(result.decisions).toEqual([
        expect.objectContaining({
          approverId: 'sam',
          role: 'supervisor',
          decision: 'approved',
          level: 1,
          signed: true,
        }),
      ]);
      expect(result.refusals).toEqual([]);
      const rows = await notifications(h, handle.workflowId, 2);
      expect(rows.map((r) => [r.kind, r.level, r.recipients])).toEqual([
        ['approval_requested', 1, ['sam', 'sue', 'maya', 'mo', 'dan', 'dora', 'vic']],
        ['approved', 1, ['ann', 'dora']],
      ]);
      expect(rows[0].body).toMatchObject({ amount: '8000.00', currency: 'USD', itemRef: 'JE-8K', preparerId: 'ann' });
    });
  });

  it('needs supervisor, then manager, then director for a 75,000 journal entry, notifying each level in turn', async () => {
    const taskQueue = uniqueId('tq');
    const worker = await newWorker(h, taskQueue);
    await running(h, worker, async () => {
      const handle = await startApproval(h, taskQueue, { checkpointId: 'je-approval', item: JE_75K });
      const open = await opened(handle);
      expect(open.rounds?.[0].levels.map((l) => [l.role, l.limit])).toEqual([
        ['supervisor', '10000'],
        ['manager', '50000'],
        ['director', '1000000'],
      ]);
      expect(open.rounds?.[0].basis).toBe(
        'every level up to the first limit covering 75000: supervisor 10000 -> manager 50000 -> director 1000000',
      );
      // The manager cannot jump the queue: level 2 is not open before level 1 is signed.
      await handle.signal(approvalSignal, await signed(h, handle, { approverId: 'maya' }));
      await refusalsAfter(handle, 1);
      await handle.signal(approvalSignal, await signed(h, handle, { approverId: 'sam' }));
      const second = await waitFor(
        () => checkpoint(handle),
        (c) => c.openLevel?.level === 2,
        'level 2 open',
      );
      expect(second.openLevel).toMatchObject({ role: 'manager', of: 3, eligibleApprovers: ['maya', 'mo'] });
      await handle.signal(approvalSignal, await signed(h, handle, { approverId: 'maya' }));
      await waitFor(
        () => checkpoint(handle),
        (c) => c.openLevel?.level === 3,
        'level 3 open',
      );
      await handle.signal(approvalSignal, await signed(h, handle, { approverId: 'dan', level: 3 }));
      const result = await handle.result();
      expect(result.state).toBe('approved');
      expect(result.decisions.map((d) => [d.level, d.approverId, d.role])).toEqual([
        [1, 'sam', 'supervisor'],
        [2, 'maya', 'manager'],
        [3, 'dan', 'director'],
      ]);
      expect(result.refusals).toEqual([
        expect.objectContaining({ approverId: 'maya', reason: 'level_not_open', round: 1 }),
      ]);
      const rows = await notifications(h, handle.workflowId, 4);
      expect(rows.map((r) => [r.kind, r.level, r.recipients])).toEqual([
        ['approval_requested', 1, ['sam', 'sue', 'vic']],
        ['approval_requested', 2, ['maya', 'mo']],
        ['approval_requested', 3, ['dan', 'dora']],
        ['approved', 3, ['ann', 'dora']],
      ]);
    });
  });

  it('refuses and records unsigned, forged, expired, foreign, unknown, wrong-role, self, replayed and duplicate decisions', async () => {
    const taskQueue = uniqueId('tq');
    const worker = await newWorker(h, taskQueue);
    const stranger = await generateApprovalKeyPair();
    await running(h, worker, async () => {
      // Prepared by sam (a supervisor may prepare journal entries), so sam may not approve it.
      const handle = await startApproval(h, taskQueue, {
        checkpointId: 'je-approval',
        item: { ...JE_75K, preparer: 'sam' },
      });
      await opened(handle);
      const send = async (s: ApprovalSignal) => handle.signal(approvalSignal, s);
      const past = new Date((await serverNow(h)).getTime() - 30 * 60_000);
      const wrongRole = await signed(h, handle, { approverId: 'zed' });
      await send({ checkpointId: 'je-approval', decision: 'approved', approverId: 'sue', role: 'director' });
      await send(await signed(h, handle, { approverId: 'sue' }, { key: stranger }));
      await send(await signed(h, handle, { approverId: 'sue' }, { now: past }));
      await send(await signed(h, { workflowId: 'close:OTHER:2026-10' }, { approverId: 'sue' }));
      await send(await signed(h, handle, { approverId: 'nobody' }));
      await send(wrongRole);
      await send(await signed(h, handle, { approverId: 'sam' }));
      await send(wrongRole);
      const good = await signed(h, handle, { approverId: 'sue' });
      await send(good);
      await send(good);
      const s = await refusalsAfter(handle, 9);
      expect(s.refusals.map((r) => [r.approverId, r.reason])).toEqual([
        ['sue', 'unsigned'],
        ['sue', 'unsigned'],
        ['sue', 'expired'],
        ['sue', 'unsigned'],
        ['nobody', 'unknown_approver'],
        ['zed', 'wrong_role'],
        ['sam', 'self_approval'],
        ['zed', 'replay'],
        ['sue', 'duplicate'],
      ]);
      expect(s.refusals[0].message).toContain('identity must be proven by a token from the approval gateway');
      expect(s.refusals[1].message).toContain('(unknown_key)');
      expect(s.refusals[3].message).toContain('(wrong_workflow)');
      expect(s.refusals[6].message).toBe('sam prepared this item and may not decide on it (segregation of duties)');
      // The refused attempts changed nothing: level 1 is signed by sue only, level 2 is open.
      expect(s.decisions.map((d) => d.approverId)).toEqual(['sue']);
      expect(s.openLevel?.level).toBe(2);
      expect(s.audit?.filter((e) => e.outcome === 'refused')).toHaveLength(9);
    });
  });

  it('refuses an amount over the approver’s limit, and an approval without the evidence or resolution required', async () => {
    const taskQueue = uniqueId('tq');
    const worker = await newWorker(h, taskQueue);
    await running(h, worker, async () => {
      const single = await startApproval(h, taskQueue, {
        checkpointId: 'je-single',
        item: { type: 'journal_entry', amount: '30000', preparer: 'ann' },
      });
      const recon = await startApproval(h, taskQueue, {
        checkpointId: 'recon-review',
        item: { preparer: 'ann', ref: 'gl-vs-erp' },
      });
      await opened(single);
      await opened(recon);
      await single.signal(approvalSignal, await signed(h, single, { checkpointId: 'je-single', approverId: 'sam' }));
      const over = await refusalsAfter(single, 1);
      expect(over.refusals[0]).toMatchObject({
        approverId: 'sam',
        reason: 'over_limit',
        message: "sam: supervisor's limit for journal_entry is 10000, below the 30000 this item needs",
      });
      await single.signal(approvalSignal, await signed(h, single, { checkpointId: 'je-single', approverId: 'mo' }));
      expect((await single.result()).decisions[0]).toMatchObject({ approverId: 'mo', role: 'manager' });

      const r = (fields: object) => signed(h, recon, { checkpointId: 'recon-review', approverId: 'sue', ...fields });
      await recon.signal(approvalSignal, await r({ resolution: 'timing' }));
      await recon.signal(
        approvalSignal,
        await r({ evidence: [{ kind: 'bank_statement', ref: 'store://stmt/2026-10' }] }),
      );
      await recon.signal(approvalSignal, await r({ decision: 'rejected' }));
      const missing = await refusalsAfter(recon, 3);
      expect(missing.refusals.map((x) => x.reason)).toEqual([
        'evidence_missing',
        'resolution_missing',
        'comments_missing',
      ]);
      expect(missing.refusals[0].message).toBe('checkpoint recon-review needs evidence of kind bank_statement');
      await recon.signal(
        approvalSignal,
        await r({ evidence: [{ kind: 'bank_statement', ref: 'store://stmt/2026-10' }], resolution: 'timing' }),
      );
      expect((await recon.result()).state).toBe('approved');
    });
  });

  it('answers the submitApproval update at once: accepted, refused by the rules, or turned away by its validator', async () => {
    const taskQueue = uniqueId('tq');
    const worker = await newWorker(h, taskQueue);
    await running(h, worker, async () => {
      const handle = await startApproval(h, taskQueue, { checkpointId: 'je-approval', item: JE_75K });
      await opened(handle);
      const update = async (s: ApprovalSignal) => handle.executeUpdate(submitApprovalUpdate, { args: [s] });

      expect(await update(await signed(h, handle, { approverId: 'sam' }))).toEqual({
        accepted: true,
        checkpointId: 'je-approval',
        round: 1,
        state: 'open',
        outcome: 'level_signed',
        level: 1,
        message: 'sam (supervisor) approved level 1 of 3; level 2 is open',
      });
      expect(await update(await signed(h, handle, { approverId: 'sue' }))).toMatchObject({
        accepted: false,
        reason: 'level_not_open',
        message: 'sue: supervisor signs level 1, which is already signed; level 2 (manager) is open',
        state: 'open',
      });
      expect(await update({ checkpointId: 'je-approval', decision: 'approved', approverId: 'maya' })).toMatchObject({
        accepted: false,
        reason: 'unsigned',
      });
      // The validator: a stale round and an unknown checkpoint never reach the workflow's history.
      const stale = update({ ...(await signed(h, handle, { approverId: 'maya' })), round: 2 });
      await expect(stale).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
      await expect(stale).rejects.toMatchObject({
        cause: {
          type: 'ApprovalRefused',
          message: 'the approval is for round 2, but round 1 is open',
          details: [{ reason: 'checkpoint_not_open' }],
        },
      });
      await expect(
        update({ ...(await signed(h, handle, { approverId: 'maya' })), checkpointId: 'recon-review' }),
      ).rejects.toMatchObject({ cause: { message: 'checkpoint recon-review is not open in this workflow' } });
      await expect(update({ round: 1 } as unknown as ApprovalSignal)).rejects.toMatchObject({
        cause: { details: [{ reason: 'malformed' }] },
      });
      expect((await checkpoint(handle)).refusals.map((r) => r.reason)).toEqual(['level_not_open', 'unsigned']);

      await update(await signed(h, handle, { approverId: 'maya' }));
      expect(await update(await signed(h, handle, { approverId: 'dora' }))).toMatchObject({
        accepted: true,
        outcome: 'approved',
        state: 'approved',
      });
      await handle.result();
    });
  });

  it('records a decision its validator turned away in the trail, sent as the CLI, the library and the gateway send it', async () => {
    const taskQueue = uniqueId('tq');
    const worker = await newWorker(h, taskQueue);
    await running(h, worker, async () => {
      const handle = await startApproval(h, taskQueue, { checkpointId: 'je-approval', item: JE_75K });
      await opened(handle);
      const stale = { ...(await signed(h, handle, { approverId: 'maya' })), round: 2 };
      expect(await sendApprovalUpdate(h.env.client, handle.workflowId, submitApprovalUpdate, stale)).toMatchObject({
        accepted: false,
        checkpointId: 'je-approval',
        reason: 'checkpoint_not_open',
        message: 'the approval is for round 2, but round 1 is open',
      });
      // The update never reached history; the signal sent after it did, and the checkpoint judged the signed token
      // itself (round 1, where maya's manager level is not open yet) and kept the attempt in its trail.
      const after = await refusalsAfter(handle, 1);
      expect(after.refusals.map((r) => [r.approverId, r.reason])).toEqual([['maya', 'level_not_open']]);
    });
  });

  it('records a decision for a checkpoint that has not opened, or that this workflow does not have', async () => {
    const taskQueue = uniqueId('tq');
    const worker = await newWorker(h, taskQueue);
    await running(h, worker, async () => {
      const handle = await startApproval(h, taskQueue, { checkpointId: 'je-approval', item: JE_75K });
      await opened(handle);
      await handle.signal(approvalSignal, await signed(h, handle, { checkpointId: 'recon-review', approverId: 'sue' }));
      await handle.signal(approvalSignal, await signed(h, handle, { checkpointId: 'no-such', approverId: 'sue' }));
      await handle.signal(approvalSignal, { checkpointId: 'no-such' } as ApprovalSignal);
      const s = await waitFor(
        () => handle.query(approvalsQuery),
        (q) => q.unrouted.length === 2,
        'unrouted attempts',
      );
      expect(s.unrouted.map((u) => [u.checkpointId, u.approverId, u.reason])).toEqual([
        ['no-such', 'sue', 'checkpoint_not_open'],
        ['no-such', '(unknown)', 'unsigned'],
      ]);
      const pending = s.checkpoints.find((c) => c.checkpointId === 'recon-review');
      expect(pending).toMatchObject({
        state: 'pending',
        waitingFor: 'nobody',
        refusals: [{ approverId: 'sue', reason: 'checkpoint_not_open', round: 0 }],
      });
      expect(s.unsignedApprovalsAllowed).toBe(false);
    });
  });

  it('honours a delegation in force, records on whose behalf, and refuses one outside its dates', async () => {
    const taskQueue = uniqueId('tq');
    const worker = await newWorker(h, taskQueue);
    const today = (await serverNow(h)).toISOString().slice(0, 10);
    const day = (offset: number) => new Date(Date.parse(today) + offset * 86_400_000).toISOString().slice(0, 10);
    const approvalPolicy = policy((p) => {
      p.delegations = [
        // dan is away this week: mo holds his director authority.
        { from: 'dan', to: 'mo', role: 'director', from_date: day(-1), to_date: day(6), reason: 'holiday' },
        // dora delegated to sue last month only.
        { from: 'dora', to: 'sue', from_date: day(-40), to_date: day(-10) },
      ];
    });
    await running(h, worker, async () => {
      const handle = await startApproval(h, taskQueue, { checkpointId: 'je-approval', item: JE_75K, approvalPolicy });
      await opened(handle);
      await handle.signal(approvalSignal, await signed(h, handle, { approverId: 'sam' }));
      await handle.signal(approvalSignal, await signed(h, handle, { approverId: 'maya' }));
      await handle.signal(approvalSignal, await signed(h, handle, { approverId: 'sue', onBehalfOf: 'dora' }));
      const refused = await refusalsAfter(handle, 1);
      expect(refused.refusals[0]).toMatchObject({ approverId: 'sue', reason: 'wrong_role' });
      expect(refused.refusals[0].message).toContain('no delegation from dora to sue is in force');
      expect(refused.openLevel?.eligibleApprovers).toEqual(['mo', 'dan', 'dora']);
      await handle.signal(approvalSignal, await signed(h, handle, { approverId: 'mo', onBehalfOf: 'dan' }));
      const result = await handle.result();
      expect(result.state).toBe('approved');
      expect(result.decisions[2]).toMatchObject({ approverId: 'mo', onBehalfOf: 'dan', role: 'director', level: 3 });
      expect(result.rounds?.[0].levels[2]).toMatchObject({ signedBy: 'mo', onBehalfOf: 'dan' });
      expect(result.audit?.find((e) => e.outcome === 'accepted' && e.level === 3)?.message).toBe(
        'mo on behalf of dan (director) approved level 3 of 3; round 1 is approved',
      );
    });
  });

  it('counts unsigned decisions only in development mode, and says so in the status and the decision', async () => {
    const taskQueue = uniqueId('tq');
    const worker = await newWorker(h, taskQueue);
    await running(h, worker, async () => {
      const handle = await startApproval(h, taskQueue, {
        checkpointId: 'je-single',
        item: { type: 'journal_entry', amount: '500', preparer: 'ann' },
        allowUnsignedApprovals: true,
      });
      await opened(handle);
      await handle.signal(approvalSignal, {
        checkpointId: 'je-single',
        decision: 'approve',
      } as unknown as ApprovalSignal);
      await handle.signal(approvalSignal, { checkpointId: 'je-single', decision: 'approved' });
      await handle.signal(approvalSignal, {
        checkpointId: 'je-single',
        decision: 'approved',
        approverId: 'sue',
        role: 'director',
        comments: 'ok',
        evidence: [{ kind: 'je_support', ref: 'store://je/1' }],
        resolution: 'n/a',
      });
      const result = await handle.result();
      expect(result).toMatchObject({ state: 'approved', unsignedApprovalsAllowed: true });
      expect(result.warning).toMatch(/^DEVELOPMENT ONLY/);
      expect(result.refusals.map((r) => [r.reason, r.message])).toEqual([
        ['unsigned', 'signature not accepted (malformed): decision must be "approved" or "rejected", got "approve"'],
        ['unsigned', 'signature not accepted (malformed): approverId is required'],
      ]);
      // The claimed role is not what counts: sue signs as the supervisor the directory says she is.
      expect(result.decisions[0]).toMatchObject({ approverId: 'sue', role: 'supervisor', signed: false });
      expect(result.decisions[0].nonce).toMatch(/^unsigned:/);
    });
  });
});
