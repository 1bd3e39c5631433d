import {
  ApprovalRuleError,
  applyEscalationStep,
  attemptFromVerification,
  currentRound,
  describeSigner,
  eligibleApprovers,
  escalationPlan,
  evaluateDecision,
  findCheckpoint,
  nextEscalationStep,
  openCheckpoint,
  openLevel,
  parseApprovalPolicy,
  requiredChain,
  resubmit,
  type ApprovalPolicy,
  type CheckpointState,
  type DecisionAttempt,
  type DecisionResult,
  type SubmissionInput,
} from '../../domain/approval';
import { seedPolicyInput, signedAttempt } from './approval-fixtures';

const policy: ApprovalPolicy = parseApprovalPolicy(seedPolicyInput(), 'test seed policy');
const T0 = '2026-10-30T09:00:00.000Z';
const at = (iso: string, plusMs = 0): string => new Date(Date.parse(iso) + plusMs).toISOString();
const HOUR = 3_600_000;
const support = [{ kind: 'je_support', ref: 'store://je/JE-42/support.pdf' }];

function open(checkpointId: string, submission: SubmissionInput, nowIso = T0): CheckpointState {
  const r = openCheckpoint(policy, checkpointId, submission, nowIso);
  if (!r.ok) throw new Error(`could not open ${checkpointId}: ${r.reason} ${r.message}`);
  return r.state;
}

function decide(state: CheckpointState, fields: Partial<DecisionAttempt> & { approverId: string }, nowIso = T0) {
  const attempt = signedAttempt(
    { checkpointId: state.checkpointId, round: currentRound(state).round, ...fields },
    nowIso,
  );
  return { attempt, result: evaluateDecision(policy, state, attempt, nowIso) };
}

function accepted(r: DecisionResult): Extract<DecisionResult, { accepted: true }> {
  if (!r.accepted) throw new Error(`refused: ${r.reason}: ${r.message}`);
  return r;
}

function refused(r: DecisionResult): Extract<DecisionResult, { accepted: false }> {
  if (r.accepted) throw new Error(`accepted: ${r.message}`);
  return r;
}

/** Signs levels in turn; returns the final state. */
function signAll(state: CheckpointState, approvers: string[], nowIso = T0): CheckpointState {
  let s = state;
  for (const approverId of approvers) s = accepted(decide(s, { approverId }, nowIso).result).newState;
  return s;
}

const je = (amount: string, extra: Partial<SubmissionInput> = {}): SubmissionInput => ({
  preparerId: 'ann',
  amount,
  currency: 'EUR',
  itemRef: 'JE-2026-10-0042',
  evidence: support,
  ...extra,
});

describe('required chain (delegation of authority)', () => {
  it('needs supervisor, manager and director, in that order, for a 75,000 journal entry with the seed limits', () => {
    const chain = requiredChain(policy, 'je-approval', '75000.00');
    expect(chain).toEqual({
      ok: true,
      mode: 'chain',
      limitsApply: true,
      levels: [
        { level: 1, role: 'supervisor', acceptsRoles: ['supervisor'], limit: '10000' },
        { level: 2, role: 'manager', acceptsRoles: ['manager'], limit: '50000' },
        { level: 3, role: 'director', acceptsRoles: ['director'], limit: '1000000' },
      ],
      basis: 'every level up to the first limit covering 75000: supervisor 10000 -> manager 50000 -> director 1000000',
    });
  });

  it('stops at the first covering role and lets a more senior role sign that last level', () => {
    const chain = requiredChain(policy, 'je-approval', '30000');
    expect(chain.ok && chain.levels.map((l) => [l.role, l.acceptsRoles])).toEqual([
      ['supervisor', ['supervisor']],
      ['manager', ['manager', 'director']],
    ]);
  });

  it('counts a limit equal to the amount as covering it, and a credit by its absolute value', () => {
    const atLimit = requiredChain(policy, 'je-approval', '50000');
    expect(atLimit.ok && atLimit.levels.map((l) => l.role)).toEqual(['supervisor', 'manager']);
    const credit = requiredChain(policy, 'je-approval', '-75000');
    expect(credit.ok && credit.levels.map((l) => l.role)).toEqual(['supervisor', 'manager', 'director']);
    const justAbove = requiredChain(policy, 'je-approval', '50000.01');
    expect(justAbove.ok && justAbove.levels.map((l) => l.role)).toEqual(['supervisor', 'manager', 'director']);
  });

  it('needs one covering approver at or below materiality', () => {
    const chain = requiredChain(policy, 'je-approval', '10000');
    expect(chain).toMatchObject({
      ok: true,
      mode: 'single',
      levels: [{ level: 1, role: 'supervisor', acceptsRoles: ['supervisor', 'manager', 'director'], limit: '10000' }],
      basis:
        '10000 is within materiality 10000: one approver whose limit covers 10000: supervisor or manager or director',
    });
  });

  it('needs one approver whose limit covers the amount at a single-approver checkpoint', () => {
    const chain = requiredChain(policy, findCheckpoint(policy, 'je-single')!, '75000');
    expect(chain).toMatchObject({
      ok: true,
      mode: 'single',
      levels: [{ level: 1, role: 'director', acceptsRoles: ['director'], limit: '1000000' }],
    });
  });

  it('orders roles without limits as written, and lets any of them sign when one approver is enough', () => {
    const chain = requiredChain(policy, 'recon-two-eyes', '123.45');
    expect(chain).toMatchObject({
      ok: true,
      mode: 'chain',
      limitsApply: false,
      levels: [
        { level: 1, role: 'supervisor', acceptsRoles: ['supervisor'], limit: null },
        { level: 2, role: 'manager', acceptsRoles: ['manager'], limit: null },
      ],
    });
    expect(requiredChain(policy, 'recon-any')).toMatchObject({
      ok: true,
      mode: 'single',
      levels: [{ level: 1, acceptsRoles: ['supervisor', 'manager'], limit: null }],
    });
  });

  it('refuses an amount no role covers, a missing or malformed amount, and an unknown checkpoint', () => {
    expect(requiredChain(policy, 'je-approval', '1000000.01')).toEqual({
      ok: false,
      reason: 'no_role_covers_amount',
      message:
        'checkpoint je-approval: 1000000.01 exceeds every approval limit for journal_entry (supervisor 10000, manager 50000, director 1000000)',
    });
    expect(requiredChain(policy, 'je-approval')).toMatchObject({ ok: false, reason: 'amount_required' });
    expect(requiredChain(policy, 'je-approval', '75,000')).toMatchObject({ ok: false, reason: 'invalid_amount' });
    expect(requiredChain(policy, 'nope', '1')).toMatchObject({ ok: false, reason: 'unknown_checkpoint' });
  });

  it('puts an unlimited role last', () => {
    const input = seedPolicyInput();
    input.roles[3].approval_limits = { journal_entry: 'unlimited' };
    const p = parseApprovalPolicy(input);
    const chain = requiredChain(p, 'je-approval', '99999999999');
    expect(chain.ok && chain.levels.map((l) => `${l.role} ${l.limit}`)).toEqual([
      'supervisor 10000',
      'manager 50000',
      'director unlimited',
    ]);
  });
});

describe('submission', () => {
  it('opens round 1 with the chain and records the submission in the audit trail', () => {
    const state = open('je-approval', je('75000.00'));
    expect(state.status).toBe('open');
    expect(currentRound(state)).toMatchObject({
      round: 1,
      status: 'open',
      openedAt: T0,
      submission: { preparerId: 'ann', amount: '75000.00', evidence: support },
      levels: [{ role: 'supervisor' }, { role: 'manager' }, { role: 'director' }],
      escalation: { level: 0, escalatedTo: [], stepsApplied: 0, reminders: [] },
    });
    expect(state.audit).toEqual([
      {
        at: T0,
        round: 1,
        event: 'submitted',
        actor: 'ann',
        outcome: 'accepted',
        message: expect.stringMatching(/^submitted by ann for 75000\.00 EUR; needs supervisor -> manager -> director/),
      },
    ]);
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
  });

  it('refuses an unknown checkpoint, a malformed submission, an unknown or unauthorised preparer, and no covering role', () => {
    const refuse = (id: string, s: SubmissionInput) => openCheckpoint(policy, id, s, T0);
    expect(refuse('nope', je('1'))).toMatchObject({ ok: false, reason: 'unknown_checkpoint' });
    expect(refuse('je-approval', je('1', { currency: 'euro' }))).toEqual({
      ok: false,
      reason: 'invalid_submission',
      message: 'currency: must be an ISO 4217 code such as EUR',
    });
    expect(refuse('je-approval', je('1e5'))).toMatchObject({ ok: false, reason: 'invalid_submission' });
    expect(refuse('je-approval', { preparerId: 'ann', amount: '1', extra: 1 } as SubmissionInput)).toMatchObject({
      reason: 'invalid_submission',
      message: expect.stringContaining('submission: Unrecognized key: "extra"'),
    });
    expect(refuse('je-approval', je('1', { preparerId: 'eve' }))).toMatchObject({ reason: 'unknown_preparer' });
    expect(refuse('je-approval', je('1', { preparerId: 'maya' }))).toEqual({
      ok: false,
      reason: 'preparer_not_allowed',
      message: 'maya (manager) may not prepare journal_entry',
    });
    expect(refuse('je-approval', je('1', { preparerId: 'zed' }))).toMatchObject({
      message: 'zed (no roles) may not prepare journal_entry',
    });
    expect(refuse('je-approval', je('2000000'))).toMatchObject({ reason: 'no_role_covers_amount' });
    const noCurrency = openCheckpoint(
      policy,
      'je-approval',
      { preparerId: 'ann', amount: '12.50', evidence: support },
      T0,
    );
    expect(noCurrency.ok && noCurrency.state.audit[0].message).toMatch(
      /^submitted by ann for 12\.50; needs supervisor \(/,
    );
    expect(refuse('je-approval', { preparerId: 'ann' })).toMatchObject({ reason: 'amount_required' });
  });

  it('refuses a clock value that is not an ISO instant: that is a bug in the caller', () => {
    expect(() => openCheckpoint(policy, 'je-approval', je('1'), 'yesterday')).toThrow(ApprovalRuleError);
    expect(() => openCheckpoint(policy, 'je-approval', je('1'), 'yesterday')).toThrow(
      'now is not an ISO instant: "yesterday"',
    );
  });
});

describe('decisions', () => {
  it("approves an item within one approver's limit in one step", () => {
    const state = open('je-approval', je('8000'));
    const { attempt, result } = decide(state, { approverId: 'sam', comments: 'ties to the accrual schedule' });
    const ok = accepted(result);
    expect(ok.outcome).toBe('approved');
    expect(ok.level).toBe(1);
    expect(ok.message).toBe('sam (supervisor) approved level 1 of 1; round 1 is approved');
    expect(ok.newState.status).toBe('approved');
    expect(currentRound(ok.newState)).toMatchObject({ status: 'approved', closedAt: T0 });
    expect(ok.signature).toEqual({
      approverId: 'sam',
      role: 'supervisor',
      viaEscalation: false,
      decision: 'approved',
      at: T0,
      nonce: attempt.nonce,
      comments: 'ties to the accrual schedule',
      evidence: [],
    });
    expect(ok.newState.audit.at(-1)).toMatchObject({ event: 'decision', outcome: 'accepted', actor: 'sam', level: 1 });
    expect(state.status).toBe('open');
  });

  it('takes a 75,000 journal entry through supervisor, manager and director, each a different person', () => {
    let state = open('je-approval', je('75000.00'));
    const first = accepted(decide(state, { approverId: 'sam' }).result);
    expect(first.outcome).toBe('level_signed');
    expect(first.message).toBe('sam (supervisor) approved level 1 of 3; level 2 is open');
    state = first.newState;
    expect(openLevel(state)?.role).toBe('manager');
    state = accepted(decide(state, { approverId: 'maya', level: 2 }).result).newState;
    const last = accepted(decide(state, { approverId: 'dora' }).result);
    expect(last.outcome).toBe('approved');
    expect(currentRound(last.newState).levels.map((l) => `${l.role}:${l.signature?.approverId}`)).toEqual([
      'supervisor:sam',
      'manager:maya',
      'director:dora',
    ]);
    expect(openLevel(last.newState)).toBeUndefined();
  });

  it('lets a director sign the last level of a 30,000 entry that a manager would cover', () => {
    const state = signAll(open('je-approval', je('30000')), ['sue', 'dan']);
    expect(state.status).toBe('approved');
    expect(currentRound(state).levels[1].signature?.role).toBe('director');
  });

  describe('refuses, and records the refusal,', () => {
    const state = open('je-approval', je('75000'));

    it('a decision whose signature did not verify (unsigned)', () => {
      const attempt: DecisionAttempt = {
        ...signedAttempt({ checkpointId: 'je-approval', approverId: 'dan' }),
        signature: { status: 'failed', reason: 'bad_signature', message: 'signature verification failed' },
      };
      const r = refused(evaluateDecision(policy, state, attempt, T0));
      expect(r.reason).toBe('unsigned');
      expect(r.message).toBe('signature not accepted (bad_signature): signature verification failed');
      expect(r.newState.audit.at(-1)).toEqual({
        at: T0,
        round: 1,
        event: 'decision',
        actor: 'dan',
        decision: 'approved',
        nonce: attempt.nonce,
        outcome: 'refused',
        reason: 'unsigned',
        message: r.message,
      });
      // An unverified nonce is not remembered, so a forgery cannot burn a genuine token's nonce.
      expect(r.newState.nonces).toEqual([]);
      expect(state.audit).toHaveLength(1);
    });

    it('a token the verifier found expired, and a verified decision that expired before it was evaluated', () => {
      const failed: DecisionAttempt = {
        ...signedAttempt({ checkpointId: 'je-approval', approverId: 'sam' }),
        signature: { status: 'failed', reason: 'expired', message: '"exp" claim timestamp check failed' },
      };
      expect(refused(evaluateDecision(policy, state, failed, T0)).reason).toBe('expired');
      const late = signedAttempt({ checkpointId: 'je-approval', approverId: 'sam' }, at(T0, -10 * 60_000));
      const r = refused(evaluateDecision(policy, state, late, T0));
      expect(r.reason).toBe('expired');
      expect(r.message).toBe(`the signed decision expired at ${late.expiresAt}`);
      expect(r.newState.nonces).toEqual([{ nonce: late.nonce, round: 1, approverId: 'sam', accepted: false }]);
    });

    it('an approver who is not in the user directory', () => {
      const r = refused(decide(state, { approverId: 'eve' }).result);
      expect([r.reason, r.message]).toEqual(['unknown_approver', 'eve is not in the user directory']);
    });

    it('a role the checkpoint does not accept', () => {
      const recon = open('recon-review', { preparerId: 'ann', evidence: [{ kind: 'bank_statement', ref: 'camt:1' }] });
      const r = refused(decide(recon, { approverId: 'dan', resolution: 'n/a' }).result);
      expect(r.reason).toBe('wrong_role');
      expect(r.message).toBe('dan: role director may not sign level 1 of recon-review (accepted: supervisor)');
      const nobody = refused(decide(recon, { approverId: 'zed' }, '2026-10-01T00:00:00Z').result);
      expect(nobody.reason).toBe('wrong_role');
      expect(nobody.message).toBe(
        'zed holds no role and no delegation in force at 2026-10-01T00:00:00Z; delegation from sam 2026-10-29T12:00:00Z..2026-10-29T18:00:00+00:00 (not started) is not in force',
      );
    });

    it('an approver whose limit is below the amount', () => {
      const single = open('je-single', je('75000'));
      const r = refused(decide(single, { approverId: 'maya' }).result);
      expect(r.reason).toBe('over_limit');
      expect(r.message).toBe("maya: manager's limit for journal_entry is 50000, below the 75000 this item needs");
      expect(accepted(decide(single, { approverId: 'dan' }).result).outcome).toBe('approved');
    });

    it('the most telling reason when an approver holds several roles that all fall short', () => {
      // vic is accountant (wrong role here) and supervisor (limit too small): the limit is what matters.
      const single = open('je-single', je('75000'));
      const r = refused(decide(single, { approverId: 'vic' }).result);
      expect([r.reason, r.message]).toEqual([
        'over_limit',
        "vic: supervisor's limit for journal_entry is 10000, below the 75000 this item needs",
      ]);
      // mo, while holding dan's director authority, is still not the supervisor level 1 needs.
      const chain = open('je-approval', je('75000'), '2026-10-25T10:00:00.000Z');
      const mo = refused(decide(chain, { approverId: 'mo' }, '2026-10-25T10:00:00.000Z').result);
      expect([mo.reason, mo.message]).toEqual([
        'level_not_open',
        'mo: manager signs level 2, which is not open yet; level 1 (supervisor) is open',
      ]);
    });

    it('the preparer deciding on their own item (segregation of duties)', () => {
      const own = open('je-approval', je('5000', { preparerId: 'vic' }));
      const r = refused(decide(own, { approverId: 'vic' }).result);
      expect(r.reason).toBe('self_approval');
      expect(r.message).toBe('vic prepared this item and may not decide on it (segregation of duties)');
      const rejectOwn = refused(decide(own, { approverId: 'vic', decision: 'rejected', comments: 'oops' }).result);
      expect(rejectOwn.reason).toBe('self_approval');
    });

    it('one person signing two levels of one chain', () => {
      const input = seedPolicyInput();
      input.users.find((u) => u.userId === 'maya')!.roles = ['supervisor', 'manager'];
      const p = parseApprovalPolicy(input);
      const s0 = openCheckpoint(p, 'je-approval', je('75000'), T0);
      if (!s0.ok) throw new Error(s0.message);
      const s1 = accepted(
        evaluateDecision(p, s0.state, signedAttempt({ checkpointId: 'je-approval', approverId: 'maya' }), T0),
      );
      expect(s1.signature.role).toBe('supervisor');
      const again = refused(
        evaluateDecision(p, s1.newState, signedAttempt({ checkpointId: 'je-approval', approverId: 'maya' }), T0),
      );
      expect(again.reason).toBe('self_approval');
      expect(again.message).toBe('maya already signed level 1; one person may sign one level of a chain');
    });

    it('the same decision delivered twice, and the same approver signing the same level again', () => {
      const { attempt, result } = decide(state, { approverId: 'sam' });
      const s1 = accepted(result).newState;
      const twice = refused(evaluateDecision(policy, s1, attempt, at(T0, 1000)));
      expect(twice.reason).toBe('duplicate');
      expect(twice.message).toBe(`this decision (nonce ${attempt.nonce}) was already counted in round 1`);
      expect(currentRound(twice.newState).levels[1].signature).toBeUndefined();
      const explicit = refused(decide(s1, { approverId: 'sam', level: 1 }).result);
      expect([explicit.reason, explicit.message]).toEqual(['duplicate', 'sam already signed level 1 of round 1']);
      const implicit = refused(decide(s1, { approverId: 'sam' }).result);
      expect(implicit.reason).toBe('duplicate');
    });

    it('a nonce seen before in another context (replay)', () => {
      const first = decide(state, { approverId: 'maya' });
      const s1 = refused(first.result).newState;
      expect(first.result.accepted === false && first.result.reason).toBe('level_not_open');
      const replayed = refused(evaluateDecision(policy, s1, { ...first.attempt, approverId: 'sam' }, T0));
      expect(replayed.reason).toBe('replay');
      expect(replayed.message).toBe(
        `nonce ${first.attempt.nonce} was already used (round 1); a signed decision counts once`,
      );
      expect(refused(evaluateDecision(policy, s1, first.attempt, T0)).reason).toBe('replay');
    });

    it('a decision for another checkpoint, a closed checkpoint or a past round', () => {
      const other = refused(decide(state, { approverId: 'sam', checkpointId: 'je-single' }).result);
      expect([other.reason, other.message]).toEqual([
        'checkpoint_not_open',
        'the decision is for checkpoint je-single, not je-approval',
      ]);
      const stale = refused(decide(state, { approverId: 'sam', round: 2 }).result);
      expect(stale.message).toBe('the decision is for round 2, but round 1 is open');
      const done = signAll(open('je-approval', je('500')), ['sam']);
      const closed = refused(decide(done, { approverId: 'sue' }).result);
      expect([closed.reason, closed.message]).toEqual([
        'checkpoint_not_open',
        'checkpoint je-approval round 1 is approved',
      ]);
    });

    it('a level that is not open yet', () => {
      const early = refused(decide(state, { approverId: 'dan', level: 3 }).result);
      expect(early.reason).toBe('level_not_open');
      expect(early.message).toBe('level 3 is not open; level 1 (supervisor) of 3 is');
      const manager = refused(decide(state, { approverId: 'maya' }).result);
      expect(manager.message).toBe('maya: manager signs level 2, which is not open yet; level 1 (supervisor) is open');
      const s1 = signAll(state, ['sam']);
      const late = refused(decide(s1, { approverId: 'sue' }).result);
      expect(late.message).toBe('sue: supervisor signs level 1, which is already signed; level 2 (manager) is open');
      expect(refused(decide(s1, { approverId: 'sue', level: 9 }).result).reason).toBe('level_not_open');
    });

    it('an approval without the evidence the checkpoint requires, until the approver attaches it', () => {
      const bare = open('je-approval', je('75000', { evidence: [] }));
      const r = refused(decide(bare, { approverId: 'sam' }).result);
      expect([r.reason, r.message]).toEqual([
        'evidence_missing',
        'checkpoint je-approval needs evidence; none was attached',
      ]);
      const withIt = accepted(decide(bare, { approverId: 'sam', evidence: support }).result).newState;
      // Evidence attached at one level stands for the later levels of the round.
      expect(accepted(decide(withIt, { approverId: 'maya' }).result).outcome).toBe('level_signed');
    });

    it('an approval without evidence of a required kind', () => {
      const recon = open('recon-review', { preparerId: 'ann', evidence: [{ kind: 'gl_extract', ref: 'store://gl' }] });
      const r = refused(decide(recon, { approverId: 'sam', resolution: 'timing differences cleared' }).result);
      expect([r.reason, r.message]).toEqual([
        'evidence_missing',
        'checkpoint recon-review needs evidence of kind bank_statement',
      ]);
      const ok = decide(recon, {
        approverId: 'sam',
        resolution: 'timing differences cleared',
        evidence: [{ kind: 'bank_statement', ref: 'store://camt053/2026-10' }],
      });
      expect(accepted(ok.result).outcome).toBe('approved');
    });

    it('an approval without the required resolution, unless the preparer gave one', () => {
      const evidence = [{ kind: 'bank_statement', ref: 'store://camt053/2026-10' }];
      const recon = open('recon-review', { preparerId: 'ann', evidence });
      const r = refused(decide(recon, { approverId: 'sam', resolution: '   ' }).result);
      expect([r.reason, r.message]).toEqual([
        'resolution_missing',
        'checkpoint recon-review needs a resolution stating how the exceptions were resolved',
      ]);
      const explained = open('recon-review', {
        preparerId: 'ann',
        evidence,
        resolution: '3 items in transit, cleared 2 Nov',
      });
      expect(accepted(decide(explained, { approverId: 'sam' }).result).outcome).toBe('approved');
    });

    it('a rejection that does not say why', () => {
      const r = refused(decide(state, { approverId: 'sam', decision: 'rejected', comments: ' ' }).result);
      expect([r.reason, r.message]).toEqual([
        'comments_missing',
        'a rejection must say why, so the preparer can fix the item',
      ]);
    });
  });

  it('keeps every attempt, accepted and refused, in the audit trail with who, when and why', () => {
    let state = open('je-approval', je('75000'));
    state = refused(decide(state, { approverId: 'eve' }, at(T0, 1000)).result).newState;
    state = accepted(decide(state, { approverId: 'sam' }, at(T0, 2000)).result).newState;
    state = refused(decide(state, { approverId: 'ann' }, at(T0, 3000)).result).newState;
    expect(state.audit.map((a) => [a.at, a.event, a.actor, a.outcome, a.reason ?? '-'])).toEqual([
      [T0, 'submitted', 'ann', 'accepted', '-'],
      [at(T0, 1000), 'decision', 'eve', 'refused', 'unknown_approver'],
      [at(T0, 2000), 'decision', 'sam', 'accepted', '-'],
      [at(T0, 3000), 'decision', 'ann', 'refused', 'self_approval'],
    ]);
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
  });
});

describe('delegation', () => {
  const inRange = '2026-10-25T10:00:00.000Z';
  const after = '2026-11-05T10:00:00.000Z';

  it('counts a delegate\'s approval for the delegator\'s role within the range and records "on behalf of"', () => {
    const state = signAll(open('je-approval', je('75000'), inRange), ['sam', 'maya'], inRange);
    const r = accepted(decide(state, { approverId: 'mo', onBehalfOf: 'dan' }, inRange).result);
    expect(r.outcome).toBe('approved');
    expect(r.signature).toMatchObject({ approverId: 'mo', onBehalfOf: 'dan', role: 'director' });
    expect(describeSigner(r.signature)).toBe('mo on behalf of dan');
    expect(r.message).toBe('mo on behalf of dan (director) approved level 3 of 3; round 1 is approved');
    expect(r.newState.audit.at(-1)).toMatchObject({
      actor: 'mo',
      onBehalfOf: 'dan',
      role: 'director',
      outcome: 'accepted',
    });
  });

  it("uses the delegated role by itself when the delegate's own role does not fit the open level", () => {
    const state = signAll(open('je-approval', je('75000'), inRange), ['sam', 'maya'], inRange);
    const r = accepted(decide(state, { approverId: 'mo' }, inRange).result);
    expect(describeSigner(r.signature)).toBe('mo on behalf of dan');
  });

  it("prefers the delegate's own authority when it fits", () => {
    const state = signAll(open('je-approval', je('75000'), inRange), ['sam'], inRange);
    const r = accepted(decide(state, { approverId: 'mo' }, inRange).result);
    expect(r.signature).toMatchObject({ approverId: 'mo', role: 'manager' });
    expect(r.signature.onBehalfOf).toBeUndefined();
  });

  it('refuses the delegate outside the range', () => {
    const state = signAll(open('je-approval', je('75000'), after), ['sam', 'maya'], after);
    const r = refused(decide(state, { approverId: 'mo', onBehalfOf: 'dan' }, after).result);
    expect(r.reason).toBe('wrong_role');
    expect(r.message).toBe(
      'no delegation from dan to mo is in force at 2026-11-05T10:00:00.000Z; delegation from dan 2026-10-20..2026-10-31 (ended) is not in force',
    );
    const plain = refused(decide(state, { approverId: 'mo' }, after).result);
    expect(plain.reason).toBe('level_not_open');
  });

  it('refuses acting for someone who never delegated, and names no delegation when there is none', () => {
    const state = open('je-approval', je('75000'), inRange);
    const r = refused(decide(state, { approverId: 'sue', onBehalfOf: 'sam' }, inRange).result);
    expect(r.message).toBe('no delegation from sam to sue is in force at 2026-10-25T10:00:00.000Z');
    const self = accepted(decide(state, { approverId: 'sue', onBehalfOf: 'sue' }, inRange).result);
    expect(self.signature.onBehalfOf).toBeUndefined();
  });

  it('refuses a delegate acting for the preparer or for someone who already signed the chain', () => {
    const afternoon = '2026-10-29T13:00:00.000Z';
    const bySam = open('je-approval', je('5000', { preparerId: 'sam' }), afternoon);
    const forPreparer = refused(decide(bySam, { approverId: 'zed' }, afternoon).result);
    expect([forPreparer.reason, forPreparer.message]).toEqual([
      'self_approval',
      'zed acts for sam, who prepared this item (segregation of duties)',
    ]);
    const signed = signAll(open('je-approval', je('75000'), afternoon), ['sam'], afternoon);
    const forSigner = refused(decide(signed, { approverId: 'zed' }, afternoon).result);
    expect(forSigner.message).toBe('zed acts for sam, who already signed level 1 of this chain');
    const fresh = open('je-approval', je('75000'), afternoon);
    expect(describeSigner(accepted(decide(fresh, { approverId: 'zed' }, afternoon).result).signature)).toBe(
      'zed on behalf of sam',
    );
  });

  it("notes an ended delegation when the delegate's own role does not fit", () => {
    const recon = open('recon-review', { preparerId: 'ann', resolution: 'ok' }, after);
    const r = refused(decide(recon, { approverId: 'mo' }, after).result);
    expect(r.reason).toBe('wrong_role');
    expect(r.message).toMatch(
      /^mo: role manager may not sign level 1 of recon-review \(accepted: supervisor\); delegation from dan/,
    );
  });
});

describe('rejection and resubmission', () => {
  it('sends a rejected item back, opens round 2 on resubmission with a fresh chain, and keeps round 1', () => {
    let state = signAll(open('je-approval', je('75000')), ['sam']);
    const rej = accepted(
      decide(state, { approverId: 'maya', decision: 'rejected', comments: 'split by cost centre' }).result,
    );
    expect(rej.outcome).toBe('rejected');
    expect(rej.message).toBe('maya (manager) rejected round 1 at level 2; the item goes back to ann');
    state = rej.newState;
    expect(state.status).toBe('rejected');
    expect(nextEscalationStep(policy, state)).toBeUndefined();

    const again = resubmit(
      policy,
      state,
      je('40000.00', { evidence: [...support, { kind: 'je_support', ref: 'v2' }] }),
      at(T0, HOUR),
    );
    if (!again.ok) throw new Error(again.message);
    state = again.state;
    expect(state.status).toBe('open');
    expect(
      state.rounds.map((r) => [r.round, r.status, r.submission.amount, r.levels.map((l) => l.role).join('>')]),
    ).toEqual([
      [1, 'rejected', '75000', 'supervisor>manager>director'],
      [2, 'open', '40000.00', 'supervisor>manager'],
    ]);
    expect(state.audit.at(-1)?.message).toMatch(/^resubmitted by ann for 40000\.00 EUR/);

    const round1Token = signedAttempt({ checkpointId: 'je-approval', approverId: 'dora', round: 1 }, at(T0, HOUR));
    const stale = refused(evaluateDecision(policy, state, round1Token, at(T0, HOUR)));
    expect(stale.reason).toBe('checkpoint_not_open');
    state = signAll(state, ['sam', 'maya'], at(T0, HOUR));
    expect(state.status).toBe('approved');
    expect(state.rounds[0].levels[1].signature?.comments).toBe('split by cost centre');
  });

  it('refuses to resubmit an open or approved item, and passes submission refusals through', () => {
    const state = open('je-approval', je('75000'));
    expect(resubmit(policy, state, je('1'), T0)).toEqual({
      ok: false,
      reason: 'not_resubmittable',
      message: 'checkpoint je-approval round 1 is open; only a rejected or deadlocked round can be resubmitted',
    });
    const rejected = accepted(
      decide(state, { approverId: 'sam', decision: 'rejected', comments: 'no support' }).result,
    ).newState;
    expect(resubmit(policy, rejected, je('5000000'), T0)).toMatchObject({ ok: false, reason: 'no_role_covers_amount' });
    expect(rejected.rounds).toHaveLength(1);
  });

  it('refuses a nonce from round 1 when it comes back in round 2', () => {
    const first = decide(open('je-approval', je('75000')), {
      approverId: 'sam',
      decision: 'rejected',
      comments: 'wrong period',
    });
    const again = resubmit(policy, accepted(first.result).newState, je('75000'), T0);
    if (!again.ok) throw new Error(again.message);
    const r = refused(evaluateDecision(policy, again.state, { ...first.attempt, round: 2 }, T0));
    expect(r.reason).toBe('replay');
  });
});

describe('escalation', () => {
  it("plans reminders, escalations and the deadlock from the checkpoint's timeout and path", () => {
    const plan = escalationPlan(findCheckpoint(policy, 'je-approval')!);
    expect(plan.map((s) => [s.kind, s.afterMs / HOUR, s.escalationLevel, s.toRole ?? '-'])).toEqual([
      ['reminder', 3, 0, '-'],
      ['escalate', 4, 1, 'manager'],
      ['reminder', 7, 1, '-'],
      ['escalate', 8, 2, 'director'],
      ['reminder', 11, 2, '-'],
      ['deadlock', 12, 2, '-'],
    ]);
    expect(plan.map((s) => s.index)).toEqual([0, 1, 2, 3, 4, 5]);
    const recon = escalationPlan(findCheckpoint(policy, 'recon-review')!);
    expect(recon.slice(0, 2).map((s) => [s.kind, s.afterMs / HOUR])).toEqual([
      ['reminder', 4],
      ['escalate', 4],
    ]);
    expect(escalationPlan(findCheckpoint(policy, 'recon-two-eyes')!).map((s) => s.kind)).toEqual([
      'reminder',
      'deadlock',
    ]);
  });

  it('reminds at the timeout, escalates to manager at 4h and director at 8h, and deadlocks after the path', () => {
    const evidence = [{ kind: 'bank_statement', ref: 'camt:1' }];
    let state = open('recon-review', { preparerId: 'ann', evidence, resolution: 'none needed' });
    const step = (expected: string, dueAt: string) => {
      const next = nextEscalationStep(policy, state)!;
      expect([next.kind, next.dueAt]).toEqual([expected, dueAt]);
      const out = applyEscalationStep(policy, state, dueAt)!;
      state = out.state;
      return out;
    };

    const reminder = step('reminder', at(T0, 4 * HOUR));
    expect(reminder.notify.users.map((u) => u.userId)).toEqual(['sam', 'sue', 'vic']);
    expect(currentRound(state).escalation.reminders).toEqual([
      { at: at(T0, 4 * HOUR), escalationLevel: 0, roles: ['supervisor'] },
    ]);
    expect(refused(decide(state, { approverId: 'maya' }, at(T0, 4 * HOUR)).result).reason).toBe('wrong_role');

    const toManager = step('escalate', at(T0, 4 * HOUR));
    expect(toManager.message).toBe('no decision on recon-review round 1: escalated to manager (level 1)');
    expect(toManager.notify.roles).toEqual(['supervisor', 'manager']);
    expect(toManager.notify.users.filter((u) => u.viaEscalation).map((u) => u.userId)).toEqual(['maya', 'mo']);
    expect(refused(decide(state, { approverId: 'dan' }, at(T0, 5 * HOUR)).result).reason).toBe('wrong_role');

    step('reminder', at(T0, 8 * HOUR));
    step('escalate', at(T0, 8 * HOUR));
    expect(currentRound(state).escalation).toMatchObject({ level: 2, escalatedTo: ['manager', 'director'] });
    const byDirector = decide(state, { approverId: 'dan' }, at(T0, 9 * HOUR)).result;
    expect(accepted(byDirector).signature).toMatchObject({ role: 'director', viaEscalation: true });
    expect(accepted(byDirector).message).toBe(
      'dan (director, by escalation) approved level 1 of 1; round 1 is approved',
    );

    step('reminder', at(T0, 12 * HOUR));
    const dead = step('deadlock', at(T0, 12 * HOUR));
    expect(state.status).toBe('deadlocked');
    expect(dead.notify).toEqual({ roles: [], users: [] });
    expect(dead.message).toBe(
      'no decision on recon-review round 1 after escalating through manager -> director: deadlocked, the close owner must act',
    );
    expect(currentRound(state)).toMatchObject({ status: 'deadlocked', closedAt: at(T0, 12 * HOUR) });
    expect(state.audit.map((a) => a.event)).toEqual([
      'submitted',
      'reminder',
      'escalated',
      'reminder',
      'escalated',
      'reminder',
      'deadlocked',
    ]);
    expect(nextEscalationStep(policy, state)).toBeUndefined();
    expect(applyEscalationStep(policy, state, at(T0, 13 * HOUR))).toBeUndefined();
    expect(refused(decide(state, { approverId: 'sam' }, at(T0, 13 * HOUR)).result).message).toBe(
      'checkpoint recon-review round 1 is deadlocked',
    );
    expect(eligibleApprovers(policy, state, at(T0, 13 * HOUR))).toEqual({ roles: [], users: [] });

    const restarted = resubmit(
      policy,
      state,
      { preparerId: 'ann', evidence, resolution: 'see note' },
      at(T0, 14 * HOUR),
    );
    expect(restarted.ok && nextEscalationStep(policy, restarted.state)?.dueAt).toBe(at(T0, 18 * HOUR));
  });

  it('says when a checkpoint deadlocks with no escalation path at all', () => {
    let state = open('recon-two-eyes', { preparerId: 'ann' });
    state = applyEscalationStep(policy, state, at(T0, 24 * HOUR))!.state;
    const dead = applyEscalationStep(policy, state, at(T0, 24 * HOUR))!;
    expect(dead.message).toBe(
      'no decision on recon-two-eyes round 1 after escalating through no escalation path: deadlocked, the close owner must act',
    );
  });

  it('lets an escalated role stand in for a lower level, but not for a level above its limit', () => {
    // After dan's delegation to mo has ended, so mo is a plain manager.
    const after = '2026-11-05T10:00:00.000Z';
    let state = open('je-approval', je('75000'), after);
    state = applyEscalationStep(policy, state, at(after, 3 * HOUR))!.state;
    state = applyEscalationStep(policy, state, at(after, 4 * HOUR))!.state;
    const standIn = accepted(decide(state, { approverId: 'maya' }, at(after, 5 * HOUR)).result);
    expect(standIn.signature).toMatchObject({ role: 'manager', viaEscalation: true, approverId: 'maya' });
    state = signAll(standIn.newState, ['mo'], at(after, 5 * HOUR));
    const tooSmall = refused(decide(state, { approverId: 'sue' }, at(after, 5 * HOUR)).result);
    expect(tooSmall.reason).toBe('level_not_open');
    const input = seedPolicyInput();
    input.users.push({ userId: 'max', roles: ['manager'] });
    const p = parseApprovalPolicy(input);
    const r = evaluateDecision(
      p,
      state,
      signedAttempt({ checkpointId: 'je-approval', approverId: 'max' }, at(after, 5 * HOUR)),
      at(after, 5 * HOUR),
    );
    expect(refused(r).reason).toBe('over_limit');
    expect(refused(r).message).toBe("max: manager's limit for journal_entry is 50000, below the 75000 level 3 needs");
  });

  it('lists who may sign now, including delegates, excluding the preparer and earlier signers', () => {
    const inRange = '2026-10-25T10:00:00.000Z';
    const state = signAll(open('je-approval', je('75000'), inRange), ['sam', 'maya'], inRange);
    expect(eligibleApprovers(policy, state, inRange)).toEqual({
      level: 3,
      roles: ['director'],
      users: [
        { userId: 'mo', role: 'director', onBehalfOf: 'dan', viaEscalation: false },
        { userId: 'dan', role: 'director', viaEscalation: false },
        { userId: 'dora', role: 'director', viaEscalation: false },
      ],
    });
    const afternoon = '2026-10-29T13:00:00.000Z';
    const signedBySam = signAll(open('je-approval', je('75000'), afternoon), ['sam'], afternoon);
    // zed holds sam's authority this afternoon, but sam has signed this chain already.
    expect(eligibleApprovers(policy, signedBySam, afternoon).users.map((u) => u.userId)).toEqual(['maya', 'mo']);
    const rec = applyEscalationStep(policy, state, at(inRange, 3 * HOUR))!;
    expect(rec.message).toBe('reminder: je-approval round 1 awaits level 3');
  });
});

describe('verification results as attempts', () => {
  it('carries verified claims over as they are', () => {
    const claims = {
      workflowId: 'close:ACME:2026-10',
      checkpointId: 'je-approval',
      round: 1,
      level: 2,
      decision: 'approved' as const,
      approverId: 'maya',
      onBehalfOf: undefined,
      roles: ['manager'],
      comments: 'ok',
      evidence: support,
      resolution: undefined,
      nonce: 'n-1',
      issuedAt: T0,
      expiresAt: at(T0, 300_000),
      issuer: 'finflow-gateway',
      kid: 'k2',
    };
    expect(attemptFromVerification({ ok: true, claims }, { checkpointId: 'x' })).toEqual({
      signature: { status: 'verified', kid: 'k2' },
      checkpointId: 'je-approval',
      round: 1,
      level: 2,
      decision: 'approved',
      approverId: 'maya',
      onBehalfOf: undefined,
      rolesClaimed: ['manager'],
      comments: 'ok',
      evidence: support,
      resolution: undefined,
      nonce: 'n-1',
      issuedAt: T0,
      expiresAt: at(T0, 300_000),
    });
  });

  it('turns a failed verification into an unsigned attempt that names what the token claimed, or nobody', () => {
    const claimed = attemptFromVerification(
      {
        ok: false,
        reason: 'bad_signature',
        message: 'signature verification failed',
        untrusted: {
          approverId: 'dan',
          checkpointId: 'je-approval',
          round: 2,
          decision: 'rejected',
          nonce: 'n-9',
          onBehalfOf: 'x',
        },
      },
      { checkpointId: 'fallback' },
    );
    expect(claimed).toEqual({
      signature: { status: 'failed', reason: 'bad_signature', message: 'signature verification failed' },
      checkpointId: 'je-approval',
      round: 2,
      decision: 'rejected',
      approverId: 'dan',
      onBehalfOf: 'x',
      rolesClaimed: [],
      evidence: [],
      nonce: 'n-9',
    });
    const nothing = attemptFromVerification(
      { ok: false, reason: 'malformed', message: 'not a JWT' },
      { checkpointId: 'je-approval' },
    );
    expect(nothing).toMatchObject({
      approverId: '(unknown)',
      checkpointId: 'je-approval',
      round: 0,
      decision: 'approved',
      nonce: '',
    });
    const state = open('je-approval', je('75000'));
    const r = refused(evaluateDecision(policy, state, nothing, T0));
    expect(r.newState.audit.at(-1)).not.toHaveProperty('nonce');
    expect(r.reason).toBe('unsigned');
  });
});

describe('misuse by the caller', () => {
  it('throws when the state belongs to a checkpoint the policy does not have', () => {
    const state = { ...open('je-approval', je('1')), checkpointId: 'gone' };
    expect(() =>
      evaluateDecision(policy, state, signedAttempt({ checkpointId: 'gone', approverId: 'sam' }), T0),
    ).toThrow('checkpoint gone is not in the approval policy given');
  });
});
