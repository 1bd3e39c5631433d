// Time in approval checkpoints, on the time-skipping server: reminders, escalation at 4h and 8h, deadlock when the
// path ends (owner told, close task blocked), rejection and resubmission in rounds, a preparer who never
// resubmits; plus the task configurations a close refuses, and webhook delivery.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHmac } from 'node:crypto';
import type { monthEndCloseWorkflow } from '../../workflows';
import {
  approvalSignal,
  resubmitSignal,
  statusQuery,
  submitResubmissionUpdate,
  type ResubmitSignal,
} from '../../workflows/definitions';
import type { CloseTaskSpec, MonthEndCloseInput } from '../../workflows/types';
import {
  approvalSuite,
  checkpoint,
  JE_75K,
  newWorker,
  notifications,
  opened,
  policy,
  signed,
  signedResubmission,
  startApproval,
  uniqueId,
  waitFor,
  type Handle,
} from './approval-harness';

const h = approvalSuite('approval_escalation');
const HOUR = 3_600_000;
const sinceOpen = (openedAt: string, at: string) => Date.parse(at) - Date.parse(openedAt);

describe('approval timers, rounds and configuration on the time-skipping server', () => {
  it('reminds at the timeout, escalates to manager at 4h and director at 8h, and counts an escalated approval', async () => {
    const taskQueue = uniqueId('tq');
    const worker = await newWorker(h, taskQueue);
    await worker.runUntil(async () => {
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
      expect(rows.map((r) => [r.kind, r.level, r.roles])).toEqual([
        ['approval_requested', 1, ['supervisor']],
        ['reminder', 0, ['supervisor']],
        ['escalated', 1, ['supervisor', 'manager']],
        ['reminder', 1, ['supervisor', 'manager']],
        ['escalated', 2, ['supervisor', 'manager', 'director']],
      ]);
      expect(rows[4].recipients).toEqual(['sam', 'sue', 'maya', 'mo', 'dan', 'dora', 'vic']);
      expect(rows[4].body).toMatchObject({ toRole: 'director', round: 1 });

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
    await worker.runUntil(async () => {
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

  it('deadlocks a close checkpoint after the escalation path: marked, the owner notified, the task blocked with the reason', async () => {
    const taskQueue = uniqueId('tq');
    const worker = await newWorker(h, taskQueue);
    const company = uniqueId('DL').replace(/[^A-Za-z0-9-]/g, '');
    const workflowId = `close:${company}:2026-10`;
    h.started.push(workflowId);
    await worker.runUntil(async () => {
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
                id: 'recon_review',
                kind: 'approval',
                config: { checkpointId: 'recon-review', item: { preparer: 'ann' } },
              },
              { id: 'report', kind: 'approval', predecessors: ['recon_review'], config: { checkpointId: 'je-single' } },
            ],
          },
        ],
      });
      const handle = close as unknown as Handle;
      await opened(handle, 'recon-review');
      // 4h to the manager, 4h more to the director, 4h more for the director: then nobody is left.
      await h.env.sleep('12h');
      const cp = await waitFor(
        () => checkpoint(handle, 'recon-review'),
        (c) => c.state === 'deadlocked',
        'deadlock',
      );
      const reason =
        'no decision on recon-review round 1 after escalating through manager -> director: deadlocked, the close owner must act';
      expect(cp).toMatchObject({ state: 'deadlocked', waitingFor: 'nobody', blockedReason: reason });
      expect(cp.rounds?.[0].reminders.map((r) => r.escalationLevel)).toEqual([0, 1, 2]);
      expect(cp.audit?.map((e) => e.event)).toEqual([
        'submitted',
        'reminder',
        'escalated',
        'reminder',
        'escalated',
        'reminder',
        'deadlocked',
      ]);
      // The close shows the task blocked with the checkpoint's reason, and what waits on it blocked too.
      const status = await waitFor(
        () => close.query(statusQuery),
        (st) => st.tasks.find((t) => t.id === 'report')?.state === 'blocked',
        'close blocked',
      );
      expect(status.state).toBe('blocked');
      expect(status.tasks.map((t) => [t.id, t.state])).toEqual([
        ['recon_review', 'blocked'],
        ['report', 'blocked'],
      ]);
      expect(status.tasks[0].reason).toBe(reason);
      expect(status.tasks[1].reason).toContain('recon_review');
      const rows = await notifications(h, workflowId, 7);
      const deadlock = rows.find((r) => r.kind === 'deadlocked');
      expect(deadlock).toMatchObject({ recipients: ['dora'], roles: ['close_owner'], level: 2 });
      expect(deadlock?.body.message).toBe(reason);
    });
  });

  it('sends a rejected item back to its preparer and opens a new round on a signed resubmission, keeping the rounds', async () => {
    const taskQueue = uniqueId('tq');
    const worker = await newWorker(h, taskQueue);
    await worker.runUntil(async () => {
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

  it('reminds a preparer who does not resubmit and blocks the item once the approvers’ time has passed', async () => {
    const taskQueue = uniqueId('tq');
    const worker = await newWorker(h, taskQueue);
    await worker.runUntil(async () => {
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

      await h.env.sleep('4h');
      const reminded = await waitFor(
        () => checkpoint(handle),
        (c) => c.nextTimer?.dueAt === at(8),
        'first resubmission reminder',
      );
      // The preparer gets as many timeouts as the approvers had (4h, then manager, then director): 12h in all.
      expect(reminded).toMatchObject({ state: 'rejected', waitingFor: 'preparer' });
      expect(reminded.nextTimer).toEqual({ kind: 'resubmission_reminder', dueAt: at(8) });
      await h.env.sleep('4h');
      const last = await waitFor(
        () => checkpoint(handle),
        (c) => c.nextTimer?.dueAt === at(12),
        'second resubmission reminder',
      );
      expect(last.nextTimer).toEqual({ kind: 'not_resubmitted', dueAt: at(12) });

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

  it('fails approval tasks it cannot run, each with its reason, and runs the old slice shape only in development mode', async () => {
    const taskQueue = uniqueId('tq');
    const worker = await newWorker(h, taskQueue);
    const company = uniqueId('CFG').replace(/[^A-Za-z0-9-]/g, '');
    const approval = (id: string, config: object): CloseTaskSpec => ({ id, kind: 'approval', config }) as CloseTaskSpec;
    const legacy = {
      checkpointId: 'legacy-review',
      role: 'supervisor',
      escalation: { timeout: '4h', path: ['manager'] },
    };
    const input = (suffix: string, extra: Partial<MonthEndCloseInput>): MonthEndCloseInput => {
      h.started.push(`close:${company}${suffix}:2026-10`);
      return { company: `${company}${suffix}`, period: '2026-10', tasks: [], ...extra };
    };
    await worker.runUntil(async () => {
      const settled = async (workflowId: string, sleep: '5h' | '1m') => {
        // The close may wait for its owner once tasks are blocked: its status, not its end, is what counts here.
        await h.env.sleep(sleep);
        return waitFor(
          () => h.env.client.workflow.getHandle(workflowId).query(statusQuery),
          (st) => st.tasks.length > 0 && st.tasks.every((t) => t.state !== 'pending' && t.state !== 'running'),
          `${workflowId} settled`,
        );
      };
      await h.env.client.workflow.start<typeof monthEndCloseWorkflow>('monthEndCloseWorkflow', {
        taskQueue,
        workflowId: `close:${company}:2026-10`,
        args: [
          input('', {
            approvalPolicy: policy(),
            tasks: [
              approval('legacy', legacy),
              approval('unknown', { checkpointId: 'nope', item: { preparer: 'ann' } }),
              approval('mistyped', { checkpointId: 'je-single', item: { type: 'reconciliation', preparer: 'ann' } }),
              approval('no_amount', { checkpointId: 'je-approval', item: { preparer: 'ann' } }),
              approval('bad_preparer', { checkpointId: 'recon-any', item: { preparer: 'zed' } }),
              approval('no_item', { checkpointId: 'recon-two-eyes' }),
              approval('no_id', { item: { preparer: 'ann' } }),
              approval('first', { checkpointId: 'je-single', item: { preparer: 'ann', amount: 100 } }),
              approval('second', { checkpointId: 'je-single', item: { preparer: 'ann', amount: '100' } }),
            ],
          }),
        ],
      });
      // A task that cannot run ends failed or blocked (the close's choice); its reason is what this suite checks.
      const refused = expect.stringMatching(/^(failed|blocked)$/);
      const strict = await settled(`close:${company}:2026-10`, '5h');
      expect(Object.fromEntries(strict.tasks.map((t) => [t.id, [t.state, t.reason]]))).toEqual({
        legacy: [
          refused,
          expect.stringContaining('uses the slice shape {role, escalation}, whose approvers claim their role'),
        ],
        unknown: [
          refused,
          'checkpoint nope is not in the approval policy (it has recon-review, je-approval, je-single, recon-two-eyes, recon-any)',
        ],
        mistyped: [
          refused,
          'approval task je-single: the item is a reconciliation, but checkpoint je-single approves journal_entry',
        ],
        no_amount: [refused, expect.stringMatching(/^approval task je-approval: .*amount/)],
        bad_preparer: [refused, 'approval task recon-any: zed (no roles) may not prepare reconciliation'],
        no_item: [refused, expect.stringContaining('"item" is required')],
        no_id: [refused, 'an approval task needs a checkpointId'],
        // A whole-number amount from JSON is exact, so it is taken; the deadlock after 2h + 2h is the outcome.
        first: [
          'blocked',
          expect.stringContaining('no decision on je-single round 1 after escalating through director'),
        ],
        second: [refused, expect.stringContaining('checkpoint je-single is already used by another approval task')],
      });

      await h.env.client.workflow.start<typeof monthEndCloseWorkflow>('monthEndCloseWorkflow', {
        taskQueue,
        workflowId: `close:${company}NP:2026-10`,
        args: [
          input('NP', { tasks: [approval('review', { checkpointId: 'recon-review', item: { preparer: 'ann' } })] }),
        ],
      });
      const noPolicy = await settled(`close:${company}NP:2026-10`, '1m');
      expect(noPolicy.tasks[0].state).toEqual(refused);
      expect(noPolicy.tasks[0].reason).toBe(
        'approval task recon-review names checkpoint recon-review, but the workflow input has no approvalPolicy',
      );

      await expect(
        h.env.client.workflow.execute<typeof monthEndCloseWorkflow>('monthEndCloseWorkflow', {
          taskQueue,
          workflowId: `close:${company}BP:2026-10`,
          args: [
            input('BP', {
              approvalPolicy: { roles: [], users: [] },
              tasks: [approval('review', { checkpointId: 'recon-review', item: { preparer: 'ann' } })],
            }),
          ],
        }),
      ).rejects.toMatchObject({ cause: { type: 'InvalidApprovalPolicy', message: expect.stringContaining('roles') } });

      // Development mode: the old shape runs, the approver's role is claimed, and the status says so loudly.
      const devId = `close:${company}DEV:2026-10`;
      const dev = await h.env.client.workflow.start<typeof monthEndCloseWorkflow>('monthEndCloseWorkflow', {
        taskQueue,
        workflowId: devId,
        args: [input('DEV', { allowUnsignedApprovals: true, tasks: [approval('review', legacy)] })],
      });
      await waitFor(
        () => checkpoint(dev as never, 'legacy-review'),
        (c) => c.state === 'open',
        'legacy checkpoint open',
      );
      await dev.signal(approvalSignal, {
        checkpointId: 'legacy-review',
        decision: 'approved',
        approverId: 'max',
        role: 'manager',
      });
      await dev.signal(approvalSignal, {
        checkpointId: 'legacy-review',
        decision: 'approved',
        approverId: 'max',
        role: 'supervisor',
        comments: 'ok',
      });
      const done = await dev.result();
      expect(done.state).toBe('completed');
      expect(done.checkpoints[0]).toMatchObject({
        state: 'approved',
        unsignedApprovalsAllowed: true,
        warning: expect.stringMatching(/^DEVELOPMENT ONLY/),
        refusals: [{ approverId: 'max', reason: 'wrong_role' }],
        decisions: [{ approverId: 'max', role: 'supervisor', signed: false, comments: 'ok' }],
      });

      // Even in development mode the old shape must make a valid checkpoint.
      await h.env.client.workflow.start<typeof monthEndCloseWorkflow>('monthEndCloseWorkflow', {
        taskQueue,
        workflowId: `close:${company}DEV2:2026-10`,
        args: [
          input('DEV2', {
            allowUnsignedApprovals: true,
            tasks: [approval('review', { ...legacy, escalation: { timeout: 'soon', path: [] } })],
          }),
        ],
      });
      const badLegacy = await settled(`close:${company}DEV2:2026-10`, '1m');
      expect(badLegacy.tasks[0].state).toEqual(refused);
      expect(badLegacy.tasks[0].reason).toBe(
        'approval task legacy-review (slice shape {role, escalation}) is not a valid approval policy:\n' +
          '  - checkpoints[0].escalation.timeout: expected a duration such as "4h", "30m", "1d", "90s" or "1h30m", got "soon"',
      );
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
      await worker.runUntil(async () => {
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
