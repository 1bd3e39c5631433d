// Runtime delegation on the time-skipping server (issue 18): a delegation signed by the delegator with their own
// key reaches a running checkpoint through the submitDelegation update and counts for the next decision; bad ones
// (a loop, to oneself, an overlapping window, an unknown person, someone else's authority, someone else's key) are
// refused, kept in the workflow's delegation log and appended to the audit ledger, and change nothing; a delegate
// still cannot approve an item they prepared.
import { Pool } from 'pg';
import { signDelegation } from '../../activities/approval/delegation-token';
import { APPROVAL_AUDIENCE, CLI_ISSUER } from '../../activities/approval/keys';
import type { ApprovalSigningKey } from '../../activities/approval/signing';
import { AuditLedger } from '../../activities/audit-ledger/ledger';
import { closeTrail } from '../../activities/audit-ledger/trail';
import { sendDelegation } from '../../client/approval-delegation';
import { parseDelegationScope } from '../../domain/approval';
import { approvalsQuery, submitApprovalUpdate, submitDelegationUpdate } from '../../workflows/definitions';
import { PeopleKeys } from '../helpers/people-keys';
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
  startApproval,
  uniqueId,
  waitFor,
  type Handle,
} from './approval-harness';

const h = approvalSuite('approval_delegation');
let people: PeopleKeys;
let ledgerPool: Pool;
let ledger: AuditLedger;

beforeAll(async () => {
  people = await PeopleKeys.of(['maya', 'mo', 'sam', 'vic', 'ivy']);
  ledgerPool = new Pool({ connectionString: await freshDatabase('approval_delegation_audit'), max: 2 });
  ledger = await AuditLedger.open({ pool: ledgerPool });
}, 60_000);
afterAll(() => ledgerPool?.end());

/** The seed's directory with ivy the administrator, and without the seed's own delegations. */
const withAdmin = () =>
  policy((p) => {
    p.roles = [...p.roles, { name: 'administrator' }];
    p.users = [...p.users, { userId: 'ivy', roles: ['administrator'] }];
    p.delegations = [];
  });

/** A date `days` after the server's now (date-only: the delegation runs through its end). */
async function inDays(days: number): Promise<string> {
  return new Date((await serverNow(h)).getTime() + days * 86_400_000).toISOString().slice(0, 10);
}

async function delegate(
  handle: Handle,
  by: string,
  delegation: Record<string, unknown>,
  key: ApprovalSigningKey = people.keyOf(by),
) {
  const { token } = await signDelegation({ workflowId: handle.workflowId, by, delegation: delegation as never }, key, {
    issuer: CLI_ISSUER,
    audience: APPROVAL_AUDIENCE,
    now: await serverNow(h),
  });
  return handle.executeUpdate(submitDelegationUpdate, { args: [{ token }] });
}

describe('delegations granted while a checkpoint waits', () => {
  it("lets sam approve a 30,000 journal entry once maya delegates to him, signed with her own key, within the delegation's scope", async () => {
    const taskQueue = uniqueId('tq');
    const worker = await newWorker(h, taskQueue, { userKeys: people, ledger });
    await running(h, worker, async () => {
      const handle = await startApproval(h, taskQueue, {
        checkpointId: 'je-single',
        item: { ...JE_75K, amount: '30000.00', ref: 'JE-30K' },
        approvalPolicy: withAdmin(),
      });
      await opened(handle, 'je-single');
      const before = await handle.executeUpdate(submitApprovalUpdate, {
        args: [await signed(h, handle, { approverId: 'sam', checkpointId: 'je-single' }, samOwn())],
      });
      expect(before).toMatchObject({ accepted: false, reason: 'over_limit' });

      // As `finflow approval delegate` sends it: signed with maya's own key for this close, answered at once.
      const until = await inDays(7);
      const sent = await sendDelegation(h.env.client, {
        by: 'maya',
        key: people.keyOf('maya'),
        delegation: {
          from: 'maya',
          to: 'sam',
          to_date: until,
          scope: parseDelegationScope('journal_entry:50000'),
          reason: 'out of office',
        },
        closes: [handle.workflowId],
        now: await serverNow(h),
      });
      expect(sent).toEqual([
        {
          workflowId: handle.workflowId,
          answer: {
            accepted: true,
            message: expect.stringMatching(
              new RegExp(`^sam holds maya's authority for journal_entry up to 50000 from .* to ${until}$`),
            ),
          },
        },
      ]);
      const after = await handle.executeUpdate(submitApprovalUpdate, {
        args: [await signed(h, handle, { approverId: 'sam', checkpointId: 'je-single' }, samOwn())],
      });
      expect(after).toMatchObject({ accepted: true, outcome: 'approved' });
      const result = await handle.result();
      expect(result.decisions).toEqual([
        expect.objectContaining({ approverId: 'sam', onBehalfOf: 'maya', decision: 'approved', signed: true }),
      ]);
      const trail = await closeTrail(ledgerPool, handle.workflowId);
      expect(trail.filter((e) => e.action.startsWith('approval.delegation')).map((e) => [e.actor, e.action])).toEqual([
        ['maya', 'approval.delegation'],
      ]);
    });
  });

  it('refuses a loop, a delegation to oneself, an overlapping window, an unknown person, a grant of someone else’s authority and a token signed with another’s key, recording each and changing nothing', async () => {
    const taskQueue = uniqueId('tq');
    const worker = await newWorker(h, taskQueue, { userKeys: people, ledger });
    await running(h, worker, async () => {
      const handle = await startApproval(h, taskQueue, {
        checkpointId: 'je-single',
        item: { ...JE_75K, amount: '30000.00', ref: 'JE-30K-bad' },
        approvalPolicy: withAdmin(),
      });
      await opened(handle, 'je-single');
      const until = await inDays(7);
      const to = (from: string, too: string, extra: Record<string, unknown> = {}) => ({
        from,
        to: too,
        to_date: until,
        ...extra,
      });
      expect(await delegate(handle, 'maya', to('maya', 'mo'))).toMatchObject({ accepted: true });
      const refused = [
        await delegate(handle, 'mo', to('mo', 'maya')),
        await delegate(handle, 'sam', to('sam', 'sam')),
        await delegate(handle, 'maya', to('maya', 'sam')),
        await delegate(handle, 'ivy', to('ghost', 'sam')),
        await delegate(handle, 'sam', to('maya', 'sam')),
        await delegate(
          handle,
          'maya',
          to('maya', 'vic', { from_date: await inDays(30), to_date: await inDays(31) }),
          people.keyOf('sam'),
        ),
      ];
      expect(refused.map((a) => [a.accepted, a.reason])).toEqual([
        [false, 'delegation_loop'],
        [false, 'self_delegation'],
        [false, 'overlapping_window'],
        [false, 'unknown_person'],
        [false, 'not_authorised'],
        [false, 'key_of_another_person'],
      ]);
      expect(refused[0].message).toBe('the delegation would close a loop: mo -> maya -> mo');
      // An administrator grants for someone else; nothing refused above changed who may sign.
      expect(
        await delegate(handle, 'ivy', to('sue', 'sam', { from_date: await inDays(10), to_date: await inDays(12) })),
      ).toMatchObject({
        accepted: true,
      });
      const sam = await handle.executeUpdate(submitApprovalUpdate, {
        args: [await signed(h, handle, { approverId: 'sam', checkpointId: 'je-single' }, samOwn())],
      });
      expect(sam).toMatchObject({ accepted: false, reason: 'over_limit' });

      const log = (await handle.query(approvalsQuery)).delegations ?? [];
      expect(log.map((e) => [e.by, e.accepted, e.reason])).toEqual([
        ['maya', true, undefined],
        ['mo', false, 'delegation_loop'],
        ['sam', false, 'self_delegation'],
        ['maya', false, 'overlapping_window'],
        ['ivy', false, 'unknown_person'],
        ['sam', false, 'not_authorised'],
        ['unverified:maya', false, 'key_of_another_person'],
        ['ivy', true, undefined],
      ]);
      const trail = (await closeTrail(ledgerPool, handle.workflowId)).filter((e) =>
        e.action.startsWith('approval.delegation'),
      );
      expect(trail.map((e) => e.action)).toEqual([
        'approval.delegation',
        ...Array(6).fill('approval.delegation.refused'),
        'approval.delegation',
      ]);
      expect(trail[6].actor).toBe('unverified:maya');
      expect(await ledger.verify()).toMatchObject({ ok: true });
      expect((await checkpoint(handle, 'je-single')).state).toBe('open');
    });
  });

  it('never lets a delegate approve an item they prepared', async () => {
    const taskQueue = uniqueId('tq');
    const worker = await newWorker(h, taskQueue, { userKeys: people });
    await running(h, worker, async () => {
      const handle = await startApproval(h, taskQueue, {
        checkpointId: 'je-single',
        item: { ...JE_75K, amount: '30000.00', ref: 'JE-30K-vic', preparer: 'vic' },
        approvalPolicy: withAdmin(),
      });
      await opened(handle, 'je-single');
      expect(await delegate(handle, 'maya', { from: 'maya', to: 'vic', to_date: await inDays(7) })).toMatchObject({
        accepted: true,
      });
      const vic = await handle.executeUpdate(submitApprovalUpdate, {
        args: [
          await signed(
            h,
            handle,
            { approverId: 'vic', checkpointId: 'je-single' },
            { issuer: CLI_ISSUER, audience: APPROVAL_AUDIENCE, key: people.keyOf('vic') },
          ),
        ],
      });
      expect(vic).toMatchObject({ accepted: false, reason: 'self_approval' });
      await waitFor(
        () => checkpoint(handle, 'je-single'),
        (c) => c.refusals.length === 1,
        'the refusal recorded',
      );
    });
  });
});

/** sam signs with his own key through the CLI. */
function samOwn() {
  return { issuer: CLI_ISSUER, audience: APPROVAL_AUDIENCE, key: people.keyOf('sam') };
}
