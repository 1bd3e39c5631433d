// Runtime delegation (issue 18): a grant judged against a close's policy as it stands (who may sign it, who exists,
// loops, self-delegation, overlapping windows), its --scope, and a scoped delegation under the approval rules: the
// delegate signs within the scope only, and still never for an item they prepared.
import {
  currentRound,
  DELEGATION_ADMIN_ROLE,
  DelegationGrantSchema,
  delegationCovers,
  evaluateDecision,
  judgeDelegation,
  openCheckpoint,
  parseApprovalPolicy,
  parseDelegationScope,
  type ApprovalPolicy,
  type CheckpointState,
  type Delegation,
  type SubmissionInput,
  withDelegations,
} from '../../domain/approval';
import { seedPolicyInput, signedAttempt } from './approval-fixtures';

const NOW = '2026-11-03T09:00:00.000Z';

/** The seed's directory with an administrator, and no delegations unless a test adds them. */
function policyWith(delegations: Delegation[] = []): ApprovalPolicy {
  const p = seedPolicyInput();
  return parseApprovalPolicy(
    {
      ...p,
      roles: [...p.roles, { name: 'administrator' }],
      users: [...p.users, { userId: 'ivy', roles: ['administrator'] }],
      delegations,
    },
    'test policy',
  );
}

const grant = (over: Record<string, unknown> = {}) => ({
  from: 'maya',
  to: 'sam',
  to_date: '2026-11-10',
  scope: { item_type: 'journal_entry', limit: '50000' },
  ...over,
});

describe('judging a delegation granted while closes run', () => {
  it('accepts a grant the delegator signs, starting when it is received and running through its last day', () => {
    expect(judgeDelegation(policyWith(), grant({ reason: 'out of office' }), 'maya', NOW)).toEqual({
      ok: true,
      delegation: {
        from: 'maya',
        to: 'sam',
        from_date: NOW,
        to_date: '2026-11-10',
        scope: { item_type: 'journal_entry', limit: '50000' },
        reason: 'out of office',
      },
    });
  });

  it('accepts a grant an administrator signs for someone else, and one limited to a role the delegator holds', () => {
    const r = judgeDelegation(
      policyWith(),
      grant({ role: 'manager', from_date: '2026-11-04', scope: undefined }),
      'ivy',
      NOW,
    );
    // Without a scope, the delegation covers every item the role may approve.
    expect(r).toEqual({
      ok: true,
      delegation: { from: 'maya', to: 'sam', role: 'manager', from_date: '2026-11-04', to_date: '2026-11-10' },
    });
  });

  it('refuses a grant signed by anyone else than the delegator or an administrator', () => {
    expect(DELEGATION_ADMIN_ROLE).toBe('administrator');
    expect(judgeDelegation(policyWith(), grant(), 'sam', NOW)).toEqual({
      ok: false,
      reason: 'not_authorised',
      message:
        "sam may not delegate maya's authority: a delegation is signed by the delegator or by a holder of role administrator",
    });
    expect(judgeDelegation(policyWith(), grant(), 'mallory', NOW)).toMatchObject({ reason: 'not_authorised' });
  });

  it('refuses an unknown delegator or delegate, naming them', () => {
    expect(judgeDelegation(policyWith(), grant({ from: 'ghost' }), 'ivy', NOW)).toEqual({
      ok: false,
      reason: 'unknown_person',
      message: "delegating user ghost is not in the close's directory",
    });
    expect(judgeDelegation(policyWith(), grant({ to: 'nobody' }), 'maya', NOW)).toEqual({
      ok: false,
      reason: 'unknown_person',
      message: "delegate nobody is not in the close's directory",
    });
  });

  it('refuses a delegation to oneself', () => {
    expect(judgeDelegation(policyWith(), grant({ to: 'maya' }), 'maya', NOW)).toEqual({
      ok: false,
      reason: 'self_delegation',
      message: 'maya cannot delegate to themselves',
    });
  });

  it('refuses a loop, A to B to A and a longer one, while the windows overlap', () => {
    const back = { from: 'sam', to: 'maya', from_date: '2026-11-01', to_date: '2026-11-30' };
    expect(judgeDelegation(policyWith([back]), grant(), 'maya', NOW)).toEqual({
      ok: false,
      reason: 'delegation_loop',
      message: 'the delegation would close a loop: maya -> sam -> maya',
    });
    const viaSue = [
      { from: 'sam', to: 'sue', from_date: '2026-11-01', to_date: '2026-11-30' },
      { from: 'sue', to: 'maya', from_date: '2026-11-01', to_date: '2026-11-30' },
    ];
    expect(judgeDelegation(policyWith(viaSue), grant(), 'maya', NOW)).toMatchObject({
      reason: 'delegation_loop',
      message: 'the delegation would close a loop: maya -> sam -> sue -> maya',
    });
    // The way back ended before this one starts: no loop.
    const earlier = { from: 'sam', to: 'maya', from_date: '2026-10-01', to_date: '2026-10-31' };
    expect(judgeDelegation(policyWith([earlier]), grant(), 'maya', NOW)).toMatchObject({ ok: true });
  });

  it('follows a chain that loops among others without it, and accepts', () => {
    // The policy file may hold sam <-> sue (both ways, one afternoon); maya delegating to sam closes no loop of hers.
    const theirs = [
      { from: 'sam', to: 'sue', from_date: '2026-11-03', to_date: '2026-11-04' },
      { from: 'sue', to: 'sam', from_date: '2026-11-03', to_date: '2026-11-04' },
    ];
    expect(judgeDelegation(policyWith(theirs), grant(), 'maya', NOW)).toMatchObject({ ok: true });
  });

  it("refuses a window overlapping another delegation of the same person's", () => {
    const existing = { from: 'maya', to: 'mo', from_date: '2026-11-08', to_date: '2026-11-12' };
    expect(judgeDelegation(policyWith([existing]), grant(), 'maya', NOW)).toEqual({
      ok: false,
      reason: 'overlapping_window',
      message: `maya already delegates to mo from 2026-11-08 to 2026-11-12, which overlaps ${NOW} to 2026-11-10`,
    });
    expect(
      judgeDelegation(policyWith([existing]), grant({ from_date: '2026-11-13', to_date: '2026-11-20' }), 'maya', NOW),
    ).toMatchObject({ ok: true });
  });

  it('refuses a malformed grant, a role the delegator lacks, an empty window and one already past, naming the field', () => {
    expect(judgeDelegation(policyWith(), grant({ to_date: 'next week' }), 'maya', NOW)).toMatchObject({
      ok: false,
      reason: 'invalid_delegation',
      message: expect.stringMatching(/^to_date: must be an ISO date/),
    });
    expect(judgeDelegation(policyWith(), { ...grant(), extra: 1 }, 'maya', NOW)).toMatchObject({
      reason: 'invalid_delegation',
    });
    expect(judgeDelegation(policyWith(), 'maya to sam', 'maya', NOW)).toMatchObject({
      reason: 'invalid_delegation',
      message: expect.stringMatching(/^delegation: /),
    });
    expect(judgeDelegation(policyWith(), grant({ role: 'director' }), 'maya', NOW)).toEqual({
      ok: false,
      reason: 'invalid_delegation',
      message: 'maya does not hold role director, so cannot delegate it',
    });
    expect(
      judgeDelegation(policyWith(), grant({ from_date: '2026-11-12', to_date: '2026-11-10' }), 'maya', NOW),
    ).toEqual({
      ok: false,
      reason: 'invalid_delegation',
      message: 'to_date 2026-11-10 is not after from_date 2026-11-12',
    });
    expect(
      judgeDelegation(policyWith(), grant({ from_date: '2026-10-01', to_date: '2026-10-31' }), 'maya', NOW),
    ).toEqual({
      ok: false,
      reason: 'invalid_delegation',
      message: `to_date 2026-10-31 is already past at ${NOW}`,
    });
  });
});

describe('the scope of a delegation', () => {
  it('reads --scope as an item type with an optional limit, and refuses anything else naming the option', () => {
    expect(DelegationGrantSchema.parse(grant()).scope).toEqual(parseDelegationScope('journal_entry:50000'));
    expect(parseDelegationScope('journal_entry:50000')).toEqual({ item_type: 'journal_entry', limit: '50000' });
    expect(parseDelegationScope(' reconciliation ')).toEqual({ item_type: 'reconciliation' });
    expect(() => parseDelegationScope('journal_entry:lots')).toThrow(
      '--scope must be <item type>[:<limit>], for example journal_entry:50000; got "journal_entry:lots"',
    );
  });

  it('covers items of its type up to its limit in absolute amount, and every item without a scope', () => {
    const scoped = { scope: { item_type: 'journal_entry', limit: '50000' } };
    expect(delegationCovers(scoped, { itemType: 'journal_entry', amount: '50000.00' })).toBe(true);
    expect(delegationCovers(scoped, { itemType: 'journal_entry', amount: '-50000.01' })).toBe(false);
    expect(delegationCovers(scoped, { itemType: 'reconciliation' })).toBe(false);
    expect(delegationCovers(scoped, { itemType: 'journal_entry' })).toBe(true);
    expect(
      delegationCovers({ scope: { item_type: 'journal_entry' } }, { itemType: 'journal_entry', amount: '9e9' }),
    ).toBe(true);
    expect(delegationCovers({}, { itemType: 'anything', amount: '1' })).toBe(true);
  });

  const T = '2026-11-05T09:00:00.000Z';
  const je = (amount: string, preparerId = 'ann'): SubmissionInput => ({
    preparerId,
    amount,
    currency: 'EUR',
    evidence: [{ kind: 'je_support', ref: 'store://je/1' }],
  });
  function open(p: ApprovalPolicy, submission: SubmissionInput): CheckpointState {
    const r = openCheckpoint(p, 'je-single', submission, T);
    if (!r.ok) throw new Error(r.message);
    return r.state;
  }
  const decide = (p: ApprovalPolicy, state: CheckpointState, approverId: string) =>
    evaluateDecision(
      p,
      state,
      signedAttempt({ checkpointId: 'je-single', round: currentRound(state).round, approverId }, T),
      T,
    );

  it("lets the delegate sign with the delegator's authority within the scope only", () => {
    const d = judgeDelegation(policyWith(), grant(), 'maya', NOW);
    if (!d.ok) throw new Error(d.message);
    const p = policyWith([d.delegation]);
    // 30,000 is over sam's own supervisor limit (10,000) and within maya's scoped 50,000.
    expect(decide(p, open(p, je('30000')), 'sam')).toMatchObject({
      accepted: true,
      outcome: 'approved',
      signature: { approverId: 'sam', onBehalfOf: 'maya' },
    });
    // 45,000 is within maya's manager limit, but the delegation was granted up to 50,000 of journal entries only:
    // a scope of 20,000 leaves sam with his own limit.
    const narrow = judgeDelegation(
      policyWith(),
      grant({ scope: { item_type: 'journal_entry', limit: '20000' } }),
      'maya',
      NOW,
    );
    if (!narrow.ok) throw new Error(narrow.message);
    const q = policyWith([narrow.delegation]);
    expect(decide(q, open(q, je('45000')), 'sam')).toMatchObject({ accepted: false, reason: 'over_limit' });
  });

  it('never lets a delegate approve an item they prepared, whatever they hold', () => {
    const d = judgeDelegation(policyWith(), grant({ to: 'vic' }), 'maya', NOW);
    if (!d.ok) throw new Error(d.message);
    const p = policyWith([d.delegation]);
    expect(decide(p, open(p, je('30000', 'vic')), 'vic')).toMatchObject({
      accepted: false,
      reason: 'self_approval',
    });
  });
});

describe('a close continued as new', () => {
  it('starts with the delegations its last run accepted added to its input policy, and with the input alone otherwise', () => {
    const input = seedPolicyInput();
    const d: Delegation = { from: 'maya', to: 'sam', from_date: NOW, to_date: '2026-11-10' };
    expect(withDelegations(input, [d])?.delegations).toEqual([...(input.delegations ?? []), d]);
    expect(withDelegations({ ...input, delegations: undefined }, [d])?.delegations).toEqual([d]);
    expect(withDelegations(input, [])).toBe(input);
    expect(withDelegations(undefined, [d])).toBeUndefined();
  });
});
