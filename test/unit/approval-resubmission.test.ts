// The resubmission rules the checkpoint host applies when a rejected item comes back from its preparer.
import {
  isLastResubmissionTimeout,
  resubmissionDueAt,
  resubmissionRoundProblem,
  resubmissionTargetProblem,
  resubmissionTimeouts,
  resubmittableProblem,
  resubmittedSubmission,
  type CheckpointState,
  type ResubmissionClaimsInput,
} from '../../domain/approval';

/** A checkpoint whose item ann prepared, with `rounds` rounds, the last in `status`. */
function state(status: CheckpointState['status'], rounds = 1, nonces: string[] = []): CheckpointState {
  return {
    checkpointId: 'je-review',
    itemType: 'journal_entry',
    status,
    rounds: Array.from({ length: rounds }, (_, i) => ({ round: i + 1, submission: { preparerId: 'ann' } })),
    nonces: nonces.map((nonce) => ({ nonce, round: 1, approverId: 'sam', accepted: true })),
    audit: [],
  } as unknown as CheckpointState;
}

const claims = (over: Partial<ResubmissionClaimsInput> = {}): ResubmissionClaimsInput => ({
  checkpointId: 'je-review',
  round: 2,
  preparerId: 'ann',
  nonce: 'n-2',
  evidence: [],
  ...over,
});

describe('the resubmission window', () => {
  it('gives the preparer one timeout per escalation step plus the first, as the approvers had', () => {
    expect(resubmissionTimeouts([])).toBe(1);
    expect(resubmissionTimeouts(['manager', 'director'])).toBe(3);
  });

  it('puts each timeout one period after the last, counted from the rejection', () => {
    const hour = 3_600_000;
    expect(resubmissionDueAt('2026-11-02T10:00:00.000Z', 0, 4 * hour)).toBe('2026-11-02T14:00:00.000Z');
    expect(resubmissionDueAt('2026-11-02T10:00:00.000Z', 2, 4 * hour)).toBe('2026-11-02T22:00:00.000Z');
  });

  it('makes the timeout after the last reminder the last one', () => {
    expect(isLastResubmissionTimeout(0, 3)).toBe(false);
    expect(isLastResubmissionTimeout(1, 3)).toBe(false);
    expect(isLastResubmissionTimeout(2, 3)).toBe(true);
    expect(isLastResubmissionTimeout(0, 1)).toBe(true);
  });
});

describe('which resubmissions count', () => {
  it("refuses another checkpoint's resubmission and a nonce already used, by the checkpoint or by a decision", () => {
    const st = state('rejected', 1, ['decision-nonce']);
    expect(resubmissionTargetProblem('je-review', claims({ checkpointId: 'other' }), st, [])).toEqual({
      reason: 'checkpoint_not_open',
      message: 'the resubmission is for checkpoint other, not je-review',
    });
    expect(resubmissionTargetProblem('je-review', claims({ nonce: 'n-1' }), st, ['n-1'])?.reason).toBe('replay');
    expect(resubmissionTargetProblem('je-review', claims({ nonce: 'decision-nonce' }), st, [])).toEqual({
      reason: 'replay',
      message: 'nonce decision-nonce was already used; a signed resubmission counts once',
    });
    expect(resubmissionTargetProblem('je-review', claims(), st, ['n-1'])).toBeUndefined();
  });

  it('takes a resubmission only from the preparer, only of a rejected round, only opening the next round', () => {
    expect(resubmissionRoundProblem('je-review', claims({ preparerId: 'sam' }), state('rejected'))).toEqual({
      reason: 'not_preparer',
      message: 'only ann, who prepared the item, may resubmit it (not sam)',
    });
    expect(resubmissionRoundProblem('je-review', claims(), state('open'))).toEqual({
      reason: 'not_resubmittable',
      message: 'checkpoint je-review round 1 is open; only a rejected round can be resubmitted',
    });
    expect(resubmissionRoundProblem('je-review', claims({ round: 3 }), state('rejected'))).toEqual({
      reason: 'round_mismatch',
      message: 'the resubmission opens round 3, but the next round is 2',
    });
    expect(resubmissionRoundProblem('je-review', claims({ round: 3 }), state('rejected', 2))).toBeUndefined();
  });

  it('lets the update validator check the round before the token is verified, or leave the round open', () => {
    expect(resubmittableProblem('je-review', state('approved', 2), undefined)?.reason).toBe('not_resubmittable');
    expect(resubmittableProblem('je-review', state('rejected'), undefined)).toBeUndefined();
    expect(resubmittableProblem('je-review', state('rejected'), 2)).toBeUndefined();
  });
});

describe('the resubmitted round', () => {
  it('takes what the resubmission says over the last round, and keeps every earlier evidence attached', () => {
    const previous = {
      preparerId: 'ann',
      amount: '75000.00',
      currency: 'EUR',
      itemRef: 'JE-1',
      description: 'accrual',
      evidence: [{ kind: 'document', ref: 'doc-1' }],
      resolution: 'first try',
    };
    const next = resubmittedSubmission(
      previous,
      claims({
        amount: '70000.00',
        evidence: [
          { kind: 'document', ref: 'doc-1' },
          { kind: 'document', ref: 'doc-2' },
        ],
      }),
    );
    expect(next).toEqual({
      preparerId: 'ann',
      amount: '70000.00',
      currency: 'EUR',
      itemRef: 'JE-1',
      description: 'accrual',
      evidence: [
        { kind: 'document', ref: 'doc-1' },
        { kind: 'document', ref: 'doc-2' },
      ],
      resolution: 'first try',
    });
    expect(resubmittedSubmission({ preparerId: 'ann' }, claims({ resolution: 'fixed' }))).toEqual({
      preparerId: 'ann',
      evidence: [],
      resolution: 'fixed',
    });
  });
});
