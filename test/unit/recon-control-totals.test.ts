import {
  ControlTotalsError,
  assertControlTotals,
  emptySummary,
  mergeSummaries,
  type ReconSummary,
} from '../../domain/recon/control-totals';
import { partitionOf } from '../../domain/recon/partition';
import { PartitionInputError, reconcile } from '../../domain/recon/reconcile';
import { definition, prngRows, records, run } from './recon-fixtures';

const rules = [
  { id: 'exact', type: 'exact' as const },
  { id: 'tol', type: 'tolerance' as const, absolute: '0.50' },
];

function sample(): ReconSummary {
  return run(
    rules,
    [
      ['K1', '10.00'],
      ['K2', '5.00'],
      ['K3', '7.00', undefined, { ccy: 'USD' }],
    ],
    [
      ['K1', '10.00'],
      ['K2', '5.25'],
      ['K4', '1.00'],
    ],
  ).summary;
}

function thrown(fn: () => unknown): ControlTotalsError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ControlTotalsError) return e;
    throw e;
  }
  throw new Error('expected a ControlTotalsError');
}

describe('control totals of a partition', () => {
  it('count records and amounts in, matched and unmatched per side and currency', () => {
    expect(sample()).toEqual({
      reconciliation: 'test',
      partitions: 1,
      a: {
        records_in: 3,
        records_matched: 2,
        records_unmatched: 1,
        amounts: [
          { currency: 'EUR', amount_in: '15.00', amount_matched: '15.00', amount_unmatched: '0.00' },
          { currency: 'USD', amount_in: '7.00', amount_matched: '0.00', amount_unmatched: '7.00' },
        ],
      },
      b: {
        records_in: 3,
        records_matched: 2,
        records_unmatched: 1,
        amounts: [{ currency: 'EUR', amount_in: '16.25', amount_matched: '15.25', amount_unmatched: '1.00' }],
      },
      matches: 2,
      matches_by_rule: { exact: 1, tol: 1 },
      suggested_by_rule: { exact: 0, tol: 0 },
      exceptions: 3,
      open_exceptions: 2,
      exceptions_by_category: {
        duplicate_key: 0,
        missing_in_a: 1,
        missing_in_b: 1,
        timing_difference: 0,
        sign_reversal: 0,
        transposition: 0,
        rounding: 0,
        amount_mismatch: 0,
        within_tolerance: 1,
        suggested_match: 0,
        bank_fee: 0,
        outstanding_check: 0,
        outstanding_payment: 0,
        deposit_in_transit: 0,
      },
      gave_up: 0,
      differences: [
        { currency: 'EUR', a_minus_b: '-1.25', exceptions_total: '-1.25' },
        { currency: 'USD', a_minus_b: '7.00', exceptions_total: '7.00' },
      ],
    });
  });

  it('fail naming the side and the difference when records or amounts do not balance', () => {
    const s = sample();
    const records = thrown(() => assertControlTotals({ ...s, b: { ...s.b, records_matched: 1 } }));
    expect(records).toMatchObject({ side: 'b', measure: 'records', difference: '1', reconciliation: 'test' });
    expect(records.message).toBe(
      'control totals do not balance in test on side b: records in - matched - unmatched = 1',
    );

    const amounts = structuredClone(s);
    amounts.a.amounts[1].amount_unmatched = '6.99';
    const amount = thrown(() => assertControlTotals(amounts));
    expect(amount).toMatchObject({ side: 'a', measure: 'amount', currency: 'USD', difference: '0.01' });
    expect(amount.message).toBe(
      'control totals do not balance in test on side a (USD): amount in - matched - unmatched = 0.01',
    );
  });

  it('fail when the recorded difference or the exceptions do not explain total a - total b', () => {
    const s = sample();
    const recorded = structuredClone(s);
    recorded.differences[0].a_minus_b = '-1.00';
    expect(thrown(() => assertControlTotals(recorded)).message).toBe(
      'control totals do not balance in test on side a-b (EUR): total a - total b minus the recorded difference = -0.25',
    );
    const unexplained = structuredClone(s);
    unexplained.differences[0].exceptions_total = '-1.00';
    expect(thrown(() => assertControlTotals(unexplained))).toMatchObject({
      side: 'a-b',
      measure: 'exceptions',
      difference: '-0.25',
    });
    const missing = structuredClone(s);
    missing.differences = missing.differences.slice(0, 1);
    expect(thrown(() => assertControlTotals(missing))).toMatchObject({ measure: 'exceptions', currency: 'USD' });
    const extra = structuredClone(s);
    extra.differences.push({ currency: 'GBP', a_minus_b: '0', exceptions_total: '0' });
    expect(() => assertControlTotals(extra)).not.toThrow();
  });

  it('word the error without a reconciliation id or currency when there is none', () => {
    expect(new ControlTotalsError('a', 'records', '2').message).toBe(
      'control totals do not balance on side a: records in - matched - unmatched = 2',
    );
  });
});

describe('merging partition summaries', () => {
  it('adds partitions up to the totals of the whole reconciliation', () => {
    const def = definition(rules);
    const [rowsA, rowsB] = prngRows(7, 400);
    const a = records(def, 'a', rowsA);
    const b = records(def, 'b', rowsB);
    const whole = reconcile(a, b, def).summary;
    const parts = [0, 1, 2, 3].map(
      (p) =>
        reconcile(
          a.filter((r) => partitionOf(r.key, 4) === p),
          b.filter((r) => partitionOf(r.key, 4) === p),
          def,
        ).summary,
    );
    expect(parts.every((p) => p.a.records_in < a.length)).toBe(true);
    const merged = mergeSummaries(parts);
    expect(merged).toEqual({ ...whole, partitions: 4 });
    expect(JSON.parse(JSON.stringify(merged))).toEqual(merged);
  });

  it('keeps each currency at its own number of decimals', () => {
    const jpy = (amount: string) =>
      run(rules, [['K', amount, undefined, { ccy: 'JPY' }]], [['L', '1.00', undefined, { ccy: 'EUR' }]]).summary;
    const merged = mergeSummaries([jpy('1500'), jpy('25')]);
    expect(merged.a.amounts).toEqual([
      { currency: 'JPY', amount_in: '1525', amount_matched: '0', amount_unmatched: '1525' },
    ]);
    expect(merged.differences).toEqual([
      { currency: 'EUR', a_minus_b: '-2.00', exceptions_total: '-2.00' },
      { currency: 'JPY', a_minus_b: '1525', exceptions_total: '1525' },
    ]);
  });

  it('refuses an empty list, summaries of different reconciliations and unbalanced inputs', () => {
    const s = sample();
    expect(() => mergeSummaries([])).toThrow('no summaries to merge');
    expect(() => mergeSummaries([s, { ...s, reconciliation: 'other' }])).toThrow(
      'cannot merge summaries of test and other: different reconciliations',
    );
    expect(thrown(() => mergeSummaries([s, { ...s, a: { ...s.a, records_unmatched: 0 } }]))).toMatchObject({
      side: 'a',
      measure: 'records',
    });
  });

  it('refuses counts beyond the safe integer range', () => {
    const s = sample();
    const huge = { ...s, matches: Number.MAX_SAFE_INTEGER };
    expect(() => mergeSummaries([huge, s])).toThrow('beyond the safe integer range');
  });

  it('starts from an empty summary that balances', () => {
    const e = emptySummary('x');
    expect(() => assertControlTotals(e)).not.toThrow();
    expect(mergeSummaries([e, e])).toEqual(e);
  });
});

describe('reconciling a partition', () => {
  it('refuses records of the wrong side and duplicate record ids', () => {
    const def = definition(rules);
    const a = records(def, 'a', [['K', '1.00']]);
    const b = records(def, 'b', [['K', '1.00']]);
    expect(() => reconcile(b, b, def)).toThrow(new PartitionInputError('record B:1 of side b was passed as side a'));
    expect(() => reconcile(a, [...b, ...b], def)).toThrow('record id B:1 occurs twice on side b');
  });

  it('fails loudly when its totals do not balance, e.g. a record changed while it was being reconciled', () => {
    const def = definition(rules);
    const [a] = records(def, 'a', [['K', '10.00']]);
    const b = records(def, 'b', [['K', '10.00']]);
    let reads = 0;
    const shifting = { ...a };
    Object.defineProperty(shifting, 'amountMinor', { get: () => (reads++ < 2 ? 1000 : 999), enumerable: true });
    expect(thrown(() => reconcile([shifting], b, def))).toMatchObject({
      side: 'a',
      measure: 'amount',
      difference: '0.01',
    });
  });

  it('keeps totals exact beyond 2^53 minor units', () => {
    const r = run(
      [{ id: 'exact', type: 'exact', expect_unique: true }],
      [
        ['K', '90000000000000.00'],
        ['K', '90000000000000.00'],
        ['L', '-90000000000000.00'],
        ['L', '-90000000000000.00'],
        ['M', '1.00'],
      ],
      [['M', '1.00']],
    );
    expect(r.exceptions.map((e) => [e.category, e.amount_a])).toEqual([
      ['duplicate_key', '180000000000000.00'],
      ['duplicate_key', '-180000000000000.00'],
    ]);
    expect(r.summary.a.amounts[0]).toEqual({
      currency: 'EUR',
      amount_in: '1.00',
      amount_matched: '1.00',
      amount_unmatched: '0.00',
    });
    const one = run(
      [{ id: 'exact', type: 'exact', expect_unique: true }],
      [
        ['K', '90000000000000.00'],
        ['K', '90000000000000.00'],
      ],
      [],
    );
    expect(one.summary.a.amounts[0].amount_in).toBe('180000000000000.00');
    expect(one.summary.differences).toEqual([
      { currency: 'EUR', a_minus_b: '180000000000000.00', exceptions_total: '180000000000000.00' },
    ]);
  });
});
