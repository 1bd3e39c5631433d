// Approval checkpoints hosted in a close (own suite: its own time-skipping server): deadlock after the escalation
// path, and the task configurations a close refuses. Split from approval-escalation.test.ts.
// Time in approval checkpoints, on the time-skipping server: reminders, escalation at 4h and 8h, deadlock when the
// path ends (owner told, close task blocked), rejection and resubmission in rounds, a preparer who never
// resubmits; plus the task configurations a close refuses, and webhook delivery.
import type { monthEndCloseWorkflow } from '../../workflows';
import { approvalSignal, statusQuery } from '../../workflows/definitions';
import type { CloseTaskSpec, MonthEndCloseInput } from '../../contracts';
import {
  approvalSuite,
  checkpoint,
  newWorker,
  running,
  notifications,
  opened,
  policy,
  uniqueId,
  waitFor,
  type Handle,
} from './approval-harness';

const h = approvalSuite('approval_close');

describe('approval checkpoints in a close on the time-skipping server', () => {
  it('deadlocks a close checkpoint after the escalation path: marked, the owner notified, the task blocked with the reason', async () => {
    const taskQueue = uniqueId('tq');
    const worker = await newWorker(h, taskQueue);
    const company = uniqueId('DL').replace(/[^A-Za-z0-9-]/g, '');
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
      // 4h to the manager, 4h more to the director, 4h more for the director: then nobody is left, and the close
      // ends blocked (waiting for its result lets the server skip the time).
      await close.result();
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
    await running(h, worker, async () => {
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
});
