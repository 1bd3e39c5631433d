import { ageingReport } from '../../domain/exceptions/ageing';
import {
  EXCEPTION_ACTIONS,
  ExceptionActionError,
  RESOLUTION_KINDS,
  unexplainedMaterial,
} from '../../domain/exceptions/lifecycle';
import {
  decideSuggestion,
  isSuggestionAction,
  parseAnyExceptionAction,
  parseSuggestionAction,
  readSuggestion,
  type StoredSuggestion,
  SUGGESTION_ACTIONS,
  SUGGESTION_STATES,
} from '../../domain/exceptions/suggestions';

const owner = { actor: { id: 'alice', roles: ['accountant'] }, ownerRoles: ['accountant'], reconId: 'bank' };

/** A suggestion as the engine writes it: one a record and two equally good b records. */
const ambiguous: StoredSuggestion = {
  itemId: 'A:1',
  category: 'suggested_match',
  state: 'open',
  key: 'K',
  currency: 'EUR',
  rule: 'window',
  aItems: ['A:1'],
  bItems: ['B:1', 'B:2'],
  evidence: {
    rule: 'window',
    proposed_because: 'several_equally_good_candidates',
    candidates: 'A:1=B:1 | A:1=B:2',
    candidate_count: 2,
    candidate_index: '0=0 | 0=1',
    amounts_a: '100.00',
    amounts_b: '100.00,100.00',
  },
};

/** A manual rule's proposal: one pair with a difference. */
const manual: StoredSuggestion = {
  itemId: 'A:7',
  category: 'suggested_match',
  state: 'open',
  key: 'K7',
  currency: 'EUR',
  rule: 'near',
  aItems: ['A:7'],
  bItems: ['B:7'],
  evidence: {
    rule: 'near',
    proposed_because: 'rule_not_automatic',
    candidate_count: 1,
    candidate_index: '0=0',
    amounts_a: '20.00',
    amounts_b: '20.40',
  },
};

function refusal(f: () => unknown): ExceptionActionError {
  try {
    f();
  } catch (err) {
    if (err instanceof ExceptionActionError) return err;
    throw err;
  }
  throw new Error('not refused');
}

describe('suggested matches decided by a person', () => {
  it('reads a confirm (candidate 1 unless named) and a reject with its reason, refusing anything else', () => {
    expect(parseSuggestionAction({ action: 'confirm' })).toEqual({ action: 'confirm', candidate: 1 });
    expect(parseSuggestionAction({ action: 'confirm', candidate: 2, text: ' same invoice ' })).toEqual({
      action: 'confirm',
      candidate: 2,
      text: 'same invoice',
    });
    expect(parseSuggestionAction({ action: 'reject', reason: ' different payers ' })).toEqual({
      action: 'reject',
      reason: 'different payers',
    });
    expect(refusal(() => parseSuggestionAction({ action: 'reject' })).message).toMatch(/reason/);
    expect(refusal(() => parseSuggestionAction({ action: 'confirm', candidate: 0 })).message).toMatch(/candidate/);
    expect(refusal(() => parseSuggestionAction({ action: 'confirm', candidate: '1' })).message).toMatch(/candidate/);
    expect(refusal(() => parseSuggestionAction({ action: 'confirm', text: '' })).message).toMatch(/text/);
    expect(refusal(() => parseSuggestionAction({ action: 'reject', reason: 'x', text: 'y' })).message).toMatch(
      /takes no text/,
    );
    expect(refusal(() => parseSuggestionAction({ action: 'explain' })).message).toMatch(/confirm, reject/);
    expect(refusal(() => parseSuggestionAction(null)).type).toBe('InvalidExceptionAction');
  });

  it('parses lifecycle actions and decisions through one door, as the signed token does', () => {
    expect(SUGGESTION_ACTIONS.map((action) => isSuggestionAction({ action }))).toEqual([true, true]);
    expect(isSuggestionAction({ action: 'resolve' })).toBe(false);
    expect(SUGGESTION_STATES).toEqual(['confirmed', 'rejected']);
    expect(parseAnyExceptionAction({ action: 'reject', reason: 'no' })).toEqual({ action: 'reject', reason: 'no' });
    expect(parseAnyExceptionAction({ action: 'explain', reasonCode: 'timing', text: 't' })).toEqual({
      action: 'explain',
      reasonCode: 'timing',
      text: 't',
    });
  });

  it('tells every lifecycle action and resolution kind apart from a decision on a suggestion', () => {
    const minimal: Record<string, Record<string, unknown>> = {
      explain: { reasonCode: 'other', text: 't' },
      resolve: { kind: 'no_action', text: 't' },
      reopen: { reason: 'r' },
      carry_forward: { text: 't' },
    };
    for (const action of EXCEPTION_ACTIONS) {
      expect(isSuggestionAction({ action })).toBe(false);
      expect(parseAnyExceptionAction({ action, ...minimal[action] }).action).toBe(action);
    }
    for (const kind of RESOLUTION_KINDS.filter((k) => k !== 'adjusting_entry'))
      expect(parseAnyExceptionAction({ action: 'resolve', kind, text: 't' })).toMatchObject({ kind });
  });

  it('lists a suggestion’s candidates with their records, sums and differences', () => {
    const v = readSuggestion(ambiguous);
    expect(v).toMatchObject({ rule: 'window', candidateCount: 2, because: 'several_equally_good_candidates' });
    expect(v.candidates).toEqual([
      { number: 1, a: ['A:1'], b: ['B:1'], amountA: '100.00', amountB: '100.00', difference: '0.00' },
      { number: 2, a: ['A:1'], b: ['B:2'], amountA: '100.00', amountB: '100.00', difference: '0.00' },
    ]);
    expect(readSuggestion({ ...manual, rule: null }).rule).toBe('near');
    const bare = readSuggestion({
      ...manual,
      rule: null,
      evidence: { candidate_index: '0=0', amounts_a: '1', amounts_b: '2' },
    });
    expect(bare).toMatchObject({ rule: 'unknown', because: 'several_equally_good_candidates', candidateCount: 1 });
  });

  it('refuses to read what is not a decidable suggestion, naming the item', () => {
    expect(refusal(() => readSuggestion({ ...manual, category: 'missing_in_b' })).message).toMatch(
      /A:7 is a missing_in_b, not a suggested match/,
    );
    expect(refusal(() => readSuggestion({ ...manual, evidence: null })).message).toMatch(/no amounts_a.*rerun/);
    expect(
      refusal(() => readSuggestion({ ...manual, evidence: { ...(manual.evidence as object), amounts_b: '1,2' } }))
        .message,
    ).toMatch(/amounts_b does not give one amount per record/);
    expect(
      refusal(() => readSuggestion({ ...manual, evidence: { ...(manual.evidence as object), candidate_index: '0=3' } }))
        .message,
    ).toMatch(/candidate 1 names no record at "3"/);
    expect(
      refusal(() => readSuggestion({ ...manual, evidence: { ...(manual.evidence as object), candidate_index: '0' } }))
        .message,
    ).toMatch(/names no record at ""/);
  });

  it('confirms the chosen candidate as a match and returns the other candidate’s record as missing, ambiguity named', () => {
    const d = decideSuggestion(ambiguous, { action: 'confirm', candidate: 2 }, owner);
    expect(d.state).toBe('confirmed');
    expect(d.match).toMatchObject({ a: ['A:1'], b: ['B:2'], difference: '0.00' });
    expect(d.returned).toEqual([
      {
        itemId: 'returned:A:1:B:1',
        side: 'b',
        key: 'K',
        currency: 'EUR',
        category: 'missing_in_a',
        aItems: [],
        bItems: ['B:1'],
        amount: '100.00',
        amountA: '0.00',
        amountB: '100.00',
        difference: '-100.00',
        evidence: {
          returned_from: 'A:1',
          returned_because: 'other_candidate_confirmed',
          decided_by: 'alice',
          rule: 'window',
          ambiguous_category: 'suggested_match',
          candidates: 2,
        },
      },
    ]);
  });

  it('confirms a manual rule’s only pair with its difference and returns nothing', () => {
    const d = decideSuggestion(manual, { action: 'confirm', candidate: 1 }, owner);
    expect(d).toMatchObject({ state: 'confirmed', rule: 'near', returned: [] });
    expect(d.match).toMatchObject({ amountA: '20.00', amountB: '20.40', difference: '-0.40' });
  });

  it('rejects a manual pair with different amounts into one amount_mismatch, the difference still to explain', () => {
    const d = decideSuggestion(manual, { action: 'reject', reason: 'two invoices' }, owner);
    expect(d.state).toBe('rejected');
    expect(d.match).toBeUndefined();
    expect(d.returned).toEqual([
      expect.objectContaining({
        itemId: 'returned:A:7:A:7',
        side: 'both',
        category: 'amount_mismatch',
        aItems: ['A:7'],
        bItems: ['B:7'],
        amount: '20.00',
        difference: '-0.40',
        evidence: expect.objectContaining({ returned_because: 'suggestion_rejected', difference: '-0.40' }),
      }),
    ]);
  });

  it('rejects an equal-amount pair or an ambiguous proposal into records missing on the other side', () => {
    const equal = { ...manual, evidence: { ...(manual.evidence as object), amounts_b: '20.00' } };
    expect(decideSuggestion(equal, { action: 'reject', reason: 'r' }, owner).returned.map((r) => r.category)).toEqual([
      'missing_in_b',
      'missing_in_a',
    ]);
    const d = decideSuggestion(ambiguous, { action: 'reject', reason: 'none of them' }, owner);
    expect(d.returned.map((r) => [r.itemId, r.category, r.difference])).toEqual([
      ['returned:A:1:A:1', 'missing_in_b', '100.00'],
      ['returned:A:1:B:1', 'missing_in_a', '-100.00'],
      ['returned:A:1:B:2', 'missing_in_a', '-100.00'],
    ]);
    // Per currency the returned differences add up to the suggestion's own (100 - 200).
    expect(d.returned.reduce((t, r) => t + Number(r.difference), 0)).toBe(-100);
  });

  it('refuses a candidate that is not listed, a decided suggestion, and anyone outside the owner role', () => {
    expect(refusal(() => decideSuggestion(ambiguous, { action: 'confirm', candidate: 3 }, owner)).message).toMatch(
      /lists 2 candidate\(s\): there is no candidate 3/,
    );
    const confirmed = refusal(() =>
      decideSuggestion({ ...manual, state: 'confirmed' }, { action: 'reject', reason: 'r' }, owner),
    );
    expect(confirmed.type).toBe('ExceptionTransitionRefused');
    expect(confirmed.message).toMatch(/A:7 is confirmed: it cannot be rejected/);
    expect(
      refusal(() => decideSuggestion({ ...manual, state: 'rejected' }, { action: 'confirm', candidate: 1 }, owner))
        .message,
    ).toMatch(/cannot be confirmed/);
    expect(decideSuggestion({ ...manual, state: 'explained' }, { action: 'confirm', candidate: 1 }, owner).state).toBe(
      'confirmed',
    );
    const outsider = refusal(() =>
      decideSuggestion(
        manual,
        { action: 'confirm', candidate: 1 },
        { ...owner, actor: { id: 'bob', roles: ['controller'] } },
      ),
    );
    expect(outsider.type).toBe('ExceptionActionUnauthorised');
  });

  it('counts a decided suggestion as neither unexplained nor ageing, while its returned records are', () => {
    const items = [
      { itemId: 'A:7', amount: '-0.40', currency: 'EUR', state: 'rejected' as const },
      { itemId: 'A:1', amount: '-100.00', currency: 'EUR', state: 'confirmed' as const },
      { itemId: 'returned:A:7:A:7', amount: '-0.40', currency: 'EUR', state: 'open' as const },
    ];
    expect(unexplainedMaterial(items, '0').ids).toEqual(['returned:A:7:A:7']);
    const aged = ageingReport(
      items.map((x) => ({ ...x, category: 'suggested_match', key: 'K', firstSeen: '2026-10-01' })),
      '2026-10-31',
    );
    expect(aged.map((r) => r.count)).toEqual([1]);
  });
});
