import {
  cancellationRecord,
  cancelRequestOf,
  MAX_CANCEL_BY,
  MAX_CANCEL_REASON,
  UNKNOWN_CANCELLER,
} from '../../domain/close/cancellation';

describe('the cancelRequest note', () => {
  it('keeps who and why, trimmed, and drops a blank reason', () => {
    expect(cancelRequestOf({ by: ' dora ', reason: ' wrong entity ' })).toEqual({
      request: { by: 'dora', reason: 'wrong entity' },
    });
    expect(cancelRequestOf({ by: 'dora', reason: '  ' })).toEqual({ request: { by: 'dora' } });
  });

  it.each([
    [null, 'cancelRequest: not an object'],
    [['dora'], 'cancelRequest: not an object'],
    [{ reason: 'x' }, 'cancelRequest.by: a person id is required'],
    [{ by: '   ' }, 'cancelRequest.by: a person id is required'],
    [{ by: 'x'.repeat(MAX_CANCEL_BY + 1) }, `cancelRequest.by: over ${MAX_CANCEL_BY} characters`],
    [{ by: 'dora', reason: 7 }, 'cancelRequest.reason: not a string'],
    [{ by: 'dora', reason: 'x'.repeat(MAX_CANCEL_REASON + 1) }, `cancelRequest.reason: over ${MAX_CANCEL_REASON} characters`],
  ])('refuses %j, naming the field', (raw, problem) => {
    expect(cancelRequestOf(raw)).toEqual({ problem });
  });
});

describe('what a cancelled close records', () => {
  it('names the person of the note, the reason and the tasks cancelled, in the status and the journal', () => {
    const r = cancellationRecord({ by: 'dora', reason: 'wrong entity' }, '2026-11-03T10:00:00.000Z', ['a', 'b']);
    expect(r.cancellation).toEqual({
      at: '2026-11-03T10:00:00.000Z',
      by: 'dora',
      reason: 'wrong entity',
      tasksCancelled: ['a', 'b'],
    });
    expect(r.entry).toEqual({
      at: '2026-11-03T10:00:00.000Z',
      by: 'dora',
      action: 'cancel',
      accepted: true,
      reason: 'wrong entity',
      note: 'tasks cancelled: a, b',
    });
  });

  it('keeps no reason the person did not give', () => {
    const r = cancellationRecord({ by: 'dora' }, '2026-11-03T10:00:00.000Z', []);
    expect(r.cancellation.reason).toBeUndefined();
    expect(r.entry).toEqual({
      at: '2026-11-03T10:00:00.000Z',
      by: 'dora',
      action: 'cancel',
      accepted: true,
      note: 'no task was running',
    });
  });

  it('says the canceller is unknown when the request came without a note', () => {
    const r = cancellationRecord(undefined, '2026-11-03T10:00:00.000Z', ['a']);
    expect(r.cancellation.by).toBe(UNKNOWN_CANCELLER);
    expect(r.entry).toMatchObject({ by: 'unknown', reason: 'cancellation requested without a cancelRequest note' });
  });
});
