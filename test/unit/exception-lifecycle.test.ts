// The exception lifecycle's rules (issue 15): states and transitions, explanations and resolutions checked against
// the reconciliation's lists, who may act, segregation of duties, bulk filters and the materiality check.
import { ageingBucket, ageingReport } from '../../domain/exceptions/ageing';
import {
  ageInDays,
  describeFilter,
  matchesFilter,
  parseExceptionFilter,
  selectExceptions,
  totalsByCurrency,
  type FilterableException,
} from '../../domain/exceptions/filter';
import {
  authoriseExceptionAction,
  certificationRefusal,
  changeOf,
  checkSameRun,
  DEFAULT_REASON_CODES,
  ExceptionActionError,
  nextState,
  parseExceptionAction,
  segregationRefusal,
  unexplainedMaterial,
} from '../../domain/exceptions/lifecycle';

function refusal(f: () => unknown): ExceptionActionError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ExceptionActionError);
    return e as ExceptionActionError;
  }
  throw new Error('expected a refusal');
}

describe('an exception action as a person sends it', () => {
  it('takes an explanation whose reason code is one of the defaults, and trims its text', () => {
    expect(DEFAULT_REASON_CODES).toEqual([
      'timing',
      'bank_fee',
      'fx',
      'posting_error',
      'duplicate_posting',
      'bank_error',
      'book_error',
      'under_investigation',
      'other',
    ]);
    expect(parseExceptionAction({ action: 'explain', reasonCode: 'timing', text: ' cleared on 2 Nov ' })).toEqual({
      action: 'explain',
      reasonCode: 'timing',
      text: 'cleared on 2 Nov',
    });
  });

  it('refuses an unknown reason code, naming the reconciliation’s own list', () => {
    const e = refusal(() =>
      parseExceptionAction(
        { action: 'explain', reasonCode: 'timing', text: 'x' },
        { reasonCodes: ['cutoff', 'fee'], where: 'gl-vs-erp GL:3' },
      ),
    );
    expect(e.type).toBe('InvalidExceptionAction');
    expect(e.message).toBe(
      'gl-vs-erp GL:3.reasonCode: "timing" is not a reason code of this reconciliation (cutoff, fee)',
    );
  });

  it('needs an adjusting entry’s reference and amount, and normalises the amount exactly', () => {
    expect(
      refusal(() => parseExceptionAction({ action: 'resolve', kind: 'adjusting_entry', text: 'booked' })).message,
    ).toBe(
      "exception action: an adjusting_entry resolution needs reference and amount (the entry's number and amount)",
    );
    expect(
      refusal(() =>
        parseExceptionAction({ action: 'resolve', kind: 'adjusting_entry', text: 'booked', reference: 'JE-1' }),
      ).message,
    ).toContain('needs amount');
    expect(
      refusal(() => parseExceptionAction({ action: 'resolve', kind: 'adjusting_entry', text: 'b', amount: '1' }))
        .message,
    ).toContain('needs reference (');
    expect(
      parseExceptionAction({
        action: 'resolve',
        kind: 'adjusting_entry',
        text: 'booked',
        reference: 'JE-2026-10-ADJ-001',
        amount: '75000.10',
      }),
    ).toEqual({
      action: 'resolve',
      kind: 'adjusting_entry',
      text: 'booked',
      reference: 'JE-2026-10-ADJ-001',
      amount: '75000.1',
    });
    expect(parseExceptionAction({ action: 'resolve', kind: 'write_off', text: 'immaterial', reference: null })).toEqual(
      {
        action: 'resolve',
        kind: 'write_off',
        text: 'immaterial',
      },
    );
  });

  it('refuses a resolution kind, an amount or an action it does not know, and fields an action does not take', () => {
    expect(refusal(() => parseExceptionAction({ action: 'resolve', kind: 'ignore', text: 't' })).message).toBe(
      'exception action.kind: "ignore" is not one of adjusting_entry, write_off, cleared_next_period, no_action',
    );
    expect(
      refusal(() => parseExceptionAction({ action: 'resolve', kind: 'write_off', text: 't', amount: '1,000.00' }))
        .message,
    ).toBe('exception action.amount: "1,000.00" is not a decimal amount such as "1250.00"');
    expect(refusal(() => parseExceptionAction({ action: 'approve' })).message).toBe(
      'exception action.action: "approve" is not one of explain, resolve, reopen, carry_forward',
    );
    expect(refusal(() => parseExceptionAction({ action: 'reopen', reason: 'r', reasonCode: 'x' })).message).toBe(
      'exception action: reopen takes no reasonCode',
    );
    expect(refusal(() => parseExceptionAction(null)).message).toBe('exception action: an object is required');
    expect(refusal(() => parseExceptionAction(['explain'])).message).toBe('exception action: an object is required');
  });

  it('needs the text of every action: an explanation, a resolution, a reopening’s reason, a carry-forward', () => {
    expect(refusal(() => parseExceptionAction({ action: 'explain', reasonCode: 'fx', text: '  ' })).message).toBe(
      'exception action.text: a non-empty text is required',
    );
    expect(refusal(() => parseExceptionAction({ action: 'reopen' })).message).toBe(
      'exception action.reason: a non-empty text is required',
    );
    expect(parseExceptionAction({ action: 'reopen', reason: 'the entry was reversed' })).toEqual({
      action: 'reopen',
      reason: 'the entry was reversed',
    });
    expect(parseExceptionAction({ action: 'carry_forward', text: 'clears in November' })).toEqual({
      action: 'carry_forward',
      text: 'clears in November',
    });
  });
});

describe('the states of an exception', () => {
  it('goes open -> explained -> resolved, and may be explained again before it is resolved', () => {
    expect(nextState('GL:1', 'open', 'explain')).toBe('explained');
    expect(nextState('GL:1', 'explained', 'explain')).toBe('explained');
    expect(nextState('GL:1', 'explained', 'resolve')).toBe('resolved');
    expect(nextState('GL:1', 'explained', 'carry_forward')).toBe('carried_forward');
  });

  it('reopens an explained, resolved or carried-forward exception, never an open one', () => {
    for (const s of ['explained', 'resolved', 'carried_forward'] as const)
      expect(nextState('GL:1', s, 'reopen')).toBe('open');
    expect(refusal(() => nextState('GL:1', 'open', 'reopen')).message).toBe(
      'exception GL:1 is open: it cannot be reopened (it is already open)',
    );
  });

  it('refuses to resolve or carry forward what nobody explained, and to re-explain what is resolved', () => {
    const e = refusal(() => nextState('GL:1', 'open', 'resolve'));
    expect(e.type).toBe('ExceptionTransitionRefused');
    expect(e.message).toBe('exception GL:1 is open: it cannot be resolved (explain it first)');
    expect(refusal(() => nextState('GL:1', 'open', 'carry_forward')).message).toBe(
      'exception GL:1 is open: it cannot be carried forward (explain it first)',
    );
    expect(refusal(() => nextState('GL:1', 'resolved', 'explain')).message).toBe(
      'exception GL:1 is resolved: it cannot be explained (reopen it first)',
    );
    expect(refusal(() => nextState('GL:1', 'carried_forward', 'resolve')).type).toBe('ExceptionTransitionRefused');
  });

  it('says what each action changes', () => {
    expect(changeOf('x', 'open', { action: 'explain', reasonCode: 'timing', text: 't' })).toEqual({
      state: 'explained',
      reasonCode: 'timing',
      explanation: 't',
    });
    expect(
      changeOf('x', 'explained', {
        action: 'resolve',
        kind: 'adjusting_entry',
        text: 'r',
        reference: 'JE-1',
        amount: '5',
      }),
    ).toEqual({
      state: 'resolved',
      resolutionKind: 'adjusting_entry',
      resolution: 'r',
      resolutionReference: 'JE-1',
      resolutionAmount: '5',
    });
    expect(changeOf('x', 'explained', { action: 'resolve', kind: 'no_action', text: 'r' })).toEqual({
      state: 'resolved',
      resolutionKind: 'no_action',
      resolution: 'r',
    });
    expect(changeOf('x', 'resolved', { action: 'reopen', reason: 'why' })).toEqual({
      state: 'open',
      reopenReason: 'why',
    });
    expect(changeOf('x', 'explained', { action: 'carry_forward', text: 'next month' })).toEqual({
      state: 'carried_forward',
      carryForward: 'next month',
    });
    expect(() => changeOf('x', 'resolved', { action: 'explain', reasonCode: 'fx', text: 't' })).toThrow(
      ExceptionActionError,
    );
  });
});

describe('who may act', () => {
  it('lets a holder of the reconciliation’s owner role act, and refuses anyone else, naming the role', () => {
    expect(() =>
      authoriseExceptionAction({ id: 'ann', roles: ['accountant'] }, ['accountant'], 'gl-vs-erp'),
    ).not.toThrow();
    const e = refusal(() =>
      authoriseExceptionAction({ id: 'sam', roles: ['supervisor'] }, ['accountant'], 'gl-vs-erp'),
    );
    expect(e.type).toBe('ExceptionActionUnauthorised');
    expect(e.message).toBe(
      'sam (supervisor) may not work the exceptions of gl-vs-erp: only its owner role (accountant) may',
    );
    expect(refusal(() => authoriseExceptionAction({ id: 'eve', roles: [] }, ['accountant'], 'r')).message).toContain(
      'eve (no role) may not',
    );
    expect(refusal(() => authoriseExceptionAction({ id: 'ann', roles: ['accountant'] }, [], 'r')).message).toBe(
      'reconciliation r names no owner role, so nobody may work its exceptions',
    );
  });

  it('refuses an action naming exceptions of another run', () => {
    expect(() => checkSameRun('run-1', [{ itemId: 'GL:1', runId: 'run-1' }])).not.toThrow();
    const e = refusal(() =>
      checkSameRun('run-1', [
        { itemId: 'GL:1', runId: 'run-1' },
        { itemId: 'GL:2', runId: 'run-0' },
      ]),
    );
    expect(e.type).toBe('ExceptionOfAnotherRun');
    expect(e.message).toBe('the action is for run run-1, but GL:2 belongs to run run-0');
  });

  it('refuses the approval of whoever explained or resolved an exception of the reconciliation (segregation of duties)', () => {
    const history = [
      { by: 'ann', action: 'explain' as const, itemIds: ['GL:1', 'GL:2', 'GL:3', 'GL:4', 'GL:5', 'GL:6'] },
      { by: 'sam', action: 'reopen' as const, itemIds: ['GL:1'] },
      { by: 'bob', action: 'resolve' as const, itemIds: ['GL:7'] },
    ];
    expect(segregationRefusal('ann', history)).toBe(
      'ann explained or resolved exceptions of this reconciliation (GL:1, GL:2, GL:3, GL:4, GL:5 and 1 more) and may not approve it',
    );
    expect(segregationRefusal('bob', history)).toBe(
      'bob explained or resolved exceptions of this reconciliation (GL:7) and may not approve it',
    );
    // Reopening is a reviewer's act, not preparing: it does not bar the approval.
    expect(segregationRefusal('sam', history)).toBeUndefined();
    expect(segregationRefusal('dora', history)).toBeUndefined();
  });
});

const X = (over: Partial<FilterableException> & { itemId: string }): FilterableException => ({
  category: 'timing_difference',
  currency: 'USD',
  amount: '100.00',
  state: 'open',
  key: '4000-001',
  firstSeen: '2026-10-28',
  ...over,
});

const ITEMS = [
  X({ itemId: 'a', firstSeen: '2026-10-29' }),
  X({ itemId: 'b', amount: '-250.50', firstSeen: '2026-10-20T23:59:00Z', key: '4000-002' }),
  X({ itemId: 'c', category: 'amount_mismatch', amount: '0.01', key: '5100-001' }),
  X({ itemId: 'd', currency: 'EUR', amount: '75.125', key: '4000-003', state: 'explained' }),
  X({ itemId: 'e', currency: null, amount: '10', category: 'duplicate', key: 'X?1' }),
];
const ASOF = '2026-11-02T10:00:00Z';

describe('bulk filters', () => {
  it('counts age in whole UTC days since first seen, 0 on the day it appeared', () => {
    expect(ageInDays('2026-10-28', ASOF)).toBe(5);
    expect(ageInDays('2026-11-02T23:00:00Z', ASOF)).toBe(0);
    expect(ageInDays('2026-11-03', ASOF)).toBe(0);
    expect(() => ageInDays('2026-02-30', ASOF)).toThrow('firstSeen: "2026-02-30" is not a date');
    expect(() => ageInDays('2026-10-01', 'yesterday')).toThrow('asOf: "yesterday" is not a date');
  });

  it('selects "every timing difference under 5 days" and echoes the count and total', () => {
    const s = selectExceptions(ITEMS, { categories: ['timing_difference'], maxAgeDays: 4 }, ASOF);
    expect(s.items.map((x) => x.itemId)).toEqual(['a']);
    expect(s).toMatchObject({ count: 1, totals: [{ currency: 'USD', total: '100.00' }] });
  });

  it('filters by currency, state, absolute amount range, age range and key pattern', () => {
    const ids = (f: Parameters<typeof selectExceptions>[1]) =>
      selectExceptions(ITEMS, f, ASOF).items.map((x) => x.itemId);
    expect(ids({ currencies: ['USD'] })).toEqual(['a', 'b', 'c']);
    expect(ids({ currencies: [''] })).toEqual(['e']);
    expect(ids({ states: ['explained'] })).toEqual(['d']);
    expect(ids({ minAmount: '75.125', maxAmount: '250.50' })).toEqual(['a', 'b', 'd']);
    expect(ids({ minAgeDays: 6 })).toEqual(['b']);
    expect(ids({ minAgeDays: 5, maxAgeDays: 5 })).toEqual(['c', 'd', 'e']);
    expect(ids({ keyPattern: '4000-*' })).toEqual(['a', 'b', 'd']);
    expect(ids({ keyPattern: 'X?1' })).toEqual(['e']);
    expect(ids({ keyPattern: '4000-00?' })).toEqual(['a', 'b', 'd']);
    expect(ids({})).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('totals signed amounts per currency at each currency’s widest scale', () => {
    expect(selectExceptions(ITEMS, {}, ASOF).totals).toEqual([
      { currency: null, total: '10' },
      { currency: 'EUR', total: '75.125' },
      { currency: 'USD', total: '-150.49' },
    ]);
    expect(totalsByCurrency([])).toEqual([]);
  });

  it('refuses a filter that matches nothing, saying what it asked for, and changes nothing', () => {
    const e = refusal(() =>
      selectExceptions(ITEMS, { categories: ['timing_difference'], currencies: ['GBP'], maxAgeDays: 4 }, ASOF),
    );
    expect(e.type).toBe('ExceptionFilterMatchedNothing');
    expect(e.message).toBe(
      'the filter (category timing_difference, currency GBP, age <= 4 days) matches no exception: nothing was changed',
    );
  });

  it('refuses bad bounds and unknown states, naming the field', () => {
    const bad = (f: Parameters<typeof parseExceptionFilter>[0]) => refusal(() => parseExceptionFilter(f)).message;
    expect(bad({ states: ['closed' as never] })).toBe(
      'filter.states: "closed" is not one of open, explained, resolved, carried_forward, confirmed, rejected',
    );
    expect(bad({ minAmount: '-1' })).toBe('filter.minAmount: "-1" is not an amount of 0 or more');
    expect(bad({ minAmount: '10', maxAmount: '5' })).toBe('filter: minAmount 10 is above maxAmount 5');
    expect(bad({ maxAgeDays: 1.5 })).toBe('filter.maxAgeDays: 1.5 is not a whole number of days');
    expect(bad({ minAgeDays: -1 })).toBe('filter.minAgeDays: -1 is not a whole number of days');
    expect(bad({ minAgeDays: 9, maxAgeDays: 3 })).toBe('filter: minAgeDays 9 is above maxAgeDays 3');
    expect(bad({ keyPattern: '' })).toBe('filter.keyPattern: an empty pattern');
  });

  it('describes a filter in words', () => {
    expect(describeFilter({})).toBe('every exception');
    expect(
      describeFilter({
        categories: ['a', 'b'],
        states: ['open'],
        minAmount: '1',
        maxAmount: '2',
        minAgeDays: 3,
        keyPattern: '40*',
      }),
    ).toBe('category a|b, state open, |amount| >= 1, |amount| <= 2, age >= 3 days, key 40*');
    expect(matchesFilter(ITEMS[0], { maxAmount: '99.99' }, ASOF)).toBe(false);
  });
});

describe('the materiality check over a reconciliation’s exceptions', () => {
  it('counts the open ones above materiality and totals them per currency; explained ones do not count', () => {
    const r = unexplainedMaterial(
      ITEMS.map((x) => ({ itemId: x.itemId, amount: x.amount, currency: x.currency, state: x.state })),
      '50',
    );
    expect(r).toEqual({
      materiality: '50',
      count: 2,
      totals: [{ currency: 'USD', total: '350.50' }],
      ids: ['a', 'b'],
      belowCount: 2,
    });
    expect(() => unexplainedMaterial([], '-1', 'recon gl-vs-erp')).toThrow(
      'recon gl-vs-erp: a materiality is an amount',
    );
  });
});

describe('certification before approval', () => {
  it('refuses the approval while unexplained exceptions above materiality remain, naming how many and their total', () => {
    const items = [
      { itemId: 'GL:1', amount: '100.00', currency: 'USD', state: 'open' as const },
      { itemId: 'GL:2', amount: '-20.00', currency: 'USD', state: 'open' as const },
      { itemId: 'GL:3', amount: '900.00', currency: 'USD', state: 'explained' as const },
    ];
    expect(certificationRefusal('gl-vs-erp', unexplainedMaterial(items, '50'))).toBe(
      'reconciliation gl-vs-erp cannot be approved yet: 1 unexplained exception(s) above materiality 50, totalling USD 100.00 (GL:1)',
    );
    expect(certificationRefusal('gl-vs-erp', unexplainedMaterial(items, '100'))).toBeUndefined();
  });
});

describe('ageing of unresolved exceptions', () => {
  it('puts each exception in its bucket by days since first seen: 30, 60 and 90 days are the last of theirs', () => {
    expect([0, 30, 31, 60, 61, 90, 91, 400].map(ageingBucket)).toEqual([
      '0-30',
      '0-30',
      '31-60',
      '31-60',
      '61-90',
      '61-90',
      'over_90',
      'over_90',
    ]);
  });

  it('reports counts and exact totals per category and currency, leaving resolved exceptions out', () => {
    const asOf = '2026-12-31';
    const rows = ageingReport(
      [
        X({ itemId: 'a', firstSeen: '2026-12-20', amount: '100.00' }),
        X({ itemId: 'b', firstSeen: '2026-11-15', amount: '-0.5' }),
        X({ itemId: 'c', firstSeen: '2026-08-01', amount: '7.25', state: 'carried_forward' }),
        X({ itemId: 'd', firstSeen: '2026-12-30', amount: '999.00', state: 'resolved' }),
        X({ itemId: 'e', firstSeen: '2026-10-05', amount: '3', currency: 'EUR' }),
        X({ itemId: 'f', firstSeen: '2026-12-01', amount: '1', category: 'amount_mismatch', currency: null }),
      ],
      asOf,
    );
    expect(rows).toEqual([
      {
        category: 'amount_mismatch',
        currency: null,
        buckets: {
          '0-30': { count: 1, total: '1' },
          '31-60': { count: 0, total: '0' },
          '61-90': { count: 0, total: '0' },
          over_90: { count: 0, total: '0' },
        },
        count: 1,
        total: '1',
      },
      {
        category: 'timing_difference',
        currency: 'EUR',
        buckets: {
          '0-30': { count: 0, total: '0' },
          '31-60': { count: 0, total: '0' },
          '61-90': { count: 1, total: '3' },
          over_90: { count: 0, total: '0' },
        },
        count: 1,
        total: '3',
      },
      {
        category: 'timing_difference',
        currency: 'USD',
        buckets: {
          '0-30': { count: 1, total: '100.00' },
          '31-60': { count: 1, total: '-0.50' },
          '61-90': { count: 0, total: '0.00' },
          over_90: { count: 1, total: '7.25' },
        },
        count: 3,
        total: '106.75',
      },
    ]);
  });
});
