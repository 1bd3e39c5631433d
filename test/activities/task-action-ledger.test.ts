// Issue 18: every signed task action's check, verified or refused, lands in the audit ledger before the close
// judges the action; a re-run of the same check writes nothing new.
import { Pool } from 'pg';
import { createApprovalActivities } from '../../activities/approval';
import { APPROVAL_AUDIENCE, CLI_ISSUER } from '../../activities/approval/keys';
import { generateApprovalKeyPair, type ApprovalKeyPair } from '../../activities/approval/signing';
import { signTaskAction } from '../../activities/approval/task-action-token';
import { staticUserKeys } from '../../activities/approval/user-keys';
import { AuditLedger } from '../../activities/audit-ledger';
import { closeTrail } from '../../activities/audit-ledger/trail';
import { addUserKey, emptyUserKeyDirectory, type UserKeyRecord } from '../../domain/approval/person-keys';
import { freshDatabase } from '../helpers/postgres';

const WF = 'close:ACME:2026-10';
const AT = '2026-11-03T09:00:00.000Z';
let pool: Pool;

beforeAll(async () => {
  pool = new Pool({ connectionString: await freshDatabase('task_action_ledger'), max: 2 });
});
afterAll(() => pool?.end());

const personKey = (pair: ApprovalKeyPair, personId: string, extra: Partial<UserKeyRecord> = {}): UserKeyRecord => ({
  kid: pair.kid,
  personId,
  publicJwk: pair.publicJwk as UserKeyRecord['publicJwk'],
  validFrom: '2026-11-01T00:00:00.000Z',
  addedAt: '2026-11-01T00:00:00.000Z',
  addedBy: 'ivy.admin',
  ...extra,
});

describe('task actions in the audit ledger', () => {
  it("records a verified action, ann's key signing as carla and an expired key as refused, each once", async () => {
    const [ann, carla, old] = await Promise.all([1, 2, 3].map(() => generateApprovalKeyPair()));
    const ledger = await AuditLedger.open({ pool });
    const worker = createApprovalActivities({
      approval: {
        ledger,
        userKeys: staticUserKeys(
          [
            personKey(ann, 'ann'),
            personKey(carla, 'carla'),
            personKey(old, 'carla', { validUntil: '2026-11-02T00:00:00.000Z' }),
          ].reduce(addUserKey, emptyUserKeyDirectory()),
        ),
      },
    });
    const sign = async (key: ApprovalKeyPair, by: string, action: 'complete' | 'attest' = 'complete') =>
      (
        await signTaskAction(
          { workflowId: WF, action, taskId: 'prelim', by, ...(action === 'attest' ? { statement: 'I attest' } : {}) },
          key,
          { issuer: CLI_ISSUER, audience: APPROVAL_AUDIENCE, now: new Date(AT) },
        )
      ).token;
    const check = (token: string) => worker.verifyTaskActionSignal({ token, workflowId: WF, at: AT });

    const own = await sign(ann, 'ann');
    expect(await check(own)).toMatchObject({ ok: true, action: { by: 'ann', proof: { kid: ann.kid } } });
    expect(await check(own)).toMatchObject({ ok: true });
    expect(await check(await sign(ann, 'carla', 'attest'))).toMatchObject({
      ok: false,
      reason: 'key_of_another_person',
      claimedBy: 'carla',
    });
    expect(await check(await sign(old, 'carla'))).toMatchObject({ ok: false, reason: 'key_expired' });

    const trail = await closeTrail(pool, WF);
    expect(trail.map((e) => [e.actor, e.action, e.subject, e.at])).toEqual([
      ['ann', 'task.action.signed', `${WF}/task/prelim`, AT],
      ['unverified:carla', 'task.action.refused', `${WF}/task/prelim`, AT],
      ['unverified:carla', 'task.action.refused', `${WF}/task/prelim`, AT],
    ]);
    expect(trail[0].payload).toMatchObject({ action: 'complete', signature: 'verified', kid: ann.kid });
    expect(trail[1].payload).toMatchObject({ action: 'attest', signature: 'failed', reason: 'key_of_another_person' });
    expect(trail[2].payload).toMatchObject({ reason: 'key_expired', message: expect.stringContaining('expired at') });
    expect(await ledger.verify()).toMatchObject({ ok: true, entries: 3 });
  });
});
