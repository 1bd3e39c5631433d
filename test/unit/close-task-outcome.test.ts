import {
  activityOutcome,
  evidenceOutcome,
  failedReason,
  finishWaitReason,
  reconciliationOutcome,
  retryingReason,
} from '../../domain/close/task-outcome';

describe('what a task work came to', () => {
  it('finishes a reconciliation cleanly only when it balanced', () => {
    expect(reconciliationOutcome({ status: 'balanced' })).toBe('done');
    expect(reconciliationOutcome({ status: 'exceptions' })).toBe('done_with_exceptions');
  });

  it('finishes an evidence package with exceptions only when it says a control did not hold', () => {
    expect(evidenceOutcome({ allControlsHeld: true })).toBe('done');
    expect(evidenceOutcome({})).toBe('done');
    expect(evidenceOutcome({ allControlsHeld: false })).toBe('done_with_exceptions');
  });

  it('finishes an activity with exceptions when it reports exceptions or warnings', () => {
    expect(activityOutcome({ status: 'ok' })).toBe('done');
    expect(activityOutcome({ status: 'exceptions' })).toBe('done_with_exceptions');
    expect(activityOutcome({ warnings: ['FX rate stale'] })).toBe('done_with_exceptions');
    expect(activityOutcome({ warnings: [] })).toBe('done');
    expect(activityOutcome({ warnings: 'one' })).toBe('done');
  });

  it('finishes an activity that returned nothing, a list or a value cleanly', () => {
    expect(activityOutcome(undefined)).toBe('done');
    expect(activityOutcome(null)).toBe('done');
    expect(activityOutcome([{ status: 'exceptions' }])).toBe('done');
    expect(activityOutcome('exceptions')).toBe('done');
  });
});

describe('the reasons a task shows', () => {
  it('counts the attempts of a task that failed for good, in the singular for one', () => {
    expect(failedReason(1, 'ledger down', false)).toBe('failed after 1 attempt: ledger down');
    expect(failedReason(3, 'ledger down', false)).toBe('failed after 3 attempts: ledger down');
  });

  it('shows the message alone for a close started with the legacy shape', () => {
    expect(failedReason(1, 'ledger down', true)).toBe('ledger down');
  });

  it('says which attempt failed while the task is retried, and which predecessors hold it open', () => {
    expect(retryingReason(2, 'timeout')).toBe('attempt 2 failed: timeout; retrying');
    expect(finishWaitReason(['a', 'b'])).toBe('finished its work; waits for a, b to finish (FF)');
  });
});
