// Time in approval checkpoints, on the time-skipping server: reminders, escalation at 4h and 8h, deadlock when the
// path ends (owner told, close task blocked), rejection and resubmission in rounds, a preparer who never
// resubmits; plus the task configurations a close refuses, and webhook delivery.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHmac } from 'node:crypto';
import {
  approvalSignal,
  resubmitSignal,
  submitResubmissionUpdate,
  type ResubmitSignal,
} from '../../workflows/definitions';
import {
  approvalSuite,
  checkpoint,
  JE_75K,
  newWorker,
  running,
  notifications,
  opened,
  signed,
  signedResubmission,
  startApproval,
  uniqueId,
  waitFor,
} from './approval-harness';

const h = approvalSuite('approval_escalation');
const HOUR = 3_600_000;
const sinceOpen = (openedAt: string, at: string) => Date.parse(at) - Date.parse(openedAt);

describe('approval timers, rounds and configuration on the time-skipping server', () => {
  it('reminds a preparer who does not resubmit and blocks the item once the approvers’ time has passed', async () => {
    const taskQueue = uniqueId('tq');
    const worker = await newWorker(h, taskQueue);
    await running(h, worker, async () => {
      const handle = await startApproval(h, taskQueue, { checkpointId: 'je-approval', item: JE_75K });
      await opened(handle);
      await handle.signal(
        approvalSignal,
        await signed(h, handle, { approverId: 'sam', decision: 'rejected', comments: 'wrong account' }),
      );
      const rejected = await waitFor(
        () => checkpoint(handle),
        (c) => c.state === 'rejected',
        'rejection',
      );
      const rejectedAt = Date.parse(rejected.rounds![0].closedAt!);
      const at = (hours: number) => new Date(rejectedAt + hours * HOUR).toISOString();
      expect(rejected.nextTimer).toEqual({ kind: 'resubmission_reminder', dueAt: at(4) });

      // The preparer gets as many timeouts as the approvers had (4h, then manager, then director): 12h in all.
      const result = await handle.result();
      const reason = 'rejected by sam at level 1 of round 1, and not resubmitted by ann within 12h';
      expect(result).toMatchObject({ state: 'rejected', blockedReason: reason, waitingFor: 'nobody' });
      expect(result.nextTimer).toBeUndefined();
      // The server's clock (skipped, like the workflow's) dates the end: 12h after the rejection, not before.
      const closedAt = (await handle.describe()).closeTime!.getTime();
      expect(closedAt - rejectedAt).toBeGreaterThanOrEqual(12 * HOUR);
      expect(closedAt - rejectedAt).toBeLessThan(12 * HOUR + 60_000);
      const rows = await h.outbox.forWorkflow(handle.workflowId);
      expect(rows.map((r) => [r.kind, r.level, r.recipients])).toEqual([
        ['approval_requested', 1, ['sam', 'sue', 'vic']],
        ['rejected', 1, ['ann']],
        ['resubmission_reminder', 1, ['ann']],
        ['resubmission_reminder', 2, ['ann']],
        ['not_resubmitted', 0, ['ann', 'dora']],
      ]);
      // Rows come in outbox id (sequence) order, so the list above is the order they were written in. Their
      // created_at is PostgreSQL's wall clock, which the time-skipping server does not move: no use for dating timers.
      expect(rows[4].body).toMatchObject({ message: reason, round: 1 });
    });
  });

  it('reminds at the timeout, escalates to manager at 4h and director at 8h, and counts an escalated approval', async () => {
    const taskQueue = uniqueId('tq');
    const worker = await newWorker(h, taskQueue);
    await running(h, worker, async () => {
      const handle = await startApproval(h, taskQueue, {
        checkpointId: 'recon-review',
        item: { preparer: 'ann', evidence: [{ kind: 'bank_statement', ref: 'store://stmt/2026-10' }] },
      });
      const open = await opened(handle);
      const openedAt = open.rounds![0].openedAt;
      expect(open.nextTimer).toEqual({
        kind: 'reminder',
        dueAt: new Date(Date.parse(openedAt) + 4 * HOUR).toISOString(),
      });
      expect(open.allowedRoles).toEqual(['supervisor']);

      await h.env.sleep('4h');
      const four = await waitFor(
        () => checkpoint(handle),
        (c) => c.escalations.length === 1,
        'escalation to manager',
      );
      expect(four.allowedRoles).toEqual(['supervisor', 'manager']);
      expect(four.escalations[0].toRole).toBe('manager');
      expect(sinceOpen(openedAt, four.escalations[0].at)).toBeGreaterThanOrEqual(4 * HOUR);
      expect(sinceOpen(openedAt, four.escalations[0].at)).toBeLessThan(4 * HOUR + 60_000);
      expect(four.rounds![0].reminders).toEqual([
        { at: four.escalations[0].at, escalationLevel: 0, roles: ['supervisor'] },
      ]);
      expect(four.nextTimer).toMatchObject({
        kind: 'reminder',
        dueAt: new Date(Date.parse(openedAt) + 8 * HOUR).toISOString(),
      });
      expect(four.openLevel?.eligibleApprovers).toEqual(['sam', 'sue', 'maya', 'mo', 'vic']);

      await h.env.sleep('4h');
      const eight = await waitFor(
        () => checkpoint(handle),
        (c) => c.escalations.length === 2,
        'escalation to director',
      );
      expect(eight.escalations.map((e) => e.toRole)).toEqual(['manager', 'director']);
      expect(sinceOpen(openedAt, eight.escalations[1].at)).toBeGreaterThanOrEqual(8 * HOUR);
      expect(sinceOpen(openedAt, eight.escalations[1].at)).toBeLessThan(8 * HOUR + 60_000);
      expect(eight.allowedRoles).toEqual(['supervisor', 'manager', 'director']);
      expect(eight.nextTimer).toMatchObject({ kind: 'reminder' });

      const rows = await notifications(h, handle.workflowId, 5);
      // Compared as a set: the outbox id orders writes, and a retried write may land after a later one.
      expect(rows).toHaveLength(5);
      expect(rows.map((r) => [r.kind, r.level, r.roles])).toEqual(
        expect.arrayContaining([
          ['approval_requested', 1, ['supervisor']],
          ['reminder', 0, ['supervisor']],
          ['escalated', 1, ['supervisor', 'manager']],
          ['reminder', 1, ['supervisor', 'manager']],
          ['escalated', 2, ['supervisor', 'manager', 'director']],
        ]),
      );
      const toDirector = rows.find((r) => r.kind === 'escalated' && r.level === 2)!;
      expect(toDirector.recipients).toEqual(['sam', 'sue', 'maya', 'mo', 'dan', 'dora', 'vic']);
      expect(toDirector.body).toMatchObject({ toRole: 'director', round: 1 });

      await handle.signal(
        approvalSignal,
        await signed(h, handle, { checkpointId: 'recon-review', approverId: 'dan', resolution: 'timing differences' }),
      );
      const result = await handle.result();
      expect(result.decisions[0]).toMatchObject({ approverId: 'dan', role: 'director', viaEscalation: true });
    });
  });

  it('sends the reminder before the timeout when the checkpoint asks for it (1h before 4h)', async () => {
    const taskQueue = uniqueId('tq');
    const worker = await newWorker(h, taskQueue);
    await running(h, worker, async () => {
      const handle = await startApproval(h, taskQueue, { checkpointId: 'je-approval', item: JE_75K });
      const openedAt = (await opened(handle)).rounds![0].openedAt;
      await h.env.sleep('3h');
      const three = await waitFor(
        () => checkpoint(handle),
        (c) => (c.rounds?.[0].reminders.length ?? 0) === 1,
        'reminder',
      );
      expect(sinceOpen(openedAt, three.rounds![0].reminders[0].at)).toBeGreaterThanOrEqual(3 * HOUR);
      expect(three.escalations).toEqual([]);
      expect(three.nextTimer).toMatchObject({ kind: 'escalate', toRole: 'manager' });
      await h.env.sleep('1h');
      const four = await waitFor(
        () => checkpoint(handle),
        (c) => c.escalations.length === 1,
        'escalation',
      );
      // A manager may now sign the supervisor's level, by escalation; the chain still needs every later level.
      expect(four.openLevel?.eligibleApprovers).toEqual(['sam', 'sue', 'maya', 'mo', 'vic']);
      await handle.signal(approvalSignal, await signed(h, handle, { approverId: 'maya' }));
      const next = await waitFor(
        () => checkpoint(handle),
        (c) => c.openLevel?.level === 2,
        'level 2',
      );
      expect(next.decisions[0]).toMatchObject({ approverId: 'maya', role: 'manager', viaEscalation: true, level: 1 });
      expect(next.openLevel?.eligibleApprovers).toEqual(['mo']);
    });
  });

  it('sends a rejected item back to its preparer and opens a new round on a signed resubmission, keeping the rounds', async () => {
    const taskQueue = uniqueId('tq');
    const worker = await newWorker(h, taskQueue);
    await running(h, worker, async () => {
      const handle = await startApproval(h, taskQueue, { checkpointId: 'je-approval', item: JE_75K });
      await opened(handle);
      const level1 = await signed(h, handle, { approverId: 'sam' });
      await handle.signal(approvalSignal, level1);
      await handle.signal(
        approvalSignal,
        await signed(h, handle, { approverId: 'maya', decision: 'rejected', comments: 'split it: 9,000 is ours' }),
      );
      const rejected = await waitFor(
        () => checkpoint(handle),
        (c) => c.state === 'rejected',
        'rejection',
      );
      expect(rejected).toMatchObject({ waitingFor: 'preparer', nextTimer: { kind: 'resubmission_reminder' } });
      expect(rejected.openLevel).toBeUndefined();
      const rows = await notifications(h, handle.workflowId, 3);
      expect(rows[2]).toMatchObject({ kind: 'rejected', level: 2, recipients: ['ann'] });

      const update = (s: ResubmitSignal) => handle.executeUpdate(submitResubmissionUpdate, { args: [s] });
      expect(await update(await signedResubmission(h, handle, { preparerId: 'vic', amount: '9000.00' }))).toMatchObject(
        {
          accepted: false,
          reason: 'not_preparer',
          message: 'only ann, who prepared the item, may resubmit it (not vic)',
        },
      );
      await expect(
        update({ ...(await signedResubmission(h, handle, { preparerId: 'ann' })), round: 3 }),
      ).rejects.toMatchObject({
        cause: { details: [{ reason: 'round_mismatch' }] },
      });
      expect(await update({ checkpointId: 'je-approval', preparerId: 'ann', round: 2 })).toMatchObject({
        accepted: false,
        reason: 'unsigned',
      });
      const resubmission = await signedResubmission(h, handle, {
        preparerId: 'ann',
        amount: '9000.00',
        evidence: [{ kind: 'je_support', ref: 'store://je/JE-2026-10-042/split.xlsx' }],
      });
      expect(await update(resubmission)).toMatchObject({
        accepted: true,
        outcome: 'resubmitted',
        round: 2,
        state: 'open',
      });
      // The same signed resubmission again: replayed, refused.
      await handle.signal(resubmitSignal, resubmission);
      const round2 = await waitFor(
        () => checkpoint(handle),
        (c) => (c.resubmissions?.length ?? 0) === 4,
        'resubmissions logged',
      );
      expect(round2.resubmissions?.map((r) => [r.by, r.outcome, r.reason])).toEqual([
        ['vic', 'refused', 'not_preparer'],
        ['ann', 'refused', 'unsigned'],
        ['ann', 'accepted', undefined],
        ['ann', 'refused', 'replay'],
      ]);
      expect(round2.rounds?.[1]).toMatchObject({ round: 2, status: 'open', amount: '9000.00', mode: 'single' });
      expect(round2.item?.amount).toBe('9000.00');
      // Round 1's signature does not carry over.
      await handle.signal(approvalSignal, level1);
      await handle.signal(approvalSignal, await signed(h, handle, { approverId: 'sue', round: 2 }));
      const result = await handle.result();
      expect(result.state).toBe('approved');
      expect(result.rounds?.map((r) => [r.round, r.status, r.amount])).toEqual([
        [1, 'rejected', '75000.00'],
        [2, 'approved', '9000.00'],
      ]);
      expect(result.decisions.map((d) => [d.round, d.level, d.approverId, d.decision])).toEqual([
        [1, 1, 'sam', 'approved'],
        [1, 2, 'maya', 'rejected'],
        [2, 1, 'sue', 'approved'],
      ]);
      expect(result.refusals.map((r) => [r.approverId, r.reason])).toEqual([['sam', 'duplicate']]);
      const after = await h.outbox.forWorkflow(handle.workflowId);
      expect(after.filter((r) => r.round === 2).map((r) => [r.kind, r.recipients])).toEqual([
        ['approval_requested', ['sam', 'sue', 'maya', 'mo', 'dan', 'dora', 'vic']],
        ['approved', ['ann', 'dora']],
      ]);
    });
  });

  it('delivers each notification to the webhook with an HMAC signature, retrying while the receiver fails', async () => {
    const received: { headers: IncomingHttpHeaders; body: string }[] = [];
    let failures = 1;
    const server: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (failures-- > 0) {
          res.writeHead(503).end();
          return;
        }
        received.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    try {
      const taskQueue = uniqueId('tq');
      const worker = await newWorker(h, taskQueue, { webhook: { url, secret: 'hook-secret' } });
      await running(h, worker, async () => {
        const handle = await startApproval(h, taskQueue, {
          checkpointId: 'je-single',
          item: { type: 'journal_entry', amount: '500', preparer: 'ann' },
        });
        await opened(handle);
        await waitFor(
          async () => received.length,
          (n) => n === 1,
          'first notification delivered after a retry',
        );
        await handle.signal(approvalSignal, await signed(h, handle, { checkpointId: 'je-single', approverId: 'sue' }));
        await handle.result();
        await waitFor(
          async () => received.length,
          (n) => n === 2,
          'approval delivered',
        );
        const rows = await h.outbox.forWorkflow(handle.workflowId);
        expect(received.map((r) => JSON.parse(r.body) as { kind: string; id: string })).toEqual([
          expect.objectContaining({ kind: 'approval_requested', id: rows[0].id }),
          expect.objectContaining({ kind: 'approved', id: rows[1].id }),
        ]);
        for (const r of received)
          expect(r.headers['x-finflow-signature']).toBe(
            `sha256=${createHmac('sha256', 'hook-secret').update(r.body).digest('hex')}`,
          );
        expect(rows[0]).toMatchObject({ webhookAttempts: 2, webhookLastError: null });
        expect(rows[0].webhookDeliveredAt).not.toBeNull();
      });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
