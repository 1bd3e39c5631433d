// What an approval checkpoint refuses once it has settled or while it is not waiting for what is sent (in a close
// running two checkpoints side by side), resubmissions counted unsigned in development mode, and a webhook that
// refuses its notifications: each shown in the status, nothing lost.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'pg';
import type { monthEndCloseWorkflow } from '../../workflows';
import {
  approvalSignal,
  approvalsQuery,
  resubmitSignal,
  submitApprovalUpdate,
  submitResubmissionUpdate,
  type ApprovalSignal,
  type ResubmitSignal,
} from '../../workflows/definitions';
import {
  approvalSuite,
  checkpoint,
  JE_75K,
  newWorker,
  running,
  opened,
  policy,
  signed,
  signedResubmission,
  startApproval,
  uniqueId,
  waitFor,
  type Handle,
} from './approval-harness';

const h = approvalSuite('approval_settled');

describe('settled and waiting approval checkpoints on the time-skipping server', () => {
  it('refuses decisions and resubmissions a checkpoint is not waiting for, and records each one', async () => {
    const taskQueue = uniqueId('tq');
    const worker = await newWorker(h, taskQueue);
    const company = uniqueId('ST').replace(/[^A-Za-z0-9-]/g, '');
    const workflowId = `close:${company}:2026-10`;
    h.started.push(workflowId);
    await running(h, worker, async () => {
      const close = await h.env.client.workflow.start<typeof monthEndCloseWorkflow>('monthEndCloseWorkflow', {
        taskQueue,
        workflowId,
        args: [
          {
            company,
            period: '2026-10',
            owner: 'dora',
            approvalPolicy: policy(),
            tasks: [
              {
                id: 'je',
                kind: 'approval',
                config: { checkpointId: 'je-single', item: { type: 'journal_entry', amount: '500', preparer: 'ann' } },
              },
              { id: 'recon', kind: 'approval', config: { checkpointId: 'recon-two-eyes', item: { preparer: 'ann' } } },
            ],
          },
        ],
      });
      // Both checkpoints live in the close; the harness helpers read them through the approvals query.
      const handle = close as unknown as Handle;
      await opened(handle, 'je-single');
      await opened(handle, 'recon-two-eyes');
      const approve = (s: ApprovalSignal) => close.executeUpdate(submitApprovalUpdate, { args: [s] });
      const resubmitUpdate = (s: ResubmitSignal) => close.executeUpdate(submitResubmissionUpdate, { args: [s] });

      // recon-two-eyes is open, not rejected: nothing to resubmit.
      const early = await signedResubmission(h, close, { checkpointId: 'recon-two-eyes', preparerId: 'ann' });
      await expect(resubmitUpdate(early)).rejects.toMatchObject({
        cause: {
          type: 'ApprovalRefused',
          message: 'checkpoint recon-two-eyes round 1 is open; only a rejected round can be resubmitted',
          details: [{ reason: 'not_resubmittable' }],
        },
      });
      await close.signal(resubmitSignal, early);

      // je-single settles; afterwards, neither a decision nor a resubmission reaches it.
      expect(await approve(await signed(h, close, { checkpointId: 'je-single', approverId: 'sue' }))).toMatchObject({
        accepted: true,
        outcome: 'approved',
      });
      const settled = await waitFor(
        () => checkpoint(handle, 'je-single'),
        (c) => c.state === 'approved' && c.waitingFor === 'nobody',
        'je-single settled',
      );
      expect(settled.nextTimer).toBeUndefined();
      await expect(
        approve(await signed(h, close, { checkpointId: 'je-single', approverId: 'maya' })),
      ).rejects.toMatchObject({
        cause: {
          message: 'checkpoint je-single round 1 is approved (closed)',
          details: [{ reason: 'checkpoint_not_open' }],
        },
      });
      const late = await signedResubmission(h, close, { checkpointId: 'je-single', preparerId: 'ann' });
      await expect(resubmitUpdate(late)).rejects.toMatchObject({
        cause: { message: 'checkpoint je-single is not open in this workflow' },
      });
      await close.signal(resubmitSignal, late);
      await expect(resubmitUpdate({ round: 2 } as unknown as ResubmitSignal)).rejects.toMatchObject({
        cause: { details: [{ reason: 'malformed' }] },
      });
      await close.signal(resubmitSignal, { ...late, checkpointId: 'no-such' });
      const unrouted = await waitFor(
        () => handle.query(approvalsQuery),
        (q) => q.unrouted.length === 1,
        'unrouted resubmission',
      );
      expect(unrouted.unrouted[0]).toMatchObject({
        checkpointId: 'no-such',
        approverId: 'ann',
        reason: 'checkpoint_not_open',
        message: 'checkpoint no-such is not open in this workflow',
      });

      await close.signal(
        approvalSignal,
        await signed(h, close, {
          checkpointId: 'recon-two-eyes',
          approverId: 'sam',
          decision: 'rejected',
          comments: 'break out the timing items',
        }),
      );
      await waitFor(
        () => checkpoint(handle, 'recon-two-eyes'),
        (c) => c.state === 'rejected',
        'recon-two-eyes rejected',
      );
      // A token signed for je-single does not open a round of recon-two-eyes; nor does one for round 3.
      await close.signal(resubmitSignal, { ...late, checkpointId: 'recon-two-eyes' });
      await close.signal(
        resubmitSignal,
        await signedResubmission(h, close, { checkpointId: 'recon-two-eyes', preparerId: 'ann', round: 3 }),
      );
      expect(
        await resubmitUpdate(
          await signedResubmission(h, close, {
            checkpointId: 'recon-two-eyes',
            preparerId: 'ann',
            resolution: 'split',
          }),
        ),
      ).toMatchObject({ accepted: true, outcome: 'resubmitted', round: 2 });
      await close.signal(
        approvalSignal,
        await signed(h, close, { checkpointId: 'recon-two-eyes', approverId: 'sue', round: 2 }),
      );
      await close.signal(
        approvalSignal,
        await signed(h, close, { checkpointId: 'recon-two-eyes', approverId: 'mo', round: 2 }),
      );
      const result = await close.result();
      expect(result.state).toBe('completed');
      const je = result.checkpoints.find((c) => c.checkpointId === 'je-single')!;
      const recon = result.checkpoints.find((c) => c.checkpointId === 'recon-two-eyes')!;
      expect(je.resubmissions?.map((r) => [r.by, r.outcome, r.reason, r.message])).toEqual([
        ['ann', 'refused', 'checkpoint_not_open', 'checkpoint je-single is closed (approved): the task has settled'],
      ]);
      expect(recon.resubmissions?.map((r) => [r.outcome, r.reason, r.message])).toEqual([
        [
          'refused',
          'not_resubmittable',
          'checkpoint recon-two-eyes round 1 is open; only a rejected round can be resubmitted',
        ],
        ['refused', 'checkpoint_not_open', 'the resubmission is for checkpoint je-single, not recon-two-eyes'],
        ['refused', 'round_mismatch', 'the resubmission opens round 3, but the next round is 2'],
        ['accepted', undefined, 'round 2 opened'],
      ]);
      expect(recon.decisions.map((d) => [d.round, d.level, d.approverId, d.decision])).toEqual([
        [1, 1, 'sam', 'rejected'],
        [2, 1, 'sue', 'approved'],
        [2, 2, 'mo', 'approved'],
      ]);
      // The refused approval never reached the settled checkpoint: the validator turned it away.
      expect(je.decisions.map((d) => d.approverId)).toEqual(['sue']);
      expect(je.refusals).toEqual([]);
    });
  });

  it('keeps at most 200 refused attempts per checkpoint, before and after it opens, and counts the ones it drops', async () => {
    const taskQueue = uniqueId('tq');
    const worker = await newWorker(h, taskQueue);
    const company = uniqueId('FL').replace(/[^A-Za-z0-9-]/g, '');
    const workflowId = `close:${company}:2026-10`;
    h.started.push(workflowId);
    await running(h, worker, async () => {
      const close = await h.env.client.workflow.start<typeof monthEndCloseWorkflow>('monthEndCloseWorkflow', {
        taskQueue,
        workflowId,
        args: [
          {
            company,
            period: '2026-10',
            approvalPolicy: policy(),
            tasks: [
              {
                id: 'je',
                kind: 'approval',
                config: { checkpointId: 'je-single', item: { type: 'journal_entry', amount: '500', preparer: 'ann' } },
              },
              {
                id: 'recon',
                kind: 'approval',
                predecessors: ['je'],
                config: { checkpointId: 'recon-any', item: { preparer: 'ann' } },
              },
            ],
          },
        ],
      });
      const handle = close as unknown as Handle;
      await opened(handle, 'je-single');
      // Unsigned attempts (a script flooding `temporal workflow signal`): refused without a signature check.
      const flood = (checkpointId: string) =>
        Promise.all(
          Array.from({ length: 203 }, (_, i) =>
            close.signal(approvalSignal, { checkpointId, decision: 'approved', approverId: `bot${i}` }),
          ),
        );
      await flood('je-single');
      await flood('recon-any');
      const s = await waitFor(
        () => handle.query(approvalsQuery),
        (q) =>
          q.checkpoints.length === 2 &&
          q.checkpoints.every((c) => c.refusals.length + (c.refusalsNotKept ?? 0) === 203),
        'every attempt accounted for',
      );
      const [je, recon] = ['je-single', 'recon-any'].map((id) => s.checkpoints.find((c) => c.checkpointId === id)!);
      expect([je.state, je.refusals.length, je.refusalsNotKept]).toEqual(['open', 200, 3]);
      expect([recon.state, recon.refusals.length, recon.refusalsNotKept]).toEqual(['pending', 200, 3]);
      expect(new Set(je.refusals.map((r) => r.reason))).toEqual(new Set(['unsigned']));
      expect(new Set(recon.refusals.map((r) => r.reason))).toEqual(new Set(['unsigned']));
      expect(recon.refusals[0].message).toContain('checkpoint recon-any has not opened yet in this workflow');
      // The flood does not stop the real approver.
      await close.signal(approvalSignal, await signed(h, close, { checkpointId: 'je-single', approverId: 'sue' }));
      const next = await opened(handle, 'recon-any');
      expect(next.audit?.slice(0, 200).every((e) => e.round === 0 && e.outcome === 'refused')).toBe(true);
      expect(next.audit?.[200]).toMatchObject({ event: 'submitted', round: 1 });
    });
  });

  it('opens a new round on an unsigned resubmission only in development mode, and says it was unsigned', async () => {
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
        decision: 'rejected',
        approverId: 'sue',
        comments: 'wrong cost centre',
      });
      await waitFor(
        () => checkpoint(handle),
        (c) => c.state === 'rejected',
        'rejection',
      );
      // No preparerId: the item's own preparer is assumed; no round: the next one.
      const answer = await handle.executeUpdate(submitResubmissionUpdate, {
        args: [{ checkpointId: 'je-single', amount: '400', itemRef: 'JE-400' } as ResubmitSignal],
      });
      expect(answer).toMatchObject({ accepted: true, outcome: 'resubmitted', round: 2, state: 'open' });
      await handle.signal(approvalSignal, { checkpointId: 'je-single', decision: 'approved', approverId: 'sue' });
      const result = await handle.result();
      expect(result).toMatchObject({ state: 'approved', unsignedApprovalsAllowed: true });
      expect(result.resubmissions?.map((r) => [r.by, r.outcome, r.message])).toEqual([
        ['ann', 'accepted', 'round 2 opened (unsigned, development)'],
      ]);
      expect(result.rounds?.map((r) => [r.round, r.status, r.amount])).toEqual([
        [1, 'rejected', '500'],
        [2, 'approved', '400'],
      ]);
      expect(result.decisions.map((d) => [d.round, d.approverId, d.signed])).toEqual([
        [1, 'sue', false],
        [2, 'sue', false],
      ]);
    });
  });

  it('counts notifications a webhook refuses as failed, with the answer, and keeps them in the outbox', async () => {
    let calls = 0;
    const server: Server = createServer((req, res) => {
      calls += 1;
      req.resume();
      req.on('end', () => res.writeHead(400).end());
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
        await handle.signal(approvalSignal, await signed(h, handle, { checkpointId: 'je-single', approverId: 'sue' }));
        const result = await handle.result();
        const rows = await h.outbox.forWorkflow(handle.workflowId);
        expect(result.notifications).toEqual({
          queued: 2,
          failed: 2,
          lastError: `webhook for notification ${rows[1].id}: webhook answered HTTP 400`,
        });
        // A refusal is final: one call per notification, no retries; the rows stay for polling.
        expect(calls).toBe(2);
        expect(rows.map((r) => [r.kind, r.webhookAttempts, r.webhookDeliveredAt, r.webhookLastError])).toEqual([
          ['approval_requested', 1, null, 'webhook answered HTTP 400'],
          ['approved', 1, null, 'webhook answered HTTP 400'],
        ]);
      });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('reports a webhook that stays down in the status once its retries run out, while the checkpoint waits', async () => {
    let calls = 0;
    const server: Server = createServer((req, res) => {
      calls += 1;
      req.resume();
      req.on('end', () => res.writeHead(503).end());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    try {
      const taskQueue = uniqueId('tq');
      const worker = await newWorker(h, taskQueue, { webhook: { url } });
      await running(h, worker, async () => {
        const handle = await startApproval(h, taskQueue, { checkpointId: 'je-approval', item: JE_75K });
        await opened(handle);
        // The retries back off from 5s to 10m: 12 attempts take under an hour; the reminder is due at 3h.
        await h.env.sleep('2h');
        const cp = await waitFor(
          () => checkpoint(handle),
          (c) => c.notifications?.failed === 1,
          'webhook given up',
        );
        const rows = await h.outbox.forWorkflow(handle.workflowId);
        expect(cp.notifications).toEqual({
          queued: 1,
          failed: 1,
          lastError: `webhook for notification ${rows[0].id}: webhook answered HTTP 503`,
        });
        expect(cp.state).toBe('open');
        // One try inside the outbox write, then twelve by the delivery activity.
        expect(calls).toBe(13);
        expect(rows[0]).toMatchObject({ webhookAttempts: 13, webhookDeliveredAt: null });
      });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('records notifications it cannot write to the outbox as failed, and approvers still decide', async () => {
    const taskQueue = uniqueId('tq');
    // Nothing listens on port 1: every outbox write fails, and is retried until the policy gives up.
    const down = new Pool({ connectionString: 'postgres://finflow:x@127.0.0.1:1/none', max: 1 });
    down.on('error', () => undefined);
    try {
      const worker = await newWorker(h, taskQueue, { outbox: down });
      await running(h, worker, async () => {
        const handle = await startApproval(h, taskQueue, {
          checkpointId: 'je-single',
          item: { type: 'journal_entry', amount: '500', preparer: 'ann' },
        });
        await opened(handle);
        await handle.signal(approvalSignal, await signed(h, handle, { checkpointId: 'je-single', approverId: 'sue' }));
        const result = await handle.result();
        expect(result.state).toBe('approved');
        expect(result.notifications).toEqual({
          queued: 0,
          failed: 2,
          lastError: expect.stringMatching(/^approved: .*ECONNREFUSED/),
        });
        expect(await h.outbox.forWorkflow(handle.workflowId)).toEqual([]);
      });
    } finally {
      await down.end();
    }
  });
});
