import {
  cancellationRecord,
  cancelProofOf,
  cancelRequestOf,
  MAX_CANCEL_TOKEN,
  UNSIGNED_NOTE,
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
    [
      { by: 'dora', reason: 'x'.repeat(MAX_CANCEL_REASON + 1) },
      `cancelRequest.reason: over ${MAX_CANCEL_REASON} characters`,
    ],
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

describe("the cancelRequest note's signature", () => {
  const proof = { kid: 'k-dora', nonce: 'n-1', issuer: 'finflow-cli' };
  const note = { by: 'dora', reason: 'wrong entity', token: 'header.payload.signature' };

  it('keeps the token of a signed note, and refuses one that is empty, not text or too long', () => {
    expect(cancelRequestOf(note)).toEqual({ request: note });
    for (const token of ['', 42, 'x'.repeat(MAX_CANCEL_TOKEN + 1)])
      expect(cancelRequestOf({ by: 'dora', token })).toEqual({
        problem: `cancelRequest.token: a signed token of at most ${MAX_CANCEL_TOKEN} characters`,
      });
  });

  it('proves the canceller when the token signs this cancellation by the person the note names', () => {
    expect(cancelProofOf(note, { action: 'cancel', by: 'dora', reason: 'wrong entity', proof }, undefined)).toEqual({
      signed: proof,
    });
  });

  it.each([
    [{ action: 'pause', by: 'dora', reason: 'wrong entity' }, "the note's token signs a pause, not a cancellation"],
    [{ action: 'cancel', by: 'ann', reason: 'wrong entity' }, "the note's token is signed by ann, not by dora"],
    [{ action: 'cancel', by: 'dora', reason: 'other' }, "the note's reason differs from the one signed"],
    [{ action: 'cancel', by: 'dora' }, "the note's reason differs from the one signed"],
  ])('leaves the canceller as claimed when the token says otherwise: %j', (verified, why) => {
    expect(cancelProofOf(note, { ...verified, proof }, undefined)).toEqual({ unproven: `as claimed: ${why}` });
  });

  it('records a proven canceller who may not cancel the close as such', () => {
    expect(
      cancelProofOf(note, { action: 'cancel', by: 'dora', reason: 'wrong entity', proof }, 'dora is no manager'),
    ).toEqual({
      signed: proof,
      notAllowed: 'not theirs to cancel: dora is no manager',
    });
  });

  it('writes the proof into the status and the journal, and what is unproven or not allowed into the note', () => {
    const signed = cancellationRecord(note, '2026-11-02T10:00:00Z', ['prelim'], { signed: proof });
    expect(signed.cancellation).toMatchObject({ by: 'dora', signed: proof });
    expect(signed.entry).toMatchObject({ signed: proof, note: 'tasks cancelled: prelim' });
    const claimed = cancellationRecord(note, '2026-11-02T10:00:00Z', [], { unproven: UNSIGNED_NOTE });
    expect(claimed.cancellation).toMatchObject({ unproven: UNSIGNED_NOTE });
    expect(claimed.cancellation.signed).toBeUndefined();
    expect(claimed.entry.note).toBe(`no task was running; ${UNSIGNED_NOTE}`);
    const refused = cancellationRecord(note, '2026-11-02T10:00:00Z', [], { signed: proof, notAllowed: 'not theirs' });
    expect(refused.cancellation).toMatchObject({ signed: proof, notAllowed: 'not theirs' });
    expect(refused.entry.note).toBe('no task was running; not theirs');
  });
});
